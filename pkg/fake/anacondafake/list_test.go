package anacondafake

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/jobtoken/jobtoken/pkg/fake/minted"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// GET /authentications lists the caller's account's tokens that still exist,
// with the fields anaconda-client's `auth --list` prints, never a value.
func TestFakeListsAuthentications(t *testing.T) {
	s := New(&Account{Login: "ana"}, &Account{Login: "bob"})
	defer s.Close()
	key := s.AddAPIKey("ana", time.Now().Add(time.Hour))
	s.Seed(Token{Note: "mine", Owner: "ana", Life: minted.Life{ExpiresAt: time.Now().Add(time.Hour)}, Scopes: []string{"api:read"}})
	s.Seed(Token{Note: "gone", Owner: "ana", Life: minted.Life{ExpiresAt: time.Now().Add(time.Hour), Revoked: true}})
	s.Seed(Token{Note: "bobs", Owner: "bob", Life: minted.Life{ExpiresAt: time.Now().Add(time.Hour)}})

	code, _ := call(t, s, "GET", "/authentications", "", "")
	assert.Equal(t, http.StatusUnauthorized, code)

	req, _ := http.NewRequest("GET", s.URL+"/authentications", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var list []map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	require.Len(t, list, 1)
	assert.Equal(t, "mine", list[0]["application"])
	for _, k := range []string{"id", "expires", "scopes", "remote_addr", "hostname"} {
		assert.Contains(t, list[0], k)
	}
	assert.NotContains(t, list[0], "token")
}
