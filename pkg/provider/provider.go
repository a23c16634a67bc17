// Package provider defines what a token provider does: validate a request
// offline, mint one child token, and revoke it later. One package per provider
// implements it (ghapp, azdo, anaconda).
package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/network"
)

// Request is everything a provider may use; it never reads the process
// environment or clock directly, so tests can run in parallel.
type Request struct {
	Inputs      inputs.Values
	Run         host.Run
	Host        string // "github", "azure" or "local"
	Permissions []string
	Lifetime    time.Duration
	AllowBroad  bool
	Getenv      func(string) string
	HTTP        *http.Client
	Now         func() time.Time
	Log         Logger
	// Redact, when set, registers credentials a provider derives at run time
	// (an App JWT, an OIDC assertion, the Azure CLI's token) with the
	// redacting writers, so that no error or log line can print them. It
	// sends no mask command to the CI system: these values are never
	// handed to the job.
	Redact func(values ...string)
}

// Logger is the part of a host a provider may talk to.
type Logger interface {
	Infof(format string, args ...any)
	Warningf(format string, args ...any)
	Debugf(format string, args ...any)
}

// Plan is what a provider will do, decided offline. It is shown by
// `jobtoken plan` and by dry runs.
type Plan struct {
	Provider   string            `json:"provider"`
	Parent     string            `json:"parent"`              // the parent credential, described without its value
	Scopes     []string          `json:"scopes"`              // what the child token will carry
	Resources  []string          `json:"resources,omitempty"` // repositories, organization…
	Lifetime   time.Duration     `json:"-"`                   // the child token's life
	Revocation string            `json:"revocation"`          // how and when it is revoked, or why it cannot be
	Revocable  bool              `json:"revocable"`           // false for Entra tokens
	Notes      []string          `json:"notes,omitempty"`     // anything a reader should know
	Details    map[string]string `json:"details,omitempty"`   // provider specifics (installation ID…)
	Secrets    []string          `json:"-"`                   // parent credentials, to mask before any call
}

// Minter mints the token a Plan describes.
type Minter interface {
	Plan() Plan
	// Mint mints the token. When it returns a token and an error (the grant
	// was broader or narrower than asked), the caller revokes the token.
	Mint(ctx context.Context) (*Token, error)
}

// Checker is implemented by minters that can verify the parent credential with
// read-only calls (`jobtoken plan --check`).
type Checker interface {
	Check(ctx context.Context) ([]string, error)
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
	// Env are extra variable names to export with export-env (e.g.
	// BINSTAR_API_TOKEN beside ANACONDA_API_TOKEN).
	Env func(exportEnv string) []string
	// State is what Revoke needs beyond the value and ID.
	State map[string]string
	// Summary rows (label, value), never secret.
	Summary [][2]string
	// Revocable is false when the provider cannot revoke this kind of token.
	Revocable bool
}

// Saved is what the main stage hands to the post stage.
type Saved struct {
	Provider  string            `json:"provider"`
	Token     string            `json:"token"`
	ID        string            `json:"id"`
	ExpiresAt time.Time         `json:"expires_at"`
	Revoke    bool              `json:"revoke"`
	Revocable bool              `json:"revocable"`
	State     map[string]string `json:"state,omitempty"`
	// Pending marks the state saved before the create: no token is known,
	// and State names what a create whose answer was lost would have left
	// (a display name, a note), for Revoke to find with the parent.
	Pending bool `json:"pending,omitempty"`
	// Authenticated is set by whoever hands Saved to Revoke: true when it
	// comes from this step's own main stage (verified) or from a person at
	// a terminal; false when nothing proves who wrote it. Revoke then does
	// nothing that needs the parent credential.
	Authenticated bool `json:"-"`
}

// ErrNotAuthenticated is returned by Revoke when only the parent credential
// could revoke and the state is not authenticated.
var ErrNotAuthenticated = errors.New("the state is not authenticated, so the parent credential is not used to revoke")

// Destination is one thing that decides where a credential goes: an API URL,
// an organization. The post stage resolves them from its own inputs, with
// the code and checks the main stage used, and the state keeps main's under
// Key.
type Destination struct {
	Key   string       // key in Saved.State (api_url, organization…)
	Input inputs.Input // the input that sets it
	Value string
	// URL marks a host credentials are sent to (not only a path on it).
	URL bool
}

// LostFinder is a minter whose token, should the create's answer be lost,
// can be found later by a name chosen before the create. The main stage
// saves LostState (with the destinations) before minting, so that the post
// stage can find such a token even when the main stage was cancelled.
type LostFinder interface {
	LostState() map[string]string
}

