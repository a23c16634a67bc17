package provider

import (
	"context"
	"time"

	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// Optional capabilities a Provider (or its Minter) may have, each a small
// interface that callers test for.

// Checker is implemented by minters that can verify the parent credential with
// read-only calls (`jobtoken plan --check`).
type Checker interface {
	Check(ctx context.Context) ([]string, error)
}

// GitCredential is a provider whose token git uses for the repositories it
// reaches (over HTTPS): plan warns when a credential actions/checkout left in
// .git/config would be used instead.
type GitCredential interface {
	Provider
	GitCredential()
}

// Refresher is a provider whose token a broker can mint again before it
// expires, for as long as the job runs (refresh: true): by preparing the
// same inputs again and minting, so that the successor is checked against
// the same ask as the first. Its tokens carry Accounts.
type Refresher interface {
	Provider
	// GitHost is the host whose git URLs (https://HOST/OWNER/REPO) the
	// token is git's credential for: github.com for api.github.com, the
	// server itself for GitHub Enterprise Server.
	GitHost(req Request) string
	// NoRefresh says why req's token cannot be refreshed (an azure-devops
	// PAT), as a sentence that follows the input's name and ends with the
	// fix; "" when it can.
	NoRefresh(req Request) string
}

// Federated is a minter that may exchange an OIDC token of the job (or, when
// conn is not "", of that service connection) for its token: a broker
// refreshing it asks the CI system for a fresh OIDC token each time, with
// what the host hands it over its stdin pipe (host.OIDCHandoff). ok is
// false when this minter, as prepared, uses none (a private key), so that
// the broker is handed nothing it does not need.
type Federated interface {
	OIDCConnection() (conn string, ok bool)
}

// OwnSignIn is a provider that, run by hand, signs in with the person's own
// ambient credentials (az login, an AWS profile, gcloud's application default
// credentials) and sends what they yield to where these inputs point. plan
// --check treats such an input like a credential flag: a file may not choose
// it, and when the command line does, the file may not choose the API URL
// either.
type OwnSignIn interface {
	Provider
	OwnSignIn(req Request) []Destination
}

// ManualRevoker is a provider that says what `jobtoken revoke` needs from a
// person, who has no saved state.
type ManualRevoker interface {
	Provider
	ManualRevoke() ManualRevoke
}

// ManualRevoke is what revoking by hand needs: the token itself and/or its
// ID, the inputs beyond provider, and how to rebuild what the main stage
// would have saved. Destinations (API URLs, the organization) come from
// Provider.Destinations, with the checks mint applies.
type ManualRevoke struct {
	Token bool // revoked with the token itself: --token-stdin is required
	ID    bool // revoked by ID with the parent credential: --token-id is required
	// How says how the service revokes, for help and for a missing flag.
	How string
	// Inputs are what revoking needs beyond provider: where the token
	// goes, and the parent credential when it is revoked with that.
	Inputs []inputs.Input
	// Rebuild fills in what the main stage would have saved for a token
	// known by value and/or ID: the ID when only the value is given, the
	// provider's State. Nil when nothing needs filling in.
	Rebuild func(s *Saved)
	// Hint ends the command line that revokes s, a token this provider
	// minted (the flags beyond --provider, --token-id and --token-stdin).
	Hint func(s Saved) string
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

// Listing is what Sweeper.Minted found.
type Listing struct {
	Tokens []Listed
	// Notes say what the listing could not cover (tokens an organization
	// owns), for the person sweeping.
	Notes []string
}

// Sweeper is implemented by providers that can list, with the parent
// credential, the live tokens jobtoken minted, and revoke them: tokens left
// behind when a runner died before its post step.
type Sweeper interface {
	Provider
	// Minted lists the live tokens of req's parent credential whose name
	// says jobtoken minted them (host.ParseLabel). Bad inputs come back as
	// inputs.Problems.
	Minted(ctx context.Context, req Request) (Listing, error)
	// RevokeListed revokes one of them with the parent credential.
	RevokeListed(ctx context.Context, req Request, t Listed) error
	// Sweep describes sweeping for `jobtoken sweep --help`.
	Sweep() SweepHelp
}

// SweepHelp is what `jobtoken sweep --help` says of one provider.
type SweepHelp struct {
	// Named says which field of a token holds its name: "display name".
	Named string
	// Undated, when the provider does not say when a token was created,
	// says what to do instead, as a sentence.
	Undated string
	// Lists says whose tokens listing covers and with which inputs.
	Lists string
	// Inputs are what listing needs beyond provider.
	Inputs []inputs.Input
}

// Unsweepable is a provider whose tokens cannot be listed and need no
// sweeping, and says why.
type Unsweepable interface {
	Provider
	// NothingToSweep says why in two forms: the answer to `jobtoken sweep
	// --provider NAME`, and a sentence for the command's help.
	NothingToSweep() (answer, help string)
}
