package ghapp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-github/v60/github"

	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/api"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// App is a GitHub App as GitHub's REST API knows it: it looks installations
// up, mints installation tokens narrowed to repositories and permissions
// (and checks what GitHub granted), and revokes them. It needs no host and
// no inputs, so that a long-running broker or a server can mint with it
// too. Make one with NewApp.
type App struct {
	// APIURL is the REST API's base, without a trailing slash
	// (DefaultAPIURL, or GitHub Enterprise Server's https://HOST/api/v3).
	APIURL string
	// HTTP is the client every call goes through (package network).
	HTTP *http.Client
	// Issuer is the App's client ID (preferred) or App ID: the JWT's iss.
	Issuer string
	// Signer is the App's private key: an *rsa.PrivateKey, or any signer
	// that makes RS256 (PKCS #1 v1.5, SHA-256) signatures, such as a KMS
	// key. Revoke needs neither Issuer nor Signer.
	Signer crypto.Signer
	// Now is the clock JWTs are dated by.
	Now func() time.Time
	// Log hears what the App corrects by itself (a clock GitHub refuses).
	Log provider.Logger
	// Redact is told of every JWT signed: for ten minutes it can mint
	// tokens, so no log may print it.
	Redact func(values ...string)

	mu       sync.Mutex
	skew     time.Duration // GitHub's clock minus ours, learned from a 401
	resigned bool
	// last is the JWT signed last, reused until a minute before it
	// expires: with a KMS key every signature is a call to the cloud.
	last       string
	lastExp    time.Time
	lastSkew   time.Duration
	lastSigner crypto.Signer
}

// NewApp returns the App issuer signs for with signer, at apiURL, calling
// through hc, on the real clock, logging nothing.
func NewApp(apiURL string, hc *http.Client, issuer string, signer crypto.Signer) *App {
	return &App{APIURL: strings.TrimRight(apiURL, "/"), HTTP: hc, Issuer: issuer, Signer: signer,
		Now: time.Now, Log: quiet{}, Redact: func(...string) {}}
}

type quiet struct{}

func (quiet) Infof(string, ...any)    {}
func (quiet) Warningf(string, ...any) {}
func (quiet) Debugf(string, ...any)   {}

// Installation is GitHub's installation object, decoded into jobtoken's own
// type because go-github v60's lacks newer permission names.
type Installation struct {
	ID                  int64             `json:"id"`
	AppSlug             string            `json:"app_slug"`
	RepositorySelection string            `json:"repository_selection"`
	Permissions         map[string]string `json:"permissions"`
	Account             struct {
		Login string `json:"login"`
	} `json:"account"`
}

// InstallationToken is a minted token as GitHub describes it; go-github
// v60's InstallationToken has no repository_selection and lacks newer
// permissions.
type InstallationToken struct {
	Token               string            `json:"token"`
	ExpiresAt           time.Time         `json:"expires_at"`
	Permissions         map[string]string `json:"permissions"`
	RepositorySelection string            `json:"repository_selection"`
	Repositories        []struct {
		Name string `json:"name"`
	} `json:"repositories"`
}

// GrantError is GitHub granting other than asked: the token exists and
// must be revoked.
type GrantError struct{ msg string }

func (e *GrantError) Error() string { return e.msg }

// service is who answers, as errors name it.
const service = "GitHub"

// rs256 makes a JWT's RS256 signature with any crypto.Signer, so that the
// App's key may live in a KMS.
type rs256 struct{}

func (rs256) Alg() string { return "RS256" }

func (rs256) Verify(string, []byte, any) error {
	return errors.New("jobtoken signs App JWTs; GitHub verifies them")
}

func (rs256) Sign(signing string, key any) ([]byte, error) {
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, jwt.ErrInvalidKeyType
	}
	sum := sha256.Sum256([]byte(signing))
	return s.Sign(rand.Reader, sum[:], crypto.SHA256)
}

