package anacondafake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/demo"
)

// The fake's resource surface: reading and creating a package, the calls a
// later step of a job makes with a minted token, enough to show what the
// token may and may not do. As anaconda.org answers (its errors as
// anaconda-client prints them, in public reports: anaconda/anaconda-client#121,
// coiled/benchmarks#15, scientific-python/upload-nightly-action#61; the API
// itself is not documented):
//
//   - a token is sent as `Authorization: token …`; unknown, revoked or
//     expired answers 401;
//   - a token without the scope the call needs answers 401 "Authentication
//     token does not have the sufficient scope to perform this action
//     expected: <scope>"; `all` includes every scope and `api` every api:*
//     one, but api:write does not include api:read;
//   - creating a package in an account the token does not own answers 401
//     `User "<User: _login=…>" has not enough permissions to create …`;
//   - a private package of another account answers 404, as a missing one.
//
// Routes (and the scope each needs):
//
//	GET  /package/{owner}/{name}   api:read (none for a public package)
//	POST /package/{owner}/{name}   api:write
//
// Each call is recorded (see Uses), with why it was refused.
func (s *Server) routeResources(mux *http.ServeMux) {
	mux.HandleFunc("GET /package/{owner}/{name}", s.getPackage)
	mux.HandleFunc("POST /package/{owner}/{name}", s.createPackage)
}

// Why a resource call was refused, as Use.Refused says it.
const (
	RefusedCredentials = "credentials" // 401: no live token
	RefusedScope       = "scope"       // 401: the token lacks the scope
	RefusedOwner       = "owner"       // the token's account does not own the package
)

// Use is one resource call the fake answered.
// Refused is "" when served, else one of the Refused* reasons; Needs is the
// scope the call needs ("" for a public read).
type Use = demo.TokenUse

// Package is a package on the fake.
type Package struct {
	Owner, Name string
	Public      bool
}

// AddPackage stores a package of owner.
func (s *Server) AddPackage(owner, name string, public bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.packages = append(s.packages, &Package{Owner: owner, Name: name, Public: public})
}

// Uses returns the resource calls answered so far, in order.
func (s *Server) Uses() []Use { return s.uses.All() }

func (s *Server) findPackage(owner, name string) *Package {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.packages {
		if strings.EqualFold(p.Owner, owner) && strings.EqualFold(p.Name, name) {
			return p
		}
	}
	return nil
}

// hasScope reports whether scopes include need.
func hasScope(scopes []string, need string) bool {
	area, _, _ := strings.Cut(need, ":")
	return slices.ContainsFunc(scopes, func(sc string) bool { return sc == need || sc == "all" || sc == area })
}

// owns reports whether t may act for account: its owner, or an organization
// its creator owns.
func (s *Server) owns(t *Token, account string) bool {
	if strings.EqualFold(t.Owner, account) {
		return true
	}
	a := s.account(account)
	return a != nil && a.Org && slices.ContainsFunc(a.Owners, func(o string) bool { return strings.EqualFold(o, t.Creator) })
}

// resourceCall authenticates a resource call and records it when done.
type resourceCall struct {
	s   *Server
	w   http.ResponseWriter
	use Use
}

func (s *Server) begin(w http.ResponseWriter, r *http.Request, needs string) *resourceCall {
	_, v, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return &resourceCall{s: s, w: w, use: Use{Token: v, Use: demo.Use{Method: r.Method, Path: r.URL.Path, Needs: needs}}}
}

func (c *resourceCall) end() { c.s.uses.Add(c.use) }

func (c *resourceCall) answer(code int, refused, msg string) {
	c.use.Status, c.use.Refused = code, refused
	fail(c.w, code, msg)
}

// token authenticates the call's token; refused answers when it fails.
func (c *resourceCall) token(r *http.Request) (*Token, bool) {
	t, ok := c.s.child(c.w, r)
	if !ok {
		c.use.Status, c.use.Refused = http.StatusUnauthorized, RefusedCredentials
	}
	return t, ok
}

func (c *resourceCall) scope(t *Token, need string) bool {
	if hasScope(t.Scopes, need) {
		return true
	}
	c.answer(http.StatusUnauthorized, RefusedScope, "Authentication token does not have the sufficient scope to perform this action expected: "+need)
	return false
}

func packageJSON(p *Package) map[string]any {
	access := "private"
	if p.Public {
		access = "public"
	}
	return map[string]any{"owner": map[string]any{"login": p.Owner}, "name": p.Name, "full_name": p.Owner + "/" + p.Name, "public": p.Public, "access": access}
}

// getPackage reads a package's information.
func (s *Server) getPackage(w http.ResponseWriter, r *http.Request) {
	owner, name := r.PathValue("owner"), r.PathValue("name")
	p := s.findPackage(owner, name)
	needs := "api:read"
	if p != nil && p.Public {
		needs = ""
	}
	c := s.begin(w, r, needs)
	defer c.end()
	notFound := fmt.Sprintf("%q could not be found", name)
	if p != nil && p.Public && r.Header.Get("Authorization") == "" {
		c.use.Status = http.StatusOK
		writeJSON(w, c.use.Status, packageJSON(p))
		return
	}
	t, ok := c.token(r)
	switch {
	case !ok:
	case p == nil:
		c.answer(http.StatusNotFound, "", notFound)
	case p.Public:
		c.use.Status = http.StatusOK
		writeJSON(w, c.use.Status, packageJSON(p))
	case !c.scope(t, needs):
	case !s.owns(t, p.Owner):
		c.answer(http.StatusNotFound, RefusedOwner, notFound)
	default:
		c.use.Status = http.StatusOK
		writeJSON(w, c.use.Status, packageJSON(p))
	}
}

// createPackage creates a package in an account the token owns.
func (s *Server) createPackage(w http.ResponseWriter, r *http.Request) {
	owner, name := r.PathValue("owner"), r.PathValue("name")
	c := s.begin(w, r, "api:write")
	defer c.end()
	t, ok := c.token(r)
	switch {
	case !ok:
	case !c.scope(t, "api:write"):
	case !s.owns(t, owner):
		c.answer(http.StatusUnauthorized, RefusedOwner, fmt.Sprintf(`User "<User: _login=%s>" has not enough permissions to create "<User: _login=%s>/%s" package`, t.Creator, owner, name))
	case s.findPackage(owner, name) != nil:
		c.answer(http.StatusConflict, "", fmt.Sprintf("package %q already exists", name))
	default:
		var body struct {
			Public bool `json:"public"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		p := &Package{Owner: owner, Name: name, Public: body.Public}
		s.mu.Lock()
		s.packages = append(s.packages, p)
		s.mu.Unlock()
		c.use.Status = http.StatusOK
		writeJSON(w, c.use.Status, packageJSON(p))
	}
}
