package azdo

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
	"github.com/jobtoken/jobtoken/pkg/provider/cloudid"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// DefaultAuthorityHost is Microsoft Entra's public cloud authority.
const DefaultAuthorityHost = cloudid.DefaultAuthorityHost

// Audience is what Entra expects in a federated assertion.
const Audience = cloudid.EntraAudience

// entraMinter gets a service principal's Entra token through workload
// identity federation (azure-credential: entra): the CI system's OIDC token
// for the job, exchanged with Microsoft Entra.
type entraMinter struct {
	req       provider.Request
	org       string
	authority string
	custom    bool // authority is not the public cloud's: skip instance discovery
	clientID  string
	tenantID  string
	conn      string    // the service connection, where the host names identities so
	oidc      host.OIDC // the job's OIDC token; nil when the host has none
	plan      provider.Plan

	once sync.Once
	x    *cloudid.EntraExchange
}

func prepareEntra(req provider.Request) (provider.Minter, inputs.Problems) {
	var ps inputs.Problems
	m := &entraMinter{req: req}
	entra, pat := req.Setting(Credential, CredentialEntra), req.Setting(Credential, CredentialPAT)
	if len(req.Permissions) > 0 {
		ps.Add(inputs.Permissions, "must be empty with %s: an Entra token carries everything its identity may do in Azure DevOps and cannot be narrowed to vso.* scopes; for a narrowed, revocable token use %s", entra, pat)
	}
	// The runner and the agent pass the default (1h) as if it were given, so
	// only another value is refused.
	if req.Inputs.Given(inputs.Lifetime) && req.Inputs.Known(inputs.Lifetime) && req.Lifetime != time.Hour {
		ps.Add(inputs.Lifetime, "%s cannot be applied to Entra tokens, whose life Microsoft Entra sets (about an hour); remove it, or use %s for a PAT that lives exactly this long", inputs.FormatDuration(req.Lifetime), pat)
	}
	if req.Inputs.Given(AccessToken) {
		ps.Add(AccessToken, "is used only with %s; remove it (entra needs no secret)", pat)
	}
	if req.Inputs.Given(Organization) {
		m.org = organization(req, false, &ps)
	}

	var problem string
	m.authority, m.custom, problem = cloudid.EntraAuthority(req.Getenv, "entra")
	if problem != "" {
		ps.Add(Credential, "%s", problem)
	}

	// Where the identity comes from is what the host offers: a service
	// connection (Azure Pipelines), or the job's OIDC token with the
	// identity named in the inputs (GitHub Actions).
	switch {
	case req.Connection != nil:
		m.serviceConnection(&ps)
	case req.OIDC != nil:
		id, ips := cloudid.ParseEntra(req.Inputs, entra)
		ps = append(ps, ips...)
		m.clientID, m.tenantID, m.oidc = id.ClientID, id.TenantID, req.OIDC
		if err := m.oidc.Available(); err != nil {
			ps.Add(Credential, "entra needs the job's OIDC token, but %s", err)
		}
	default:
		ps.Add(Credential, "entra uses workload identity, which only GitHub Actions and Azure Pipelines provide; locally, use %s (it uses your Azure CLI login)", pat)
	}
	m.plan = m.makePlan()
	return m, ps
}

// serviceConnection reads the service connection the step names: its
// service principal, tenant and OIDC token.
func (m *entraMinter) serviceConnection(ps *inputs.Problems) {
	m.conn = m.req.Inputs.Get(ServiceConnection)
	switch {
	case m.conn == "":
		ps.Add(ServiceConnection, "is required for %s; choose an Azure Resource Manager service connection that uses workload identity federation", m.req.Setting(Credential, CredentialEntra))
		return
	case !m.req.Inputs.Known(ServiceConnection):
		return
	}
	c, err := m.req.Connection(m.conn)
	if err != nil {
		ps.Add(ServiceConnection, "%s", err)
		return
	}
	m.clientID, m.tenantID, m.oidc = c.ClientID, c.TenantID, c.OIDC
	if err := m.oidc.Available(); err != nil {
		ps.Add(ServiceConnection, "entra needs the job's OIDC token, but %s", err)
	}
}

func (m *entraMinter) identity() string { return m.exchange().Identity() }

