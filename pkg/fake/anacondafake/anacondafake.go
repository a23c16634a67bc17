// Over 400 lines: every route of the fake and the accounts and tokens they check read best together.

// Package anacondafake is an in-process fake of the parts of anaconda.org's
// API that jobtoken calls. Like the Python web stack anaconda.org runs on,
// it routes on the percent-decoded path, so %2F in a path is a separator. It checks what anaconda.org checks, as read from
// anaconda-client: the Authorization scheme matching the credential
// (`Bearer` for anaconda.com API keys, `token` for anaconda.org tokens),
// known scopes, a unique note per owner with fail-if-exists, organization
// ownership, max-age, and token liveness on revoke; errors come as
// {"error": "…"}. A small resource surface (resources.go) lets a minted
// token be used, checked against its scopes and account.
package anacondafake

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jobtoken/jobtoken/pkg/fake/minted"
	"github.com/jobtoken/jobtoken/pkg/fake/record"
)

// Provider is the value of the provider input that mints from the service
// this fakes (anaconda.org).
const Provider = "anaconda"

// KnownScopes is the fake server's own scope list (GET /scopes), kept apart
// from the provider's embedded copy so that a test cannot agree with itself.
var KnownScopes = map[string]string{
	"all":            "Allow all operations",
	"repos":          "Access all package repositories",
	"api":            "All API operations",
	"api:read":       "Read access to the API site",
	"api:write":      "Write access to the API site",
	"conda":          "All operations on conda repositories",
	"conda:download": "Download private packages from conda repositories",
	"pypi":           "All operations on standard Python repositories",
	"pypi:upload":    "Upload to standard Python repositories",
	"pypi:download":  "Download private packages from standard Python repositories",
}

// Kinds of parent credential.
const (
	KindAPIKey = "apikey" // anaconda.com API key, accepted only as Bearer
	KindToken  = "token"  // anaconda.org token, accepted only as token
)

// Account is a user or an organization.
type Account struct {
	Login  string
	Org    bool
	Owners []string // for organizations: logins that may mint its tokens
}

// Credential is a parent credential.
type Credential struct {
	Value string
	Kind  string
	Login string
}

// Token is a minted token.
type Token struct {
	Value    string
	ID       string
	Note     string
	Owner    string // login of the account (user or organization) that owns it
	Creator  string // login of the parent credential
	Scopes   []string
	MaxAge   int64
	Strength string
	minted.Life
	RevokedBy string // "self", "name" or "replaced"
}

// Request is one request as the fake saw it (never the credential itself).
type Request struct {
	Method string
	Path   string
	Scheme string // Authorization scheme, "" when none
}

// Server is the fake.
type Server struct {
	*httptest.Server
	// Minted, Live, Lookup and Expire show the tokens to tests.
	minted.Tokens[*Token]

	mu       sync.Mutex
	accounts map[string]*Account
	creds    map[string]*Credential
	tokens   map[string]*Token
	log      record.Log[Request]
	packages []*Package
	uses     record.Log[Use]
	mux      *http.ServeMux

	// Now is the server's clock (tests skew it).
	Now func() time.Time
	// Before runs first for every request; returning true means it answered.
	Before func(w http.ResponseWriter, r *http.Request) bool
	// Grant lets a test alter what a mint grants (a broader grant, a longer
	// life) before it is stored and answered.
	Grant func(t *Token)
	// OmitGrant makes the creation answer hold only the token, so that the
	// client must ask GET /authentication what was granted.
	OmitGrant bool
	// LoseMintAnswers mints but answers 502 to that many creations, as when
	// a proxy drops the answer and the client retries.
	LoseMintAnswers int
}

// New starts a fake with the given accounts.
func New(accounts ...*Account) *Server {
	s := &Server{accounts: map[string]*Account{}, creds: map[string]*Credential{}, tokens: map[string]*Token{}, Now: time.Now}
	s.Tokens = minted.View(&s.mu, s.tokens, func() time.Time { return s.Now() })
	for _, a := range accounts {
		s.accounts[strings.ToLower(a.Login)] = a
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /scopes", s.scopes)
	mux.HandleFunc("GET /user", s.user)
	mux.HandleFunc("GET /user/{login}", s.userByLogin)
	mux.HandleFunc("POST /authentications", s.create)
	mux.HandleFunc("GET /authentication", s.current)
	mux.HandleFunc("GET /authentications", s.list)
	mux.HandleFunc("DELETE /authentications", s.revokeSelf)
	mux.HandleFunc("DELETE /authentications/name/{name}", s.revokeByName)
	mux.HandleFunc("DELETE /authentications/org/{org}/name/{name}", s.revokeByName)
	s.routeResources(mux)
	s.mux = mux
	s.Server = httptest.NewServer(s.wrap())
	return s
}

func (s *Server) wrap() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		s.log.Add(Request{Method: r.Method, Path: r.URL.Path, Scheme: scheme})
		w.Header().Set("Date", s.Now().UTC().Format(http.TimeFormat))
		if s.Before != nil && s.Before(w, r) {
			return
		}
		s.Serve(w, r)
	})
}

