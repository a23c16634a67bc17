package plan

import (
	"context"
	"fmt"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

// Check runs each valid step's read-only checks with the real parent
// credentials, and mints nothing.
func (r *Report) Check(ctx context.Context) {
	for i := range r.Steps {
		sr := &r.Steps[i]
		if !sr.Valid || sr.minter == nil {
			continue
		}
		if sr.refused != "" {
			sr.Problems = append(sr.Problems, Problem{Message: sr.refused, Text: sr.refused})
			sr.Valid, r.Valid = false, false
			continue
		}
		if sr.checkable != "" {
			sr.Checks = append(sr.Checks, sr.checkable)
			continue
		}
		c, ok := sr.minter.(provider.Checker)
		if !ok {
			sr.Checks = append(sr.Checks, fmt.Sprintf("not checked: the %s provider has no read-only check", sr.Provider))
			continue
		}
		lines, err := c.Check(ctx)
		sr.Checks = append(sr.Checks, lines...)
		if err != nil {
			sr.Problems = append(sr.Problems, Problem{Message: "check failed: " + err.Error(), Text: "check failed: " + err.Error()})
			sr.Valid = false
			r.Valid = false
		}
	}
}

// foreignDestination says why --check must not send a credential given on
// the command line to where the file points: a workflow or pipeline file
// (perhaps a pull request's) must not choose where a local credential goes.
// Such a credential goes only to the default API URL or to one the command
// line names too. It returns "" when --check may run.
func foreignDestination(o Options, prov provider.Provider, req provider.Request, s Step, naming inputs.Naming) string {
	if s.FromCommandLine == nil {
		return "" // no file: every value is the command line's
	}
	var creds []string
	for _, in := range o.Runner.Providers.Catalog().Secrets() {
		if s.FromCommandLine[in.Key] {
			creds = append(creds, inputs.FlagNames.Name(in))
		}
	}
	if own, ok := prov.(provider.OwnSignIn); ok {
		// The person's own cloud sign-in goes where these point (a KMS
		// key): only to a value the command line names.
		for _, d := range own.OwnSignIn(req) {
			flag := inputs.FlagNames.Name(d.Input)
			if file := s.Values.Get(d.Input); !s.FromCommandLine[d.Input.Key] && o.CommandLine.Get(d.Input) != file {
				return fmt.Sprintf("check refused: the %s sets %s to %s, and --check would sign in there with your own cloud credentials: to check against it, pass the same %s %s on the command line",
					o.Kind, naming.Name(d.Input), file, flag, file)
			}
			creds = append(creds, flag)
		}
	}
	if len(creds) == 0 {
		return ""
	}
	dests, _ := prov.Destinations(req)
	for _, d := range dests {
		file := s.Values.Get(d.Input)
		if !d.URL || file == "" || s.FromCommandLine[d.Input.Key] || !s.Values.Given(d.Input) {
			continue
		}
		if cli := o.CommandLine.Get(d.Input); cli != "" && network.Same(file, cli) {
			continue
		}
		flag := inputs.FlagNames.Name(d.Input)
		return fmt.Sprintf("check refused: the %s sets %s to %s, and %s comes from the command line; a credential from the command line goes only to the default API URL or to one the command line names too: to check against it, pass the same %s %s on the command line",
			o.Kind, naming.Name(d.Input), file, strings.Join(creds, ", "), flag, file)
	}
	return ""
}
