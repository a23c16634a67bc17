package azfake

import (
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResourcesCheckPATScopeAndOrganization(t *testing.T) {
	s := NewPATs(NewTenant(), "contoso", "fabrikam")
	defer s.Close()
	s.Repositories["contoso"] = []string{"app"}
	now := time.Now()
	add := func(id, tok, scope string, orgs []string, revoked bool) {
		s.Add(&PAT{AuthorizationID: id, Token: tok, Scope: scope, TargetAccounts: orgs, UserOID: "u1", ValidFrom: now, ValidTo: now.Add(time.Hour), Revoked: revoked})
	}
	contoso := s.Orgs["contoso"]
	add("a-code", "patcode", "vso.code", []string{contoso}, false)
	add("a-write", "patwrite", "vso.code_write vso.build_execute", []string{contoso}, false)
	add("a-all", "patall", "vso.code", nil, false)
	add("a-gone", "patgone", "vso.code", []string{contoso}, true)
	basic := func(pat string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+pat)) }
	sup := map[string]string{"X-TFS-FedAuthRedirect": "Suppress", "Content-Type": "application/json"}
	repos := "/contoso/_apis/git/repositories?api-version=7.1"
	queue := "/contoso/demo/_apis/build/builds?api-version=7.1"

	tests := []struct {
		name, auth, method, path, body string
		hdr                            map[string]string
		status                         int
		refused, id                    string
	}{
		{name: "granted", auth: basic("patcode"), method: "GET", path: repos, status: 200, id: "a-code"},
		{name: "a user name is ignored", auth: "Basic " + base64.StdEncoding.EncodeToString([]byte("me:patcode")), method: "GET", path: repos, status: 200, id: "a-code"},
		{name: "write includes read", auth: basic("patwrite"), method: "GET", path: repos, status: 200, id: "a-write"},
		{name: "scope not granted", auth: basic("patcode"), method: "POST", path: queue, body: `{"definition":{"id":1}}`, status: 401, refused: RefusedScope, id: "a-code"},
		{name: "scope granted", auth: basic("patwrite"), method: "POST", path: queue, body: `{"definition":{"id":1}}`, status: 200, id: "a-write"},
		{name: "another organization", auth: basic("patcode"), method: "GET", path: "/fabrikam/_apis/git/repositories?api-version=7.1", status: 401, refused: RefusedOrganization, id: "a-code"},
		{name: "an all-organizations PAT", auth: basic("patall"), method: "GET", path: "/fabrikam/_apis/git/repositories?api-version=7.1", status: 200, id: "a-all"},
		{name: "unknown organization", auth: basic("patcode"), method: "GET", path: "/nowhere/_apis/git/repositories?api-version=7.1", status: 404},
		{name: "revoked", auth: basic("patgone"), method: "GET", path: repos, status: 401, refused: RefusedCredentials, id: "a-gone"},
		{name: "unknown", auth: basic("nope"), method: "GET", path: repos, status: 401, refused: RefusedCredentials},
		{name: "a bearer token is not a PAT", auth: "Bearer patcode", method: "GET", path: repos, status: 401, refused: RefusedCredentials},
		{name: "a browser gets the sign-in page", auth: basic("patcode"), method: "POST", path: queue, body: `{}`, hdr: map[string]string{}, status: 203, refused: RefusedScope, id: "a-code"},
		{name: "no api-version", auth: basic("patcode"), method: "GET", path: "/contoso/_apis/git/repositories", status: 400, id: "a-code"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := sup
			if tc.hdr != nil {
				hdr = tc.hdr
			}
			before := len(s.Uses())
			code, body := do(t, http.DefaultClient, tc.method, s.URL+tc.path, tc.auth, tc.body, hdr)
			assert.Equal(t, tc.status, code, "%v", body)
			if tc.status == 401 {
				assert.Equal(t, "UnauthorizedRequestException", body["typeKey"])
				assert.Contains(t, body["message"], "TF400813")
			}
			uses := s.Uses()
			require.Len(t, uses, before+1)
			assert.Equal(t, tc.status, uses[before].Status)
			assert.Equal(t, tc.refused, uses[before].Refused)
			assert.Equal(t, tc.id, uses[before].AuthorizationID)
		})
	}
	code, body := do(t, http.DefaultClient, "GET", s.URL+repos, basic("patcode"), "", sup)
	require.Equal(t, 200, code)
	assert.EqualValues(t, 1, body["count"])
}
