package anacondafake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func call(t *testing.T, s *Server, method, path, auth, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// The fake answers as anaconda-client expects anaconda.org to: status codes
// and {"error": "…"} bodies.
func TestFakeContract(t *testing.T) {
	s := New(&Account{Login: "ana"}, &Account{Login: "org", Org: true, Owners: []string{"ana"}})
	defer s.Close()
	key := s.AddAPIKey("ana", time.Now().Add(time.Hour))
	tok := s.AddToken("ana")

	code, scopes := call(t, s, "GET", "/scopes", "", "")
	assert.Equal(t, 200, code)
	assert.Len(t, scopes, len(KnownScopes))

	for _, auth := range []string{"token " + key, "Bearer " + tok, "", "Bearer nope"} {
		code, body := call(t, s, "GET", "/user", auth, "")
		assert.Equal(t, 401, code, auth)
		assert.Equal(t, "Invalid authorization token", body["error"])
	}
	code, user := call(t, s, "GET", "/user", "Bearer "+key, "")
	assert.Equal(t, 200, code)
	assert.Equal(t, "ana", user["login"])

	code, body := call(t, s, "POST", "/authentications", "token "+tok, `{"scopes":["repos","conda:mirror"],"note":"n1","max-age":60,"strength":"strong","fail-if-exists":true}`)
	assert.Equal(t, 400, code)
	assert.Equal(t, `Invalid scope "conda:mirror"`, body["error"])

	code, created := call(t, s, "POST", "/authentications", "token "+tok, `{"scopes":["repos"],"note":"n1","max-age":60,"strength":"strong","fail-if-exists":true,"user":"org"}`)
	require.Equal(t, 200, code)
	child, _ := created["token"].(string)
	require.NotEmpty(t, child)
	assert.Equal(t, []any{"repos"}, created["scopes"])
	assert.Equal(t, int64(60), s.Lookup(child).MaxAge)
	assert.Equal(t, "org", s.Lookup(child).Owner)

	code, body = call(t, s, "POST", "/authentications", "Bearer "+key, `{"scopes":["repos"],"note":"n1","max-age":60,"fail-if-exists":true,"user":"org"}`)
	assert.Equal(t, 400, code)
	assert.Equal(t, `Token with name "n1" already exists`, body["error"])

	code, _ = call(t, s, "DELETE", "/authentications", "token "+child, "")
	assert.Equal(t, 201, code)
	code, body = call(t, s, "DELETE", "/authentications", "token "+child, "")
	assert.Equal(t, 401, code)
	assert.Equal(t, "Authorization token is no longer valid", body["error"])
	code, _ = call(t, s, "DELETE", "/authentications/org/org/name/n1", "Bearer "+key, "")
	assert.Equal(t, 404, code)
	assert.Empty(t, s.Live())
}
