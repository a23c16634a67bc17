package azfake

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/demo"
)

// The fake's resource surface: two calls of an organization's REST API that a
// later step of a job makes with a PAT, enough to show what the PAT may and
// may not do. Azure DevOps serves them on dev.azure.com, the PAT lifecycle
// API on vssps.dev.azure.com; the fake serves both from one address.
//
// A PAT is sent as Basic auth with any user name (base64(":"+pat)). As
// Azure DevOps answers (public reports: MicrosoftDocs/vsts-rest-api-specs#441,
// pulumi/pulumi-azuredevops#68; the reference pages do not say), a PAT that is
// unknown, revoked, expired, not valid in the organization or without the
// scope the route needs is refused with 401 TF400813, the body's shape
// when the client sends X-TFS-FedAuthRedirect: Suppress (a browser-like
// client gets the 203 sign-in page instead).
//
// Routes (and the scope each needs, from Azure DevOps' scope list; a broader
// scope of the same area includes it, app_token includes all):
//
//	GET  /{org}/_apis/git/repositories            vso.code
//	POST /{org}/{project}/_apis/build/builds      vso.build_execute
//
// Projects are not modelled: any project name is accepted. Each call is
// recorded (see Uses), with why it was refused.
func (s *PATs) routeResources(mux *http.ServeMux) {
	mux.HandleFunc("GET /{org}/_apis/git/repositories", s.resource("vso.code", s.listRepositories))
	mux.HandleFunc("POST /{org}/{project}/_apis/build/builds", s.resource("vso.build_execute", s.queueBuild))
}

// Why a resource call was refused, as Use.Refused says it.
const (
	RefusedCredentials  = "credentials"  // no live PAT
	RefusedOrganization = "organization" // the PAT is not valid in this organization
	RefusedScope        = "scope"        // the PAT lacks the route's scope
)

// Use is one resource call the fake answered.
// Refused is "" when served, else one of the Refused* reasons; Needs is the
// scope the route needs.
type Use struct {
	AuthorizationID string // the PAT's, "" when none matched
	demo.Use
}

// Uses returns the resource calls answered so far, in order.
func (s *PATs) Uses() []Use { return s.uses.All() }

// includedIn lists, for each scope a route needs, the broader scopes that
// include it (Azure DevOps' scope list: write and manage include read).
var includedIn = map[string][]string{
	"vso.code":          {"vso.code_write", "vso.code_manage", "vso.code_full"},
	"vso.build_execute": nil,
}

func grants(scopes, need string) bool {
	for _, sc := range strings.Fields(scopes) {
		if sc == need || sc == "app_token" || slices.Contains(includedIn[need], sc) {
			return true
		}
	}
	return false
}

// patFromBasic reads the PAT of a Basic Authorization header.
func patFromBasic(r *http.Request) string {
	a := r.Header.Get("Authorization")
	if len(a) < 6 || !strings.EqualFold(a[:6], "basic ") {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(a[6:]))
	if err != nil {
		return ""
	}
	_, pat, _ := strings.Cut(string(raw), ":")
	return pat
}

func (s *PATs) resource(scope string, h func(w http.ResponseWriter, r *http.Request, org string) int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		use := Use{Use: demo.Use{Method: r.Method, Path: r.URL.Path, Needs: scope}}
		defer func() { s.uses.Add(use) }()
		org := strings.ToLower(r.PathValue("org"))
		orgID, known := s.Orgs[org]
		if !known {
			use.Status = http.StatusNotFound
			vssError(w, use.Status, "HostNotFoundException", "TF400898: The organization '"+r.PathValue("org")+"' could not be found.")
			return
		}
		p := s.Lookup(patFromBasic(r))
		if p != nil {
			use.AuthorizationID = p.AuthorizationID
		}
		refuse := func(why string) {
			use.Status, use.Refused = http.StatusUnauthorized, why
			if r.Header.Get("X-TFS-FedAuthRedirect") != "Suppress" {
				use.Status = http.StatusNonAuthoritativeInfo
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.WriteHeader(use.Status)
				_, _ = w.Write([]byte("<html><head><title>Azure DevOps Services | Sign In</title></head><body></body></html>"))
				return
			}
			vssError(w, use.Status, "UnauthorizedRequestException", "TF400813: The user '"+s.userOf(p)+"' is not authorized to access this resource.")
		}
		switch {
		case p == nil || p.Revoked || !s.Now().Before(p.ValidTo):
			refuse(RefusedCredentials)
		case p.TargetAccounts != nil && !slices.Contains(p.TargetAccounts, orgID):
			refuse(RefusedOrganization)
		case !grants(p.Scope, scope):
			refuse(RefusedScope)
		case r.URL.Query().Get("api-version") == "":
			use.Status = http.StatusBadRequest
			vssError(w, use.Status, "VssVersionNotSpecifiedException", `No api-version was supplied for the "`+r.Method+`" request.`)
		default:
			use.Status = h(w, r, org)
		}
	}
}

// userOf names the PAT's user as TF400813 does (its ID), or "" when none.
func (s *PATs) userOf(p *PAT) string {
	if p == nil {
		return ""
	}
	return p.UserOID
}

// listRepositories is Repositories - List.
func (s *PATs) listRepositories(w http.ResponseWriter, _ *http.Request, org string) int {
	s.mu.Lock()
	names := slices.Clone(s.Repositories[org])
	s.mu.Unlock()
	value := make([]map[string]any, 0, len(names))
	for _, n := range names {
		value = append(value, map[string]any{
			"id": uuidFrom("repo:" + org + "/" + n), "name": n, "defaultBranch": "refs/heads/main",
			"remoteUrl": "https://dev.azure.com/" + org + "/_git/" + n,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(value), "value": value})
	return http.StatusOK
}

// queueBuild is Builds - Queue: a definition is required.
func (s *PATs) queueBuild(w http.ResponseWriter, r *http.Request, _ string) int {
	var body struct {
		Definition *struct {
			ID int `json:"id"`
		} `json:"definition"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Definition == nil {
		vssError(w, http.StatusBadRequest, "ArgumentNullException", "Value cannot be null. Parameter name: build.Definition")
		return http.StatusBadRequest
	}
	s.mu.Lock()
	s.builds++
	id := s.builds
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": "notStarted", "definition": map[string]any{"id": body.Definition.ID}})
	return http.StatusOK
}
