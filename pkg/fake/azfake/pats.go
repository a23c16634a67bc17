// Over 400 lines: the PAT lifecycle API's routes and the state they check (users, organizations, PATs) read best together.

package azfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jobtoken/jobtoken/pkg/fake/record"
)

// Provider is the value of the provider input that mints from the service
// this fakes (Azure DevOps).
const Provider = "azure-devops"

// PAT is one personal access token held by the fake.
type PAT struct {
	AuthorizationID string
	DisplayName     string
	Scope           string
	Token           string
	Org             string
	UserOID         string
	TargetAccounts  []string
	ValidFrom       time.Time
	ValidTo         time.Time
	Revoked         bool
}

// PATs fakes the PAT lifecycle API at {url}/{org}/_apis/tokens/pats. As the
// real API, it accepts only Microsoft Entra access tokens issued to a
// signed-in user for Azure DevOps: Basic auth (a PAT) and app-only tokens
// (service principals, managed identities) are refused. Beside it, a small
// part of the organization's REST API (resources.go) lets a PAT be used,
// checked against its scopes and organization.
type PATs struct {
	*httptest.Server
	Tenant *Tenant
	// Orgs maps each organization name to its ID; others answer 404.
	Orgs map[string]string
	// NotMembers lists user principal names that are not members (accessDenied).
	NotMembers map[string]bool
	Now        func() time.Time

	// Organization policies.
	MaxLifespan    time.Duration // patLifespanPolicyViolation beyond it
	BlockFullScope bool          // fullScopePatPolicyViolation for app_token
	BlockGlobal    bool          // globalPatPolicyViolation for allOrgs
	// RestrictCreation is the "Restrict personal access token creation"
	// policy: only users in Allowed may create PATs. Microsoft documents the
	// policy, not its answer; the fake refuses as for a non-member
	// (accessDenied).
	RestrictCreation bool
	Allowed          map[string]bool

	// CreateError forces a patTokenError on create, answered with
	// CreateErrorStatus (200 when zero, as the documented PatTokenResult).
	CreateError       string
	CreateErrorStatus int
	// Grant alters what a create grants, to simulate a broader grant.
	Grant func(p *PAT)
	// Before runs first for every request; returning true means it answered.
	Before func(w http.ResponseWriter, r *http.Request) bool
	// Repositories lists each organization's Git repositories by name.
	Repositories map[string][]string

	mu       sync.Mutex
	pats     map[string]*PAT
	requests record.Log[string]
	uses     record.Log[Use]
	builds   int
	mux      *http.ServeMux
}

// NewPATs starts the fake, trusting tokens signed by tenant, with the given
// organizations.
func NewPATs(tenant *Tenant, orgs ...string) *PATs {
	s := &PATs{Tenant: tenant, Orgs: map[string]string{}, NotMembers: map[string]bool{}, Now: time.Now, pats: map[string]*PAT{}, Repositories: map[string][]string{}}
	for _, o := range orgs {
		s.Orgs[strings.ToLower(o)] = uuidFrom("org:" + strings.ToLower(o))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/{org}/_apis/tokens/pats", s.handle)
	s.routeResources(mux)
	s.mux = mux
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(r.Method + " " + r.URL.Path)
		if s.Before != nil && s.Before(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	}))
	return s
}

// Serve answers r as the API does, without Before: a Before that delays or
// loses an answer (as a proxy or a cancelled client would) calls it to let
// the request take effect first.
func (s *PATs) Serve(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Requests returns "METHOD /path" for every request received.
func (s *PATs) Requests() []string { return s.requests.All() }

// Count returns how many requests had this method.
func (s *PATs) Count(method string) int {
	n := 0
	for _, r := range s.Requests() {
		if strings.HasPrefix(r, method+" ") {
			n++
		}
	}
	return n
}

// All returns every PAT created, revoked or not, oldest first.
func (s *PATs) All() []*PAT {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*PAT, 0, len(s.pats))
	for _, p := range s.pats {
		c := *p
		out = append(out, &c)
	}
	// A total order (ID breaks ties), so that pages never overlap.
	sort.Slice(out, func(i, j int) bool {
		if !out[i].ValidFrom.Equal(out[j].ValidFrom) {
			return out[i].ValidFrom.Before(out[j].ValidFrom)
		}
		return out[i].AuthorizationID < out[j].AuthorizationID
	})
	return out
}

// Live returns the PATs that still work.
func (s *PATs) Live() []*PAT {
	var out []*PAT
	for _, p := range s.All() {
		if !p.Revoked && s.Now().Before(p.ValidTo) {
			out = append(out, p)
		}
	}
	return out
}

// Lookup returns the PAT with this token value.
func (s *PATs) Lookup(token string) *PAT {
	if token == "" {
		return nil
	}
	for _, p := range s.All() {
		if p.Token == token {
			return p
		}
	}
	return nil
}

// Add stores a PAT made outside the API (a duplicate left by a retry).
func (s *PATs) Add(p *PAT) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pats[p.AuthorizationID] = p
}

type caller struct {
	oid, upn string
}

