package serve_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/retry"
	"github.com/jobtoken/jobtoken/pkg/serve"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

const audience = "https://jobtoken.octo-org.example"

const releasePolicy = `apiVersion: jobtoken.dev/v1
kind: TrustPolicy
name: release
who:
  issuer: https://token.actions.githubusercontent.com
  claims:
    repository_owner_id: "65"
    job_workflow_ref: {pattern: 'octo-org/app/\.github/workflows/release\.yml@refs/tags/v.*'}
    event_name: {not: [pull_request_target]}
grants:
  - {provider: github, owner: octo-org, repositories: [app, docs], permissions: {contents: write, issues: write}}
`

// everything grants write on every repository: the policy repository
// among them, which the service must still refuse.
const everythingPolicy = `apiVersion: jobtoken.dev/v1
kind: TrustPolicy
name: everything
who:
  issuer: https://token.actions.githubusercontent.com
  claims: {repository_owner_id: "65"}
grants:
  - {provider: github, owner: octo-org, repositories: ["*"], permissions: {contents: write}}
  - {provider: github, owner: octo-org, repositories: [policies], permissions: {contents: write}}
`

// clock is the one time every party of a test reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type world struct {
	t       testing.TB
	gh      *ghfake.Server
	oidc    *azfake.GitHubOIDC
	srv     *serve.Server
	http    *httptest.Server
	clock   *clock
	audit   *bytes.Buffer
	log     *bytes.Buffer
	outMu   sync.Mutex
	jti     int
	secrets []string
}

type syncBuf struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (s syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }

func newWorld(t testing.TB, extraConfig string) *world {
	return newWorldWith(t, extraConfig, nil, serve.Retry)
}

// newWorldWith is newWorld with base under the service's retries (a fault
// injector) and its own retry policy.
func newWorldWith(t testing.TB, extraConfig string, base http.RoundTripper, p retry.Policy) *world {
	w := &world{t: t, clock: &clock{t: time.Now().Truncate(time.Second)}, audit: &bytes.Buffer{}, log: &bytes.Buffer{}}
	w.gh = ghfake.New(testutil.AppKey(t), &ghfake.Installation{
		ID: 7, Account: "octo-org",
		Permissions: map[string]string{"contents": "write", "issues": "write", "metadata": "read", "actions": "write"},
		AllRepos:    []string{"app", "docs", "policies"},
	})
	w.gh.Now = w.clock.Now
	t.Cleanup(w.gh.Close)
	w.gh.WriteFiles("octo-org", "policies", map[string]string{
		"jobtoken/release.yaml": releasePolicy, "jobtoken/everything.yaml": everythingPolicy, "jobtoken/README.md": "# policies\n",
	})
	w.oidc = azfake.NewGitHubOIDC("octo-org/app")
	t.Cleanup(w.oidc.Close)
	cfg := fmt.Sprintf(`audience: %s
issuers:
  - {url: https://token.actions.githubusercontent.com, jwks_url: %s}
github:
  api_url: %s
  client_id: %s
  private_key_file: unused-in-tests.pem
policy_sources:
  - {url: "github://octo-org/policies@main/jobtoken", owners: [octo-org]}
%s`, audience, w.oidc.JWKSURL(), w.gh.URL, w.gh.ClientID, extraConfig)
	set, err := serve.ParseConfig([]byte(cfg), func(string) string { return "" })
	require.NoError(t, err)
	fast := p
	fast.Base, fast.Max, fast.Sleep = time.Millisecond, time.Millisecond, nil
	w.srv, err = serve.New(set, serve.Options{
		HTTP:   network.Client(base, fast, nil),
		Signer: testutil.AppKey(t), Now: w.clock.Now,
		Audit: syncBuf{&w.outMu, w.audit}, Log: syncBuf{&w.outMu, w.log},
	})
	require.NoError(t, err)
	w.http = httptest.NewServer(w.srv.Handler())
	t.Cleanup(w.http.Close)
	w.secrets = append(w.secrets, testutil.AppKeyPEM(t))
	return w
}

