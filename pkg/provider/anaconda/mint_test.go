package anaconda

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/anacondafake"
	"github.com/jobtoken/jobtoken/pkg/fake/minted"
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
)

// world is one fake anaconda.org with a user, an organization and both kinds
// of parent credential.
type world struct {
	fake   *anacondafake.Server
	apiKey string
	orgTok string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	f := anacondafake.New(&anacondafake.Account{Login: "ana"}, &anacondafake.Account{Login: "conda-org", Org: true, Owners: []string{"ana"}}, &anacondafake.Account{Login: "other-org", Org: true, Owners: []string{"bob"}})
	t.Cleanup(f.Close)
	return &world{fake: f, apiKey: f.AddAPIKey("ana", time.Now().Add(24*time.Hour)), orgTok: f.AddToken("ana")}
}

// request builds a provider request the way job.Prepare does, from raw inputs.
func (w *world) request(t *testing.T, in inputs.Values) (provider.Request, *providertest.Log) {
	t.Helper()
	if !in.Given(APIURL) {
		in.Set(APIURL.Key, w.fake.URL)
	}
	in.Set(inputs.Provider.Key, Name)
	c, ps := job.ParseCommon(in, registry(t))
	require.Empty(t, ps)
	log := &providertest.Log{}
	req := providertest.Request(t, New(), in, nil)
	req.Run = host.Run{Repository: "octo/app", RunID: "9", Attempt: "2"}
	req.Naming, req.Terminal = inputs.GitHubNames, false
	req.Permissions, req.Lifetime, req.AllowBroad = c.Permissions, c.Lifetime, c.AllowBroad
	req.HTTP, req.Log = providertest.Client(nil, providertest.Instant), log
	return req, log
}

// registry holds this provider alone.
func registry(t *testing.T) *provider.Registry {
	t.Helper()
	r, err := provider.NewRegistry(New())
	require.NoError(t, err)
	return r
}

func fixed(s string) *Provider { return &Provider{suffix: func() string { return s }} }

func prepare(t *testing.T, p *Provider, req provider.Request) *minter {
	t.Helper()
	m, ps := p.Prepare(req)
	require.Empty(t, ps, "%s", ps)
	return m.(*minter)
}

func TestMintBothCredentialKinds(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name, cred, scheme string
	}{
		{"api key as Bearer", w.apiKey, "Bearer"},
		{"anaconda.org token as token", w.orgTok, "token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: tc.cred, inputs.Permissions.Key: "api:read conda:download", inputs.Lifetime.Key: "30m"}))
			m := prepare(t, New(), req)
			before := len(w.fake.Requests())
			tok, err := m.Mint(context.Background())
			require.NoError(t, err)
			got := w.fake.Requests()[before]
			assert.Equal(t, anacondafake.Request{Method: "POST", Path: "/authentications", Scheme: tc.scheme}, got)

			ft := w.fake.Lookup(tok.Value)
			require.NotNil(t, ft)
			assert.Equal(t, []string{"api:read", "conda:download"}, ft.Scopes)
			assert.Equal(t, int64(1800), ft.MaxAge, "lifetime becomes max-age")
			assert.Equal(t, "strong", ft.Strength)
			assert.Equal(t, "ana", ft.Owner)
			assert.Regexp(t, `^jobtoken octo:app run 9\.2 [0-9a-f]{6}$`, tok.ID)
			assert.Equal(t, ft.Note, tok.ID, "token-id is the note")
			assert.Equal(t, "api:read conda:download", tok.Granted)
			assert.WithinDuration(t, time.Now().Add(30*time.Minute), tok.ExpiresAt, 5*time.Second)
			assert.True(t, tok.Revocable)
			assert.JSONEq(t, `{"note": "`+tok.ID+`"}`, string(tok.State), "the note; where it goes is a destination")
			assert.Equal(t, map[string]string{APIURL.Key: w.fake.URL, Organization.Key: ""}, saved(tok, req).Destinations)
			assert.Contains(t, tok.Secrets, "/t/"+tok.Value+"/")
			assert.Contains(t, tok.Secrets, "https://conda.anaconda.org/t/"+tok.Value)
			assert.Equal(t, []string{"ANACONDA_API_TOKEN", "BINSTAR_API_TOKEN"}, tok.ExportNames("ANACONDA_API_TOKEN"))
		})
	}
}