// Serve answers r as the API does, without Before: a Before that delays or
// loses an answer calls it to let the request take effect first. It routes
// on the decoded path, as WSGI servers hand it to Flask or Django
// (PATH_INFO is percent-decoded, %2F included): a "/" escaped inside a path
// segment splits it.
func (s *Server) Serve(w http.ResponseWriter, r *http.Request) {
	r.URL.RawPath = ""
	s.mux.ServeHTTP(w, r)
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// AddAPIKey registers an anaconda.com API key for login: a JWT (unsigned
// for the client's purpose, which only reads it) that expires at exp.
func (s *Server) AddAPIKey(login string, exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	header := enc([]byte(`{"alg":"RS256","typ":"JWT","kid":"fake"}`))
	claims, _ := json.Marshal(map[string]any{"sub": login, "iss": "https://auth.anaconda.com", "exp": exp.Unix(), "iat": s.Now().Unix()})
	key := header + "." + enc(claims) + "." + enc([]byte(random(32)))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds[key] = &Credential{Value: key, Kind: KindAPIKey, Login: login}
	return key
}

// AddToken registers an anaconda.org token for login, as a parent.
func (s *Server) AddToken(login string) string {
	tok := newTokenValue()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds[tok] = &Credential{Value: tok, Kind: KindToken, Login: login}
	return tok
}

// anaconda.org tokens look like "ab-0123abcd-…" (two letters, a UUID).
func newTokenValue() string {
	h := random(16)
	return "jt-" + h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Requests returns the requests seen so far.
func (s *Server) Requests() []Request {
	return s.log.All()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// fail answers as anaconda.org does: {"error": "…"}.
func fail(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// parent authenticates a parent credential, or a live minted token sent as
// `token`; the scheme must match the kind of credential.
func (s *Server) parent(w http.ResponseWriter, r *http.Request) (login string, ok bool) {
	scheme, v, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.creds[v]; c != nil {
		switch {
		case c.Kind == KindAPIKey && scheme == "Bearer", c.Kind == KindToken && scheme == "token":
			return c.Login, true
		}
		fail(w, http.StatusUnauthorized, "Invalid authorization token")
		return "", false
	}
	if t := s.tokens[v]; t != nil && scheme == "token" {
		if !t.Live(s.Now()) {
			fail(w, http.StatusUnauthorized, expiredOrRevoked(t))
			return "", false
		}
		return t.Creator, true
	}
	fail(w, http.StatusUnauthorized, "Invalid authorization token")
	return "", false
}

func expiredOrRevoked(t *Token) string {
	if t.Revoked {
		return "Authorization token is no longer valid"
	}
	return "Authentication token has expired"
}

// child authenticates a minted token sent as `token`.
func (s *Server) child(w http.ResponseWriter, r *http.Request) (*Token, bool) {
	scheme, v, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[v]
	switch {
	case scheme != "token" || t == nil:
		fail(w, http.StatusUnauthorized, "Invalid authorization token")
		return nil, false
	case !t.Live(s.Now()):
		fail(w, http.StatusUnauthorized, expiredOrRevoked(t))
		return nil, false
	}
	return t, true
}

func (s *Server) scopes(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, KnownScopes)
}

func (s *Server) accountJSON(a *Account) map[string]any {
	kind := "user"
	if a.Org {
		kind = "org"
	}
	return map[string]any{"login": a.Login, "name": a.Login, "user_type": kind}
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) {
	login, ok := s.parent(w, r)
	if !ok {
		return
	}
	a := s.account(login)
	if a == nil {
		a = &Account{Login: login}
	}
	writeJSON(w, http.StatusOK, s.accountJSON(a))
}

func (s *Server) account(login string) *Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accounts[strings.ToLower(login)]
}

func (s *Server) userByLogin(w http.ResponseWriter, r *http.Request) {
	a := s.account(r.PathValue("login"))
	if a == nil {
		fail(w, http.StatusNotFound, fmt.Sprintf("user %q does not exist", r.PathValue("login")))
		return
	}
	writeJSON(w, http.StatusOK, s.accountJSON(a))
}

func tokenJSON(t *Token) map[string]any {
	return map[string]any{
		"id": t.ID, "application": t.Note, "scopes": t.Scopes, "strength": t.Strength,
		"expires": t.ExpiresAt.UTC().Format("2006-01-02T15:04:05.000000+00:00"),
	}
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	creator, ok := s.parent(w, r)
	if !ok {
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		fail(w, http.StatusBadRequest, "Content-Type must be application/json")
		return
	}
	var body struct {
		Scopes       []string `json:"scopes"`
		Note         string   `json:"note"`
		MaxAge       *int64   `json:"max-age"`
		Strength     string   `json:"strength"`
		FailIfExists bool     `json:"fail-if-exists"`
		User         string   `json:"user"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		fail(w, http.StatusBadRequest, "Invalid JSON body")
		return
	}
	if body.Note == "" {
		fail(w, http.StatusBadRequest, "note is required")
		return
	}
	for _, sc := range body.Scopes {
		if _, ok := KnownScopes[sc]; !ok {
			fail(w, http.StatusBadRequest, fmt.Sprintf("Invalid scope %q", sc))
			return
		}
	}
	if body.Strength != "" && body.Strength != "strong" && body.Strength != "weak" {
		fail(w, http.StatusBadRequest, "strength must be strong or weak")
		return
	}
	maxAge := int64(365 * 24 * 3600) // anaconda.org's default: a year
	if body.MaxAge != nil {
		if *body.MaxAge <= 0 {
			fail(w, http.StatusBadRequest, "max-age must be a positive number of seconds")
			return
		}
		maxAge = *body.MaxAge
	}
	owner := creator
	if body.User != "" {
		a := s.account(body.User)
		switch {
		case a == nil:
			fail(w, http.StatusNotFound, fmt.Sprintf("user %q does not exist", body.User))
			return
		case !a.Org && !strings.EqualFold(a.Login, creator):
			fail(w, http.StatusForbidden, "token owner must be an organization you own")
			return
		case a.Org && !slices.ContainsFunc(a.Owners, func(o string) bool { return strings.EqualFold(o, creator) }):
			fail(w, http.StatusForbidden, fmt.Sprintf("you are not an owner of organization %q", a.Login))
			return
		}
		owner = a.Login
	}
	s.mu.Lock()
	for _, t := range s.tokens {
		if strings.EqualFold(t.Owner, owner) && t.Note == body.Note && t.Live(s.Now()) {
			if body.FailIfExists {
				s.mu.Unlock()
				fail(w, http.StatusBadRequest, fmt.Sprintf("Token with name %q already exists", body.Note))
				return
			}
			t.Revoked, t.RevokedBy = true, "replaced"
		}
	}
	s.mu.Unlock()
	t := &Token{
		Value: newTokenValue(), ID: random(12), Note: body.Note, Owner: owner, Creator: creator,
		Scopes: slices.Clone(body.Scopes), MaxAge: maxAge, Strength: body.Strength,
		Life: minted.Life{ExpiresAt: s.Now().Add(time.Duration(maxAge) * time.Second)},
	}
	if s.Grant != nil {
		s.Grant(t)
	}
	s.mu.Lock()
	s.tokens[t.Value] = t
	lose := s.LoseMintAnswers > 0
	if lose {
		s.LoseMintAnswers--
	}
	s.mu.Unlock()
	if lose {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
		return
	}
	resp := tokenJSON(t)
	resp["token"] = t.Value
	if s.OmitGrant {
		resp = map[string]any{"token": t.Value}
	}
	writeJSON(w, http.StatusOK, resp)
}

// list is GET /authentications: the tokens the caller's account owns that
// still exist (a revoked token is deleted; an expired one is listed until
// removed), as anaconda-client's `auth --list` shows them. Values are never
// listed.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	login, ok := s.parent(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	var out []map[string]any
	for _, t := range s.tokens {
		if strings.EqualFold(t.Owner, login) && !t.Revoked {
			m := tokenJSON(t)
			m["remote_addr"], m["hostname"] = "127.0.0.1", "runner"
			out = append(out, m)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b map[string]any) int { return strings.Compare(a["id"].(string), b["id"].(string)) })
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, out)
}

// Seed stores a token made outside the API (a token another tool minted,
// or one a dead runner left behind) and returns it.
func (s *Server) Seed(t Token) *Token {
	if t.Value == "" {
		t.Value = newTokenValue()
	}
	if t.ID == "" {
		t.ID = random(12)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := t
	s.tokens[c.Value] = &c
	return &c
}

// current is GET /authentication: what the calling token is.
func (s *Server) current(w http.ResponseWriter, r *http.Request) {
	t, ok := s.child(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, tokenJSON(t))
}

// revokeSelf is DELETE /authentications with the token itself.
func (s *Server) revokeSelf(w http.ResponseWriter, r *http.Request) {
	t, ok := s.child(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	t.Revoked, t.RevokedBy = true, "self"
	s.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

// revokeByName is DELETE /authentications[/org/{org}]/name/{name} with a
// parent credential.
func (s *Server) revokeByName(w http.ResponseWriter, r *http.Request) {
	login, ok := s.parent(w, r)
	if !ok {
		return
	}
	owner := login
	if org := r.PathValue("org"); org != "" {
		a := s.account(org)
		if a == nil || !a.Org || !slices.ContainsFunc(a.Owners, func(o string) bool { return strings.EqualFold(o, login) }) {
			fail(w, http.StatusForbidden, fmt.Sprintf("you are not an owner of organization %q", org))
			return
		}
		owner = a.Login
	}
	name := r.PathValue("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if strings.EqualFold(t.Owner, owner) && t.Note == name && !t.Revoked {
			t.Revoked, t.RevokedBy = true, "name"
			w.WriteHeader(http.StatusCreated)
			return
		}
	}
	fail(w, http.StatusNotFound, fmt.Sprintf("Token %q was not found", name))
}