// claims are a tagged release job of octo-org/app, with over applied.
func (w *world) oidcToken(over jwt.MapClaims) string {
	w.jti++
	now := w.clock.Now()
	c := jwt.MapClaims{
		"sub": "repo:octo-org/app:ref:refs/tags/v1.2.0", "aud": audience, "repository": "octo-org/app",
		"repository_owner": "octo-org", "repository_owner_id": "65", "event_name": "push", "ref": "refs/tags/v1.2.0",
		"job_workflow_ref": "octo-org/app/.github/workflows/release.yml@refs/tags/v1.2.0", "run_id": "42",
		"jti": fmt.Sprintf("jti-%d", w.jti), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	tok := w.oidc.Issuer.Sign(c)
	w.secrets = append(w.secrets, tok)
	return tok
}

type answer struct {
	status int
	ok     serve.TokenResponse
	err    serve.ErrorBody
	raw    string
}

func (w *world) ask(oidc string, body any) answer {
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	default:
		b, _ = json.Marshal(v)
	}
	req, _ := http.NewRequest(http.MethodPost, w.http.URL+"/v1/token", bytes.NewReader(b))
	if oidc != "" {
		req.Header.Set("Authorization", "Bearer "+oidc)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(w.t, err)
	defer resp.Body.Close()
	var raw bytes.Buffer
	_, _ = raw.ReadFrom(resp.Body)
	a := answer{status: resp.StatusCode, raw: raw.String()}
	if resp.StatusCode == http.StatusOK {
		require.NoError(w.t, json.Unmarshal(raw.Bytes(), &a.ok))
		w.secrets = append(w.secrets, a.ok.Token)
	} else {
		dec := json.NewDecoder(bytes.NewReader(raw.Bytes()))
		dec.DisallowUnknownFields()
		require.NoError(w.t, dec.Decode(&a.err), "the error shape is exactly {error: {code, message, ...}}: %s", raw.String())
		require.NotEmpty(w.t, a.err.Error.Code)
		require.NotEmpty(w.t, a.err.Error.Message)
	}
	return a
}

func release(perms map[string]string, repos ...string) map[string]any {
	return map[string]any{"policy": "release", "provider": "github", "owner": "octo-org", "repositories": repos, "permissions": perms}
}

// checkClean: no secret in the audit or the log, and nothing the service
// minted for itself (policy reads) left live.
func (w *world) checkClean(handedOut ...string) {
	w.outMu.Lock()
	text := w.audit.String() + w.log.String()
	w.outMu.Unlock()
	testutil.AssertNoSecret(w.t, "audit and log", text, w.secrets...)
	for _, tok := range w.gh.Live() {
		held := false
		for _, h := range handedOut {
			if tok.Value == h {
				held = true
			}
		}
		assert.True(w.t, held, "a token the service did not hand out is live: %v", tok.Permissions)
	}
}

func (w *world) auditLines() []map[string]any {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(w.audit.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		require.NoError(w.t, json.Unmarshal([]byte(l), &m), l)
		out = append(out, m)
	}
	return out
}

func TestAllowedMint(t *testing.T) {
	w := newWorld(t, "")
	a := w.ask(w.oidcToken(nil), release(map[string]string{"contents": "write"}, "app"))
	require.Equal(t, http.StatusOK, a.status, a.raw)
	assert.Equal(t, map[string]string{"contents": "write", "metadata": "read"}, a.ok.Permissions)
	assert.Equal(t, []string{"app"}, a.ok.Repositories)
	assert.True(t, strings.HasPrefix(a.ok.TokenID, "sha256:"))
	tok := w.gh.Lookup(a.ok.Token)
	require.NotNil(t, tok)
	assert.Equal(t, []string{"app"}, tok.Repos)
	w.checkClean(a.ok.Token)

	lines := w.auditLines()
	require.Len(t, lines, 1)
	l := lines[0]
	assert.Equal(t, "allow", l["decision"])
	assert.Equal(t, "release", l["policy"])
	assert.Equal(t, "github://octo-org/policies@main/jobtoken", l["policy_source"])
	assert.Len(t, l["policy_commit"], 40)
	assert.Equal(t, "octo-org/app", l["repository"])
	assert.Equal(t, "octo-org/app/.github/workflows/release.yml@refs/tags/v1.2.0", l["job_workflow_ref"])
	assert.Equal(t, "repo:octo-org/app:ref:refs/tags/v1.2.0", l["sub"])
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, l["token_sha256"])
	assert.NotNil(t, l["asked"])
	assert.NotNil(t, l["granted"])

	// Repositories default to the ceiling's.
	a = w.ask(w.oidcToken(nil), release(map[string]string{"issues": "write"}))
	require.Equal(t, http.StatusOK, a.status, a.raw)
	assert.ElementsMatch(t, []string{"app", "docs"}, a.ok.Repositories)
}

