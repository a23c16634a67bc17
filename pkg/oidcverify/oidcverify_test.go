package oidcverify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/oidcverify"
)

const aud = "https://jobtoken.octo-org.example"

type world struct {
	gh      *azfake.GitHubOIDC
	other   *azfake.Issuer
	v       *oidcverify.Verifier
	now     time.Time
	fetches atomic.Int32
}

func newWorld(t *testing.T) *world {
	w := &world{gh: azfake.NewGitHubOIDC("octo-org/app"), other: azfake.NewIssuer(azfake.GitHubIssuerURL), now: time.Now()}
	t.Cleanup(w.gh.Close)
	counted := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/jwks") {
			w.fetches.Add(1)
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	w.v = oidcverify.New(aud, []oidcverify.Issuer{{URL: azfake.GitHubIssuerURL, JWKSURL: w.gh.JWKSURL()}}, counted, func() time.Time { return w.now })
	return w
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (w *world) sign(over jwt.MapClaims) string {
	c := jwt.MapClaims{
		"sub": "repo:octo-org/app:ref:refs/heads/main", "aud": aud, "repository_owner_id": "65",
		"jti": "7f3c", "iat": w.now.Unix(), "nbf": w.now.Unix(), "exp": w.now.Add(5 * time.Minute).Unix(),
	}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return w.gh.Issuer.Sign(c)
}

func TestVerify(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name string
		tok  func() string
		code string
		msg  string
	}{
		{"good", func() string { return w.sign(jwt.MapClaims{"jti": "good"}) }, "", ""},
		{"audience as a one-item list", func() string { return w.sign(jwt.MapClaims{"jti": "list", "aud": []string{aud}}) }, "", ""},
		{"wrong audience", func() string { return w.sign(jwt.MapClaims{"jti": "a1", "aud": "sts.amazonaws.com"}) }, oidcverify.CodeAudience, `audience is "sts.amazonaws.com"`},
		{"two audiences", func() string { return w.sign(jwt.MapClaims{"jti": "a2", "aud": []string{aud, "other"}}) }, oidcverify.CodeAudience, "carries 2 audiences"},
		{"no audience", func() string { return w.sign(jwt.MapClaims{"jti": "a3", "aud": nil}) }, oidcverify.CodeAudience, "carries 0 audiences"},
		{"expired", func() string {
			return w.sign(jwt.MapClaims{"jti": "e1", "iat": w.now.Add(-20 * time.Minute).Unix(), "exp": w.now.Add(-2 * time.Minute).Unix()})
		}, oidcverify.CodeExpired, "expired at"},
		{"too old though not expired", func() string {
			return w.sign(jwt.MapClaims{"jti": "e2", "iat": w.now.Add(-12 * time.Minute).Unix(), "exp": w.now.Add(time.Hour).Unix()})
		}, oidcverify.CodeExpired, "at most 10m0s old"},
		{"old within skew", func() string {
			return w.sign(jwt.MapClaims{"jti": "e3", "iat": w.now.Add(-10*time.Minute - 30*time.Second).Unix(), "exp": w.now.Add(time.Minute).Unix()})
		}, "", ""},
		{"iat in the future", func() string { return w.sign(jwt.MapClaims{"jti": "f1", "iat": w.now.Add(5 * time.Minute).Unix()}) }, oidcverify.CodeInvalid, "in the future"},
		{"no jti", func() string { return w.sign(jwt.MapClaims{"jti": nil}) }, oidcverify.CodeInvalid, "no jti"},
		{"no iat", func() string { return w.sign(jwt.MapClaims{"jti": "i1", "iat": nil}) }, oidcverify.CodeInvalid, "no iat"},
		{"signed by another key", func() string {
			return w.other.Sign(jwt.MapClaims{"aud": aud, "jti": "s1", "iat": w.now.Unix(), "exp": w.now.Add(time.Minute).Unix()})
		}, oidcverify.CodeInvalid, "signature does not verify"},
		{"alg none", func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": azfake.GitHubIssuerURL, "aud": aud, "jti": "n1"}).SignedString(jwt.UnsafeAllowNoneSignatureType)
			return s
		}, oidcverify.CodeInvalid, "signature does not verify"},
		{"untrusted issuer", func() string {
			return azfake.NewIssuer("https://evil.example").Sign(jwt.MapClaims{"aud": aud, "jti": "u1"})
		}, oidcverify.CodeInvalid, `issuer "https://evil.example" is not one this service trusts`},
		{"not a JWT", func() string { return "ghs_abc" }, oidcverify.CodeInvalid, "not a JWT"},
		{"huge", func() string { return strings.Repeat("a", 20000) }, oidcverify.CodeInvalid, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.tok()
			tok, err := w.v.Verify(context.Background(), raw)
			if tc.code == "" {
				require.NoError(t, err)
				assert.Equal(t, "65", tok.Claims["repository_owner_id"])
				assert.Equal(t, azfake.GitHubIssuerURL, tok.Issuer)
				return
			}
			require.Error(t, err)
			var e *oidcverify.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.code, e.Code)
			assert.Contains(t, e.Message, tc.msg)
			assert.NotContains(t, e.Message, raw, "an error never echoes the token")
		})
	}
}

func TestReplay(t *testing.T) {
	w := newWorld(t)
	raw := w.sign(jwt.MapClaims{"jti": "once"})
	_, err := w.v.Verify(context.Background(), raw)
	require.NoError(t, err)
	_, err = w.v.Verify(context.Background(), raw)
	var e *oidcverify.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, oidcverify.CodeReplayed, e.Code)

	// A refused token does not spend its jti: the same jti with a good
	// audience is still accepted (the jti is the issuer's, not the caller's).
	_, err = w.v.Verify(context.Background(), w.sign(jwt.MapClaims{"jti": "later", "aud": "x"}))
	require.Error(t, err)
	_, err = w.v.Verify(context.Background(), w.sign(jwt.MapClaims{"jti": "later"}))
	require.NoError(t, err)

	// Keys are fetched once, not per token.
	assert.Equal(t, int32(1), w.fetches.Load())
}

func TestDiscovery(t *testing.T) {
	var srv *httptest.Server
	iss := azfake.NewIssuer("")
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]any{"issuer": srv.URL, "jwks_uri": srv.URL + "/keys", "id_token_signing_alg_values_supported": []string{"RS256"}})
		case "/keys":
			_ = json.NewEncoder(w).Encode(iss.JWKS())
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	iss.URL = srv.URL
	v := oidcverify.New(aud, []oidcverify.Issuer{{URL: srv.URL}}, srv.Client(), nil)
	require.NoError(t, v.Ready(context.Background()))
	now := time.Now()
	tok, err := v.Verify(context.Background(), iss.Sign(jwt.MapClaims{"aud": aud, "jti": "d", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}))
	require.NoError(t, err)
	assert.Equal(t, srv.URL, tok.Issuer)
}

func TestKeysUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer srv.Close()
	iss := azfake.NewIssuer(azfake.GitHubIssuerURL)
	v := oidcverify.New(aud, []oidcverify.Issuer{{URL: azfake.GitHubIssuerURL, JWKSURL: srv.URL}}, srv.Client(), nil)
	assert.Error(t, v.Ready(context.Background()))
	now := time.Now()
	_, err := v.Verify(context.Background(), iss.Sign(jwt.MapClaims{"aud": aud, "jti": "k", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}))
	var e *oidcverify.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, oidcverify.CodeUnavailable, e.Code, e.Message)
}
