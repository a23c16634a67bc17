package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// JSON writes the report as indented JSON.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// Text writes the report for a person to read.
func (r *Report) Text(w io.Writer) error {
	b := &strings.Builder{}
	if r.Kind == Flags.String() {
		fmt.Fprintf(b, "jobtoken plan: %s\n", r.Source)
	} else {
		fmt.Fprintf(b, "jobtoken plan: %s (%s)\n", r.Source, r.Kind)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(b, "\nerror: %s\n", oneLine(p.Text))
	}
	for _, s := range r.Steps {
		b.WriteString("\n")
		r.step(b, s)
	}
	b.WriteString("\n" + r.verdict() + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) step(b *strings.Builder, s StepReport) {
	fmt.Fprintf(b, "step %s\n", describe(s))
	row := func(label, value string) {
		if value != "" {
			fmt.Fprintf(b, "  %-13s %s\n", label+":", oneLine(value))
		}
	}
	rt := func(in inputs.Input) string {
		if e, ok := s.RunTime[r.naming.Name(in)]; ok {
			return "provided at run time (" + e + ")"
		}
		return ""
	}
	row("recognised", s.Recognized)
	switch {
	case s.Provider != "":
		row("provider", s.Provider)
	case rt(inputs.Provider) != "":
		row("provider", rt(inputs.Provider))
	}
	row("parent", s.Parent)
	if s.Provider != "" {
		switch {
		case rt(inputs.Permissions) != "":
			row("scopes", rt(inputs.Permissions))
		case s.Minted():
			row("scopes", orNone(strings.Join(s.Scopes, ", ")))
		}
		row("resources", strings.Join(s.Resources, ", "))
		for _, t := range s.Tokens {
			row("token", t)
		}
		if v := rt(inputs.Lifetime); v != "" {
			row("lifetime", v)
		} else {
			row("lifetime", s.Lifetime)
		}
	}
	if p := s.Publish; p != nil {
		row("outputs", strings.Join(p.Outputs, ", "))
		row("read it as", p.Reference)
		if len(p.Env) > 0 {
			row("env", strings.Join(p.Env, ", ")+" (for later steps)")
		}
	}
	row("revocation", s.Revocation)
	for _, k := range sortedKeys(s.RunTime) {
		row("at run time", k+" = "+s.RunTime[k])
	}
	for _, k := range sortedKeys(s.Details) {
		row(k, s.Details[k])
	}
	for _, n := range s.Notes {
		row("note", n)
	}
	for _, c := range s.Checks {
		row("check", c)
	}
	for _, w := range s.Warnings {
		row("warning", w.Text())
	}
	if s.Valid {
		row("result", "valid")
		return
	}
	row("result", plural(len(s.Problems), "problem"))
	for _, p := range s.Problems {
		fmt.Fprintf(b, "    - %s\n", oneLine(p.Text))
	}
}

// Minted reports whether the provider validated the step far enough to
// describe the token.
func (s StepReport) Minted() bool { return s.Publish != nil }

func describe(s StepReport) string {
	var parts []string
	if s.ID != "" {
		parts = append(parts, "id: "+s.ID)
	}
	if s.Name != "" {
		parts = append(parts, fmt.Sprintf("name: %q", s.Name))
	}
	if s.Line > 0 {
		parts = append(parts, fmt.Sprintf("line %d", s.Line))
	}
	if len(parts) == 0 {
		return s.Step
	}
	return s.Step + " (" + strings.Join(parts, ", ") + ")"
}

func (r *Report) verdict() string {
	bad, problems := 0, len(r.Problems)
	for _, s := range r.Steps {
		if !s.Valid {
			bad++
			problems += len(s.Problems)
		}
	}
	n := plural(len(r.Steps), "step")
	warnings := 0
	for _, s := range r.Steps {
		warnings += len(s.Warnings)
	}
	switch {
	case r.Valid && warnings > 0:
		return "valid: " + n + ", no problems, " + plural(warnings, "warning")
	case r.Valid:
		return "valid: " + n + ", no problems"
	case bad == 0:
		return "invalid: " + plural(problems, "problem")
	}
	return fmt.Sprintf("invalid: %d of %s with problems, %s in all", bad, n, plural(problems, "problem"))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// oneLine keeps a value from breaking the layout (or forging a line).
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", `\n`)
}
