// Package ghfake is an in-process fake of the parts of GitHub's REST API that
// jobtoken calls. It checks what GitHub checks: the App JWT's RS256 signature,
// issuer and time window, permissions against the installation's grant,
// repositories against the installation's, and token liveness on revoke.
// A small resource surface (resources.go) lets a token be used, checked
// against its own permissions and repositories as GitHub checks them.
package ghfake

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jobtoken/jobtoken/pkg/fake/minted"
	"github.com/jobtoken/jobtoken/pkg/fake/record"
)

// Provider is the value of the provider input that mints from the service
// this fakes (GitHub).
const Provider = "github"

// Installation is one installation of the fake App.
type Installation struct {
	ID          int64
	Account     string
	Permissions map[string]string
	// Repos is nil for repository_selection "all".
	Repos []string
	// AllRepos lists the account's repositories (for "all" installations).
	AllRepos []string
}

// Token is a minted installation token.
type Token struct {
	Value        string
	Installation int64
	Permissions  map[string]string
	Repos        []string
	minted.Life
}

// Server is the fake.
type Server struct {
	*httptest.Server
	// Minted, Live, Lookup and Expire show the tokens to tests.
	minted.Tokens[*Token]
	Key      *rsa.PrivateKey
	AppID    int64
	ClientID string
	Slug     string

	mu            sync.Mutex
	installations []*Installation
	tokens        map[string]*Token
	requests      int
	uses          record.Log[Use]
	issues        int
	files         map[string]*repoFiles
	// Now is the server's clock (tests skew it).
	Now func() time.Time
	// Before runs first for every request; returning true means it answered.
	Before func(w http.ResponseWriter, r *http.Request) bool
	// Grant lets a test alter what a mint grants (to simulate a broader grant).
	Grant func(t *Token)
	// TokenLife, when set, replaces GitHub's one hour (refresh tests mint
	// tokens that live seconds).
	TokenLife time.Duration
	// LongTokens makes tokens like GitHub's newer ~520-character ones with dots.
	LongTokens bool
	// TokenFunc, when set, makes token values (golden tests need fixed ones).
	TokenFunc func() string
	// NoKey makes the App one without a private key, which GitHub refuses
	// to authenticate.
	NoKey bool
}

// New starts a fake with one App and the given installations.
func New(key *rsa.PrivateKey, installs ...*Installation) *Server {
	s := &Server{Key: key, AppID: 4242, ClientID: "Iv23liFAKEclient", Slug: "jobtoken-test", installations: installs, tokens: map[string]*Token{}, Now: time.Now}
	s.Tokens = minted.View(&s.mu, s.tokens, func() time.Time { return s.Now() })
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/{owner}/{repo}/installation", s.app(s.repoInstallation))
	mux.HandleFunc("GET /users/{user}/installation", s.app(s.userInstallation))
	mux.HandleFunc("GET /app", s.app(s.getApp))
	mux.HandleFunc("GET /app/installations/{id}", s.app(s.getInstallation))
	mux.HandleFunc("POST /app/installations/{id}/access_tokens", s.app(s.createToken))
	mux.HandleFunc("DELETE /installation/token", s.revoke)
	s.routeResources(mux)
	s.Server = httptest.NewServer(s.wrap(mux))
	return s
}

