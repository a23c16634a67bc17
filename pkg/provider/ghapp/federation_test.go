package ghapp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// countingOIDC hands out a new token per call, as the runner does.
type countingOIDC struct {
	mu        sync.Mutex
	audiences []string
	err       error
}

func (c *countingOIDC) Available() error { return c.err }
func (c *countingOIDC) IDToken(_ context.Context, aud string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.audiences = append(c.audiences, aud)
	return fmt.Sprintf("eyJhbGciOiJSUzI1NiJ9.oidc-%d.sig", len(c.audiences)), nil
}
func (c *countingOIDC) Credentials() []string { return nil }

var _ host.OIDC = (*countingOIDC)(nil)

// federation is a stand-in service that checks what the real one checks of
// the step (audience from discovery, a fresh token per request, the body)
// and answers with answers[i] for the i-th request.
type federation struct {
	*httptest.Server
	mu      sync.Mutex
	seen    []string // bearer tokens of POST /v1/token
	bodies  []map[string]any
	answers []func(w http.ResponseWriter)
}

func newFederation(t *testing.T, answers ...func(w http.ResponseWriter)) *federation {
	f := &federation{answers: answers}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/.well-known/jobtoken":
			_ = json.NewEncoder(w).Encode(map[string]any{"audience": "https://fed.example", "providers": []string{"github"}})
		case r.Method == http.MethodPost && r.URL.Path == "/v1/token":
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			f.mu.Lock()
			f.seen = append(f.seen, r.Header.Get("Authorization"))
			f.bodies = append(f.bodies, body)
			n := len(f.seen)
			f.mu.Unlock()
			f.answers[min(n, len(f.answers))-1](w)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func granted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token": "ghs_federated0123456789", "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		"token_id": ghapp.TokenID("ghs_federated0123456789"), "permissions": map[string]string{"contents": "write", "metadata": "read"}, "repositories": []string{"app"}})
}

func refuse(status int, code, msg string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
	}
}

func fedRequest(t *testing.T, url string, oidc host.OIDC, more map[string]string) provider.Request {
	m := map[string]string{ghapp.FederationURL.Key: url, ghapp.Policy.Key: "release", inputs.Permissions.Key: "contents:write"}
	for k, v := range more {
		m[k] = v
	}
	v := inputs.ValuesOf(m)
	r := providertest.Request(t, ghapp.New(), v, nil)
	r.Naming, r.Terminal = inputs.GitHubNames, false
	r.Run = host.Run{Repository: "octo-org/app"}
	r.Permissions = inputs.List(v.Get(inputs.Permissions))
	r.Lifetime = time.Hour
	if oidc != nil {
		r.OIDC = oidc
	}
	return r
}

func TestFederationMint(t *testing.T) {
	f := newFederation(t, granted)
	oidc := &countingOIDC{}
	m, ps := ghapp.New().Prepare(fedRequest(t, f.URL, oidc, nil))
	require.Empty(t, ps)
	assert.Contains(t, m.Plan().Parent, "the federation service "+f.URL+", policy release")
	tok, err := m.Mint(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "ghs_federated0123456789", tok.Value)
	assert.Equal(t, "contents:write, metadata:read", tok.Granted)
	assert.Equal(t, []string{"https://fed.example"}, oidc.audiences, "the token is asked for the service's audience")
	// Read alike whatever mints it: the tokens output (masked) and the
	// account a broker serves.
	assert.Equal(t, `{"octo-org":"ghs_federated0123456789"}`, tok.Outputs[ghapp.OutTokens])
	assert.Contains(t, tok.Secrets, tok.Outputs[ghapp.OutTokens])
	require.Len(t, tok.Accounts, 1)
	assert.Equal(t, "octo-org", tok.Accounts[0].Name)
	require.Len(t, f.bodies, 1)
	assert.Equal(t, map[string]any{"policy": "release", "provider": "github", "owner": "octo-org", "repositories": []any{"app"},
		"permissions": map[string]any{"contents": "write"}, "lifetime": "1h0m0s"}, f.bodies[0])
}

func TestFederationRetryUsesAFreshToken(t *testing.T) {
	defer ghapp.SetFedWait(time.Millisecond)()
	f := newFederation(t, refuse(503, "x", "busy"), refuse(502, "github_failed", "GitHub answered 500"), granted)
	oidc := &countingOIDC{}
	m, ps := ghapp.New().Prepare(fedRequest(t, f.URL, oidc, nil))
	require.Empty(t, ps)
	_, err := m.Mint(context.Background())
	require.NoError(t, err)
	require.Len(t, f.seen, 3)
	assert.NotEqual(t, f.seen[0], f.seen[1])
	assert.NotEqual(t, f.seen[1], f.seen[2], "each try presents a fresh OIDC token (jti is single use)")
}

