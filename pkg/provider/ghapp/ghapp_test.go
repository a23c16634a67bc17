package ghapp_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

func newFake(t *testing.T) *ghfake.Server {
	t.Helper()
	f := ghfake.New(testutil.AppKey(t),
		&ghfake.Installation{ID: 77, Account: "octo", Permissions: map[string]string{"contents": "write", "pull_requests": "read", "issues": "write", "metadata": "read"}, Repos: []string{"app", "docs"}},
		&ghfake.Installation{ID: 88, Account: "acme", Permissions: map[string]string{"contents": "read", "metadata": "read"}, AllRepos: []string{"one", "two"}},
	)
	t.Cleanup(f.Close)
	return f
}

func request(t *testing.T, f *ghfake.Server, in inputs.Values) provider.Request {
	t.Helper()
	v := inputs.ValuesOf(map[string]string{ghapp.ClientID.Key: f.ClientID, ghapp.PrivateKey.Key: testutil.AppKeyPEM(t), ghapp.APIURL.Key: f.URL})
	v.Update(in)
	r := providertest.Request(t, ghapp.New(), v, http.DefaultTransport)
	r.Naming, r.Terminal = inputs.GitHubNames, false
	r.Run = host.Run{Repository: "octo/app", RunID: "1", Attempt: "1"}
	r.Permissions = inputs.List(v.Get(inputs.Permissions))
	r.Lifetime = time.Hour
	r.Now = time.Now
	r.Log = &providertest.Log{}
	return r
}

// destinations are where the main stage would send revocations.
func destinations(t *testing.T, req provider.Request) map[string]string {
	t.Helper()
	ds, ps := ghapp.New().Destinations(req)
	require.Empty(t, ps)
	m := map[string]string{}
	for _, d := range ds {
		m[d.Input.Key] = d.Value
	}
	return m
}

// onRunner is a contents:read request on a GitHub runner of repository
// repo, as Prepare sees it.
func onRunner(t *testing.T, v inputs.Values, repo string) provider.Request {
	t.Helper()
	r := providertest.Request(t, ghapp.New(), v, nil)
	r.Naming, r.Terminal = inputs.GitHubNames, false
	r.Run = host.Run{Repository: repo}
	r.Permissions, r.Lifetime = []string{"contents:read"}, time.Hour
	return r
}

func withLifetime(r provider.Request, d time.Duration) provider.Request {
	r.Lifetime = d
	return r
}

func mint(t *testing.T, req provider.Request) (*provider.Token, error) {
	t.Helper()
	m, ps := ghapp.New().Prepare(req)
	require.Empty(t, ps, ps.Error())
	return m.Mint(context.Background())
}

func TestMint(t *testing.T) {
	f := newFake(t)
	tok, err := mint(t, request(t, f, inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read, pull-requests:read", ghapp.Repositories.Key: "app, octo/docs"})))
	require.NoError(t, err)
	assert.Equal(t, 2, f.Requests(), "lookup + mint")
	ft := f.Lookup(tok.Value)
	require.NotNil(t, ft)
	assert.Equal(t, map[string]string{"contents": "read", "pull_requests": "read", "metadata": "read"}, ft.Permissions)
	assert.ElementsMatch(t, []string{"app", "docs"}, ft.Repos)
	assert.Equal(t, "contents:read, metadata:read, pull_requests:read", tok.Granted)
	assert.Equal(t, "77", tok.Outputs["installation-id"])
	assert.Equal(t, "jobtoken-test", tok.Outputs["app-slug"])
	assert.Regexp(t, `^sha256:[0-9a-f]{12}$`, tok.ID)
	assert.True(t, tok.Revocable)
	assert.WithinDuration(t, time.Now().Add(time.Hour), tok.ExpiresAt, time.Minute)
	assert.Contains(t, tok.Secrets, testBasic(tok.Value))
}

func testBasic(tok string) string {
	req, _ := http.NewRequest("GET", "http://x", nil)
	req.SetBasicAuth("x-access-token", tok)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

func TestMintWithInstallationIDIsOneRequest(t *testing.T) {
	f := newFake(t)
	_, err := mint(t, request(t, f, inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.InstallationID.Key: "77"})))
	require.NoError(t, err)
	assert.Equal(t, 1, f.Requests())
}

func TestMintEveryRepositoryUsesUserLookup(t *testing.T) {
	f := newFake(t)
	var paths []string
	f.Before = func(w http.ResponseWriter, r *http.Request) bool {
		paths = append(paths, r.Method+" "+r.URL.Path)
		return false
	}
	tok, err := mint(t, request(t, f, inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.Owner.Key: "acme", ghapp.Repositories.Key: "*"})))
	require.NoError(t, err)
	assert.Equal(t, []string{"GET /users/acme/installation", "POST /app/installations/88/access_tokens"}, paths)
	assert.Empty(t, f.Lookup(tok.Value).Repos)
}

