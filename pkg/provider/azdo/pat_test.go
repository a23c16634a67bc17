package azdo_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/azdo"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

type patWorld struct {
	tenant *azfake.Tenant
	api    *azfake.PATs
	parent string
}

func newPATWorld(t *testing.T) *patWorld {
	t.Helper()
	w := &patWorld{tenant: azfake.NewTenant()}
	w.api = azfake.NewPATs(w.tenant, "contoso")
	w.parent = w.tenant.UserToken("alice@contoso.com", time.Hour)
	t.Cleanup(w.api.Close)
	return w
}

func (w *patWorld) inputs(perms string) inputs.Values {
	return inputs.ValuesOf(map[string]string{
		inputs.Provider.Key: "azure-devops", inputs.Permissions.Key: perms, inputs.Lifetime.Key: "30m",
		azdo.Organization.Key: "https://dev.azure.com/contoso/", azdo.APIURL.Key: w.api.URL,
		azdo.AccessToken.Key: w.parent,
	})
}

func (w *patWorld) mint(t *testing.T, in inputs.Values) (*provider.Token, provider.Request, error) {
	t.Helper()
	req := request("github", in, nil, nil)
	m, ps := azdo.New().Prepare(req)
	require.Empty(t, ps, "problems: %v", ps)
	tok, err := m.Mint(context.Background())
	return tok, req, err
}

// saved is what the main stage of req saves for tok.
func saved(tok *provider.Token, req provider.Request) provider.Saved {
	ds, _ := azdo.New().Destinations(req)
	dest := map[string]string{}
	for _, d := range ds {
		dest[d.Input.Key] = d.Value
	}
	return provider.Saved{Provider: azdo.Name, Token: tok.Value, ID: tok.ID, ExpiresAt: tok.ExpiresAt, Revoke: true, Revocable: tok.Revocable, Destinations: dest, State: tok.State, Authenticated: true}
}

func TestPATMintAndRevoke(t *testing.T) {
	t.Parallel()
	w := newPATWorld(t)
	start := time.Now()
	tok, req, err := w.mint(t, w.inputs("vso.code_write, VSO.packaging"))
	require.NoError(t, err)

	live := w.api.Live()
	require.Len(t, live, 1)
	p := live[0]
	assert.Equal(t, p.Token, tok.Value)
	assert.Equal(t, p.AuthorizationID, tok.ID)
	assert.Equal(t, "vso.code_write vso.packaging", p.Scope)
	assert.Equal(t, "vso.code_write vso.packaging", tok.Granted)
	assert.Len(t, p.TargetAccounts, 1, "allOrgs must be false")
	assert.True(t, strings.HasPrefix(p.DisplayName, "jobtoken octo/app run 9.1 "), p.DisplayName)
	assert.WithinDuration(t, start.Add(30*time.Minute), p.ValidTo, 5*time.Second)
	assert.Equal(t, p.ValidTo, tok.ExpiresAt)
	assert.True(t, tok.Revocable)
	assert.Contains(t, tok.Secrets, secret.BasicAuth("", tok.Value))
	assert.JSONEq(t, `{"credential": "pat"}`, string(tok.State), "where it goes is a destination")
	assert.Equal(t, map[string]string{"azure-devops-organization": "contoso", "azure-devops-api-url": w.api.URL}, saved(tok, req).Destinations)

	require.NoError(t, azdo.New().Revoke(context.Background(), req, saved(tok, req)))
	assert.Empty(t, w.api.Live())
	assert.Equal(t, 1, w.api.Count(http.MethodDelete))

	// A PAT Azure DevOps no longer knows counts as revoked.
	gone := saved(tok, req)
	gone.ID = "11111111-2222-4333-8444-555555555555"
	assert.ErrorIs(t, azdo.New().Revoke(context.Background(), req, gone), provider.ErrAlreadyRevoked)
}

