// Package azdo mints Azure DevOps credentials: a PAT narrowed to vso.* scopes
// and a short validTo, created through the PAT lifecycle API with a signed-in
// user's Microsoft Entra token and revoked in the post step (azure-credential:
// pat), or a service principal's Entra token obtained through workload
// identity federation, which can be neither narrowed nor revoked
// (azure-credential: entra).
//
// prepare.go reads the inputs common to both; pat.go and entra.go prepare
// each credential, mint.go mints a PAT, client.go is the PAT lifecycle
// API's client, revoke.go, check.go and sweep.go the other capabilities.
package azdo

import (
	"github.com/jobtoken/jobtoken/pkg/provider"
)

// Name is the provider's input value.
const Name = "azure-devops"

// Credential types (the azure-credential input).
const (
	CredentialPAT   = "pat"
	CredentialEntra = "entra"
)

// Provider is the Azure DevOps provider.
type Provider struct{}

// New returns the provider.
func New() *Provider { return &Provider{} }

var (
	_ provider.Provider      = (*Provider)(nil)
	_ provider.ManualRevoker = (*Provider)(nil)
	_ provider.Sweeper       = (*Provider)(nil)
	_ provider.Refresher     = (*Provider)(nil)
)

// Name implements provider.Provider.
func (*Provider) Name() string { return Name }