func TestMintLongDottedToken(t *testing.T) {
	f := newFake(t)
	f.LongTokens = true
	tok, err := mint(t, request(t, f, inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read"})))
	require.NoError(t, err)
	assert.Greater(t, len(tok.Value), 400)
	assert.Contains(t, tok.Value, ".")
}

// TestMintRefusals: GitHub's refusals of a mint are explained: what was
// not granted or not installed, and the fix.
func TestMintRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   map[string]string
		want []string
	}{
		{"not installed", map[string]string{inputs.Permissions.Key: "contents:read", ghapp.Repositories.Key: "nope"},
			[]string{"is not installed on repository octo/nope", "install it"}},
		{"422 explains permissions", map[string]string{inputs.Permissions.Key: "contents:read, pull-requests:write, actions:read"},
			[]string{"422", "pull_requests:write (installation has read)", "actions:read (not granted to the App)"}},
		{"422 with installation-id looks the installation up", map[string]string{inputs.Permissions.Key: "issues:write, checks:read", ghapp.InstallationID.Key: "77"},
			[]string{"checks:read (not granted to the App)"}},
		{"422 repository", map[string]string{inputs.Permissions.Key: "contents:read", ghapp.Repositories.Key: "app, secret-repo"},
			[]string{"selected repositories only", "secret-repo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mint(t, request(t, newFake(t), inputs.ValuesOf(tc.in)))
			require.Error(t, err)
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

// TestMintGrantOtherThanAsked: a grant broader or narrower than asked
// fails, and the token comes back so that it can be revoked.
func TestMintGrantOtherThanAsked(t *testing.T) {
	for _, tc := range []struct {
		name, perms string
		grant       func(tk *ghfake.Token)
		want        string
	}{
		{"broader", "contents:read", func(tk *ghfake.Token) { tk.Permissions["issues"] = "write" }, "more than asked: issues:write (not asked)"},
		{"narrower", "contents:write", func(tk *ghfake.Token) { tk.Permissions["contents"] = "read" }, "less than asked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.Grant = tc.grant
			tok, err := mint(t, request(t, f, inputs.ValuesOf(map[string]string{inputs.Permissions.Key: tc.perms})))
			require.Error(t, err)
			require.NotNil(t, tok, "the token must come back so that it can be revoked")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestClockSkewIsCorrectedOnce(t *testing.T) {
	for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			f := newFake(t)
			f.Now = func() time.Time { return time.Now().Add(skew) }
			req := request(t, f, inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read"}))
			log := &providertest.Log{}
			req.Log = log
			_, err := mint(t, req)
			require.NoError(t, err)
			assert.Equal(t, 3, f.Requests(), "rejected lookup, lookup again, mint")
			assert.Len(t, log.Lines(), 1)
			assert.Contains(t, log.String(), "warning: GitHub rejected the App JWT's time claims")
		})
	}
}

func TestJWTClaims(t *testing.T) {
	f := newFake(t)
	var claims jwt.MapClaims
	f.Before = func(w http.ResponseWriter, r *http.Request) bool {
		raw := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		claims = jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &f.Key.PublicKey, nil })
		require.NoError(t, err)
		return false
	}
	now := time.Now()
	req := request(t, f, inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.InstallationID.Key: "77"}))
	req.Now = func() time.Time { return now }
	_, err := mint(t, req)
	require.NoError(t, err)
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	assert.Equal(t, f.ClientID, claims["iss"])
	assert.Equal(t, now.Add(-60*time.Second).Unix(), iat.Unix())
	assert.Equal(t, 9*time.Minute, exp.Sub(iat.Time))
}

func TestAppIDIssuer(t *testing.T) {
	f := newFake(t)
	req := request(t, f, inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read"}))
	req.Inputs.Delete(ghapp.ClientID.Key)
	req.Inputs.Set(ghapp.AppID.Key, "4242")
	_, err := mint(t, req)
	require.NoError(t, err)
}

func TestRetriesServerErrorsAndRateLimits(t *testing.T) {
	f := newFake(t)
	var n atomic.Int32
	f.Before = func(w http.ResponseWriter, r *http.Request) bool {
		switch n.Add(1) {
		case 1, 2:
			w.WriteHeader(http.StatusBadGateway)
			return true
		case 3:
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"message":"API rate limit exceeded"}`))
			return true
		}
		return false
	}
	_, err := mint(t, request(t, f, inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read"})))
	require.NoError(t, err)
	assert.Equal(t, 5, f.Requests())
}

func TestNoRetryOnOtherClientErrors(t *testing.T) {
	f := newFake(t)
	f.Before = func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"Resource not accessible by integration"}`))
		return true
	}
	_, err := mint(t, request(t, f, inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read"})))
	require.Error(t, err)
	assert.Equal(t, 1, f.Requests())
	assert.Contains(t, err.Error(), "403")
}

func TestRevoke(t *testing.T) {
	f := newFake(t)
	req := request(t, f, inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read"}))
	tok, err := mint(t, req)
	require.NoError(t, err)
	saved := provider.Saved{Provider: "github", Token: tok.Value, State: tok.State, Destinations: destinations(t, req)}
	require.NoError(t, ghapp.New().Revoke(context.Background(), req, saved))
	assert.Empty(t, f.Live())
	err = ghapp.New().Revoke(context.Background(), req, saved)
	assert.ErrorIs(t, err, provider.ErrAlreadyRevoked, "a 401 means already revoked")
}

func TestRevokeExpired(t *testing.T) {
	f := newFake(t)
	req := request(t, f, inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read"}))
	tok, err := mint(t, req)
	require.NoError(t, err)
	f.Expire()
	err = ghapp.New().Revoke(context.Background(), req, provider.Saved{Token: tok.Value, State: tok.State, Destinations: destinations(t, req)})
	assert.ErrorIs(t, err, provider.ErrAlreadyRevoked)
}

func TestPrepareProblems(t *testing.T) {
	tests := []struct {
		name string
		in   inputs.Values
		run  host.Run
		want []string
	}{
		{"no issuer", inputs.ValuesOf(map[string]string{ghapp.ClientID.Key: "", inputs.Permissions.Key: "contents:read"}), host.Run{Repository: "o/r"}, []string{"input client-id: is required for github"}},
		{"bad app id", inputs.ValuesOf(map[string]string{ghapp.ClientID.Key: "", ghapp.AppID.Key: "abc", inputs.Permissions.Key: "contents:read"}), host.Run{Repository: "o/r"}, []string{"input app-id: \"abc\" is not a numeric App ID"}},
		{"no repository outside GitHub", inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read"}), host.Run{}, []string{"input repositories: has no default outside a GitHub repository"}},
		{"other owner needs repositories", inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.Owner.Key: "acme"}), host.Run{Repository: "octo/app"}, []string{"input repositories: is required when owner (acme)"}},
		{"foreign owner", inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.Owner.Key: "octo", ghapp.Repositories.Key: "app, acme/x"}), host.Run{Repository: "octo/app"}, []string{`input repositories: "acme/x" is not owned by an account owner lists (octo); add acme to owner`}},
		{"several owners need repositories", inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.Owner.Key: "octo, acme"}), host.Run{Repository: "octo/app"}, []string{"input repositories: is required when owner lists several accounts"}},
		{"owner without repositories", inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.Owner.Key: "octo acme", ghapp.Repositories.Key: "app"}), host.Run{Repository: "octo/app"}, []string{"input owner: lists acme, but repositories names none of its repositories; name them as acme/NAME"}},
		{"bad second owner", inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.Owner.Key: "octo, a_b"}), host.Run{Repository: "octo/app"}, []string{`input owner: "a_b" is not a GitHub account name`}},
		{"installation id with several owners", inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.Repositories.Key: "app, acme/x", ghapp.InstallationID.Key: "77"}), host.Run{Repository: "octo/app"}, []string{"input installation-id: names one installation, but the repositories span 2 accounts (octo, acme)"}},
		{"star mixed", inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.Repositories.Key: "*, app"}), host.Run{Repository: "octo/app"}, []string{"mixes *"}},
		{"bad repo name", inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.Repositories.Key: "a b$c"}), host.Run{Repository: "octo/app"}, []string{`"b$c" is not a repository name`}},
		{"bad installation id", inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.InstallationID.Key: "x"}), host.Run{Repository: "octo/app"}, []string{"input installation-id"}},
		{"bad api url", inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.APIURL.Key: "ftp://x"}), host.Run{Repository: "octo/app"}, []string{"input github-api-url"}},
		{"bad key", inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.PrivateKey.Key: "nope"}), host.Run{Repository: "octo/app"}, []string{"input private-key: is not a PEM private key"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := inputs.ValuesOf(map[string]string{ghapp.ClientID.Key: "Iv1.x", ghapp.PrivateKey.Key: testutil.AppKeyPEM(t)})
			for k, x := range tc.in.Map() {
				if x == "" {
					v.Delete(k)
					continue
				}
				v.Set(k, x)
			}
			req := func() provider.Request {
				r := providertest.Request(t, ghapp.New(), v, nil)
				r.Naming, r.Terminal = inputs.GitHubNames, false
				r.Run = tc.run
				r.Permissions = inputs.List(v.Get(inputs.Permissions))
				r.Lifetime = time.Hour
				return r
			}()
			_, ps := ghapp.New().Prepare(req)
			require.Len(t, ps, len(tc.want), ps.Error())
			for i, w := range tc.want {
				assert.Contains(t, ps[i].Format(inputs.GitHubNames), w)
			}
		})
	}
}