func TestRefusals(t *testing.T) {
	w := newWorld(t, "")
	contentsWrite := release(map[string]string{"contents": "write"}, "app")
	for _, tc := range []struct {
		name   string
		oidc   func() string
		body   any
		status int
		code   string
		msg    string
		check  func(t *testing.T, e serve.ErrorBody)
	}{
		{"wrong repository_owner_id", func() string { return w.oidcToken(jwt.MapClaims{"repository_owner_id": "66"}) }, contentsWrite, 403, "denied", `repository_owner_id: wanted "65", got "66"`,
			func(t *testing.T, e serve.ErrorBody) {
				assert.Equal(t, "release", e.Error.Policy)
				require.Len(t, e.Error.FailedClaims, 1)
				assert.Equal(t, "repository_owner_id", e.Error.FailedClaims[0].Claim)
				assert.Equal(t, `"66"`, e.Error.FailedClaims[0].Got)
			}},
		{"pull_request_target", func() string { return w.oidcToken(jwt.MapClaims{"event_name": "pull_request_target"}) }, contentsWrite, 403, "denied", `event_name: wanted not ["pull_request_target"]`, nil},
		{"a branch, not a tag", func() string {
			return w.oidcToken(jwt.MapClaims{"job_workflow_ref": "octo-org/app/.github/workflows/release.yml@refs/heads/main"})
		}, contentsWrite, 403, "denied", "job_workflow_ref: wanted pattern", nil},
		{"ask above the ceiling", func() string { return w.oidcToken(nil) }, release(map[string]string{"contents": "write", "actions": "write"}, "app"), 403, "denied", "actions:write: the ceiling has no actions",
			func(t *testing.T, e serve.ErrorBody) {
				assert.Equal(t, []string{"actions:write: the ceiling has no actions"}, e.Error.AboveCeiling)
			}},
		{"repository outside the ceiling", func() string { return w.oidcToken(nil) }, release(map[string]string{"contents": "read"}, "policies"), 403, "denied", "repository policies: not in the ceiling", nil},
		{"write on the policy repository", func() string { return w.oidcToken(nil) }, map[string]any{"policy": "everything", "owner": "octo-org", "repositories": []string{"policies"}, "permissions": map[string]string{"contents": "write"}}, 403, "denied", "write access to the policy repository octo-org/policies is never granted", nil},
		{"write on every repository", func() string { return w.oidcToken(nil) }, map[string]any{"policy": "everything", "owner": "octo-org", "repositories": []string{"*"}, "permissions": map[string]string{"contents": "write"}}, 403, "denied", "never granted", nil},
		{"the policy repository's own job", func() string {
			return w.oidcToken(jwt.MapClaims{"repository": "octo-org/policies"})
		}, map[string]any{"policy": "everything", "owner": "octo-org", "repositories": []string{"app"}, "permissions": map[string]string{"contents": "read"}}, 403, "denied", "cannot use its own policies", nil},
		{"owner no source is bound to", func() string { return w.oidcToken(nil) }, map[string]any{"policy": "release", "owner": "evil-org", "permissions": map[string]string{"contents": "read"}}, 403, "denied", "no policy source of this service is bound to owner evil-org", nil},
		{"unknown policy", func() string { return w.oidcToken(nil) }, map[string]any{"policy": "nope", "owner": "octo-org", "permissions": map[string]string{"contents": "read"}}, 403, "denied", "no policy named nope", nil},
		{"wrong aud", func() string { return w.oidcToken(jwt.MapClaims{"aud": "sts.amazonaws.com"}) }, contentsWrite, 401, "wrong_audience", `audience is "sts.amazonaws.com"`, nil},
		{"two auds", func() string { return w.oidcToken(jwt.MapClaims{"aud": []string{audience, "x"}}) }, contentsWrite, 401, "wrong_audience", "2 audiences", nil},
		{"expired", func() string {
			return w.oidcToken(jwt.MapClaims{"iat": w.clock.Now().Add(-30 * time.Minute).Unix(), "exp": w.clock.Now().Add(-20 * time.Minute).Unix()})
		}, contentsWrite, 401, "expired_token", "expired at", nil},
		{"no token", func() string { return "" }, contentsWrite, 401, "missing_token", "id-token: write", nil},
		{"not JSON", func() string { return w.oidcToken(nil) }, "{", 400, "bad_request", "not the request JSON", nil},
		{"unknown field", func() string { return w.oidcToken(nil) }, `{"policy":"release","owner":"octo-org","permissions":{"contents":"read"},"scopes":"all"}`, 400, "bad_request", `unknown field "scopes"`, nil},
		{"no permissions", func() string { return w.oidcToken(nil) }, map[string]any{"policy": "release", "owner": "octo-org"}, 400, "bad_request", "permissions is required", nil},
		{"unknown permission", func() string { return w.oidcToken(nil) }, release(map[string]string{"contens": "read"}), 400, "bad_request", `did you mean "contents"?`, nil},
		{"body over 64 KiB", func() string { return w.oidcToken(nil) }, `{"policy":"` + strings.Repeat("a", 70<<10) + `"}`, 400, "bad_request", "larger than 64 KiB", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := w.ask(tc.oidc(), tc.body)
			require.Equal(t, tc.status, a.status, a.raw)
			assert.Equal(t, tc.code, a.err.Error.Code)
			assert.Contains(t, a.err.Error.Message, tc.msg)
			if tc.check != nil {
				tc.check(t, a.err)
			}
		})
	}
	w.checkClean()
	for _, l := range w.auditLines() {
		assert.NotEqual(t, "allow", l["decision"])
	}
}

