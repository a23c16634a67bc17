// Package apierror is the one error type for a service's answer that was not
// a success: the service's own words, summarised (never its headers or raw
// body), and jobtoken's reading of them — the likely cause and the fix — so
// that one formatter decides how every provider's refusals read:
//
//	GitHub answered 401 Unauthorized: A JSON web token could not be decoded — private-key is not a key of App Iv23…; generate one in that App's settings
package apierror

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Error is a service's refusal.
type Error struct {
	// Service names who answered, as a reader knows it: "GitHub",
	// "Azure DevOps", "Microsoft Entra".
	Service string
	// Status is the HTTP status; 0 or a 2xx when the refusal came in the
	// body of a success (Azure DevOps' patTokenError).
	Status int
	// Code is the service's own error code when it has one (a
	// patTokenError value, TF400813, AADSTS700213), for matching and
	// searching.
	Code string
	// Message is the service's words on one line, bounded (Summarize).
	Message string
	// Cause is jobtoken's reading of why, "" when it has none.
	Cause string
	// Fix is what to change, "" when it is not predictable.
	Fix string
}

// New returns the error for a service's answer with the given status and
// words; message is summarised here.
func New(service string, status int, message string) *Error {
	return &Error{Service: service, Status: status, Message: Summarize(message, MaxMessage)}
}

// Explain sets the cause and the fix, and returns e.
func (e *Error) Explain(cause, fix string) *Error {
	e.Cause, e.Fix = cause, fix
	return e
}

// Reason is jobtoken's reading of a service's error code: the likely cause
// and the fix.
type Reason struct{ Code, Cause, Fix string }

// ExplainCodes sets the cause and fix of service's refusal in err's chain
// from the reason for its code, when reasons has one. An error from anyone
// else (a credential's exchange, already explained) is left as it is. It
// returns err.
func ExplainCodes(err error, service string, reasons []Reason) error {
	if e, ok := As(err); ok && e.Service == service {
		for _, r := range reasons {
			if r.Code == e.Code {
				e.Explain(r.Cause, r.Fix)
				break
			}
		}
	}
	return err
}

// Error renders the one line every host prints:
// "<service> answered <status>[ <code>]: <service's words> — <cause>; <fix>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Service)
	b.WriteString(" answered")
	// A 2xx carrying a code is a refusal in a success's body (Azure DevOps'
	// patTokenError): its status says nothing. Any other status is said.
	if e.Status != 0 && !(e.Status >= 200 && e.Status <= 299 && e.Code != "") {
		fmt.Fprintf(&b, " %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Code != "" && !strings.Contains(e.Message, e.Code) {
		b.WriteString(" " + e.Code)
	}
	// "404 Not Found: Not Found" says it twice.
	if e.Message != "" && !strings.EqualFold(strings.TrimRight(e.Message, "."), http.StatusText(e.Status)) {
		b.WriteString(": " + e.Message)
	}
	switch {
	case e.Cause != "" && e.Fix != "":
		b.WriteString(" — " + e.Cause + "; " + e.Fix)
	case e.Cause != "":
		b.WriteString(" — " + e.Cause)
	case e.Fix != "":
		b.WriteString(" — " + e.Fix)
	}
	return b.String()
}

// As finds the *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// StatusOf returns the HTTP status behind err, or 0.
func StatusOf(err error) int {
	if e, ok := As(err); ok {
		return e.Status
	}
	return 0
}

// MaxMessage bounds a service's message: enough for any documented one,
// short enough that an echoed body cannot flood a log.
const MaxMessage = 300

// Summarize keeps the first n bytes of s on one line, cut at a rune
// boundary.
func Summarize(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return s
}

// Known is one documented answer of a service and what it means: it
// matches an *Error whose status is Status (any when 0) and whose message
// or code contains Text (case-insensitive).
type Known struct {
	Status int
	Text   string
	// Explain returns the cause and the fix; it may use e (to quote the
	// service) and the caller's context through a closure.
	Explain func(e *Error) (cause, fix string)
}

// Match returns the first known answer that matches e.
func Match(e *Error, known []Known) (Known, bool) {
	hay := strings.ToLower(e.Message + " " + e.Code)
	for _, k := range known {
		if (k.Status == 0 || k.Status == e.Status) && strings.Contains(hay, strings.ToLower(k.Text)) {
			return k, true
		}
	}
	return Known{}, false
}

// ExplainKnown sets e's cause and fix from the first known answer that
// matches it, and reports whether one did. A cause already set is kept.
func ExplainKnown(e *Error, known []Known) bool {
	k, ok := Match(e, known)
	if !ok || e.Cause != "" {
		return ok
	}
	e.Cause, e.Fix = k.Explain(e)
	return true
}