func TestPrepareRefusesLongLifetime(t *testing.T) {
	req := withLifetime(onRunner(t, inputs.ValuesOf(map[string]string{ghapp.ClientID.Key: "Iv1.x", ghapp.PrivateKey.Key: testutil.AppKeyPEM(t)}), "o/r"), 2*time.Hour)
	_, ps := ghapp.New().Prepare(req)
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0].Error(), "input lifetime: 2h is longer than GitHub's fixed 1h")
}

func TestPrepareRefusesPlainHTTPToRemoteHosts(t *testing.T) {
	for url, ok := range map[string]bool{
		"http://ghes.example.com/api/v3":  false,
		"https://ghes.example.com/api/v3": true,
		"http://127.0.0.1:8080":           true,
		"http://localhost:8080":           true,
	} {
		req := onRunner(t, inputs.ValuesOf(map[string]string{ghapp.ClientID.Key: "Iv1.x", ghapp.PrivateKey.Key: testutil.AppKeyPEM(t), ghapp.APIURL.Key: url}), "o/r")
		_, ps := ghapp.New().Prepare(req)
		if ok {
			assert.Empty(t, ps, url)
			continue
		}
		require.Len(t, ps, 1, url)
		assert.Contains(t, ps[0].Error(), "would send credentials unencrypted; use https")
	}
}

