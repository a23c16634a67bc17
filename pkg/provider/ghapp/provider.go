// Package ghapp mints GitHub App installation tokens limited to named
// repositories and permissions, and revokes them with the token itself.
//
// App is the GitHub side, usable without a host or inputs; the Provider
// reads the inputs (prepare.go), mints through an App (mint.go), checks the
// parent (check.go) and revokes (revoke.go).
package ghapp

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/provider"
)

// Name is the provider's input value.
const Name = "github"

// DefaultAPIURL is github.com's REST API.
const DefaultAPIURL = "https://api.github.com"

// TokenLife is fixed by GitHub for installation tokens.
const TokenLife = time.Hour

// Provider is the GitHub App provider.
type Provider struct{}

// New returns the provider.
func New() *Provider { return &Provider{} }

var (
	_ provider.Provider      = (*Provider)(nil)
	_ provider.GitCredential = (*Provider)(nil)
	_ provider.ManualRevoker = (*Provider)(nil)
	_ provider.Unsweepable   = (*Provider)(nil)
	_ provider.Refresher     = (*Provider)(nil)
)

// GitHost implements provider.Refresher: github.com for github.com's API,
// else the API's own host (GitHub Enterprise Server serves git and
// /api/v3 from one host).
func (*Provider) GitHost(req provider.Request) string {
	u, _ := apiURL(req)
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	if strings.EqualFold(p.Host, "api.github.com") {
		return "github.com"
	}
	return strings.ToLower(p.Host)
}

// NoRefresh implements provider.Refresher: every installation token can be
// minted again.
func (*Provider) NoRefresh(provider.Request) string { return "" }

// Name implements provider.Provider.
func (*Provider) Name() string { return Name }

// GitCredential implements provider.GitCredential: an installation token is
// git's credential for the installation's repositories.
func (*Provider) GitCredential() {}

// NothingToSweep implements provider.Unsweepable.
func (*Provider) NothingToSweep() (answer, help string) {
	return "installation tokens cannot be listed (GitHub has no API for it) and expire within an hour of minting; nothing to sweep",
		"github installation tokens cannot be listed and expire within an hour: there is nothing to sweep."
}

// TokenID is an installation token's token-id: "sha256:" and the first 12
// hex digits of its SHA-256, which names it without revealing it.
func TokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])[:12]
}