func TestMintOrganizationToken(t *testing.T) {
	w := newWorld(t)
	req, _ := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: w.apiKey, inputs.Permissions.Key: "pypi:upload", Organization.Key: "conda-org"}))
	tok, err := prepare(t, New(), req).Mint(context.Background())
	require.NoError(t, err)
	ft := w.fake.Lookup(tok.Value)
	assert.Equal(t, "conda-org", ft.Owner)
	assert.Equal(t, "conda-org", saved(tok, req).Destination(Organization))
	assert.Contains(t, tok.Summary, [2]string{"Organization", "conda-org"})
	assert.Equal(t, int64(3600), ft.MaxAge, "the default lifetime, 1h")
}

func TestMintOrganizationNotOwned(t *testing.T) {
	w := newWorld(t)
	req, _ := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: w.apiKey, inputs.Permissions.Key: "pypi:upload", Organization.Key: "other-org"}))
	tok, err := prepare(t, New(), req).Mint(context.Background())
	require.Error(t, err)
	assert.Nil(t, tok)
	assert.Contains(t, err.Error(), `failed to mint: anaconda.org answered 403 Forbidden: you are not an owner of organization "other-org" — the account of anaconda-credential may not create tokens owned by organization other-org: it is not among the organization's owners, or the organization does not exist; ask an owner to add the account to the organization's Owners, fix anaconda-organization`)
	assert.Empty(t, w.fake.Live())
}

func TestMintWrongSchemeSaysWhichKindWasTried(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name, cred, want string
	}{
		{"api key forced as token", "token " + w.apiKey, `anaconda.org answered 401 Unauthorized: Invalid authorization token — anaconda.org rejected anaconda-credential as an anaconda.org token (sent as Authorization: token); check that the token exists, has not expired and carries a scope that may create tokens (such as all); if it is an anaconda.com API key, prefix it with "Bearer "`},
		{"org token forced as Bearer", "Bearer " + w.orgTok, `anaconda.org answered 401 Unauthorized: Invalid authorization token — anaconda.org rejected anaconda-credential as an anaconda.com API key (sent as Authorization: Bearer); check that the API key is current and its account can reach anaconda.org; if it is an anaconda.org token, prefix it with "token "`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: tc.cred, inputs.Permissions.Key: "repos"}))
			_, err := prepare(t, New(), req).Mint(context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), w.apiKey)
			assert.NotContains(t, err.Error(), w.orgTok)
		})
	}
}

func TestMintDuplicateNote(t *testing.T) {
	w := newWorld(t)
	req, log := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: w.orgTok, inputs.Permissions.Key: "repos"}))
	first, err := prepare(t, fixed("aaaaaa"), req).Mint(context.Background())
	require.NoError(t, err)

	// The same note again: anaconda.org answers 400 {"error": …}. A unique
	// note can only be ours, so the token by that name is revoked and the
	// mint tried once more.
	second, err := prepare(t, fixed("aaaaaa"), req).Mint(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "name", w.fake.Lookup(first.Value).RevokedBy)
	require.Len(t, w.fake.Live(), 1)
	assert.Equal(t, second.Value, w.fake.Live()[0].Value)
	assert.Contains(t, log.String(), "revoked token jobtoken octo:app run 9.2 aaaaaa, minted by a request whose answer was lost; minting it again")
}

func TestMintAnswerLostThenRetried(t *testing.T) {
	w := newWorld(t)
	w.fake.LoseMintAnswers = 1
	req, _ := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: w.apiKey, inputs.Permissions.Key: "conda:download", Organization.Key: "conda-org"}))
	tok, err := prepare(t, New(), req).Mint(context.Background())
	require.NoError(t, err)
	// The first try minted a token whose answer was lost; the retry was told
	// the note exists, revoked that token by name and minted again.
	require.Len(t, w.fake.Minted(), 2)
	require.Len(t, w.fake.Live(), 1, "the token whose value never reached us must not stay alive")
	assert.Equal(t, tok.Value, w.fake.Live()[0].Value)
	for _, m := range w.fake.Minted() {
		if m.Value != tok.Value {
			assert.Equal(t, "name", m.RevokedBy)
		}
	}
}