func TestPrepareRefusesDotRepositories(t *testing.T) {
	for _, r := range []string{".", "..", "octo/..", "../x"} {
		req := onRunner(t, inputs.ValuesOf(map[string]string{ghapp.ClientID.Key: "Iv1.x", ghapp.PrivateKey.Key: testutil.AppKeyPEM(t), ghapp.Repositories.Key: r}), "octo/app")
		_, ps := ghapp.New().Prepare(req)
		require.NotEmpty(t, ps, r)
		assert.Contains(t, ps.Error(), "is not a repository name", r)
	}
}

// A 201 whose body decodes only in part (a field of the wrong type) still
// carries a live token: it must come back so that it is revoked.
func TestMintHalfDecodedAnswerReturnsTheToken(t *testing.T) {
	f := newFake(t)
	target, _ := url.Parse(f.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(r *http.Response) error {
		if r.Request.Method != http.MethodPost {
			return nil
		}
		b, _ := io.ReadAll(r.Body)
		b = regexp.MustCompile(`"expires_at":"[^"]*"`).ReplaceAll(b, []byte(`"expires_at":"soon"`))
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		r.Header.Del("Content-Length")
		return nil
	}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	req := request(t, f, inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.InstallationID.Key: "77"}))
	req.Inputs.Set(ghapp.APIURL.Key, srv.URL)
	tok, err := mint(t, req)
	require.Error(t, err)
	require.NotNil(t, tok, "the token must come back to be revoked")
	assert.Equal(t, f.Live()[0].Value, tok.Value)
	assert.Contains(t, err.Error(), "did not decode")
	assert.NotContains(t, err.Error(), "parsing time", "raw decoder errors are not shown")
}

