package demo

import (
	"sort"
	"time"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
)

// service is one provider's side of a demo: its fake (the same one the
// tests use) running on loopback with a throwaway parent credential, the
// step that asks it for a token, what a later step does with the token, and
// what the fake recorded.
type service interface {
	// facts names the fake and the parent credential, for the transcript.
	about() []fact
	// name is the provider's service ("GitHub"), for the verdict's title.
	name() string
	url() string
	// step is the jobtoken step on hostName ("github" or "azure").
	step(hostName string) step
	// repository is the repository the job runs on, as hostName knows it.
	repository(hostName string) repository
	// calls are what the later step does with the token.
	calls() []call
	// derived are the token's derived forms a job uses, which must be
	// masked and never printed, named.
	derived(token string) []form

	// grant is the fake's record of what it minted.
	grant() grant
	// tokens are the values of every token the fake minted.
	tokens() []string
	// status is the fake's record of one token.
	status(token string) tokenStatus
	// uses are the fake's records of the calls made with token.
	uses(token string) []use
	// live counts the tokens that still work.
	live() int

	// fake is the fake itself, for tests that make it misbehave.
	fake() any
	close()
}

// fact is one labelled line of the transcript's header.
type fact struct{ label, text string }

// form is a secret value with a name that can be printed.
type form struct{ name, value string }

// input is one input of the step, keyed by its GitHub name.
type input struct {
	key, value string
	// secret marks a credential: the workflow or pipeline passes it from a
	// secret, so the CI system masks it from the start.
	secret bool
	// ref is how the workflow or pipeline spells a secret's source, and
	// what names the secret in the verdict.
	ref, what string
}

// step is the jobtoken step of the job.
type step struct {
	inputs    []input
	exportEnv string // the variable a later step reads the token from
}

// value is the value a CI system gives an input of the step: the step's,
// else the default of action.yml and task.json.
func (s step) value(in inputs.Input) string {
	for _, g := range s.inputs {
		if g.key == in.Key {
			return g.value
		}
	}
	return in.Default
}

// repository is the repository a job runs on.
type repository struct {
	name     string // GitHub: owner/name; Azure Repos: name
	provider string // Azure Pipelines' Build.Repository.Provider
	uri      string
}

// call is one request of the later step.
type call struct {
	method, path, body string
	header             map[string]string
	// auth builds the Authorization header from the token.
	auth func(token string) string
	// refused is why the fake must refuse it ("" when it must serve it), in
	// the fake's words (e.g. ghfake.RefusedPermission).
	refused string
	// why says in a few words what the call shows.
	why string
}

// grant is what the fake minted, compared with what was asked.
type grant struct {
	minted int
	// exact is true when the one token minted has exactly the asked grant.
	exact          bool
	asked, granted string
	resources      string
	expiresAt      time.Time
}

// tokenStatus is the fake's record of one token.
type tokenStatus struct {
	found, live, revoked bool
	// by says what revoked it, when the fake knows.
	by string
}

// use is one recorded call.
type use struct {
	method, path string
	status       int
	refused      string
	needs        string
}

// services builds each provider's service by the provider input's value.
var services = map[string]func() (service, error){}

// Providers returns the providers the demo runs, in the order the
// provider input lists them.
func Providers() []string {
	in, _ := catalog().Lookup(inputs.Provider.Key)
	var out []string
	for _, p := range in.Options {
		if services[p] != nil {
			out = append(out, p)
		}
	}
	return out
}

// catalog is the inputs of the providers jobtoken ships.
func catalog() *inputs.Catalog { return registry.Default().Catalog() }

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
