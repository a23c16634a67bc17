package policy

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Failure is one claim that did not match: what the policy wanted and what
// the token carried ("(missing)" when it carried nothing).
type Failure struct {
	Claim  string `json:"claim"`
	Wanted string `json:"wanted"`
	Got    string `json:"got"`
}

func (f Failure) String() string {
	return fmt.Sprintf("%s: wanted %s, got %s", f.Claim, f.Wanted, f.Got)
}

// Missing is what a Failure says a token carried when the claim is absent.
const Missing = "(missing)"

// Match checks a verified token's issuer and claims against Who: every
// claim must match, and a claim the token lacks fails.
func (p *Policy) Match(issuer string, claims map[string]any) []Failure {
	var out []Failure
	if issuer != p.Who.Issuer {
		out = append(out, Failure{Claim: "iss", Wanted: strconv.Quote(p.Who.Issuer), Got: strconv.Quote(issuer)})
	}
	for _, name := range slices.Sorted(maps.Keys(p.Who.Claims)) {
		m := p.Who.Claims[name]
		raw, present := claims[name]
		v, ok := claimString(raw)
		if present && !ok {
			out = append(out, Failure{Claim: name, Wanted: m.String(), Got: "(not a string)"})
			continue
		}
		if !m.Match(v, present) {
			got := Missing
			if present {
				got = strconv.Quote(v)
			}
			out = append(out, Failure{Claim: name, Wanted: m.String(), Got: got})
		}
	}
	return out
}

var levelRank = map[string]int{"read": 1, "write": 2, "admin": 3}

// Authorize narrows req to the policy's ceilings: the first grant for the
// request's provider and owner that covers every repository and permission
// asked wins, and the grant is exactly the ask (with the ceiling's
// repositories when the ask names none). When none covers it, above lists
// each part of the ask beyond the ceiling.
func (p *Policy) Authorize(req Request) (granted *Grant, above []string) {
	provider := req.Provider
	if provider == "" {
		provider = "github"
	}
	var first []string
	seen := false
	for _, g := range p.Grants {
		if g.Provider != provider || !strings.EqualFold(g.Owner, req.Owner) {
			continue
		}
		problems := g.covers(req)
		if len(problems) == 0 {
			repos := req.Repositories
			if len(repos) == 0 {
				repos = g.Repositories
			}
			return &Grant{Provider: provider, Owner: g.Owner, Repositories: slices.Clone(repos), Permissions: maps.Clone(req.Permissions)}, nil
		}
		if !seen {
			first, seen = problems, true
		}
	}
	if !seen {
		return nil, []string{fmt.Sprintf("the policy grants nothing for %s on owner %q", provider, req.Owner)}
	}
	return nil, first
}

// covers lists what of req is beyond g.
func (g Grant) covers(req Request) []string {
	var out []string
	all := slices.Contains(g.Repositories, "*")
	for _, r := range req.Repositories {
		if r == "*" && !all {
			out = append(out, fmt.Sprintf("repositories: asked every repository, the ceiling is %s", strings.Join(g.Repositories, ", ")))
			continue
		}
		if !all && !slices.ContainsFunc(g.Repositories, func(c string) bool { return strings.EqualFold(c, r) }) {
			out = append(out, fmt.Sprintf("repository %s: not in the ceiling (%s)", r, strings.Join(g.Repositories, ", ")))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(req.Permissions)) {
		asked := req.Permissions[name]
		ceil, ok := g.Permissions[name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s:%s: the ceiling has no %s", name, asked, name))
		case levelRank[asked] > levelRank[ceil]:
			out = append(out, fmt.Sprintf("%s:%s: above the ceiling %s:%s", name, asked, name, ceil))
		}
	}
	return out
}

// Result is the outcome of one policy test.
type Result struct {
	Index  int
	Name   string
	Want   bool
	Got    bool
	Failed []Failure
	Above  []string
}

// OK reports whether the test's expectation held.
func (r Result) OK() bool { return r.Want == r.Got }

// Why says what decided a test: the claims and ceilings that failed, or
// that everything matched.
func (r Result) Why() string {
	var parts []string
	for _, f := range r.Failed {
		parts = append(parts, f.String())
	}
	parts = append(parts, r.Above...)
	if len(parts) == 0 {
		return "every claim matched"
	}
	return strings.Join(parts, "; ")
}

// RunTests runs the policy's own tests: each test's claims against Who
// (issuer defaults to Who's), and its request, when it has one, against
// the grants.
func (p *Policy) RunTests() []Result {
	out := make([]Result, 0, len(p.Tests))
	for i, t := range p.Tests {
		iss := t.Issuer
		if iss == "" {
			iss = p.Who.Issuer
		}
		r := Result{Index: i, Name: t.Name, Want: t.Allow != nil && *t.Allow}
		r.Failed = p.Match(iss, t.Claims)
		if len(r.Failed) == 0 && t.Request != nil {
			_, r.Above = p.Authorize(*t.Request)
		}
		r.Got = len(r.Failed) == 0 && len(r.Above) == 0
		out = append(out, r)
	}
	return out
}