func TestMintAnswersAlwaysLost(t *testing.T) {
	w := newWorld(t)
	w.fake.LoseMintAnswers = 100
	req, _ := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: w.apiKey, inputs.Permissions.Key: "conda:download"}))
	_, err := prepare(t, New(), req).Mint(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "most likely minted by a retried request whose answer was lost; it was revoked by name. Rerun the step")
	assert.NotEmpty(t, w.fake.Minted())
	assert.Empty(t, w.fake.Live(), "no token whose value never reached us stays alive")
}

func TestMintAnswerUnreadable(t *testing.T) {
	w := newWorld(t)
	inner := false
	w.fake.Before = func(rw http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || inner {
			return false
		}
		// Mint, then answer something that is not JSON (a proxy rewrote it).
		inner = true
		rec := httptest.NewRecorder()
		w.fake.Config.Handler.ServeHTTP(rec, r)
		inner = false
		rw.WriteHeader(http.StatusOK)
		_, _ = rw.Write([]byte("<html>upstream</html>"))
		return true
	}
	req, log := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: w.apiKey, inputs.Permissions.Key: "conda:download"}))
	_, err := prepare(t, New(), req).Mint(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "failed to mint: anaconda.org answered 200 with a body that is not the expected JSON")
	require.Len(t, w.fake.Minted(), 1)
	assert.Empty(t, w.fake.Live(), "a token minted by a request whose answer was unreadable is revoked by name")
	assert.Contains(t, log.String(), "minted by a request whose answer was lost")
}

func TestMintUnknownScopeOnServer(t *testing.T) {
	// Offline validation catches unknown scopes; this is the server's answer
	// if its list ever drifts from the embedded one.
	w := newWorld(t)
	req, _ := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: w.apiKey, inputs.Permissions.Key: "repos"}))
	m := prepare(t, New(), req)
	m.scopes = []string{"repos", "conda:mirror"}
	_, err := m.Mint(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `failed to mint: anaconda.org answered 400 Bad Request: Invalid scope "conda:mirror" — anaconda.org refused the scopes or the max-age; check the scopes in permissions`)
	assert.Empty(t, w.fake.Minted())
}

func TestMintGrantChecks(t *testing.T) {
	tests := []struct {
		name    string
		grant   func(*anacondafake.Token)
		omit    bool
		wantErr string
		granted string
		warn    string
	}{
		{name: "grant as asked, listed on creation", granted: "api:read"},
		{name: "grant as asked, learned from GET /authentication", omit: true, granted: "api:read"},
		{name: "broader scopes", grant: func(t *anacondafake.Token) { t.Scopes = append(t.Scopes, "all") }, wantErr: "anaconda.org granted more than asked: all (not asked). "},
		{name: "broader scopes seen through GET /authentication", omit: true, grant: func(t *anacondafake.Token) { t.Scopes = []string{"api"} }, wantErr: "granted more than asked: api (not asked)"},
		{name: "max-age ignored (a year)", grant: func(t *anacondafake.Token) { t.ExpiresAt = t.ExpiresAt.Add(365 * 24 * time.Hour) }, wantErr: "granted more than asked: a life of 8761h0m0s (asked max-age 1h0m0s)"},
		{name: "narrower scopes", grant: func(t *anacondafake.Token) { t.Scopes = []string{} }, wantErr: "anaconda.org granted less than asked: api:read (asked, not granted). A token cannot outrank or outlive its parent: check the scopes and expiry of anaconda-credential"},
		{name: "null scopes are not a grant list: unconfirmed, not narrower", grant: func(t *anacondafake.Token) { t.Scopes = nil }, granted: "api:read", warn: "did not confirm the scopes"},
		{name: "shorter life", grant: func(t *anacondafake.Token) { t.ExpiresAt = t.ExpiresAt.Add(-30 * time.Minute) }, wantErr: "granted less than asked: a life of 30m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.fake.Grant, w.fake.OmitGrant = tt.grant, tt.omit
			req, log := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: w.apiKey, inputs.Permissions.Key: "api:read"}))
			tok, err := prepare(t, New(), req).Mint(context.Background())
			require.NotNil(t, tok, "a minted token is always returned so that it can be revoked")
			assert.NotEmpty(t, w.fake.Lookup(tok.Value))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.granted, tok.Granted)
			if tt.warn != "" {
				assert.Contains(t, log.String(), tt.warn)
			} else {
				assert.Empty(t, log.String())
			}
		})
	}
}