func (s *Server) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		s.mu.Unlock()
		w.Header().Set("Date", s.Now().UTC().Format(http.TimeFormat))
		if s.Before != nil && s.Before(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Requests returns how many requests reached the fake.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// ResetRequests zeroes the request counter.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = 0
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func message(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

// app checks the App JWT as GitHub does before calling h, answering with
// GitHub's words: the issuer names the App (its client ID, or its numeric App
// ID), whose key must have signed the JWT, within GitHub's time window.
func (s *Server) app(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		raw, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			message(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
			return
		}
		now := s.Now()
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
			message(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
			return
		}
		// The issuer finds the App first: its key is what verifies.
		iss := fmt.Sprint(claims["iss"])
		if f, ok := claims["iss"].(float64); ok {
			iss = strconv.FormatInt(int64(f), 10)
		}
		switch _, numErr := strconv.ParseInt(iss, 10, 64); {
		case iss == s.ClientID || iss == strconv.FormatInt(s.AppID, 10):
		case numErr == nil:
			message(w, http.StatusNotFound, "Integration not found")
			return
		default:
			// GitHub's answer to an issuer that is neither a known client
			// ID nor a number.
			message(w, http.StatusUnauthorized, "'Issuer' claim ('iss') must be an Integer")
			return
		}
		if s.NoKey {
			message(w, http.StatusUnauthorized, "Integration must generate a public key")
			return
		}
		if _, err := jwt.ParseWithClaims(raw, jwt.MapClaims{}, func(t *jwt.Token) (any, error) {
			return &s.Key.PublicKey, nil
		}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation()); err != nil {
			// A key of another App (or one deleted from this App).
			message(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
			return
		}
		iat, _ := claims.GetIssuedAt()
		exp, _ := claims.GetExpirationTime()
		switch {
		case iat == nil || iat.After(now.Add(time.Second)):
			message(w, http.StatusUnauthorized, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued")
		case exp == nil || !exp.After(now):
			message(w, http.StatusUnauthorized, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
		case exp.Sub(now) > 10*time.Minute || exp.Sub(iat.Time) > 10*time.Minute:
			message(w, http.StatusUnauthorized, "'Expiration time' claim ('exp') is too far in the future")
		default:
			h(w, r)
		}
	}
}

func (s *Server) installationJSON(in *Installation) map[string]any {
	sel := "all"
	if in.Repos != nil {
		sel = "selected"
	}
	return map[string]any{
		"id": in.ID, "app_id": s.AppID, "app_slug": s.Slug, "client_id": s.ClientID,
		"account":     map[string]any{"login": in.Account},
		"permissions": in.Permissions, "repository_selection": sel,
	}
}

func (s *Server) repos(in *Installation) []string {
	if in.Repos != nil {
		return in.Repos
	}
	return in.AllRepos
}

func (s *Server) find(match func(*Installation) bool) *Installation {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.installations {
		if match(in) {
			return in
		}
	}
	return nil
}

func (s *Server) repoInstallation(w http.ResponseWriter, r *http.Request) {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	in := s.find(func(in *Installation) bool {
		return strings.EqualFold(in.Account, owner) && slices.ContainsFunc(s.repos(in), func(x string) bool { return strings.EqualFold(x, repo) })
	})
	if in == nil {
		message(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.installationJSON(in))
}

func (s *Server) userInstallation(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	in := s.find(func(in *Installation) bool { return strings.EqualFold(in.Account, user) })
	if in == nil {
		message(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.installationJSON(in))
}

func (s *Server) byID(r *http.Request) *Installation {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return s.find(func(in *Installation) bool { return in.ID == id })
}

// getApp is GET /app: the authenticated App (GitHub's "Get the
// authenticated app").
func (s *Server) getApp(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"id": s.AppID, "client_id": s.ClientID, "slug": s.Slug, "name": s.Slug,
		"owner": map[string]any{"login": "jobtoken-org"}, "installations_count": len(s.installations)})
}

func (s *Server) getInstallation(w http.ResponseWriter, r *http.Request) {
	in := s.byID(r)
	if in == nil {
		message(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.installationJSON(in))
}

var rank = map[string]int{"read": 1, "write": 2, "admin": 3}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	in := s.byID(r)
	if in == nil {
		message(w, http.StatusNotFound, "Not Found")
		return
	}
	var body struct {
		Repositories []string          `json:"repositories"`
		Permissions  map[string]string `json:"permissions"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		message(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	perms := body.Permissions
	if len(perms) == 0 {
		perms = in.Permissions
	}
	for name, level := range perms {
		if rank[in.Permissions[name]] < rank[level] {
			message(w, http.StatusUnprocessableEntity, "The permissions requested are not granted to this installation.")
			return
		}
	}
	for _, repo := range body.Repositories {
		if !slices.ContainsFunc(s.repos(in), func(x string) bool { return strings.EqualFold(x, repo) }) {
			message(w, http.StatusUnprocessableEntity, "There is at least one repository that does not exist or is not accessible to the parent installation.")
			return
		}
	}
	granted := map[string]string{}
	for k, v := range perms {
		granted[k] = v
	}
	if _, ok := granted["metadata"]; !ok {
		granted["metadata"] = "read"
	}
	life := time.Hour
	if s.TokenLife > 0 {
		life = s.TokenLife
	}
	t := &Token{Value: s.newToken(), Installation: in.ID, Permissions: granted, Repos: body.Repositories, Life: minted.Life{ExpiresAt: s.Now().Add(life).Truncate(time.Second)}}
	if s.Grant != nil {
		s.Grant(t)
	}
	s.mu.Lock()
	s.tokens[t.Value] = t
	s.mu.Unlock()
	resp := map[string]any{
		"token": t.Value, "expires_at": t.ExpiresAt.UTC().Format(time.RFC3339),
		"permissions": t.Permissions, "repository_selection": "all",
	}
	if len(t.Repos) > 0 {
		resp["repository_selection"] = "selected"
		var list []map[string]any
		for _, name := range t.Repos {
			list = append(list, map[string]any{"name": name, "full_name": in.Account + "/" + name})
		}
		resp["repositories"] = list
	}
	writeJSON(w, http.StatusCreated, resp)
}

func (s *Server) newToken() string {
	if s.TokenFunc != nil {
		return s.TokenFunc()
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	if !s.LongTokens {
		return "ghs_" + hex.EncodeToString(b)
	}
	// GitHub's newer tokens are ~520 characters and contain dots.
	long := make([]byte, 240)
	_, _ = rand.Read(long)
	return "ghs_" + hex.EncodeToString(b) + "." + hex.EncodeToString(long)[:440] + "." + hex.EncodeToString(b)[:30]
}

// revoke is DELETE /installation/token, authenticated with the token itself.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	v, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		v, ok = strings.CutPrefix(auth, "token ")
	}
	s.mu.Lock()
	t := s.tokens[v]
	live := ok && t != nil && t.Live(s.Now())
	if live {
		t.Revoked = true
	}
	s.mu.Unlock()
	if !live {
		message(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