func TestReplayedToken(t *testing.T) {
	w := newWorld(t, "")
	tok := w.oidcToken(nil)
	a := w.ask(tok, release(map[string]string{"contents": "read"}, "app"))
	require.Equal(t, http.StatusOK, a.status, a.raw)
	b := w.ask(tok, release(map[string]string{"contents": "read"}, "app"))
	require.Equal(t, http.StatusUnauthorized, b.status)
	assert.Equal(t, "replayed_token", b.err.Error.Code)
}

func TestPolicyEditSeenAfterTTL(t *testing.T) {
	w := newWorld(t, "policy_ttl: 1m\n")
	ask := release(map[string]string{"contents": "write"}, "app")
	require.Equal(t, http.StatusOK, w.ask(w.oidcToken(nil), ask).status)
	w.gh.WriteFiles("octo-org", "policies", map[string]string{"jobtoken/release.yaml": strings.Replace(releasePolicy, "contents: write", "contents: read", 1)})
	// Within the TTL the cached copy decides.
	require.Equal(t, http.StatusOK, w.ask(w.oidcToken(nil), ask).status)
	w.clock.Add(61 * time.Second)
	a := w.ask(w.oidcToken(nil), ask)
	require.Equal(t, http.StatusForbidden, a.status, a.raw)
	assert.Contains(t, a.err.Error.Message, "contents:write: above the ceiling contents:read")
	w.checkClean(w.liveHandedOut()...)
}

func (w *world) liveHandedOut() []string {
	var out []string
	for _, t := range w.gh.Live() {
		out = append(out, t.Value)
	}
	return out
}

