package demo

import (
	"maps"
	"slices"
	"time"

	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// Service is one provider's side of a demo: its fake (the same one the
// tests use) running on loopback with a throwaway parent credential, the
// step that asks it for a token, what a later step does with the token, and
// what the fake recorded.
type Service interface {
	// facts names the fake and the parent credential, for the transcript.
	About() []Fact
	// Name is the provider's service ("GitHub"), for the verdict's title.
	Name() string
	URL() string
	// Step is the jobtoken Step on hostName (ghactions.Name…).
	Step(hostName string) Step
	// Repository is the Repository the job runs on, as hostName knows it.
	Repository(hostName string) Repository
	// Calls are what the later step does with the token.
	Calls() []Call
	// Derived are the token's Derived forms a job uses, which must be
	// masked and never printed, named.
	Derived(token string) []Form

	// Grant is the fake's record of what it minted.
	Grant() Grant
	// Tokens are the values of every token the fake minted.
	Tokens() []string
	// Status is the fake's record of one token.
	Status(token string) TokenStatus
	// Uses are the fake's records of the calls made with token.
	Uses(token string) []Use
	// Live counts the tokens that still work.
	Live() int

	// Fake is the Fake itself, for tests that make it misbehave.
	Fake() any
	Close()
}

// Fact is one labelled line of the transcript's header.
type Fact struct{ Label, Text string }

// Form is a secret value with a name that can be printed.
type Form struct{ Name, Value string }

// Input is one Input of the step, keyed by its GitHub name.
type Input struct {
	Key, Value string
	// Secret marks a credential: the workflow or pipeline passes it from a
	// Secret, so the CI system masks it from the start.
	Secret bool
	// Ref is how the workflow or pipeline spells a secret's source, and
	// What names the secret in the verdict.
	Ref, What string
}

// Step is the jobtoken Step of the job.
type Step struct {
	Inputs    []Input
	ExportEnv string // the variable a later step reads the token from
}

// value is the value a CI system gives an input of the step: the step's,
// else the default of action.yml and task.json.
func (s Step) value(in inputs.Input) string {
	for _, g := range s.Inputs {
		if g.Key == in.Key {
			return g.Value
		}
	}
	return in.Default
}

// Repository is the Repository a job runs on.
type Repository struct {
	Name     string // GitHub: owner/name; Azure Repos: name
	Provider string // Azure Pipelines' Build.Repository.Provider
	URI      string
}

// Call is one request of the later step.
type Call struct {
	Method, Path, Body string
	Header             map[string]string
	// Auth builds the Authorization header from the token.
	Auth func(token string) string
	// Refused is why the fake must refuse it ("" when it must serve it), in
	// the fake's words (e.g. ghfake.RefusedPermission).
	Refused string
	// Why says in a few words what the call shows.
	Why string
}

// Grant is what the fake minted, compared with what was asked.
type Grant struct {
	Minted int
	// Exact is true when the one token minted has exactly the asked grant.
	Exact          bool
	Asked, Granted string
	Resources      string
	ExpiresAt      time.Time
}

// TokenStatus is the fake's record of one token.
type TokenStatus struct {
	Found, Live, Revoked bool
	// By says what revoked it, when the fake knows.
	By string
}

// Use is one recorded call.
type Use struct {
	Method, Path string
	Status       int
	Refused      string
	Needs        string
}

// TokenUse is a fake's record of one call made with a token: the token
// sent ("" when none; the fake never prints it), and the call.
type TokenUse struct {
	Token string
	Use
}

// UsesWith returns the calls among uses made with token, in order.
func UsesWith(uses []TokenUse, token string) []Use {
	var out []Use
	for _, u := range uses {
		if u.Token == token {
			out = append(out, u.Use)
		}
	}
	return out
}

// The world of every demo job: the repository it builds (on GitHub, or in
// Azure Repos) and, on Azure Pipelines, its organization and project.
const (
	Owner   = "demo-org" // the repository's GitHub account
	Repo    = "app"
	Org     = "demo-org" // the Azure DevOps organization
	Project = "demo"
)

// Worlds are the providers' demo worlds, by provider name: each starts its
// provider's fake with a throwaway parent credential (the fakes' packages
// hold them; pkg/provider/registry lists them).
type Worlds map[string]func() (Service, error)

// Providers returns the providers of cat the demo runs, in the order the
// provider input lists them.
func (w Worlds) Providers(cat *inputs.Catalog) []string {
	in, _ := cat.Lookup(inputs.Provider.Key)
	var out []string
	for _, p := range in.Options {
		if w[p] != nil {
			out = append(out, p)
		}
	}
	return out
}

func sortedNames[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
