package azdo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
	"github.com/jobtoken/jobtoken/pkg/retry"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// MaxPATLifetime is the longest validTo Azure DevOps accepts for a PAT.
const MaxPATLifetime = 365 * 24 * time.Hour

// MinPATLifetime is the shortest lifetime jobtoken asks a PAT for.
const MinPATLifetime = time.Minute

// validToSlack is how much later than asked Azure DevOps may set validTo
// (rounding) before the grant counts as broader than asked.
const validToSlack = 5 * time.Minute

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
	scopes, sp := ParseScopes(req.Permissions, req.AllowBroad)
	ps = append(ps, sp...)
	m.scopes = scopes
	switch {
	case req.Lifetime > MaxPATLifetime:
		ps.Add(inputs.Lifetime, "%s is longer than the one year Azure DevOps allows for a PAT; use a short lifetime such as 1h", inputs.FormatDuration(req.Lifetime))
	case req.Lifetime < MinPATLifetime:
		// A validTo that is already (nearly) past is refused by the service
		// or yields a PAT that dies before the job can use it.
		ps.Add(inputs.Lifetime, "%s is shorter than a minute; use at least 1m, e.g. 30m", inputs.FormatDuration(req.Lifetime))
	}
	m.parent = req.Inputs.Get(inputs.AzureAccessToken)
	switch {
	case m.parent != "":
		c, err := checkParent(m.parent, now(req))
		if err != nil {
			ps.Add(inputs.AzureAccessToken, "%s", err.Error())
		}
		m.parentClaim = c
	case req.Host == "local":
		m.useCLI = true
	default:
		ps.Add(inputs.AzureAccessToken, "is required for azure-credential: pat; pass a signed-in user's Microsoft Entra token for Azure DevOps (the PAT lifecycle API refuses service principals and PATs), or use azure-credential: entra with workload identity")
	}
	for _, in := range []string{inputs.AzureClientID, inputs.AzureTenantID, inputs.AzureServiceConnection} {
		if req.Inputs.Given(in) {
			ps.Add(in, "is used only with azure-credential: entra; remove it, or set azure-credential: entra")
		}
	}
	m.displayName = req.Run.Label() + " " + randomSuffix()
	m.plan = m.makePlan()
	return m, ps
}

// randomSuffix keeps display names unique when one run mints several PATs
// (matrix jobs, several steps), so duplicates can be told apart.
func randomSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func now(req provider.Request) time.Time {
	if req.Now != nil {
		return req.Now()
	}
	return time.Now()
}

