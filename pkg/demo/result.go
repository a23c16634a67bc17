package demo

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/secret"
)

// Text writes the transcript: the job log as the CI system shows it, the
// step summary and the verdict, coloured when color is set. Every secret of
// the run is redacted on the way out, whatever the verdict found.
func (r *Result) Text(w io.Writer, color bool) error {
	var b strings.Builder
	s := style{color: color}
	r.out.writeBody(&b, s)
	if err := r.out.verdict(&b, r.Verdict, s); err != nil {
		return err
	}
	_, err := io.WriteString(w, r.redact(b.String()))
	return err
}

// JSON writes the verdict and its facts, for scripts.
func (r *Result) JSON(w io.Writer) error {
	b, err := json.MarshalIndent(r.Verdict, "", "  ")
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, r.redact(string(b))+"\n")
	return err
}

// secretValues are the run's secret values: parent credential, token,
// derived forms.
func (r *Result) secretValues() []string {
	out := make([]string, len(r.secrets))
	for i, s := range r.secrets {
		out[i] = s.Value
	}
	return out
}

func (r *Result) redact(text string) string {
	var set secret.Set
	set.Add(r.secretValues()...)
	return set.Redact(text)
}
