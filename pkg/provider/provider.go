// Package provider defines what a token provider does: declare its inputs,
// validate a request offline, mint one child token, and revoke it later;
// and, optionally, check a parent credential, sweep tokens left behind and
// say how a person revokes one by hand. One package per provider implements
// it (pkg/provider/<name>); pkg/provider/registry lists them.
package provider

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// Provider is one token provider.
type Provider interface {
	// Name is the provider input's value.
	Name() string
	// Inputs is the provider's part of the inputs catalog: the inputs it
	// reads beyond the common ones, the outputs it sets beyond them.
	Inputs() inputs.Group
	// Prepare validates req offline and makes no network call. Problems name
	// the inputs at fault. Values only known at run time (a plan's) are not
	// judged (inputs.Values.Known).
	Prepare(req Request) (Minter, inputs.Problems)
	// Destinations resolves from req's inputs, with Prepare's code and URL
	// checks and without network calls, where this provider sends
	// credentials. Problems name the inputs at fault.
	Destinations(req Request) ([]Destination, inputs.Problems)
	// Revoke revokes a token minted earlier. req carries the post stage's
	// inputs (a parent credential may be needed again); saved.Destinations
	// are where to send it, already decided by the caller.
	Revoke(ctx context.Context, req Request, saved Saved) error
}

// Request is everything a provider may use; it never reads the process
// environment or clock directly, so tests can run in parallel. Every field
// is set (job.Runner.Request builds it, for the stages, plan and every
// command) but the optional capabilities, which are nil where the host has
// none.
type Request struct {
	Inputs inputs.Values
	// Naming is how the user spells inputs where the step runs, for
	// messages that mention an input other than the one a Problem is about.
	Naming      inputs.Naming
	Run         host.Run
	Permissions []string
	Lifetime    time.Duration
	AllowBroad  bool
	// Getenv reads the step's environment: settings cloud SDKs read
	// (AZURE_AUTHORITY_HOST), not the CI system's, which the host offers
	// as capabilities.
	Getenv func(string) string
	HTTP   *http.Client
	Now    func() time.Time
	Log    Logger
	// Redact registers credentials a provider derives at run time (an App
	// JWT, an OIDC assertion, the Azure CLI's token) with the redacting
	// writers, so that no error or log line can print them. It sends no
	// mask command to the CI system: these values are never handed to the
	// job.
	Redact func(values ...string)

	// OIDC is the CI system's OIDC token for the job (GitHub Actions),
	// nil where the host gives none.
	OIDC host.OIDC
	// Connection returns a service connection the step names (Azure
	// Pipelines), nil where the host has none.
	Connection func(id string) (host.ServiceConnection, error)
	// Terminal is set when a person runs jobtoken by hand: their own CLI
	// sign-ins (az login) may stand in for a parent credential.
	Terminal bool
}

// Name spells in as the user types it where the step runs.
func (r Request) Name(in inputs.Input) string { return r.Naming.Name(in) }

// Setting spells in set to value as the user writes it where the step
// runs ("azure-credential: entra", "--azure-credential entra").
func (r Request) Setting(in inputs.Input, value string) string { return r.Naming.Setting(in, value) }

// Logger is the part of a host a provider may talk to.
type Logger interface {
	Infof(format string, args ...any)
	Warningf(format string, args ...any)
	Debugf(format string, args ...any)
}

// Plan is what a provider will do, decided offline. It is shown by
// `jobtoken plan` and by dry runs.
type Plan struct {
	Provider  string   `json:"provider"`
	Parent    string   `json:"parent"`              // the parent credential, described without its value
	Scopes    []string `json:"scopes"`              // what the child token will carry
	Resources []string `json:"resources,omitempty"` // repositories, organization…
	// Tokens, when a step mints several tokens (one per GitHub account),
	// describes each on one line: "octo-org: octo-org/app, octo-org/docs".
	// The first is the one the token output carries.
	Tokens     []string          `json:"tokens,omitempty"`
	Lifetime   time.Duration     `json:"-"`                 // the child token's life
	Revocation string            `json:"revocation"`        // how and when it is revoked, or why it cannot be
	Revocable  bool              `json:"revocable"`         // false for Entra tokens
	Notes      []string          `json:"notes,omitempty"`   // anything a reader should know
	Details    map[string]string `json:"details,omitempty"` // provider specifics (installation ID…)
	Secrets    []string          `json:"-"`                 // parent credentials, to mask before any call
	// UsesRunRepository is set when the plan depends on the repository the
	// run will tell (host.Run.Known(host.RunRepository) is false).
	UsesRunRepository bool `json:"-"`
}

// Minter mints the token a Plan describes.
type Minter interface {
	Plan() Plan
	// Mint mints the token. When it returns a token and an error (the grant
	// was broader or narrower than asked), the caller revokes the token.
	Mint(ctx context.Context) (*Token, error)
}

// Token is a minted child token.
type Token struct {
	Value     string
	ID        string // never secret
	ExpiresAt time.Time
	Granted   string // what the provider granted, as it said it
	// Secrets are derived forms to mask with the value (basic-auth encodings,
	// channel URLs).
	Secrets []string
	// Outputs are provider-specific outputs (installation-id, app-slug).
	Outputs map[string]string
	// ExportNames, when set, are the variables export-env sets for the name
	// given (BINSTAR_API_TOKEN beside ANACONDA_API_TOKEN); nil sets the
	// name alone.
	ExportNames func(name string) []string
	// State is what Revoke needs beyond the value, the ID and the
	// destinations: the provider's own, marshalled by the provider, opaque
	// to everyone else.
	State json.RawMessage
	// Summary rows (label, value), never secret.
	Summary [][2]string
	// Revocable is false when the provider cannot revoke this kind of token.
	Revocable bool
	// Accounts splits the token by account (github: one installation token
	// per account) for the broker that serves them (refresh: true); nil
	// for providers without the Refresher capability.
	Accounts []Account
}

// Account is one account's token within a Token.
type Account struct {
	Name  string `json:"name"`
	Token string `json:"token"`
	// Repositories are the names the token covers; none: every one of
	// the account's the installation reaches.
	Repositories []string  `json:"repositories,omitempty"`
	ExpiresAt    time.Time `json:"expires_at"`
}
