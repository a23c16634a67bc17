// Package secret keeps the set of secrets known to one run and redacts them
// from everything jobtoken writes. Hosts still ask the CI system to mask them
// (::add-mask::, ##vso[task.setsecret]); this is the layer underneath that does
// not depend on the CI system doing it right.
package secret

import (
	"bytes"
	"encoding/base64"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Redacted replaces a secret in jobtoken's own output.
const Redacted = "***"

// minLen keeps trivially short values (a "1", a "true") from being treated as
// secrets and blanking unrelated text.
const minLen = 4

// Set is the secrets of one run. The zero value is ready to use.
type Set struct {
	mu   sync.RWMutex
	vals map[string]struct{}
}

// Add registers values as secrets. Multi-line values are also registered line
// by line, as the runner does, because a log may show them one line at a time.
// It returns the values actually added, in order, for the host to mask.
func (s *Set) Add(values ...string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vals == nil {
		s.vals = map[string]struct{}{}
	}
	var added []string
	add := func(v string) {
		v = strings.TrimRight(v, "\r")
		if len(strings.TrimSpace(v)) < minLen {
			return
		}
		if _, ok := s.vals[v]; ok {
			return
		}
		s.vals[v] = struct{}{}
		added = append(added, v)
		// A secret printed inside a workflow command is escaped first; the
		// writer sees the escaped text, so it must know those forms too.
		for _, f := range escapedForms(v) {
			s.vals[f] = struct{}{}
		}
	}
	for _, v := range values {
		if strings.ContainsAny(v, "\r\n") {
			for _, line := range strings.Split(v, "\n") {
				// PEM armour lines are public text, not secret.
				if line = strings.TrimSpace(line); !strings.HasPrefix(line, "-----") {
					add(line)
				}
			}
			// The whole value is still redacted by the writer even though a
			// host cannot mask a multi-line value in one command.
			s.vals[v] = struct{}{}
			continue
		}
		add(v)
	}
	return added
}

// escapedForms are v as GitHub's (%25, %0D, %0A, and %3A, %2C in properties)
// and the Azure agent's (%AZP25, %3B, %5D, %0D, %0A) command escaping print
// it, where that differs from v.
func escapedForms(v string) []string {
	gh := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	ghProp := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	az := strings.NewReplacer("%", "%AZP25", ";", "%3B", "\r", "%0D", "\n", "%0A", "]", "%5D")
	var out []string
	for _, f := range []string{gh.Replace(v), ghProp.Replace(v), az.Replace(v)} {
		if f != v && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// Values returns the secrets, longest first so that a secret containing another
// is replaced whole.
func (s *Set) Values() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.vals))
	for v := range s.vals {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}

// Redact replaces every known secret in text.
func (s *Set) Redact(text string) string {
	for _, v := range s.Values() {
		if strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, Redacted)
		}
	}
	return text
}

// Contains reports whether text holds any known secret.
func (s *Set) Contains(text string) bool {
	for _, v := range s.Values() {
		if strings.Contains(text, v) {
			return true
		}
	}
	return false
}

// BasicAuth returns base64(user + ":" + password), the form git and REST
// clients send, which must be masked with the token itself.
func BasicAuth(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

// Writer redacts secrets from everything written through it. It holds back an
// incomplete last line so that a secret split across two writes is still
// caught; Flush writes what is held.
type Writer struct {
	mu   sync.Mutex
	out  io.Writer
	set  *Set
	hold []byte
	// filter, when set, rewrites every redacted chunk (never what WriteRaw
	// writes): commands use it to neutralise CI commands in what they print.
	filter func(string) string
}

// SetFilter makes every line written (not WriteRaw's) pass through f after
// redaction. f sees whole lines, and the held partial line on Flush.
func (w *Writer) SetFilter(f func(string) string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.filter = f
}

func (w *Writer) clean(s string) string {
	s = w.set.Redact(s)
	if w.filter != nil {
		s = w.filter(s)
	}
	return s
}

// NewWriter wraps out.
func NewWriter(out io.Writer, set *Set) *Writer {
	return &Writer{out: out, set: set}
}

// Write implements io.Writer. Complete lines are redacted and written at once.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hold = append(w.hold, p...)
	i := bytes.LastIndexByte(w.hold, '\n')
	if i < 0 {
		return len(p), nil
	}
	// Multi-line secrets (a PEM key) may span lines: redact the whole
	// complete chunk, not line by line.
	chunk := w.clean(string(w.hold[:i+1]))
	w.hold = append(w.hold[:0], w.hold[i+1:]...)
	if _, err := io.WriteString(w.out, chunk); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteRaw writes text that must carry a secret verbatim, such as the
// ::add-mask:: command itself, after flushing what is held. A held partial
// line is ended first: a command glued to the end of another line is not a
// command to the runner, and would print its secret.
func (w *Writer) WriteRaw(text string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.hold) > 0 {
		w.hold = append(w.hold, '\n')
	}
	if err := w.flushLocked(); err != nil {
		return err
	}
	_, err := io.WriteString(w.out, text)
	return err
}

// Flush writes any held partial line, redacted.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	if len(w.hold) == 0 {
		return nil
	}
	chunk := w.clean(string(w.hold))
	w.hold = w.hold[:0]
	_, err := io.WriteString(w.out, chunk)
	return err
}