// Every patTokenError value ends in a message that says what to change,
// whether Azure DevOps answers it with 200 (as documented) or an error status.
func TestPATCreateErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(w *patWorld, in inputs.Values)
		want  string
	}{
		{"lifespan policy", func(w *patWorld, in inputs.Values) { w.api.MaxLifespan = 10 * time.Minute }, "patLifespanPolicyViolation — the organization's policy caps PAT lifetimes below the one asked; shorten lifetime"},
		{"full scope policy", func(w *patWorld, in inputs.Values) {
			w.api.BlockFullScope = true
			in.Set(inputs.Permissions.Key, "app_token")
			in.Set(inputs.AllowBroadScopes.Key, "true")
		}, "fullScopePatPolicyViolation — the organization's policy forbids full-access PATs; replace app_token"},
		{"PAT creation restricted", func(w *patWorld, in inputs.Values) { w.api.RestrictCreation = true }, "accessDenied — the user may not create PATs in this organization: the organization restricts PAT creation"},
		{"not a member", func(w *patWorld, in inputs.Values) { w.api.NotMembers["alice@contoso.com"] = true }, "accessDenied — the user may not create PATs in this organization: the organization restricts PAT creation (the Restrict personal access token creation policy, and the user is not on its allowlist), or the user is not a member; ask a Project Collection Administrator"},
		{"invalid scope", func(w *patWorld, in inputs.Values) { w.api.CreateError = "invalidScope" }, "invalidScope — Azure DevOps refused the scopes; check permissions"},
		{"invalid validTo", func(w *patWorld, in inputs.Values) { w.api.CreateError = "invalidValidTo" }, "invalidValidTo — Azure DevOps refused the expiry date; check lifetime"},
		{"invalid user type", func(w *patWorld, in inputs.Values) { w.api.CreateError = "invalidUserType" }, "invalidUserType — the parent token's identity may not own PATs: a service principal or managed identity where a user is needed"},
		{"unknown value", func(w *patWorld, in inputs.Values) { w.api.CreateError = "deploymentHostNotSupported" }, "deploymentHostNotSupported — see the PAT lifecycle API documentation"},
	}
	for _, status := range []int{0, http.StatusBadRequest} {
		for _, tc := range cases {
			t.Run(tc.name+"/"+http.StatusText(status), func(t *testing.T) {
				t.Parallel()
				w := newPATWorld(t)
				w.api.CreateErrorStatus = status
				in := w.inputs("vso.code")
				tc.setup(w, in)
				tok, _, err := w.mint(t, in)
				require.Error(t, err)
				assert.Nil(t, tok)
				assert.Contains(t, err.Error(), "failed to create the PAT: Azure DevOps answered ")
				assert.Contains(t, err.Error(), tc.want)
				assert.Empty(t, w.api.All())
			})
		}
	}
}

// The API accepts only user tokens; what it refuses online is explained.
func TestPATAPIRefusesParent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		parent func(w *patWorld) string
		org    string
		want   []string
	}{
		{"token from another tenant", func(w *patWorld) string {
			return azfake.NewTenant().UserToken("mallory@evil.example", time.Hour)
		}, "contoso", []string{"401 Unauthorized: TF400813: The user '' is not authorized to access this resource. — Azure DevOps did not accept azure-access-token: it has expired (a user token lives about an hour) or was issued by another tenant; fetch a fresh user token"}},
		{"token expired on the service's clock", func(w *patWorld) string {
			// Valid here (so not refused offline), expired by the time
			// Azure DevOps reads it.
			w.api.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
			return w.parent
		}, "contoso", []string{"TF400813: The user ''", "it has expired"}},
		{"unknown organization", func(w *patWorld) string { return w.parent }, "fabrikam", []string{"404 Not Found: TF400898: The organization 'fabrikam' could not be found. — the organization does not exist, or is not connected to the user's Microsoft Entra tenant; check azure-devops-organization"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newPATWorld(t)
			in := w.inputs("vso.code")
			in.Set(azdo.AccessToken.Key, tc.parent(w))
			in.Set(azdo.Organization.Key, tc.org)
			_, _, err := w.mint(t, in)
			require.Error(t, err)
			for _, s := range tc.want {
				assert.Contains(t, err.Error(), s)
			}
			assert.NotContains(t, err.Error(), in.Get(azdo.AccessToken))
		})
	}
}

// The fake refuses what the real API refuses, before anything else.
func TestFakePATsAuth(t *testing.T) {
	t.Parallel()
	w := newPATWorld(t)
	call := func(auth string, suppress bool) (*http.Response, map[string]any) {
		r, _ := http.NewRequest(http.MethodGet, w.api.URL+"/contoso/_apis/tokens/pats?api-version=7.1-preview.1", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if suppress {
			r.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
		}
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp, body
	}
	resp, _ := call("Bearer "+w.parent, true)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, body := call("Basic "+secret.BasicAuth("", "somepat"), true)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, "The requested operation is not allowed.", body["message"])
	for _, app := range []string{w.tenant.AppToken(clientID, time.Hour, true), w.tenant.AppToken(clientID, time.Hour, false)} {
		resp, body = call("Bearer "+app, true)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Equal(t, "InvalidAccessException", body["typeKey"])
	}
	resp, _ = call("Bearer "+w.tenant.UserToken("bob@contoso.com", -time.Minute), true)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = call("", false)
	assert.Equal(t, http.StatusNonAuthoritativeInfo, resp.StatusCode, "without Suppress, a sign-in page")
}

func TestPATGrantDiffers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		grant func(p *azfake.PAT)
		want  string
	}{
		{"extra scope", func(p *azfake.PAT) { p.Scope += " vso.work_write" }, "granted more than asked: the PAT also carries vso.work_write"},
		{"all organizations", func(p *azfake.PAT) { p.TargetAccounts = nil }, "valid in every organization"},
		{"longer life", func(p *azfake.PAT) { p.ValidTo = p.ValidTo.Add(24 * time.Hour) }, "granted more than asked: the PAT is valid until"},
		{"missing scope", func(p *azfake.PAT) { p.Scope = "vso.code" }, "granted less than asked: the PAT lacks vso.packaging"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newPATWorld(t)
			w.api.Grant = tc.grant
			tok, _, err := w.mint(t, w.inputs("vso.code vso.packaging"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			// The token comes back with the error so the caller revokes it.
			require.NotNil(t, tok)
			assert.Equal(t, w.api.Live()[0].Token, tok.Value)
		})
	}
	// An implied read scope listed beside the asked write scope is not broader.
	w := newPATWorld(t)
	w.api.Grant = func(p *azfake.PAT) { p.Scope += " vso.code" }
	_, _, err := w.mint(t, w.inputs("vso.code_write"))
	assert.NoError(t, err)
}