// exchange is the workload identity exchange this minter makes.
func (m *entraMinter) exchange() *cloudid.EntraExchange {
	m.once.Do(func() {
		m.x = &cloudid.EntraExchange{
			Entra: cloudid.Entra{ClientID: m.clientID, TenantID: m.tenantID}, Connection: m.conn, OIDC: m.oidc,
			Authority: m.authority, Custom: m.custom, HTTP: m.req.HTTP, Redact: m.req.Redact, Naming: m.req.Naming,
			Known: []apierror.Known{{Text: "AADSTS500011", Explain: func(*apierror.Error) (string, string) {
				return "Azure DevOps (resource " + ResourceID + ") has no service principal in this tenant: no organization of this tenant uses Azure DevOps",
					"use the tenant the Azure DevOps organization is connected to (Organization settings → Microsoft Entra)"
			}}},
		}
	})
	return m.x
}

func (m *entraMinter) makePlan() provider.Plan {
	var secrets []string
	if m.oidc != nil {
		secrets = m.oidc.Credentials()
	}
	res := []string{"every Azure DevOps organization the identity belongs to"}
	if m.org != "" {
		res = []string{"organization " + m.org + " (the token itself is not limited to it)"}
	}
	details := map[string]string{"credential": CredentialEntra, "authority": m.authority}
	if m.custom {
		details["instance_discovery"] = "disabled (custom authority)"
	}
	return provider.Plan{
		Provider:   Name,
		Parent:     "workload identity federation: " + m.identity(),
		Scopes:     []string{Scope},
		Resources:  res,
		Lifetime:   time.Hour,
		Revocation: "cannot be revoked: Microsoft Entra tokens expire on their own (about an hour)",
		Revocable:  false,
		Notes: []string{
			"an Entra token cannot be narrowed: it carries everything the identity may do in Azure DevOps; use " + m.req.Setting(Credential, CredentialPAT) + " for vso.* scopes",
			"Microsoft Entra sets the token's life; the " + m.req.Name(inputs.Lifetime) + " input does not apply",
		},
		Details: details,
		Secrets: secrets,
	}
}

var _ provider.Federated = (*entraMinter)(nil)

// OIDCConnection implements provider.Federated: a broker refreshing the
// token requests the OIDC token of the same service connection (or job).
func (m *entraMinter) OIDCConnection() (string, bool) { return m.conn, true }

// Plan implements provider.Minter.
func (m *entraMinter) Plan() provider.Plan { return m.plan }

// entraToken exchanges the CI system's OIDC token for an Entra access token
// for Azure DevOps. It returns the assertion too, so it can be masked.
func (m *entraMinter) entraToken(ctx context.Context) (azcore.AccessToken, string, error) {
	return m.exchange().Token(ctx, Scope)
}

// Mint implements provider.Minter.
func (m *entraMinter) Mint(ctx context.Context) (*provider.Token, error) {
	at, assertion, err := m.entraToken(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to get an Entra token: %w", err)
	}
	sum := sha256.Sum256([]byte(at.Token))
	secrets := []string{secret.BasicAuth("", at.Token)}
	if assertion != "" {
		secrets = append(secrets, assertion)
	}
	who := m.identity()
	if c, err := decodeClaims(at.Token); err == nil && c.Oid != "" {
		who += ", object " + c.Oid
	}
	return &provider.Token{
		Value:     at.Token,
		ID:        "sha256:" + hex.EncodeToString(sum[:])[:12],
		ExpiresAt: at.ExpiresOn.UTC(),
		Granted:   Scope,
		Secrets:   secrets,
		State:     state{Credential: CredentialEntra}.raw(),
		Summary: [][2]string{
			{"Credential", "Microsoft Entra token (" + m.req.Setting(Credential, CredentialEntra) + ")"},
			{"Identity", who},
			{"Narrowing", "none: carries everything the identity may do in Azure DevOps"},
		},
		Revocable: false,
		// One account for the broker (refresh: true): jobtoken token
		// --owner names the organization, when given.
		Accounts: []provider.Account{{Name: cmp.Or(m.org, Name), Token: at.Token, ExpiresAt: at.ExpiresOn.UTC()}},
	}, nil
}
