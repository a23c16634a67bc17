// Package oidcverify checks a CI job's OIDC token the way the federation
// service must before any policy is read: an issuer it trusts, a signature
// from that issuer's published keys (go-oidc, which also fetches and
// rotates them), exactly one audience and it the service's, a young token,
// and a jti never seen before by this process.
package oidcverify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Rules the service enforces on every token.
const (
	// MaxAge is how long after its iat a token is accepted: a job asks
	// right after it got the token, so an old token is a stolen one.
	MaxAge = 10 * time.Minute
	// Skew is the clock difference forgiven on iat, nbf and exp.
	Skew = 60 * time.Second
	// MaxTokenSize bounds what is parsed at all (GitHub's are ~1-2 KB).
	MaxTokenSize = 16 << 10
)

// Error codes, as the API returns them.
const (
	CodeInvalid     = "invalid_token"
	CodeExpired     = "expired_token"
	CodeReplayed    = "replayed_token"
	CodeAudience    = "wrong_audience"
	CodeUnavailable = "issuer_unavailable"
)

// Error is a token refused (or, CodeUnavailable, not checkable now). Its
// message never holds the token.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

func refuse(code, format string, a ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

// Issuer is one issuer the service trusts.
type Issuer struct {
	// URL is the issuer as its tokens' iss says it.
	URL string
	// JWKSURL, when set, is where its keys are read instead of OIDC
	// discovery (tests; a GHES behind a proxy).
	JWKSURL string
}

// Token is a verified token's identity: never the token itself.
type Token struct {
	Issuer   string
	Subject  string
	JTI      string
	IssuedAt time.Time
	Expiry   time.Time
	// Claims are every claim, numbers as json.Number.
	Claims map[string]any
}

// Verifier verifies tokens for one audience. It is safe for concurrent use.
type Verifier struct {
	audience string
	hc       *http.Client
	now      func() time.Time
	issuers  map[string]*issuer

	mu      sync.Mutex
	seen    map[string]time.Time // jti -> when it may be forgotten
	readyAt time.Time            // the last Ready that read every issuer's keys
	pruned  time.Time            // the last sweep of seen
}

type issuer struct {
	Issuer
	mu sync.Mutex
	v  *oidc.IDTokenVerifier
}

// New returns a verifier of tokens for audience from issuers, fetching
// keys through hc, on the clock now (time.Now when nil).
func New(audience string, issuers []Issuer, hc *http.Client, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	v := &Verifier{audience: audience, hc: hc, now: now, issuers: map[string]*issuer{}, seen: map[string]time.Time{}}
	for _, i := range issuers {
		v.issuers[i.URL] = &issuer{Issuer: i}
	}
	return v
}

// verifier returns the issuer's go-oidc verifier, discovering its keys'
// address on first use (and again after a failed discovery).
func (v *Verifier) verifier(ctx context.Context, is *issuer) (*oidc.IDTokenVerifier, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.v != nil {
		return is.v, nil
	}
	cfg := &oidc.Config{SkipClientIDCheck: true, SkipExpiryCheck: true, SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256}, Now: v.now}
	// go-oidc keeps this context for its background key fetches: it only
	// carries the client.
	keyCtx := oidc.ClientContext(context.Background(), v.hc)
	if is.JWKSURL != "" {
		is.v = oidc.NewVerifier(is.URL, oidc.NewRemoteKeySet(keyCtx, is.JWKSURL), cfg)
		return is.v, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, v.hc), is.URL)
	if err != nil {
		return nil, refuse(CodeUnavailable, "failed to discover the keys of issuer %s: %s", is.URL, summary(err))
	}
	is.v = p.VerifierContext(keyCtx, cfg)
	return is.v, nil
}

// Ready checks that every issuer's keys can be read: one verification of
// a token no issuer signed, which makes go-oidc fetch them. A success
// stands for five minutes, so that readiness probes do not fetch the
// issuers' keys every few seconds.
func (v *Verifier) Ready(ctx context.Context) error {
	v.mu.Lock()
	fresh := !v.readyAt.IsZero() && v.now().Sub(v.readyAt) < 5*time.Minute
	v.mu.Unlock()
	if fresh {
		return nil
	}
	for _, is := range v.issuers {
		vf, err := v.verifier(ctx, is)
		if err != nil {
			return err
		}
		_, err = vf.Verify(ctx, probeToken(is.URL))
		if err != nil && strings.Contains(err.Error(), "fetching keys") {
			return fmt.Errorf("failed to read the keys of issuer %s: %s", is.URL, summary(err))
		}
	}
	v.mu.Lock()
	v.readyAt = v.now()
	v.mu.Unlock()
	return nil
}