func (m *patMinter) makePlan() provider.Plan {
	parent := "Microsoft Entra user token from azure-access-token"
	var notes []string
	var secrets []string
	if m.useCLI {
		parent = "Microsoft Entra user token from the Azure CLI login (az account get-access-token)"
	} else {
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
		Details:    map[string]string{"api": m.apiURL, "organization": m.org, "display_name": m.displayName, "credential": KindPAT},
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
		return "", fmt.Errorf("failed to get a token from the Azure CLI: run `az login` as a user (not a service principal), or pass azure-access-token")
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
	if m.req.Redact != nil {
		m.req.Redact(tok)
	}
	if _, err := checkParent(tok, now(m.req)); err != nil {
		return tok, fmt.Errorf("the Azure CLI login's token %s", err)
	}
	return tok, nil
}

// Mint implements provider.Minter.
func (m *patMinter) Mint(ctx context.Context) (*provider.Token, error) {
	tok, err := m.mint(ctx)
	return tok, localize(m.req.Host, err)
}

func (m *patMinter) mint(ctx context.Context) (*provider.Token, error) {
	parent, err := m.parentToken(ctx)
	if err != nil {
		return nil, err
	}
	validTo := now(m.req).Add(m.req.Lifetime).UTC().Truncate(time.Second)
	c := newTokensClient(m.req.HTTP, m.apiURL, m.org, parent)
	createCtx, tries := retry.Track(ctx)
	pt, err := c.create(createCtx, patTokenCreateRequest{
		DisplayName: m.displayName,
		Scope:       strings.Join(m.scopes, " "),
		ValidTo:     validTo.Format(time.RFC3339),
		AllOrgs:     false,
	})
	if err != nil {
		lost := mayHaveCreated(err)
		err = fmt.Errorf("failed to create the PAT: %w", explainAuth(err))
		if lost {
			// The answer was lost or unreadable (or the step was
			// cancelled while waiting for it), not a refusal: Azure DevOps
			// may have created PATs nobody holds. They carry this step's
			// display name, so find and revoke them now, whether or not
			// the step is being cancelled.
			cctx, cancel := provider.CleanupContext(ctx)
			defer cancel()
			if !m.dropDuplicates(cctx, c, "") {
				err = fmt.Errorf("%w (%w)", err, provider.ErrMaybeLost)
			}
		}
		return nil, err
	}
	tok := m.token(pt, parent)
	// Only a create that was sent more than once can have left a twin; the
	// common case costs no listing.
	if tries.Load() > 1 {
		cctx, cancel := provider.CleanupContext(ctx)
		defer cancel()
		m.dropDuplicates(cctx, c, pt.AuthorizationID)
	}
	if err := m.verify(pt, validTo); err != nil {
		return tok, err
	}
	return tok, nil
}

func (m *patMinter) token(pt *patToken, parent string) *provider.Token {
	exp := pt.ValidTo.Time
	secrets := []string{secret.BasicAuth("", pt.Token)}
	if m.useCLI {
		secrets = append(secrets, parent)
	}
	return &provider.Token{
		Value:     pt.Token,
		ID:        pt.AuthorizationID,
		ExpiresAt: exp,
		Granted:   pt.Scope,
		Secrets:   secrets,
		State: map[string]string{
			"kind":         KindPAT,
			"organization": m.org,
			"api_url":      m.apiURL,
		},
		Summary: [][2]string{
			{"Credential", "PAT (azure-credential: pat)"},
			{"Organization", m.org},
			{"Display name", pt.DisplayName},
		},
		Revocable: true,
	}
}

// verify compares the PAT with what was asked: scopes, organizations and
// validTo. A PAT valid in every organization, in more than the one asked,
// without a stated end or for longer is broader. It reports what it found;
// the caller revokes the token and says so.
func (m *patMinter) verify(pt *patToken, validTo time.Time) error {
	if err := scopeMismatch(compareScopes(m.scopes, pt.Scope)); err != nil {
		return err
	}
	switch n := len(pt.TargetAccounts); {
	case n == 0:
		return fmt.Errorf("Azure DevOps granted more than asked: the PAT is valid in every organization of the user, not only %s. Report this", m.org)
	case n > 1:
		return fmt.Errorf("Azure DevOps granted more than asked: the PAT is valid in %d organizations, not only %s. Report this", n, m.org)
	}
	switch {
	case pt.ValidTo.IsZero():
		return fmt.Errorf("Azure DevOps granted more than asked: its answer gives the PAT no validTo, so nothing says it ends at %s. Report this", validTo.Format(time.RFC3339))
	case pt.ValidTo.After(validTo.Add(validToSlack)):
		return fmt.Errorf("Azure DevOps granted more than asked: the PAT is valid until %s, not %s. Report this", pt.ValidTo.UTC().Format(time.RFC3339), validTo.Format(time.RFC3339))
	}
	if !pt.ValidTo.IsZero() && pt.ValidTo.Before(validTo.Add(-validToSlack)) && m.req.Log != nil {
		m.req.Log.Warningf("Azure DevOps shortened the PAT's life: valid until %s, not %s", pt.ValidTo.UTC().Format(time.RFC3339), validTo.Format(time.RFC3339))
	}
	return nil
}

// mayHaveCreated reports whether a failed create may still have created a
// PAT: anything but a refusal (a patTokenError or a 4xx answer).
func mayHaveCreated(err error) bool {
	if e, ok := apierror.As(err); ok && e.Code != "" {
		return false
	}
	s := statusOf(err)
	return s == 0 || s >= 500
}

// dropDuplicates revokes any other active PAT with this run's display name:
// the create call is retried on 5xx and network errors, and a first try that
// reached Azure DevOps before failing may have created a PAT nobody holds.
// Best effort: failures are warnings. It reports whether every such PAT is
// known to be gone.
func (m *patMinter) dropDuplicates(ctx context.Context, c *tokensClient, keep string) bool {
	_, ok := dropNamed(ctx, c, m.displayName, keep, m.req.Log, func(err error) string {
		return fmt.Sprintf("could not list PATs to find one a lost answer may have left (%s); the post step looks again. Else run `jobtoken sweep --provider azure-devops --run %s.%s --revoke` or revoke PATs named %q by hand", err, m.req.Run.RunID, m.req.Run.Attempt, m.displayName)
	})
	return ok
}

// dropNamed revokes the active PATs named name, but keep. It returns how
// many it revoked, and whether every one is known to be gone.
func dropNamed(ctx context.Context, c *tokensClient, name, keep string, log provider.Logger, listFailed func(error) string) (int, bool) {
	list, err := c.list(ctx, 50)
	if err != nil {
		if log != nil {
			log.Warningf("%s", listFailed(err))
		}
		return 0, false
	}
	n, ok := 0, true
	for _, p := range list {
		if p.DisplayName != name || (keep != "" && strings.EqualFold(p.AuthorizationID, keep)) {
			continue
		}
		if err := c.revoke(ctx, p.AuthorizationID); err != nil {
			ok = false
			if log != nil {
				log.Warningf("failed to revoke PAT %s, created by a request whose answer was lost: %s; run jobtoken sweep, or revoke it by hand (User settings → Personal access tokens)", p.AuthorizationID, err)
			}
			continue
		}
		n++
		if log != nil {
			log.Infof("revoked PAT %s, created by a request whose answer was lost", p.AuthorizationID)
		}
	}
	return n, ok
}

// LostState implements provider.LostFinder: what the post step needs to
// find a PAT whose create's answer was lost.
func (m *patMinter) LostState() map[string]string {
	return map[string]string{"kind": KindPAT, "organization": m.org, "api_url": m.apiURL, "display_name": m.displayName}
}

// Check implements provider.Checker: decode the parent and list one PAT, a
// read-only call that proves the PAT lifecycle API accepts the parent.
func (m *patMinter) Check(ctx context.Context) ([]string, error) {
	out, err := m.check(ctx)
	return out, localize(m.req.Host, err)
}

func (m *patMinter) check(ctx context.Context) ([]string, error) {
	parent, err := m.parentToken(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	if c, err := decodeClaims(parent); err == nil {
		line := "parent: Microsoft Entra user token for " + c.user()
		if exp := c.expiry(); !exp.IsZero() {
			line += ", expires " + exp.Format(time.RFC3339)
		}
		out = append(out, line)
	}
	c := newTokensClient(m.req.HTTP, m.apiURL, m.org, parent)
	list, err := c.list(ctx, 1)
	if err != nil {
		return out, fmt.Errorf("the PAT lifecycle API refused the parent token: %w", explainAuth(err))
	}
	out = append(out, fmt.Sprintf("PAT lifecycle API for %s accepts the parent token (%d active PAT(s) on the first page)", m.org, len(list)))
	return out, nil
}

// revokePAT revokes a PAT with the parent token read again from the inputs.
// It acts only on authenticated state: the parent may revoke any PAT of its
// user, so an authorizationId a later step chose must never reach it.
func revokePAT(ctx context.Context, req provider.Request, saved provider.Saved) error {
	if !saved.Authenticated {
		return provider.ErrNotAuthenticated
	}
	org, api := saved.State["organization"], saved.State["api_url"]
	if api == "" {
		api = DefaultAPIURL
	}
	if org == "" {
		return errors.New("the saved state names no organization; revoke the PAT by hand (User settings → Personal access tokens)")
	}
	if msg := provider.APIURLProblem(api, DefaultAPIURL); msg != "" {
		return fmt.Errorf("%s %s", req.Name(inputs.AzureAPIURL), msg)
	}
	parent := req.Inputs.Get(inputs.AzureAccessToken)
	if parent == "" && req.Host == "local" {
		tok, err := azureCLIToken(ctx)
		if err != nil {
			return err
		}
		if req.Redact != nil {
			req.Redact(tok)
		}
		parent = tok
	}
	if parent == "" {
		return errors.New("azure-access-token is empty in the post step, and the PAT lifecycle API needs it to revoke the PAT")
	}
	if c, err := decodeClaims(parent); err == nil {
		if exp := c.expiry(); !exp.IsZero() && !now(req).Before(exp) {
			return fmt.Errorf("the parent azure-access-token expired at %s, so Azure DevOps would refuse the revocation; keep lifetime short, or revoke the PAT by hand (User settings → Personal access tokens)", exp.Format(time.RFC3339))
		}
	}
	c := newTokensClient(req.HTTP, api, org, parent)
	if saved.Pending {
		// The main step saved this before its create and never learnt
		// the PAT: find it by the display name it chose.
		name := saved.State["display_name"]
		if name == "" {
			return errors.New("the saved state names no display name to look for")
		}
		n, ok := dropNamed(ctx, c, name, "", req.Log, func(err error) string {
			return fmt.Sprintf("could not list PATs to find the one the main step's lost answer may have left (%s); run jobtoken sweep --provider azure-devops, or revoke PATs named %q by hand", err, name)
		})
		switch {
		case !ok:
			return fmt.Errorf("failed to make sure no PAT named %q is left", name)
		case n == 0:
			return provider.ErrAlreadyRevoked
		}
		return nil
	}
	err := c.revoke(ctx, saved.ID)
	switch {
	case err == nil:
		return nil
	case statusOf(err) == http.StatusNotFound:
		return provider.ErrAlreadyRevoked
	case statusOf(err) == http.StatusUnauthorized || statusOf(err) == http.StatusNonAuthoritativeInfo:
		e, _ := apierror.As(err)
		e.Explain("Azure DevOps refused the parent azure-access-token: it has probably expired",
			"revoke the PAT by hand (User settings → Personal access tokens), and keep lifetime short")
		return fmt.Errorf("failed to revoke: %w", err)
	case isPATError(err, "tokenNotFound", "authorizationNotFound"):
		return provider.ErrAlreadyRevoked
	}
	return fmt.Errorf("failed to revoke: %w", err)
}