// A create retried after a 5xx may leave a PAT nobody holds; it is revoked.
func TestPATDuplicateFromRetryIsRevoked(t *testing.T) {
	t.Parallel()
	w := newPATWorld(t)
	first := true
	w.api.Before = func(rw http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || !first {
			return false
		}
		first = false
		var body struct{ DisplayName string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		// The first try reached Azure DevOps, which created a PAT, then failed.
		w.api.Add(&azfake.PAT{AuthorizationID: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", DisplayName: body.DisplayName,
			Scope: "vso.code", Token: "orphanorphanorphanorphanorphanorphanorphanorphan", Org: "contoso",
			UserOID: mustOID(t, w.parent), ValidFrom: time.Now(), ValidTo: time.Now().Add(time.Hour)})
		rw.WriteHeader(http.StatusServiceUnavailable)
		return true
	}
	tok, _, err := w.mint(t, w.inputs("vso.code"))
	require.NoError(t, err)
	live := w.api.Live()
	require.Len(t, live, 1)
	assert.Equal(t, tok.Value, live[0].Token)
	assert.Equal(t, 2, w.api.Count(http.MethodPost))
}

func mustOID(t *testing.T, tok string) string {
	t.Helper()
	c, err := w0(tok)
	require.NoError(t, err)
	return c
}

// w0 reads the oid claim of a JWT without verifying it.
func w0(tok string) (string, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", errors.New("not a JWT")
	}
	b, err := decodeSegment(parts[1])
	if err != nil {
		return "", err
	}
	var c struct{ Oid string }
	err = json.Unmarshal(b, &c)
	return c.Oid, err
}

func TestPATRevokeParentProblems(t *testing.T) {
	t.Parallel()
	w := newPATWorld(t)
	tok, req, err := w.mint(t, w.inputs("vso.code"))
	require.NoError(t, err)

	// The parent expired between main and post: nothing is sent.
	post := req
	post.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	before := len(w.api.Requests())
	err = azdo.New().Revoke(context.Background(), post, saved(tok, req))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the parent azure-access-token expired at")
	assert.Equal(t, before, len(w.api.Requests()))

	// Azure DevOps refuses the parent (revoked session, other tenant).
	post = req
	post.Inputs = inputs.ValuesOf(map[string]string{})
	post.Inputs.Update(req.Inputs)
	post.Inputs.Set(azdo.AccessToken.Key, azfake.NewTenant().UserToken("alice@contoso.com", time.Hour))
	err = azdo.New().Revoke(context.Background(), post, saved(tok, req))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refused the parent azure-access-token")
	assert.Len(t, w.api.Live(), 1, "the PAT stays valid until its validTo")

	// No parent at all in the post step.
	post.Inputs.Delete(azdo.AccessToken.Key)
	err = azdo.New().Revoke(context.Background(), post, saved(tok, req))
	assert.ErrorContains(t, err, "azure-access-token is empty in the post step")
}

func TestPATCheck(t *testing.T) {
	t.Parallel()
	w := newPATWorld(t)
	m, ps := azdo.New().Prepare(request("github", w.inputs("vso.code"), nil, nil))
	require.Empty(t, ps)
	lines, err := m.(provider.Checker).Check(context.Background())
	require.NoError(t, err)
	assert.Contains(t, strings.Join(lines, "\n"), "alice@contoso.com")
	assert.Contains(t, strings.Join(lines, "\n"), "accepts the parent token")
	assert.Empty(t, w.api.All(), "check mints nothing")
	assert.Equal(t, []string{"GET /contoso/_apis/tokens/pats"}, w.api.Requests())
}

// A sign-in page (203) instead of an answer reads as a parent token Azure
// DevOps did not take.
func TestPATAPISignInPage(t *testing.T) {
	t.Parallel()
	w := newPATWorld(t)
	w.api.Before = func(rw http.ResponseWriter, r *http.Request) bool {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		rw.WriteHeader(http.StatusNonAuthoritativeInfo)
		_, _ = rw.Write([]byte("<html><head><title>Azure DevOps Services | Sign In</title></head></html>"))
		return true
	}
	_, _, err := w.mint(t, w.inputs("vso.code"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "failed to create the PAT: Azure DevOps answered 203 Non-Authoritative Information — Azure DevOps answered with a sign-in page: it did not accept azure-access-token (expired, or issued by another tenant); fetch a fresh signed-in user's Entra token")
	assert.NotContains(t, err.Error(), "<html>")
}