func TestBrokenPolicyFailsClosed(t *testing.T) {
	w := newWorld(t, "policy_ttl: 1m\n")
	ask := release(map[string]string{"contents": "write"}, "app")
	require.Equal(t, http.StatusOK, w.ask(w.oidcToken(nil), ask).status)
	w.gh.WriteFiles("octo-org", "policies", map[string]string{"jobtoken/release.yaml": releasePolicy + "unknown_key: true\n"})
	w.clock.Add(61 * time.Second)
	a := w.ask(w.oidcToken(nil), ask)
	require.Equal(t, http.StatusForbidden, a.status, a.raw)
	assert.Equal(t, "denied", a.err.Error.Code)
	assert.Contains(t, a.err.Error.Message, "does not load, so it grants nothing")
	assert.Contains(t, a.err.Error.Message, "field unknown_key not found")
	// A policy that grants for another owner than its source is bound to
	// is broken too.
	w.gh.WriteFiles("octo-org", "policies", map[string]string{"jobtoken/release.yaml": strings.Replace(releasePolicy, "owner: octo-org", "owner: other-org", 1)})
	w.clock.Add(61 * time.Second)
	a = w.ask(w.oidcToken(nil), map[string]any{"policy": "release", "owner": "octo-org", "permissions": map[string]string{"contents": "read"}})
	require.Equal(t, http.StatusForbidden, a.status, a.raw)
	assert.Contains(t, a.err.Error.Message, "grants[0] is for owner other-org, but the source github://octo-org/policies@main/jobtoken is bound to octo-org only")
}

func TestGitHubDownServesStaleCopy(t *testing.T) {
	w := newWorld(t, "policy_ttl: 1m\n")
	ask := release(map[string]string{"contents": "read"}, "app")
	require.Equal(t, http.StatusOK, w.ask(w.oidcToken(nil), ask).status)
	w.clock.Add(2 * time.Minute)
	down := true
	w.gh.Before = func(rw http.ResponseWriter, r *http.Request) bool {
		if down && (strings.Contains(r.URL.Path, "/contents/") || strings.Contains(r.URL.Path, "/commits/")) {
			rw.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	a := w.ask(w.oidcToken(nil), ask)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	assert.Contains(t, w.log.String(), "serving the copy of commit")
	// After an hour, no stale copy: one clear 502.
	w.clock.Add(time.Hour)
	a = w.ask(w.oidcToken(nil), ask)
	require.Equal(t, http.StatusBadGateway, a.status, a.raw)
	assert.Equal(t, "policy_unavailable", a.err.Error.Code)
	assert.Contains(t, a.err.Error.Message, "503")
	w.checkClean(w.liveHandedOut()...)
}

func TestMintFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		header map[string]string
		want   int
		code   string
	}{
		{"GitHub 500", 500, nil, http.StatusBadGateway, "github_failed"},
		{"GitHub 429", 429, map[string]string{"Retry-After": "0"}, http.StatusTooManyRequests, "rate_limited"},
		{"GitHub rate-limit 403", 403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0"}, http.StatusTooManyRequests, "rate_limited"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, "")
			// Warm: policies read, installation known.
			require.Equal(t, http.StatusOK, w.ask(w.oidcToken(nil), release(map[string]string{"contents": "read"}, "app")).status)
			w.gh.Before = func(rw http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, "/access_tokens") {
					return false
				}
				for k, v := range tc.header {
					rw.Header().Set(k, v)
				}
				rw.Header().Set("Content-Type", "application/json")
				rw.WriteHeader(tc.status)
				msg := "Server Error"
				if tc.status != 500 {
					msg = "API rate limit exceeded for installation ID 7."
				}
				_, _ = rw.Write([]byte(`{"message":"` + msg + `"}`))
				return true
			}
			a := w.ask(w.oidcToken(nil), release(map[string]string{"contents": "read"}, "app"))
			require.Equal(t, tc.want, a.status, a.raw)
			assert.Equal(t, tc.code, a.err.Error.Code)
			w.checkClean(w.liveHandedOut()...)
		})
	}
}