// authenticate checks what the real API checks before anything else.
func (s *PATs) authenticate(w http.ResponseWriter, r *http.Request) (*caller, bool) {
	fail := func(code int, typeKey, msg string) (*caller, bool) {
		if r.Header.Get("X-TFS-FedAuthRedirect") != "Suppress" {
			// Browsers' behaviour: a sign-in page, 203.
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusNonAuthoritativeInfo)
			_, _ = w.Write([]byte("<html><head><title>Azure DevOps Services | Sign In</title></head><body></body></html>"))
			return nil, false
		}
		vssError(w, code, typeKey, msg)
		return nil, false
	}
	a := r.Header.Get("Authorization")
	if strings.HasPrefix(strings.ToLower(a), "basic ") {
		// A PAT cannot manage PATs.
		return fail(http.StatusUnauthorized, "InvalidAccessException", "The requested operation is not allowed.")
	}
	tok, ok := bearer(r)
	if !ok {
		return fail(http.StatusUnauthorized, "UnauthorizedRequestException", "TF400813: The user '' is not authorized to access this resource.")
	}
	c, err := s.Tenant.Issuer.Verify(tok, s.Now())
	if err != nil {
		return fail(http.StatusUnauthorized, "UnauthorizedRequestException", "TF400813: The user '' is not authorized to access this resource.")
	}
	aud, _ := c.GetAudience()
	if !containsFold(aud, ResourceID) {
		return fail(http.StatusUnauthorized, "UnauthorizedRequestException", "TF400813: The user '' is not authorized to access this resource.")
	}
	if str(c, "idtyp") == "app" || c["scp"] == nil {
		// Service principals and managed identities cannot create or revoke PATs.
		vssError(w, http.StatusForbidden, "InvalidAccessException", "The requested operation is not allowed.")
		return nil, false
	}
	return &caller{oid: str(c, "oid"), upn: str(c, "upn")}, true
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(strings.TrimRight(v, "/"), s) {
			return true
		}
	}
	return false
}

// apiVersionOK accepts the version from the query or the Accept header.
func apiVersionOK(w http.ResponseWriter, r *http.Request) bool {
	v := r.URL.Query().Get("api-version")
	if v == "" {
		if _, p, ok := strings.Cut(r.Header.Get("Accept"), "api-version="); ok {
			v, _, _ = strings.Cut(p, ";")
		}
	}
	switch {
	case v == "":
		vssError(w, http.StatusBadRequest, "VssVersionNotSpecifiedException", `No api-version was supplied for the "`+r.Method+`" request. The version must be supplied either as part of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter (e.g. '?api-version=1.0').`)
		return false
	case !strings.HasPrefix(v, "7.1-preview") && !strings.HasPrefix(v, "7.2-preview"):
		vssError(w, http.StatusBadRequest, "VssInvalidPreviewVersionException", `The requested version "`+v+`" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: "7.1-preview"`)
		return false
	}
	return true
}

func (s *PATs) handle(w http.ResponseWriter, r *http.Request) {
	who, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if !apiVersionOK(w, r) {
		return
	}
	org := strings.ToLower(r.PathValue("org"))
	orgID, known := s.Orgs[org]
	if !known {
		vssError(w, http.StatusNotFound, "HostNotFoundException", "TF400898: The organization '"+r.PathValue("org")+"' could not be found.")
		return
	}
	switch r.Method {
	case http.MethodPost:
		s.create(w, r, who, org, orgID)
	case http.MethodGet:
		if id := r.URL.Query().Get("authorizationId"); id != "" {
			s.get(w, who, org, id)
			return
		}
		s.list(w, r, who, org)
	case http.MethodDelete:
		s.revoke(w, r, who, org)
	default:
		vssError(w, http.StatusMethodNotAllowed, "VssResourceNotFoundException", "The requested resource does not support http method '"+r.Method+"'.")
	}
}

var scopeRE = regexp.MustCompile(`^(vso\.[a-z_.]+|app_token)$`)

