package ghfake

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jobtoken/jobtoken/pkg/demo"
	"github.com/jobtoken/jobtoken/pkg/fake/minted"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResourcesCheckTokenRepositoryAndPermission(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	s := New(key, &Installation{ID: 7, Account: "octo", Permissions: map[string]string{"contents": "write", "issues": "write", "metadata": "read"}, Repos: []string{"app", "infra"}})
	defer s.Close()
	add := func(v string, perms map[string]string, repos []string, revoked bool) {
		s.tokens[v] = &Token{Value: v, Installation: 7, Permissions: perms, Repos: repos, Life: minted.Life{ExpiresAt: time.Now().Add(time.Hour), Revoked: revoked}}
	}
	add("ghs_read", map[string]string{"contents": "read", "metadata": "read"}, []string{"app"}, false)
	add("ghs_issues", map[string]string{"issues": "write", "metadata": "read"}, nil, false)
	add("ghs_gone", map[string]string{"contents": "read"}, []string{"app"}, true)

	tests := []struct {
		name, token, method, path, body string
		status                          int
		refused, accepted, message      string
	}{
		{name: "granted read", token: "ghs_read", method: "GET", path: "/repos/octo/app/contents/README.md", status: 200},
		{name: "owner and repo are case-insensitive", token: "ghs_read", method: "GET", path: "/repos/Octo/App/contents/README.md", status: 200},
		{name: "a file that is not there", token: "ghs_read", method: "GET", path: "/repos/octo/app/contents/nope.md", status: 404, message: "Not Found"},
		{name: "permission not granted", token: "ghs_read", method: "POST", path: "/repos/octo/app/issues", body: `{"title":"x"}`, status: 403, refused: RefusedPermission, accepted: "issues=write", message: "Resource not accessible by integration"},
		{name: "repository of the installation outside the token", token: "ghs_read", method: "GET", path: "/repos/octo/infra/contents/README.md", status: 404, refused: RefusedRepository, message: "Not Found"},
		{name: "repository outside the installation", token: "ghs_read", method: "GET", path: "/repos/other/app/contents/README.md", status: 404, refused: RefusedRepository, message: "Not Found"},
		{name: "a token without repositories covers the installation's", token: "ghs_issues", method: "POST", path: "/repos/octo/infra/issues", body: `{"title":"x"}`, status: 201},
		{name: "read needs contents", token: "ghs_issues", method: "GET", path: "/repos/octo/app/contents/README.md", status: 403, refused: RefusedPermission, accepted: "contents=read"},
		{name: "an issue needs a title", token: "ghs_issues", method: "POST", path: "/repos/octo/app/issues", body: `{}`, status: 422, message: "Validation Failed"},
		{name: "revoked", token: "ghs_gone", method: "GET", path: "/repos/octo/app/contents/README.md", status: 401, refused: RefusedCredentials, message: "Bad credentials"},
		{name: "unknown", token: "ghs_nope", method: "GET", path: "/repos/octo/app/contents/README.md", status: 401, refused: RefusedCredentials},
		{name: "none", method: "GET", path: "/repos/octo/app/contents/README.md", status: 401, refused: RefusedCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, s.URL+tc.path, strings.NewReader(tc.body))
			require.NoError(t, err)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			before := len(s.Uses())
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, tc.status, resp.StatusCode, "%s", body)
			assert.Equal(t, tc.accepted, resp.Header.Get("X-Accepted-GitHub-Permissions"))
			if tc.message != "" {
				var m map[string]string
				require.NoError(t, json.Unmarshal(body, &m))
				assert.Equal(t, tc.message, m["message"])
			}
			uses := s.Uses()
			require.Len(t, uses, before+1)
			u := uses[before]
			assert.Equal(t, Use{Token: tc.token, Use: demo.Use{Method: tc.method, Path: tc.path, Status: tc.status, Refused: tc.refused, Needs: u.Needs}}, u)
		})
	}
}

func TestContentsAnswersTheFileAsGitHubDoes(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	s := New(key, &Installation{ID: 7, Account: "octo", Permissions: map[string]string{"contents": "read"}, Repos: []string{"app"}})
	defer s.Close()
	s.tokens["ghs_x"] = &Token{Value: "ghs_x", Installation: 7, Permissions: map[string]string{"contents": "read"}, Life: minted.Life{ExpiresAt: time.Now().Add(time.Hour)}}
	req, _ := http.NewRequest("GET", s.URL+"/repos/octo/app/contents/README.md", nil)
	req.Header.Set("Authorization", "token ghs_x")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var f struct {
		Type, Encoding, Content, SHA string
		Size                         int
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&f))
	assert.Equal(t, "file", f.Type)
	assert.Equal(t, "base64", f.Encoding)
	assert.Equal(t, len(readme("app")), f.Size)
	// printf '# app\n\nA repository of the fake GitHub.\n' | git hash-object --stdin
	assert.Equal(t, "87271c961cce5fe6dd544aa7c70db4e79875d956", f.SHA)
}