func TestMintGrantUnconfirmed(t *testing.T) {
	w := newWorld(t)
	w.fake.OmitGrant = true
	w.fake.Before = func(rw http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && r.URL.Path == "/authentication" {
			rw.WriteHeader(http.StatusNotFound)
			return true
		}
		return false
	}
	req, log := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: w.apiKey, inputs.Permissions.Key: "conda:download", inputs.Lifetime.Key: "10m"}))
	tok, err := prepare(t, New(), req).Mint(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "conda:download", tok.Granted)
	assert.Contains(t, tok.Summary, [2]string{"Scopes", "conda:download (as asked; anaconda.org did not confirm)"})
	assert.WithinDuration(t, time.Now().Add(10*time.Minute), tok.ExpiresAt, 5*time.Second)
	assert.Contains(t, log.String(), "warning: anaconda.org did not confirm the scopes of token jobtoken octo:app run 9.2")
	assert.NotContains(t, log.String(), tok.Value)
}

func TestMintRetriesServerErrors(t *testing.T) {
	w := newWorld(t)
	fails := 2
	w.fake.Before = func(rw http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost && fails > 0 {
			fails--
			rw.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	req, _ := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: w.apiKey, inputs.Permissions.Key: "repos"}))
	tok, err := prepare(t, New(), req).Mint(context.Background())
	require.NoError(t, err)
	assert.Len(t, w.fake.Live(), 1)
	assert.Equal(t, tok.Value, w.fake.Live()[0].Value)
}

// saved is what the main stage of req saves for tok.
func saved(tok *provider.Token, req provider.Request) provider.Saved {
	ds, _ := New().Destinations(req)
	dest := map[string]string{}
	for _, d := range ds {
		dest[d.Input.Key] = d.Value
	}
	return provider.Saved{Provider: Name, Token: tok.Value, ID: tok.ID, ExpiresAt: tok.ExpiresAt, Revoke: true, Revocable: true, Destinations: dest, State: tok.State, Authenticated: true}
}

func TestRevokeThenAlreadyRevoked(t *testing.T) {
	w := newWorld(t)
	req, _ := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: w.apiKey, inputs.Permissions.Key: "repos"}))
	tok, err := prepare(t, New(), req).Mint(context.Background())
	require.NoError(t, err)
	p := New()
	require.NoError(t, p.Revoke(context.Background(), req, saved(tok, req)))
	assert.Equal(t, "self", w.fake.Lookup(tok.Value).RevokedBy)
	last := w.fake.Requests()[len(w.fake.Requests())-1]
	assert.Equal(t, anacondafake.Request{Method: "DELETE", Path: "/authentications", Scheme: "token"}, last)

	// Again: 401 "no longer valid" means the goal is reached; no fallback.
	n := len(w.fake.Requests())
	err = p.Revoke(context.Background(), req, saved(tok, req))
	assert.ErrorIs(t, err, provider.ErrAlreadyRevoked)
	assert.Len(t, w.fake.Requests(), n+1)
}

func TestRevokeExpired(t *testing.T) {
	w := newWorld(t)
	req, _ := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: w.apiKey, inputs.Permissions.Key: "repos"}))
	tok, err := prepare(t, New(), req).Mint(context.Background())
	require.NoError(t, err)
	w.fake.Expire()
	assert.ErrorIs(t, New().Revoke(context.Background(), req, saved(tok, req)), provider.ErrAlreadyRevoked)
}