// probeToken is a well-formed, unsigned-by-anyone JWT for iss.
func probeToken(iss string) string {
	enc := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "jobtoken-readiness-probe"})
	p, _ := json.Marshal(map[string]any{"iss": iss})
	return enc(h) + "." + enc(p) + "." + enc([]byte("x"))
}

// Verify checks raw and returns who it names. The jti is spent: a second
// Verify of the same token fails with CodeReplayed.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Token, error) {
	if len(raw) > MaxTokenSize {
		return nil, refuse(CodeInvalid, "the token is larger than %d bytes", MaxTokenSize)
	}
	claims, err := unverifiedClaims(raw)
	if err != nil {
		return nil, err
	}
	iss, _ := claims["iss"].(string)
	is, ok := v.issuers[iss]
	if !ok {
		return nil, refuse(CodeInvalid, "the token's issuer %q is not one this service trusts", clip(iss))
	}
	vf, err := v.verifier(ctx, is)
	if err != nil {
		return nil, err
	}
	if _, err := vf.Verify(ctx, raw); err != nil {
		if strings.Contains(err.Error(), "fetching keys") {
			return nil, refuse(CodeUnavailable, "failed to read the keys of issuer %s: %s", iss, summary(err))
		}
		return nil, refuse(CodeInvalid, "the token's signature does not verify with issuer %s's keys", iss)
	}
	t := &Token{Issuer: iss, Claims: claims}
	t.Subject, _ = claims["sub"].(string)
	t.JTI, _ = claims["jti"].(string)

	aud, err := audiences(claims["aud"])
	switch {
	case err != nil:
		return nil, refuse(CodeAudience, "%s", err)
	case len(aud) != 1:
		return nil, refuse(CodeAudience, "the token carries %d audiences; it must carry exactly one, %q", len(aud), v.audience)
	case aud[0] != v.audience:
		return nil, refuse(CodeAudience, "the token's audience is %q; this service accepts %q (request the token for that audience)", clip(aud[0]), v.audience)
	}

	now := v.now()
	exp, okE := numericDate(claims["exp"])
	iat, okI := numericDate(claims["iat"])
	switch {
	case !okE:
		return nil, refuse(CodeInvalid, "the token has no exp")
	case !okI:
		return nil, refuse(CodeInvalid, "the token has no iat")
	case now.After(exp.Add(Skew)):
		return nil, refuse(CodeExpired, "the token expired at %s", exp.UTC().Format(time.RFC3339))
	case now.Sub(iat) > MaxAge+Skew:
		return nil, refuse(CodeExpired, "the token was issued %s ago; this service accepts tokens at most %s old (request a fresh one)", now.Sub(iat).Round(time.Second), MaxAge)
	case iat.After(now.Add(Skew)):
		return nil, refuse(CodeInvalid, "the token's iat is in the future")
	}
	if nbf, ok := numericDate(claims["nbf"]); ok && nbf.After(now.Add(Skew)) {
		return nil, refuse(CodeInvalid, "the token is not valid before %s", nbf.UTC().Format(time.RFC3339))
	}
	t.IssuedAt, t.Expiry = iat, exp
	if t.JTI == "" {
		return nil, refuse(CodeInvalid, "the token has no jti")
	}
	if !v.spend(iss+" "+t.JTI, now, iat) {
		return nil, refuse(CodeReplayed, "the token was already used (jti %s); request a fresh token for each call", clip(t.JTI))
	}
	return t, nil
}

// spend records key, forgetting keys no token could be accepted with any
// more, and reports whether it was new.
func (v *Verifier) spend(key string, now, iat time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	// Sweeping is O(entries): at most once a second, however busy.
	if now.Sub(v.pruned) >= time.Second {
		for k, until := range v.seen {
			if now.After(until) {
				delete(v.seen, k)
			}
		}
		v.pruned = now
	}
	if _, dup := v.seen[key]; dup {
		return false
	}
	v.seen[key] = iat.Add(MaxAge + 2*Skew)
	return true
}

// unverifiedClaims decodes the payload to pick the issuer. Nothing in it
// is trusted until go-oidc has checked the signature.
func unverifiedClaims(raw string) (map[string]any, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, refuse(CodeInvalid, "the bearer token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, refuse(CodeInvalid, "the bearer token is not a JWT (its payload is not base64url)")
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, refuse(CodeInvalid, "the bearer token is not a JWT (its payload is not a JSON object)")
	}
	return claims, nil
}

func audiences(v any) ([]string, error) {
	switch a := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{a}, nil
	case []any:
		out := make([]string, 0, len(a))
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return nil, errors.New("the token's aud is not a list of strings")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errors.New("the token's aud is not a string")
}

func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// clip bounds a value from an unverified token before it is shown.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// summary is an error's text without the URL go-oidc may quote twice.
func summary(err error) string {
	s := strings.TrimPrefix(err.Error(), "oidc: ")
	return clip(s)
}