// jwt signs the App's JWT: iat one minute in the past against a fast
// clock, exp nine minutes after iat to stay under GitHub's ten.
func (a *App) jwt() (string, error) {
	a.mu.Lock()
	skew := a.skew
	if a.last != "" && a.lastSkew == skew && a.lastSigner == a.Signer && a.Now().Add(skew).Before(a.lastExp.Add(-time.Minute)) {
		defer a.mu.Unlock()
		return a.last, nil
	}
	a.mu.Unlock()
	iat := a.Now().Add(skew).Add(-60 * time.Second).Truncate(time.Second)
	claims := jwt.RegisteredClaims{
		Issuer:    a.Issuer,
		IssuedAt:  jwt.NewNumericDate(iat),
		ExpiresAt: jwt.NewNumericDate(iat.Add(9 * time.Minute)),
	}
	s, err := jwt.NewWithClaims(rs256{}, claims).SignedString(a.Signer)
	if err != nil {
		return "", fmt.Errorf("failed to sign the App JWT: %w", err)
	}
	a.Redact(s)
	a.mu.Lock()
	a.last, a.lastExp, a.lastSkew, a.lastSigner = s, claims.ExpiresAt.Time, skew, a.Signer
	a.mu.Unlock()
	return s, nil
}

// request builds a GitHub request the way go-github does (its base URL
// rules, media type and API version), authenticated with auth.
func (a *App) request(ctx context.Context, method, path, auth string, body any) (*http.Request, error) {
	c := github.NewClient(nil)
	u, err := url.Parse(a.APIURL + "/")
	if err != nil {
		return nil, errors.New("the API URL is not a URL")
	}
	c.BaseURL, c.UserAgent = u, api.UserAgent
	req, err := c.NewRequest(method, path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+auth)
	return req.WithContext(ctx), nil
}

// service is GitHub as the one API idiom calls it: refusals read by
// go-github's CheckResponse, turned into the one error type.
func (a *App) service() api.Service {
	return api.Service{Name: service, HTTP: a.HTTP, Refusal: func(resp *http.Response, body []byte) error {
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if err := APIError(github.CheckResponse(resp)); err != nil {
			return err
		}
		return apierror.New(service, resp.StatusCode, api.Message(body))
	}}
}

// call makes one App-authenticated call. If GitHub rejects the JWT's time
// claims, it corrects the App's clock from the answer's Date header and
// signs again, once.
func (a *App) call(ctx context.Context, method, path string, body, out any) error {
	for {
		tok, err := a.jwt()
		if err != nil {
			return err
		}
		req, err := a.request(ctx, method, path, tok, body)
		if err != nil {
			return err
		}
		resp, err := a.service().Do(req, out)
		if e, ok := apierror.As(err); ok && e.Status == http.StatusUnauthorized && isClockError(e.Message) && a.resign() {
			if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
				skew := d.Sub(a.Now())
				a.mu.Lock()
				a.skew = skew
				a.mu.Unlock()
				a.Log.Warningf("GitHub rejected the App JWT's time claims; this machine's clock is off by %s, correcting and signing again", skew.Round(time.Second))
				continue
			}
		}
		return err
	}
}

// resign reports whether the App may sign again after a clock error: once.
func (a *App) resign() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.resigned {
		return false
	}
	a.resigned = true
	return true
}

func isClockError(msg string) bool {
	return strings.Contains(msg, "claim ('iat')") || strings.Contains(msg, "claim ('exp')")
}