func TestBroaderGrantIsRevoked(t *testing.T) {
	w := newWorld(t, "")
	require.Equal(t, http.StatusOK, w.ask(w.oidcToken(nil), release(map[string]string{"contents": "read"}, "app")).status)
	handed := w.liveHandedOut()
	w.gh.Grant = func(tok *ghfake.Token) { tok.Permissions["actions"] = "write" }
	a := w.ask(w.oidcToken(nil), release(map[string]string{"contents": "read"}, "app"))
	require.Equal(t, http.StatusBadGateway, a.status, a.raw)
	assert.Contains(t, a.err.Error.Message, "granted more than asked")
	w.checkClean(handed...)
}

func TestDiscoveryAndHealth(t *testing.T) {
	w := newWorld(t, "")
	resp, err := http.Get(w.http.URL + "/.well-known/jobtoken")
	require.NoError(t, err)
	var d serve.Discovery
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&d))
	resp.Body.Close()
	assert.Equal(t, serve.Discovery{Audience: audience, Providers: []string{"github"}}, d)

	resp, err = http.Get(w.http.URL + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	resp, err = http.Get(w.http.URL + "/readyz")
	require.NoError(t, err)
	var ready map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&ready))
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%v", ready)
	assert.Contains(t, fmt.Sprint(ready["warnings"]), "jwks_url", "the test override is announced")
	w.checkClean()

	w.gh.Before = func(rw http.ResponseWriter, r *http.Request) bool { rw.WriteHeader(http.StatusBadGateway); return true }
	w2 := newWorld(t, "")
	w2.gh.Before = w.gh.Before
	resp, err = http.Get(w2.http.URL + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

// BenchmarkWarmMint: once the policies and the installation are known, a
// mint costs one GitHub call.
func BenchmarkWarmMint(b *testing.B) {
	w := newWorld(b, "")
	ask := release(map[string]string{"contents": "read"}, "app")
	require.Equal(b, http.StatusOK, w.ask(w.oidcToken(nil), ask).status)
	w.gh.ResetRequests()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a := w.ask(w.oidcToken(nil), ask)
		if a.status != http.StatusOK {
			b.Fatal(a.raw)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(w.gh.Requests())/float64(b.N), "github-requests/op")
}

// TestUndeliveredTokenIsRevoked: a caller that leaves while GitHub mints
// gets nothing, and the token made for it does not stay live.
func TestUndeliveredTokenIsRevoked(t *testing.T) {
	w := newWorld(t, "")
	require.Equal(t, http.StatusOK, w.ask(w.oidcToken(nil), release(map[string]string{"contents": "read"}, "app")).status)
	handed := w.liveHandedOut()
	w.gh.Grant = func(*ghfake.Token) { time.Sleep(500 * time.Millisecond) }
	b, _ := json.Marshal(release(map[string]string{"contents": "read"}, "app"))
	req, _ := http.NewRequest(http.MethodPost, w.http.URL+"/v1/token", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+w.oidcToken(nil))
	_, err := (&http.Client{Timeout: 100 * time.Millisecond}).Do(req)
	require.Error(t, err, "the caller gives up first")
	require.Eventually(t, func() bool {
		w.outMu.Lock()
		defer w.outMu.Unlock()
		return strings.Contains(w.audit.String(), `"code":"undelivered"`)
	}, 10*time.Second, 20*time.Millisecond)
	assert.Len(t, w.gh.Minted(), len(handed)+2, "the policy read's token, the first answer's and the undelivered one")
	w.checkClean(handed...)
}

// TestPolicyReadRateLimited: GitHub limiting the service's rate while it
// reads the policies is a 429 for the step (which retries), not a 502.
func TestPolicyReadRateLimited(t *testing.T) {
	w := newWorld(t, "")
	w.gh.Before = func(rw http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/contents/") && !strings.Contains(r.URL.Path, "/commits/") {
			return false
		}
		rw.Header().Set("Retry-After", "0")
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusTooManyRequests)
		_, _ = rw.Write([]byte(`{"message":"API rate limit exceeded for installation ID 7."}`))
		return true
	}
	a := w.ask(w.oidcToken(nil), release(map[string]string{"contents": "read"}, "app"))
	require.Equal(t, http.StatusTooManyRequests, a.status, a.raw)
	assert.Equal(t, "rate_limited", a.err.Error.Code)
	w.checkClean(w.liveHandedOut()...)
}
