package seal_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/seal"
	"github.com/jobtoken/jobtoken/pkg/testutil/fuzzcorpus"
)

type payload struct {
	Token string `json:"token"`
	API   string `json:"api"`
}

func TestSealOpen(t *testing.T) {
	key := seal.Key([2]string{"private-key", "-----BEGIN KEY-----\nabc\n-----END KEY-----"})
	raw, err := seal.Seal(key, payload{Token: "ghs_x", API: "https://api.github.com"})
	require.NoError(t, err)
	assert.Contains(t, raw, `"token":"ghs_x"`, "the token stays readable, so the CI system's masking of it works where state is printed")

	var p payload
	auth, err := seal.Open(key, raw, &p)
	require.NoError(t, err)
	assert.True(t, auth)
	assert.Equal(t, "https://api.github.com", p.API)

	for name, forged := range map[string]string{
		"payload changed":  strings.Replace(raw, "api.github.com", "evil.example", 1),
		"mac removed":      raw[:strings.Index(raw, `,"mac"`)] + "}",
		"mac of zeros":     raw[:strings.Index(raw, `"mac":"`)+7] + strings.Repeat("0", 64) + `"}`,
		"whitespace added": strings.Replace(raw, `"token":`, `"token": `, 1),
	} {
		_, err := seal.Open(key, forged, &p)
		assert.ErrorIs(t, err, seal.ErrForged, name)
	}
	other := seal.Key([2]string{"private-key", "another key"})
	_, err = seal.Open(other, raw, &p)
	assert.ErrorIs(t, err, seal.ErrForged, "another parent credential")

	_, err = seal.Open(key, `{"provider":"github","token":"x"}`, &p)
	assert.ErrorIs(t, err, seal.ErrMalformed, "the plain form is not state")
	_, err = seal.Open(key, `{"v":2,"payload":{}}`, &p)
	assert.ErrorIs(t, err, seal.ErrMalformed)
}

func TestWithoutKeyNothingIsAuthenticated(t *testing.T) {
	assert.Nil(t, seal.Key(), "no parent credential, no key")
	assert.Nil(t, seal.Key([2]string{"private-key", ""}))
	raw, err := seal.Seal(nil, payload{Token: "t"})
	require.NoError(t, err)
	assert.NotContains(t, raw, "mac")
	var p payload
	auth, err := seal.Open(nil, raw, &p)
	require.NoError(t, err)
	assert.False(t, auth)
	assert.Equal(t, "t", p.Token)
}

func TestKeyEncodingIsUnambiguous(t *testing.T) {
	a := seal.Key([2]string{"a", "bc"})
	b := seal.Key([2]string{"ab", "c"})
	c := seal.Key([2]string{"a", "b"}, [2]string{"c", ""})
	assert.NotEqual(t, a, b)
	assert.NotEqual(t, a, c)
	assert.Equal(t, a, seal.Key([2]string{"a", "bc"}))
}

// FuzzOpen: no input makes Open panic, and nothing but what Seal wrote with
// the key verifies.
func FuzzOpen(f *testing.F) {
	key := seal.Key([2]string{"anaconda-credential", "token abcdef"})
	good, _ := seal.Seal(key, payload{Token: "t"})
	f.Add(good)
	f.Add(`{"v":1,"payload":{"token":"t"}}`)
	f.Add(`{"v":1,"payload":null,"mac":""}`)
	f.Add(`[]`)
	fuzzcorpus.Add(f)
	f.Fuzz(func(t *testing.T, raw string) {
		var p payload
		auth, err := seal.Open(key, raw, &p)
		if err == nil {
			require.True(t, auth)
			// Only bytes Seal produced verify: re-sealing what was read
			// gives the same envelope.
			again, _ := seal.Seal(key, p)
			var q payload
			_, err2 := seal.Open(key, again, &q)
			assert.NoError(t, err2)
		}
	})
}
