package anacondafake

import (
	"testing"
	"time"

	"github.com/jobtoken/jobtoken/pkg/demo"
	"github.com/jobtoken/jobtoken/pkg/fake/minted"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResourcesCheckScopeAndOwner(t *testing.T) {
	s := New(&Account{Login: "ana"}, &Account{Login: "bob"}, &Account{Login: "org", Org: true, Owners: []string{"ana"}})
	defer s.Close()
	s.AddPackage("ana", "private-pkg", false)
	s.AddPackage("ana", "public-pkg", true)
	s.AddPackage("bob", "bobs-pkg", false)
	exp := time.Now().Add(time.Hour)
	read := s.Seed(Token{Owner: "ana", Creator: "ana", Scopes: []string{"api:read"}, Life: minted.Life{ExpiresAt: exp}}).Value
	write := s.Seed(Token{Owner: "ana", Creator: "ana", Scopes: []string{"api:write"}, Life: minted.Life{ExpiresAt: exp}}).Value
	api := s.Seed(Token{Owner: "ana", Creator: "ana", Scopes: []string{"api"}, Life: minted.Life{ExpiresAt: exp}}).Value
	gone := s.Seed(Token{Owner: "ana", Creator: "ana", Scopes: []string{"all"}, Life: minted.Life{ExpiresAt: exp, Revoked: true}}).Value
	scopeMsg := "Authentication token does not have the sufficient scope to perform this action expected: "

	tests := []struct {
		name, method, path, token string
		status                    int
		refused, msg              string
	}{
		{name: "granted read", method: "GET", path: "/package/ana/private-pkg", token: read, status: 200},
		{name: "write does not include read", method: "GET", path: "/package/ana/private-pkg", token: write, status: 401, refused: RefusedScope, msg: scopeMsg + "api:read"},
		{name: "api includes api:read", method: "GET", path: "/package/ana/private-pkg", token: api, status: 200},
		{name: "a public package needs no token", method: "GET", path: "/package/ana/public-pkg", status: 200},
		{name: "another account's private package is hidden", method: "GET", path: "/package/bob/bobs-pkg", token: read, status: 404, refused: RefusedOwner, msg: `"bobs-pkg" could not be found`},
		{name: "missing", method: "GET", path: "/package/ana/nope", token: read, status: 404, msg: `"nope" could not be found`},
		{name: "create without api:write", method: "POST", path: "/package/ana/new-pkg", token: read, status: 401, refused: RefusedScope, msg: scopeMsg + "api:write"},
		{name: "create in another account", method: "POST", path: "/package/bob/new-pkg", token: write, status: 401, refused: RefusedOwner, msg: `User "<User: _login=ana>" has not enough permissions to create "<User: _login=bob>/new-pkg" package`},
		{name: "create in an organization one owns", method: "POST", path: "/package/org/new-pkg", token: write, status: 200},
		{name: "create", method: "POST", path: "/package/ana/new-pkg", token: write, status: 200},
		{name: "create twice", method: "POST", path: "/package/ana/new-pkg", token: write, status: 409},
		{name: "revoked", method: "GET", path: "/package/ana/private-pkg", token: gone, status: 401, refused: RefusedCredentials, msg: "Authorization token is no longer valid"},
		{name: "no token for a private package", method: "GET", path: "/package/ana/private-pkg", status: 401, refused: RefusedCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth, body := "", ""
			if tc.token != "" {
				auth = "token " + tc.token
			}
			if tc.method == "POST" {
				body = `{"public":false}`
			}
			before := len(s.Uses())
			code, out := call(t, s, tc.method, tc.path, auth, body)
			assert.Equal(t, tc.status, code, "%v", out)
			if tc.msg != "" {
				assert.Equal(t, tc.msg, out["error"])
			}
			uses := s.Uses()
			require.Len(t, uses, before+1)
			assert.Equal(t, Use{Token: tc.token, Use: demo.Use{Method: tc.method, Path: tc.path, Status: tc.status, Refused: tc.refused, Needs: uses[before].Needs}}, uses[before])
		})
	}
}