func TestRevokeFallsBackToName(t *testing.T) {
	for _, org := range []string{"", "conda-org"} {
		t.Run("org="+org, func(t *testing.T) {
			w := newWorld(t)
			req, log := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: w.orgTok, inputs.Permissions.Key: "repos", Organization.Key: org}))
			if org == "" {
				req.Inputs.Delete(Organization.Key)
			}
			tok, err := prepare(t, New(), req).Mint(context.Background())
			require.NoError(t, err)
			w.fake.Before = func(rw http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodDelete && r.URL.Path == "/authentications" {
					rw.WriteHeader(http.StatusInternalServerError)
					return true
				}
				return false
			}
			require.NoError(t, New().Revoke(context.Background(), req, saved(tok, req)))
			assert.Equal(t, "name", w.fake.Lookup(tok.Value).RevokedBy)
			want := "/authentications/name/" + tok.ID
			if org != "" {
				want = "/authentications/org/conda-org/name/" + tok.ID
			}
			last := w.fake.Requests()[len(w.fake.Requests())-1]
			assert.Equal(t, anacondafake.Request{Method: "DELETE", Path: want, Scheme: "token"}, last)
			assert.Contains(t, log.String(), "info: revoking token "+tok.ID+" with itself failed (anaconda.org answered 500 Internal Server Error); revoked it by name with anaconda-credential")

			// Gone by name too: a 404 means already revoked.
			assert.ErrorIs(t, New().Revoke(context.Background(), req, saved(tok, req)), provider.ErrAlreadyRevoked)
		})
	}
}

func TestRevokeFallbackWithoutParent(t *testing.T) {
	w := newWorld(t)
	req, _ := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: w.apiKey, inputs.Permissions.Key: "repos"}))
	tok, err := prepare(t, New(), req).Mint(context.Background())
	require.NoError(t, err)
	w.fake.Before = func(rw http.ResponseWriter, r *http.Request) bool {
		rw.WriteHeader(http.StatusBadGateway)
		return true
	}
	req.Inputs.Delete(Credential.Key)
	req.Naming = inputs.AzureNames
	err = New().Revoke(context.Background(), req, saved(tok, req))
	require.Error(t, err)
	assert.False(t, errors.Is(err, provider.ErrAlreadyRevoked))
	assert.Equal(t, "failed to revoke with the token itself (anaconda.org answered 502 Bad Gateway), and the post step has no anacondaCredential to revoke it by name", err.Error())
}

func TestCheck(t *testing.T) {
	w := newWorld(t)
	req, _ := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: w.apiKey, inputs.Permissions.Key: "repos conda:download", Organization.Key: "conda-org"}))
	lines, err := prepare(t, New(), req).Check(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"anaconda.com API key authenticated as ana (Authorization: Bearer)", "organization conda-org exists", "anaconda.org knows every scope asked"}, lines)
	assert.Empty(t, w.fake.Minted(), "a check mints nothing")

	req.Inputs.Set(Organization.Key, "ana")
	_, err = prepare(t, New(), req).Check(context.Background())
	assert.EqualError(t, err, "ana is a user account, not an organization; leave anaconda-organization empty to own the token with ana")

	req.Inputs.Set(Organization.Key, "nobody")
	_, err = prepare(t, New(), req).Check(context.Background())
	assert.EqualError(t, err, "organization nobody does not exist on anaconda.org; check anaconda-organization")

	req.Inputs.Set(Credential.Key, "token "+w.apiKey)
	_, err = prepare(t, New(), req).Check(context.Background())
	assert.EqualError(t, err, `failed to check anaconda-credential: anaconda.org answered 401 Unauthorized: Invalid authorization token — anaconda.org rejected anaconda-credential as an anaconda.org token (sent as Authorization: token); check that the token exists, has not expired and carries a scope that may create tokens (such as all); if it is an anaconda.com API key, prefix it with "Bearer "`)
}