func TestPrepareRefusesCredentialsInAPIURL(t *testing.T) {
	req := onRunner(t, inputs.ValuesOf(map[string]string{ghapp.ClientID.Key: "Iv1.x", ghapp.PrivateKey.Key: testutil.AppKeyPEM(t), ghapp.APIURL.Key: "https://me:s3cr3tpassword@ghes.example.com/api/v3"}), "o/r")
	_, ps := ghapp.New().Prepare(req)
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0].Error(), "input github-api-url: holds credentials")
	assert.NotContains(t, ps[0].Error(), "s3cr3tpassword")
}

// TestGitHubAnswersAreExplained: each answer GitHub gives a wrong App
// identity, key or clock reads as GitHub's words plus jobtoken's cause and
// fix, naming the inputs as the user typed them.
func TestGitHubAnswersAreExplained(t *testing.T) {
	otherKey := testutil.OtherKeyPEM(t)
	for _, c := range []struct {
		name  string
		in    inputs.Values
		setup func(f *ghfake.Server)
		want  []string
	}{
		{name: "client ID with a stray character", in: inputs.ValuesOf(map[string]string{ghapp.ClientID.Key: "Iv23liFAKEclient1"}),
			want: []string{"GitHub answered 401 Unauthorized: 'Issuer' claim ('iss') must be an Integer — GitHub knows no App whose client ID or App ID is \"Iv23liFAKEclient1\"; set client-id to the Client ID on the App's settings page (or app-id to its App ID)"}},
		{name: "App ID of no App", in: inputs.ValuesOf(map[string]string{ghapp.ClientID.Key: "", ghapp.AppID.Key: "999"}),
			want: []string{"GitHub answered 404 Not Found: Integration not found — no GitHub App has the ID 999 on", "set app-id to the App ID on the App's settings page (not an installation ID)"}},
		{name: "key of another App", in: inputs.ValuesOf(map[string]string{ghapp.PrivateKey.Key: otherKey}),
			want: []string{"GitHub answered 401 Unauthorized: A JSON web token could not be decoded — private-key is not a key of App Iv23liFAKEclient: it belongs to another App, was deleted from this one, or client-id names another App; generate a private key in the settings of the App client-id names"}},
		{name: "App without a key", setup: func(f *ghfake.Server) { f.NoKey = true },
			want: []string{"Integration must generate a public key — App Iv23liFAKEclient has no private key; generate one in the App's settings"}},
		{name: "clock off even after the correction", setup: func(f *ghfake.Server) {
			f.Before = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"message":"'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"}`))
				return true
			}
		}, want: []string{"'Issued at' claim ('iat') must be an Integer", "this machine's clock is off", "synchronise the runner's clock (NTP)"}},
		{name: "bad credentials", setup: func(f *ghfake.Server) {
			f.Before = func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`))
				return true
			}
		}, want: []string{"GitHub answered 401 Unauthorized: Bad credentials — GitHub did not accept the App's JWT; check that client-id names the App that private-key belongs to"}},
		{name: "not installed", in: inputs.ValuesOf(map[string]string{ghapp.Repositories.Key: "elsewhere"}),
			want: []string{"failed to find the installation: GitHub answered 404 Not Found — the GitHub App Iv23liFAKEclient is not installed on repository octo/elsewhere; install it there"}},
		{name: "permission not granted", in: inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "actions:write"}),
			want: []string{"GitHub answered 422 Unprocessable Entity: The permissions requested are not granted to this installation. — the installation lacks actions:write (not granted to the App); add them in the App's permissions"}},
		{name: "repository not accessible", in: inputs.ValuesOf(map[string]string{ghapp.Repositories.Key: "app, private", ghapp.InstallationID.Key: "77"}),
			want: []string{"There is at least one repository that does not exist or is not accessible to the parent installation. — the installation covers selected repositories only, and octo/app, octo/private are not all among them (or do not exist); add them under the installation's Repository access, or fix repositories"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			if c.setup != nil {
				c.setup(f)
			}
			in := inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read"})
			in.Update(c.in)
			req := request(t, f, in)
			for k, v := range c.in.Map() {
				if v == "" {
					req.Inputs.Delete(k)
				}
			}
			_, err := mint(t, req)
			require.Error(t, err)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Empty(t, f.Minted())
			testutil.AssertNoSecret(t, "error", err.Error(), testutil.AppKeyPEM(t), otherKey)
		})
	}
}

