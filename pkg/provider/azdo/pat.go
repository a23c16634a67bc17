package azdo

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/cloudid"
)

// MaxPATLifetime is the longest validTo Azure DevOps accepts for a PAT.
const MaxPATLifetime = 365 * 24 * time.Hour

// MinPATLifetime is the shortest lifetime jobtoken asks a PAT for.
const MinPATLifetime = time.Minute

// validToSlack is how much later than asked Azure DevOps may set validTo
// (rounding) before the grant counts as broader than asked.
const validToSlack = 5 * time.Minute

// patMinter mints a PAT (azure-credential: pat).
type patMinter struct {
	req         provider.Request
	org         string
	apiURL      string
	scopes      []string
	parent      string  // azure-access-token; empty when the Azure CLI login is used
	parentClaim *claims // decoded (not verified) parent claims
	useCLI      bool
	displayName string
	plan        provider.Plan
	// cliCredential returns the Azure CLI login's token (a seam for tests).
	cliCredential func(ctx context.Context) (string, error)
}

func preparePAT(req provider.Request) (provider.Minter, inputs.Problems) {
	var ps inputs.Problems
	m := &patMinter{req: req, cliCredential: azureCLIToken}
	m.org = organization(req, true, &ps)
	m.apiURL = apiURL(req, &ps)
	if req.Inputs.Known(inputs.Permissions) {
		scopes, sp := ParseScopes(req.Permissions, req.AllowBroad, req.Naming)
		ps = append(ps, sp...)
		m.scopes = scopes
	}
	switch {
	case req.Lifetime > MaxPATLifetime:
		ps.Add(inputs.Lifetime, "%s is longer than the one year Azure DevOps allows for a PAT; use a short lifetime such as 1h", inputs.FormatDuration(req.Lifetime))
	case req.Lifetime < MinPATLifetime:
		// A validTo that is already (nearly) past is refused by the service
		// or yields a PAT that dies before the job can use it.
		ps.Add(inputs.Lifetime, "%s is shorter than a minute; use at least 1m, e.g. 30m", inputs.FormatDuration(req.Lifetime))
	}
	m.parent = req.Inputs.Get(AccessToken)
	switch {
	case m.parent != "" && !req.Inputs.Known(AccessToken):
		// Given at run time: nothing to judge now.
	case m.parent != "":
		c, err := checkParent(m.parent, req.Now(), req.Naming)
		if err != nil {
			ps.Add(AccessToken, "%s", err.Error())
		}
		m.parentClaim = c
	case req.Terminal:
		m.useCLI = true
	default:
		ps.Add(AccessToken, "is required for %s; pass a signed-in user's Microsoft Entra token for Azure DevOps (the PAT lifecycle API refuses service principals and PATs), or use %s with workload identity",
			req.Setting(Credential, CredentialPAT), req.Setting(Credential, CredentialEntra))
	}
	for _, in := range []inputs.Input{cloudid.AzureClientID, cloudid.AzureTenantID, ServiceConnection} {
		if req.Inputs.Given(in) {
			ps.Add(in, "is used only with %s; remove it, or set %s", req.Setting(Credential, CredentialEntra), req.Setting(Credential, CredentialEntra))
		}
	}
	m.displayName = req.Run.Label() + " " + host.NewSuffix()
	m.plan = m.makePlan()
	return m, ps
}

func (m *patMinter) makePlan() provider.Plan {
	parent := "Microsoft Entra user token from " + m.req.Name(AccessToken)
	var notes []string
	var secrets []string
	if m.useCLI {
		parent = "Microsoft Entra user token from the Azure CLI login (az account get-access-token)"
	} else if m.req.Inputs.Known(AccessToken) {
		secrets = append(secrets, m.parent)
		if c := m.parentClaim; c != nil {
			parent += " (" + c.user() + ")"
			if exp := c.expiry(); !exp.IsZero() {
				notes = append(notes, fmt.Sprintf("the parent token expires at %s; if the job outlasts it, the post step cannot revoke the PAT, which then stays valid until its validTo", exp.Format(time.RFC3339)))
			}
		}
	}
	notes = append(notes, "display name: "+m.displayName, "allOrgs: false (the PAT works in "+m.org+" only)")
	return provider.Plan{
		Provider:   Name,
		Parent:     parent,
		Scopes:     m.scopes,
		Resources:  []string{"organization " + m.org},
		Lifetime:   m.req.Lifetime,
		Revocation: fmt.Sprintf("DELETE %s/%s/_apis/tokens/pats?authorizationId=… with the parent token, in the post step", m.apiURL, m.org),
		Revocable:  true,
		Notes:      notes,
		Details:    map[string]string{"api": m.apiURL, "organization": m.org, "display_name": m.displayName, "credential": CredentialPAT},
		Secrets:    secrets,
	}
}

// Plan implements provider.Minter.
func (m *patMinter) Plan() provider.Plan { return m.plan }

// azureCLIToken gets the Azure CLI login's token for Azure DevOps (local use).
func azureCLIToken(ctx context.Context) (string, error) {
	cred, err := azidentity.NewAzureCLICredential(nil)
	if err != nil {
		return "", err
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{Scope}})
	if err != nil {
		return "", fmt.Errorf("failed to get a token from the Azure CLI: run `az login` as a user (not a service principal), or pass %s", inputs.FlagNames.Name(AccessToken))
	}
	return tok.Token, nil
}

// parentToken returns the parent token, from the input or the Azure CLI.
func (m *patMinter) parentToken(ctx context.Context) (string, error) {
	if !m.useCLI {
		return m.parent, nil
	}
	tok, err := m.cliCredential(ctx)
	if err != nil {
		return "", err
	}
	m.req.Redact(tok)
	if _, err := checkParent(tok, m.req.Now(), m.req.Naming); err != nil {
		return tok, fmt.Errorf("the Azure CLI login's token %s", err)
	}
	return tok, nil
}