// ErrMaybeLost is wrapped by Mint errors after which a token may exist that
// no answer brought back and that Mint could not make sure was revoked: the
// post stage should look for it.
var ErrMaybeLost = errors.New("a token whose answer was lost may still exist")

// CleanupTimeout bounds clean-up (revoking a token that cannot be handed
// over, finding one whose answer was lost). It runs detached from the step's
// context, which may be cancelled: the CI system gives a cancelled step a
// few seconds before it kills it, and the post step looks again.
const CleanupTimeout = 30 * time.Second

// CleanupContext is ctx without its cancellation, bounded by CleanupTimeout.
func CleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
}

// ErrAlreadyRevoked is returned by Revoke when the provider says the token no
// longer works: the goal is reached, so it is reported as a notice.
var ErrAlreadyRevoked = errors.New("token was already revoked or expired")

// Provider is one token provider.
type Provider interface {
	// Name is the provider input's value.
	Name() string
	// Inputs is the provider's part of the inputs catalog: the inputs it
	// reads beyond the common ones, the outputs it sets beyond them.
	Inputs() inputs.Group
	// Prepare validates req offline and makes no network call. Problems name
	// the inputs at fault.
	Prepare(req Request) (Minter, inputs.Problems)
	// Revoke revokes a token minted earlier. req carries the post stage's
	// inputs (a parent credential may be needed again); saved.State holds
	// the destinations to use, already decided by the caller.
	Revoke(ctx context.Context, req Request, saved Saved) error
	// Destinations resolves from req's inputs, with Prepare's code and URL
	// checks and without network calls, where this provider sends
	// credentials. Problems name the inputs at fault.
	Destinations(req Request) ([]Destination, inputs.Problems)
}

// Naming is how the host of this request spells input names, for messages
// that mention an input other than the one a Problem is about.
func (r Request) Naming() inputs.Naming {
	switch r.Host {
	case "azure":
		return inputs.AzureNames
	case "local":
		return inputs.FlagNames
	}
	return inputs.GitHubNames
}

// Name spells in as the user types it on this request's host.
func (r Request) Name(in inputs.Input) string { return r.Naming().Name(in) }

// GitCredential is a provider whose token git uses for the repositories it
// reaches (over HTTPS): plan warns when a credential actions/checkout left in
// .git/config would be used instead.
type GitCredential interface {
	Provider
	GitCredential()
}

// Listed is a token jobtoken minted, as the provider lists it (jobtoken
// sweep). Its value is never part of a listing.
type Listed struct {
	ID      string    // what RevokeListed needs: authorizationId, anaconda note
	Name    string    // display name or note: "jobtoken <repo> run <id>.<attempt> <hex>"
	Created time.Time // zero when the provider does not say
	Expires time.Time // zero when the provider does not say
	Scopes  string
}

// Sweeper is implemented by providers that can list, with the parent
// credential, the live tokens jobtoken minted, and revoke them: tokens left
// behind when a runner died before its post step. GitHub installation tokens
// cannot be listed, so the github provider is no Sweeper.
type Sweeper interface {
	// Minted lists the live tokens of req's parent credential whose name
	// says jobtoken minted them (host.ParseLabel). Bad inputs come back as
	// inputs.Problems.
	Minted(ctx context.Context, req Request) ([]Listed, error)
	// RevokeListed revokes one of them with the parent credential.
	RevokeListed(ctx context.Context, req Request, t Listed) error
}

// APIURLProblem checks an API base URL: https, or plain http only to a
// loopback address (tests, local fakes), because credentials travel in every
// request. It returns "" when raw is fine, else the problem and its fix,
// never echoing a user:password part. It is the one URL check: every
// provider and every command applies it to every URL it sends a credential
// to (and the transport refuses a credential over plain http besides).
func APIURLProblem(raw, example string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		// url.Parse quotes the whole URL in its error: say less.
		return fmt.Sprintf("is not a URL; use e.g. %s", example)
	case u.User != nil || strings.Contains(raw, "@"):
		// Never echo it: the user part is a credential (an API URL never
		// needs an @, and "user:pw@host" without a scheme parses as
		// something else).
		return fmt.Sprintf("holds credentials (user:password@host); remove them and use e.g. %s", example)
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Sprintf("%q is not an https URL; use e.g. %s", raw, example)
	case u.Scheme == "http" && !network.Loopback(u.Hostname()):
		return fmt.Sprintf("%q would send credentials unencrypted; use https", raw)
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
		return fmt.Sprintf("%q has a query or fragment; use e.g. %s", raw, example)
	}
	return ""
}

// NetSummary turns an HTTP client error into one line without the request
// URL (see network.Summary).
func NetSummary(err error) string { return network.Summary(err) }