// kmsKey is a key jobtoken cannot read, as a KMS holds it: only its public
// half and signatures come out.
type kmsKey struct {
	key   *rsa.PrivateKey
	signs int
}

func (k *kmsKey) Public() crypto.PublicKey { return k.key.Public() }

func (k *kmsKey) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	k.signs++
	return k.key.Sign(rand, digest, opts)
}

// TestAppWithoutHostOrInputs: the App mints, checks and revokes with a key
// it cannot read (the crypto.Signer seam a KMS plugs into), with no host and
// no inputs, as a broker or a server would.
func TestAppWithoutHostOrInputs(t *testing.T) {
	f := newFake(t)
	key := &kmsKey{key: testutil.AppKey(t)}
	app := ghapp.NewApp(f.URL, providertest.Client(nil, providertest.NoSleep), f.ClientID, key)

	inst, lacking, err := app.Check(context.Background(), 0, "octo", "app", map[string]string{"contents": "read", "actions": "write"})
	require.NoError(t, err)
	assert.Equal(t, int64(77), inst.ID)
	assert.Equal(t, []string{`actions:write (installation has "")`}, lacking)

	tok, err := app.Mint(context.Background(), inst.ID, []string{"app"}, map[string]string{"contents": "read"})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"contents": "read", "metadata": "read"}, tok.Permissions)
	assert.Len(t, f.Live(), 1)
	assert.Equal(t, 1, key.signs, "one JWT for both calls: reused while it is valid, as every signature may be a KMS call")

	require.NoError(t, app.Revoke(context.Background(), tok.Token))
	assert.Empty(t, f.Live())
	assert.ErrorIs(t, app.Revoke(context.Background(), tok.Token), provider.ErrAlreadyRevoked)

	// A grant broader than asked comes back with the token, to be revoked.
	f.Grant = func(t *ghfake.Token) { t.Permissions["issues"] = "write" }
	tok, err = app.Mint(context.Background(), inst.ID, []string{"app"}, map[string]string{"contents": "read"})
	require.NotNil(t, tok)
	var ge *ghapp.GrantError
	require.ErrorAs(t, err, &ge)
	assert.Contains(t, err.Error(), "GitHub granted more than asked: issues:write (not asked)")
}