func TestFederationDenialIsOneLine(t *testing.T) {
	msg := `policy release does not trust this job: event_name: wanted not ["pull_request_target"], got "pull_request_target"`
	f := newFederation(t, refuse(403, "denied", msg))
	m, _ := ghapp.New().Prepare(fedRequest(t, f.URL, &countingOIDC{}, nil))
	_, err := m.Mint(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the federation service answered 403 Forbidden: "+msg)
	assert.NotContains(t, err.Error(), "\n")
	assert.NotContains(t, err.Error(), "oidc-1", "the OIDC token is never in an error")
	assert.Len(t, f.seen, 1, "a denial is an answer, not retried")
}

func TestFederationBroaderGrantIsReturnedForRevocation(t *testing.T) {
	f := newFederation(t, func(w http.ResponseWriter) {
		_ = json.NewEncoder(w).Encode(map[string]any{"token": "ghs_broader", "permissions": map[string]string{"contents": "write", "actions": "write"}, "repositories": []string{"app"}})
	})
	m, _ := ghapp.New().Prepare(fedRequest(t, f.URL, &countingOIDC{}, nil))
	tok, err := m.Mint(context.Background())
	require.NotNil(t, tok, "the token exists and must be revoked")
	var ge *ghapp.GrantError
	require.True(t, errors.As(err, &ge), "%v", err)
	assert.Contains(t, err.Error(), "actions:write (not asked)")
}

func TestFederationPrepareProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		more map[string]string
		oidc host.OIDC
		want string
	}{
		{"with a key", map[string]string{ghapp.PrivateKey.Key: testutil.AppKeyPEM(t)}, &countingOIDC{}, "input private-key: cannot be used with federation-url"},
		{"with a signing key", map[string]string{ghapp.SigningKey.Key: "azurekms://v.vault.azure.net/app"}, &countingOIDC{}, "input signing-key: cannot be used with federation-url"},
		{"with a client id", map[string]string{ghapp.ClientID.Key: "Iv1.x"}, &countingOIDC{}, "input client-id: cannot be used with federation-url"},
		{"no policy", map[string]string{ghapp.Policy.Key: ""}, &countingOIDC{}, "input policy: is required with federation-url"},
		{"bad policy", map[string]string{ghapp.Policy.Key: "../x"}, &countingOIDC{}, `input policy: "../x" is not a policy name`},
		{"plain http", map[string]string{ghapp.FederationURL.Key: "http://fed.example"}, &countingOIDC{}, "would send credentials unencrypted"},
		{"no OIDC", nil, nil, "input federation-url: needs the job's OIDC token, which only GitHub Actions gives"},
		{"no id-token permission", nil, &countingOIDC{err: errors.New("ACTIONS_ID_TOKEN_REQUEST_URL is not set")}, "needs the job's OIDC token, but ACTIONS_ID_TOKEN_REQUEST_URL is not set"},
		{"no permissions", map[string]string{inputs.Permissions.Key: ""}, &countingOIDC{}, "input permissions: is required"},
		{"several owners", map[string]string{ghapp.Owner.Key: "octo, acme", ghapp.Repositories.Key: "octo/app, acme/lib"}, &countingOIDC{}, "input owner: names 2 accounts, but a federation service mints for one account per step"},
		{"repositories of several owners", map[string]string{ghapp.Repositories.Key: "octo/app, acme/lib"}, &countingOIDC{}, "input repositories: names 2 accounts, but a federation service mints for one account per step"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			more := map[string]string{}
			for k, v := range tc.more {
				more[k] = v
			}
			req := fedRequest(t, "https://fed.example", tc.oidc, more)
			if tc.oidc == nil {
				req.OIDC = nil
			}
			if p, ok := more[ghapp.Policy.Key]; ok && p == "" {
				req.Inputs.Delete(ghapp.Policy.Key)
			}
			if p, ok := more[inputs.Permissions.Key]; ok && p == "" {
				req.Permissions = nil
			}
			_, ps := ghapp.New().Prepare(req)
			var lines []string
			for _, p := range ps {
				lines = append(lines, p.Format(inputs.GitHubNames))
			}
			assert.Contains(t, strings.Join(lines, "\n"), tc.want)
		})
	}
	// policy without federation-url is a mistake too.
	v := inputs.ValuesOf(map[string]string{ghapp.ClientID.Key: "Iv1.x", ghapp.PrivateKey.Key: testutil.AppKeyPEM(t), ghapp.Policy.Key: "release", inputs.Permissions.Key: "contents:read"})
	r := providertest.Request(t, ghapp.New(), v, nil)
	r.Naming, r.Run, r.Permissions = inputs.GitHubNames, host.Run{Repository: "o/r"}, []string{"contents:read"}
	_, ps := ghapp.New().Prepare(r)
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0].Format(inputs.GitHubNames), "input policy: is used only with federation-url")
}

func TestFederationCheck(t *testing.T) {
	f := newFederation(t, granted)
	m, ps := ghapp.New().Prepare(fedRequest(t, f.URL, &countingOIDC{}, nil))
	require.Empty(t, ps)
	c, ok := m.(provider.Checker)
	require.True(t, ok)
	notes, err := c.Check(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"the federation service at " + f.URL + " answers: audience https://fed.example; policy release decides when the job runs"}, notes)
	assert.Empty(t, f.seen, "a check mints nothing")
}
