package azdo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/cloudid"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

func init() {
	// With AZURE_SDK_GO_LOGGING=all, azcore (read at its own init) prints
	// requests and MSAL's messages straight to os.Stderr, around the
	// redacting writer. jobtoken's errors say what went wrong; nothing of
	// the SDK's may print.
	azlog.SetListener(nil)
}

// DefaultAuthorityHost is Microsoft Entra's public cloud authority.
const DefaultAuthorityHost = "https://login.microsoftonline.com/"

// Audience is what Entra expects in a federated assertion.
const Audience = "api://AzureADTokenExchange"

// envAuthorityHost is read through req.Getenv, as the Azure SDKs read it.
const envAuthorityHost = "AZURE_AUTHORITY_HOST"

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

	m.authority = strings.TrimSpace(req.Getenv(envAuthorityHost))
	if m.authority == "" {
		m.authority = DefaultAuthorityHost
	}
	// The one URL check, and https even to this machine: azidentity
	// refuses anything else.
	msg := provider.APIURLProblem(m.authority, DefaultAuthorityHost)
	u, err := url.Parse(m.authority)
	switch {
	case msg != "" && (err != nil || u.User != nil || strings.Contains(m.authority, "@")):
		ps.Add(Credential, "entra sends the OIDC token to AZURE_AUTHORITY_HOST, which %s", msg)
	case u.Scheme != "https" || u.Host == "":
		ps.Add(Credential, "entra needs an https authority, but AZURE_AUTHORITY_HOST is %q; unset it or use e.g. %s", m.authority, DefaultAuthorityHost)
	case msg != "":
		ps.Add(Credential, "entra sends the OIDC token to AZURE_AUTHORITY_HOST, which %s", msg)
	}
	if !strings.HasSuffix(m.authority, "/") {
		m.authority += "/"
	}
	m.custom = !strings.EqualFold(m.authority, DefaultAuthorityHost)

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

func (m *entraMinter) identity() string {
	if m.conn != "" {
		return fmt.Sprintf("service principal %s of service connection %s (tenant %s)", m.clientID, m.conn, m.tenantID)
	}
	return fmt.Sprintf("app %s (tenant %s) trusting this workflow's OIDC token", m.clientID, m.tenantID)
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

// Plan implements provider.Minter.
func (m *entraMinter) Plan() provider.Plan { return m.plan }

// entraToken exchanges the CI system's OIDC token for an Entra access token
// for Azure DevOps. It returns the assertion too, so it can be masked.
//
// On Azure Pipelines this is what azidentity.AzurePipelinesCredential does,
// but that credential reads SYSTEM_OIDCREQUESTURI from the process
// environment (os.Getenv) and puts the OIDC endpoint's raw answer in its
// errors; the host fetches the assertion instead (host.OIDC), and this hands
// it to ClientAssertionCredential, which is the credential
// AzurePipelinesCredential wraps.
func (m *entraMinter) entraToken(ctx context.Context) (azcore.AccessToken, string, error) {
	var mu sync.Mutex
	var assertion string
	var assertErr error
	get := func(ctx context.Context) (string, error) {
		a, err := m.oidc.IDToken(ctx, Audience)
		if a != "" {
			m.req.Redact(a)
		}
		mu.Lock()
		defer mu.Unlock()
		assertion, assertErr = a, err
		return a, err
	}
	opts := &azidentity.ClientAssertionCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			// Set explicitly so azidentity never reads AZURE_AUTHORITY_HOST
			// from the process environment itself.
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: m.authority},
			Transport: m.req.HTTP,
			// req.HTTP already retries; azcore retrying too would multiply.
			Retry: policy.RetryOptions{MaxRetries: -1},
		},
		DisableInstanceDiscovery: m.custom,
	}
	cred, err := azidentity.NewClientAssertionCredential(m.tenantID, m.clientID, get, opts)
	if err != nil {
		return azcore.AccessToken{}, "", fmt.Errorf("failed to set up workload identity: %s", err)
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{Scope}})
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		if assertErr != nil {
			return tok, assertion, assertErr
		}
		return tok, assertion, fmt.Errorf("failed to exchange the OIDC token with Microsoft Entra: %w", m.entraError(err))
	}
	return tok, assertion, nil
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
	}, nil
}