// AppInfo is the authenticated App, as GET /app describes it.
type AppInfo struct {
	ID   int64  `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// Authenticate signs one JWT and reads the App it authenticates (GET /app):
// the cheapest proof that the key is the App's.
func (a *App) Authenticate(ctx context.Context) (*AppInfo, error) {
	var info AppInfo
	if err := a.call(ctx, http.MethodGet, "app", nil, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// LookupInstallation finds the App's installation on repository
// owner/repo, or on account owner when repo is "".
func (a *App) LookupInstallation(ctx context.Context, owner, repo string) (*Installation, error) {
	var inst Installation
	if err := a.call(ctx, http.MethodGet, lookupPath(owner, repo), nil, &inst); err != nil {
		return nil, err
	}
	return &inst, nil
}

// lookupPath is where an installation is looked up, without the leading
// slash.
func lookupPath(owner, repo string) string {
	if repo != "" {
		return "repos/" + owner + "/" + repo + "/installation"
	}
	return "users/" + owner + "/installation"
}

// Installation reads the installation whose ID is id.
func (a *App) Installation(ctx context.Context, id int64) (*Installation, error) {
	var inst Installation
	if err := a.call(ctx, http.MethodGet, fmt.Sprintf("app/installations/%d", id), nil, &inst); err != nil {
		return nil, err
	}
	return &inst, nil
}

// Mint mints an installation token for installation id, limited to the
// repositories named (every repository of the installation when none) and
// the permissions asked, and compares what GitHub granted with what was
// asked. When it returns a token and an error (a *GrantError, or an answer
// that did not fully decode), the token exists and must be revoked.
func (a *App) Mint(ctx context.Context, id int64, repositories []string, permissions map[string]string) (*InstallationToken, error) {
	body := struct {
		Repositories []string          `json:"repositories,omitempty"`
		Permissions  map[string]string `json:"permissions"`
	}{repositories, permissions}
	var raw json.RawMessage
	if err := a.call(ctx, http.MethodPost, fmt.Sprintf("app/installations/%d/access_tokens", id), body, &raw); err != nil {
		return nil, err
	}
	var at InstallationToken
	if err := json.Unmarshal(raw, &at); err != nil {
		// A field of an unexpected type must not lose the token: read it
		// alone, and hand it back so that it is revoked.
		var only struct {
			Token string `json:"token"`
		}
		_ = json.Unmarshal(raw, &only)
		if only.Token == "" {
			return nil, errors.New("GitHub's answer was not the expected JSON")
		}
		return &InstallationToken{Token: only.Token}, errors.New("GitHub's answer for the new token did not decode (not the documented JSON); retry, and report this if it persists")
	}
	if at.Token == "" {
		return nil, errors.New("GitHub answered without a token")
	}
	return &at, grantError(repositories, permissions, &at)
}

// grantError compares what GitHub granted with what was asked.
func grantError(repos []string, asked map[string]string, at *InstallationToken) error {
	broader, narrower := compareGrant(asked, at.Permissions)
	if len(repos) > 0 {
		if at.RepositorySelection == "all" {
			broader = append(broader, "every repository of the installation (asked "+strings.Join(repos, ", ")+")")
		} else {
			want := map[string]bool{}
			for _, r := range repos {
				want[strings.ToLower(r)] = true
			}
			got := map[string]bool{}
			for _, r := range at.Repositories {
				got[strings.ToLower(r.Name)] = true
				if !want[strings.ToLower(r.Name)] {
					broader = append(broader, "repository "+r.Name+" (not asked)")
				}
			}
			for _, r := range repos {
				if !got[strings.ToLower(r)] {
					narrower = append(narrower, "repository "+r+" (asked, not granted)")
				}
			}
		}
	}
	switch {
	case len(broader) > 0:
		return &GrantError{fmt.Sprintf("GitHub granted more than asked: %s. Check the App's permissions and report this", strings.Join(broader, "; "))}
	case len(narrower) > 0:
		return &GrantError{fmt.Sprintf("GitHub granted less than asked: %s; grant them to the App installation or ask for less", strings.Join(narrower, "; "))}
	}
	return nil
}

// Check authenticates as the App and reads the installation a token would
// come from (by its ID when id is not 0, else looked up on owner/repo), and
// lists the permissions asked that it does not grant. It mints nothing.
func (a *App) Check(ctx context.Context, id int64, owner, repo string, permissions map[string]string) (inst *Installation, lacking []string, err error) {
	if id != 0 {
		inst, err = a.Installation(ctx, id)
	} else {
		inst, err = a.LookupInstallation(ctx, owner, repo)
	}
	if err != nil {
		return nil, nil, err
	}
	return inst, Lacking(inst, permissions), nil
}

// Lacking lists, as name:level (what it has), the permissions asked that
// inst does not grant.
func Lacking(inst *Installation, asked map[string]string) []string {
	var out []string
	for _, name := range sortedKeys(asked) {
		if levelRank[inst.Permissions[name]] < levelRank[asked[name]] {
			out = append(out, fmt.Sprintf("%s:%s (installation has %q)", name, asked[name], inst.Permissions[name]))
		}
	}
	return out
}

// Revoke revokes an installation token with the token itself (DELETE
// /installation/token). A 401 means it no longer works:
// provider.ErrAlreadyRevoked.
func (a *App) Revoke(ctx context.Context, token string) error {
	req, err := a.request(ctx, http.MethodDelete, "installation/token", token, nil)
	if err != nil {
		return err
	}
	_, err = a.service().Do(req, nil)
	if apierror.StatusOf(err) == http.StatusUnauthorized {
		return provider.ErrAlreadyRevoked
	}
	return err
}