func TestPrepareProblems(t *testing.T) {
	tests := []struct {
		name string
		host string
		in   inputs.Values
		want []string
	}{
		{name: "everything missing", in: inputs.ValuesOf(map[string]string{}), want: []string{
			"input anaconda-credential: is required for anaconda; pass an anaconda.com API key or an anaconda.org token from a secret",
			"input permissions: is required for anaconda; name the scopes the job needs",
		}},
		{name: "azure names", host: "azure", in: inputs.ValuesOf(map[string]string{Credential.Key: "x y", inputs.Permissions.Key: "all", inputs.Lifetime.Key: "48h", Organization.Key: "no/slash", APIURL.Key: "ftp://x"}), want: []string{
			"input anacondaCredential: contains whitespace",
			"input permissions: all is a full-access scope (Allow all operations); name narrower scopes (e.g. api:read, conda:download, pypi:upload) or set allowBroadScopes to true",
			"input lifetime: 48h is longer than a day; use 1m to 24h, or set allowBroadScopes to true to permit up to 168h",
			`input anacondaOrganization: "no/slash" is not an anaconda.org organization name`,
			`input anacondaApiUrl: "ftp://x" is not an https URL; use e.g. https://api.anaconda.org`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Set(inputs.Provider.Key, Name)
			if !in.Given(inputs.Lifetime) {
				in.Set(inputs.Lifetime.Key, "1h")
			}
			c, _ := job.ParseCommon(in, registry(t))
			req := providertest.Request(t, New(), in, nil)
			n := inputs.GitHubNames
			if tt.host == "azure" {
				n = inputs.AzureNames
			}
			req.Naming, req.Terminal = n, false
			req.Permissions, req.Lifetime, req.AllowBroad = c.Permissions, c.Lifetime, c.AllowBroad
			_, ps := New().Prepare(req)
			require.Len(t, ps, len(tt.want), "%s", ps.Format(n))
			for i, w := range tt.want {
				assert.Contains(t, ps[i].Format(n), w)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	w := newWorld(t)
	req, _ := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: w.orgTok, inputs.Permissions.Key: "conda:download", inputs.Lifetime.Key: "20m", inputs.ExportEnv.Key: "ANACONDA_API_TOKEN"}))
	pl := prepare(t, fixed("c0ffee"), req).Plan()
	assert.Equal(t, "anaconda.org token from anaconda-credential (sent as Authorization: token)", pl.Parent)
	assert.Equal(t, []string{"conda:download"}, pl.Scopes)
	assert.Equal(t, []string{"the credential's own account"}, pl.Resources)
	assert.Equal(t, 20*time.Minute, pl.Lifetime)
	assert.Equal(t, map[string]string{"api": w.fake.URL, "max-age": "1200"}, pl.Details)
	assert.Contains(t, pl.Notes, "token note (its name, the token-id output): jobtoken octo:app run 9.2 c0ffee")
	assert.Equal(t, []string{w.orgTok}, pl.Secrets)
	assert.Contains(t, pl.Notes, "export-env also exports BINSTAR_API_TOKEN, which anaconda-client reads first")
	assert.Empty(t, w.fake.Requests(), "planning makes no call")
}

func TestChannelFormsAndExportNames(t *testing.T) {
	assert.Equal(t, []string{"/t/tk-1/", "https://conda.anaconda.org/t/tk-1"}, ChannelForms(DefaultAPIURL, "tk-1"))
	assert.Equal(t, []string{"/t/tk-1/", "https://conda.anaconda.org/t/tk-1", "https://conda.example.com/t/tk-1"}, ChannelForms("https://api.example.com", "tk-1"))
	assert.Equal(t, []string{"/t/tk-1/", "https://conda.anaconda.org/t/tk-1"}, ChannelForms("http://127.0.0.1:8080", "tk-1"))
	assert.Equal(t, []string{"BINSTAR_API_TOKEN"}, ExportNames("BINSTAR_API_TOKEN"))
	assert.Equal(t, []string{"MY_TOKEN", "BINSTAR_API_TOKEN"}, ExportNames("MY_TOKEN"))
}

// An expired parent token reads as anaconda.org says it ("Authentication
// token has expired"), with the fix: a new token, not another scheme.
func TestMintExpiredParent(t *testing.T) {
	w := newWorld(t)
	parent := w.fake.Seed(anacondafake.Token{Creator: "ana", Owner: "ana", Scopes: []string{"all"}, Life: minted.Life{ExpiresAt: time.Now().Add(-time.Minute)}})
	req, _ := w.request(t, inputs.ValuesOf(map[string]string{Credential.Key: parent.Value, inputs.Permissions.Key: "repos"}))
	_, err := prepare(t, New(), req).Mint(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "failed to mint: anaconda.org answered 401 Unauthorized: Authentication token has expired — anaconda.org rejected anaconda-credential as an anaconda.org token (sent as Authorization: token): it has expired; create a new token (anaconda.org settings → Access) or API key, and update the secret")
	assert.NotContains(t, err.Error(), parent.Value)
	assert.Empty(t, w.fake.Live())
}