func (s *PATs) create(w http.ResponseWriter, r *http.Request, who *caller, org, orgID string) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		vssError(w, http.StatusUnsupportedMediaType, "VssRequestContentTypeNotSupportedException", "The request content type is not supported.")
		return
	}
	var body struct {
		DisplayName string `json:"displayName"`
		Scope       string `json:"scope"`
		ValidTo     string `json:"validTo"`
		AllOrgs     bool   `json:"allOrgs"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		vssError(w, http.StatusBadRequest, "JsonReaderException", "TF400898: An Internal Error Occurred.")
		return
	}
	now := s.Now()
	refuse := func(e string) {
		code := s.CreateErrorStatus
		if code == 0 {
			code = http.StatusOK
		}
		// As the real API, a refused create still carries an empty patToken.
		writeJSON(w, code, map[string]any{
			"patToken": map[string]any{"displayName": nil, "validTo": "0001-01-01T00:00:00", "scope": nil, "targetAccounts": nil,
				"validFrom": "0001-01-01T00:00:00", "authorizationId": "00000000-0000-0000-0000-000000000000", "token": nil},
			"patTokenError": e,
		})
	}
	validTo, terr := time.Parse(time.RFC3339, body.ValidTo)
	scopes := strings.Fields(body.Scope)
	switch {
	case s.CreateError != "":
		refuse(s.CreateError)
		return
	case strings.TrimSpace(body.DisplayName) == "":
		refuse("displayNameRequired")
		return
	case len(scopes) == 0:
		refuse("invalidScope")
		return
	case terr != nil || !validTo.After(now) || validTo.After(now.AddDate(1, 0, 1)):
		refuse("invalidValidTo")
		return
	case s.NotMembers[who.upn], s.RestrictCreation && !s.Allowed[who.upn]:
		refuse("accessDenied")
		return
	case body.AllOrgs && s.BlockGlobal:
		refuse("globalPatPolicyViolation")
		return
	case s.MaxLifespan > 0 && validTo.After(now.Add(s.MaxLifespan)):
		refuse("patLifespanPolicyViolation")
		return
	}
	for _, sc := range scopes {
		if !scopeRE.MatchString(sc) {
			refuse("invalidScope")
			return
		}
		if sc == "app_token" && s.BlockFullScope {
			refuse("fullScopePatPolicyViolation")
			return
		}
	}
	p := &PAT{
		AuthorizationID: randomUUID(), DisplayName: body.DisplayName, Scope: strings.Join(scopes, " "),
		Token: tokenChars(52), Org: org, UserOID: who.oid, ValidFrom: now.UTC(), ValidTo: validTo.UTC(),
	}
	if !body.AllOrgs {
		p.TargetAccounts = []string{orgID}
	}
	if s.Grant != nil {
		s.Grant(p)
	}
	s.mu.Lock()
	s.pats[p.AuthorizationID] = p
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"patToken": patJSON(p, true), "patTokenError": "none"})
}

func patJSON(p *PAT, withToken bool) map[string]any {
	m := map[string]any{
		"authorizationId": p.AuthorizationID, "displayName": p.DisplayName, "scope": p.Scope,
		"targetAccounts": p.TargetAccounts, "validFrom": p.ValidFrom.Format(time.RFC3339Nano),
		"validTo": p.ValidTo.Format(time.RFC3339Nano), "token": nil,
	}
	if withToken {
		m["token"] = p.Token
	}
	return m
}

func (s *PATs) get(w http.ResponseWriter, who *caller, org, id string) {
	s.mu.Lock()
	p := s.pats[strings.ToLower(id)]
	s.mu.Unlock()
	if p == nil || p.UserOID != who.oid || p.Org != org {
		writeJSON(w, http.StatusOK, map[string]any{"patToken": nil, "patTokenError": "authorizationNotFound"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"patToken": patJSON(p, false), "patTokenError": "none"})
}

func (s *PATs) list(w http.ResponseWriter, r *http.Request, who *caller, org string) {
	q := r.URL.Query()
	top := 100
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			vssError(w, http.StatusBadRequest, "ArgumentOutOfRangeException", "$top must be between 1 and 100.")
			return
		}
		top = n
	}
	filter := q.Get("displayFilterOption")
	now := s.Now()
	var out []*PAT
	for _, p := range s.All() {
		if p.UserOID != who.oid || p.Org != org {
			continue
		}
		active := !p.Revoked && now.Before(p.ValidTo)
		switch filter {
		case "", "active":
			if !active {
				continue
			}
		case "revoked":
			if !p.Revoked {
				continue
			}
		case "expired":
			if p.Revoked || now.Before(p.ValidTo) {
				continue
			}
		}
		out = append(out, p)
	}
	if q.Get("isSortAscending") == "false" {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	// Pages: the continuation token is opaque to clients; here it is the
	// offset of the next page.
	off := 0
	if ct := q.Get("continuationToken"); ct != "" {
		n, err := strconv.Atoi(ct)
		if err != nil || n < 0 || n > len(out) {
			vssError(w, http.StatusBadRequest, "ArgumentException", "The continuation token is not valid.")
			return
		}
		off = n
	}
	out = out[off:]
	next := ""
	if len(out) > top {
		out = out[:top]
		next = strconv.Itoa(off + top)
	}
	s.writePage(w, out, next)
}

func (s *PATs) writePage(w http.ResponseWriter, out []*PAT, next string) {
	list := make([]map[string]any, 0, len(out))
	for _, p := range out {
		list = append(list, patJSON(p, false))
	}
	writeJSON(w, http.StatusOK, map[string]any{"continuationToken": next, "patTokens": list})
}

func (s *PATs) revoke(w http.ResponseWriter, r *http.Request, who *caller, org string) {
	id := strings.ToLower(r.URL.Query().Get("authorizationId"))
	if id == "" {
		vssError(w, http.StatusBadRequest, "ArgumentNullException", "Value cannot be null. Parameter name: authorizationId")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pats[id]
	if p == nil || p.UserOID != who.oid || p.Org != org {
		vssError(w, http.StatusNotFound, "SessionTokenNotFoundException", "The personal access token could not be found.")
		return
	}
	p.Revoked = true
	w.WriteHeader(http.StatusOK)
}
