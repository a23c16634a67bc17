// Package anaconda mints anaconda.org tokens limited to named scopes and a
// max-age, owned by the parent credential's account or an organization, and
// revokes them with the token itself.
//
// prepare.go reads the inputs, client.go is anaconda.org's API, mint.go
// mints and checks the grant, revoke.go, check.go and sweep.go the other
// capabilities.
package anaconda

import (
	"time"

	"github.com/jobtoken/jobtoken/pkg/provider"
)

// Name is the provider's input value.
const Name = "anaconda"

// DefaultAPIURL is anaconda.org's API.
const DefaultAPIURL = "https://api.anaconda.org"

// CondaURL is where channel URLs embed tokens as /t/<token>/<channel>.
const CondaURL = "https://conda.anaconda.org"

// BinstarEnv is read by anaconda-client before ANACONDA_API_TOKEN, so it is
// exported beside export-env: a stale value there would shadow the new token.
const BinstarEnv = "BINSTAR_API_TOKEN"

// Lifetime bounds. A token is revoked in the post step anyway; the lifetime is
// the backstop when that step never runs, so it stays short: 1m to 24h, and up
// to MaxLifetime only with allow-broad-scopes (the same deliberate opt-in as a
// full-access scope).
const (
	MinLifetime       = time.Minute
	MaxNormalLifetime = 24 * time.Hour
	MaxLifetime       = 7 * 24 * time.Hour
)

// Provider is the anaconda provider.
type Provider struct {
	// suffix makes the note unique per step; tests fix it.
	suffix func() string
}

// New returns the provider.
func New() *Provider { return &Provider{} }

var (
	_ provider.Provider      = (*Provider)(nil)
	_ provider.ManualRevoker = (*Provider)(nil)
	_ provider.Sweeper       = (*Provider)(nil)
)

// Name implements provider.Provider.
func (*Provider) Name() string { return Name }
