package serve_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/serve"
)

const minimal = `audience: https://jobtoken.octo-org.example
github: {client_id: Iv23liX, private_key_file: /secrets/app.pem}
policy_sources:
  - {url: "github://octo-org/policies@main/jobtoken", owners: [octo-org]}
`

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigDefaults(t *testing.T) {
	s, err := serve.ParseConfig([]byte(minimal), env(nil))
	require.NoError(t, err)
	assert.Equal(t, ":8080", s.Listen)
	assert.Equal(t, 5*time.Minute, s.TTL)
	assert.Equal(t, "https://api.github.com", s.APIURL)
	assert.Equal(t, []serve.IssuerConfig{{URL: serve.GitHubIssuer}}, s.Issuers)
	require.Len(t, s.Sources, 1)
	assert.Equal(t, serve.Source{URL: "github://octo-org/policies@main/jobtoken", Owner: "octo-org", Repo: "policies", Ref: "main", Dir: "jobtoken", Owners: []string{"octo-org"}}, s.Sources[0])

	s, err = serve.ParseConfig([]byte(minimal), env(map[string]string{"PORT": "9090"}))
	require.NoError(t, err)
	assert.Equal(t, ":9090", s.Listen)

	s, err = serve.ParseConfig([]byte(strings.Replace(minimal, "client_id: Iv23liX", "app_id: 12345", 1)+"issuers: [https://ghes.example/_services/token]\npolicy_ttl: 30s\n"), env(nil))
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, s.TTL)
	assert.Equal(t, "12345", s.AppIssuer)
	assert.Equal(t, "https://ghes.example/_services/token", s.Issuers[0].URL)

	s, err = serve.ParseConfig([]byte(strings.Replace(minimal, "private_key_file: /secrets/app.pem", "signing_key: azurekms://jobtoken.vault.azure.net/github-app", 1)), env(nil))
	require.NoError(t, err)
	require.NotNil(t, s.SigningKey)
	assert.Equal(t, "azurekms://jobtoken.vault.azure.net/github-app", s.SigningKey.URI)
}

// TestFileErrors: a file the operator names that cannot be read is named
// with the setting that names it and why, in Go's words without its
// "open <path>:" prefix; the file's content is never quoted.
func TestFileErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := serve.LoadConfig(missing, env(nil))
	assert.EqualError(t, err, "failed to read --config "+missing+": no such file or directory")

	s, err := serve.ParseConfig([]byte(minimal), env(nil))
	require.NoError(t, err)
	s.KeyFile = missing
	_, err = serve.New(s, serve.Options{})
	assert.EqualError(t, err, "failed to read github.private_key_file "+missing+": no such file or directory")

	s.KeyFile = filepath.Join(t.TempDir(), "app.pem")
	require.NoError(t, os.WriteFile(s.KeyFile, []byte("not-a-key-s3cret"), 0o600))
	_, err = serve.New(s, serve.Options{})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "github.private_key_file "+s.KeyFile+": "), err.Error())
	assert.NotContains(t, err.Error(), "s3cret")
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{minimal + "listen_addr: x\n", "field listen_addr not found"},
		{strings.Replace(minimal, "audience: https://jobtoken.octo-org.example\n", "", 1), "audience is required"},
		{strings.Replace(minimal, "client_id: Iv23liX", "client_id: Iv23liX, app_id: 1", 1), "client_id or app_id, not both"},
		{strings.Replace(minimal, "client_id: Iv23liX", "app_id: abc", 1), `app_id "abc" is not a number`},
		{strings.Replace(minimal, "private_key_file: /secrets/app.pem", "signing_key: gcpkms://projects/p", 1), "github.signing_key: "},
		{strings.Replace(minimal, "private_key_file: /secrets/app.pem", "private_key_file: k, signing_key: azurekms://v.vault.azure.net/k", 1), "private_key_file or signing_key, not both"},
		{strings.Replace(minimal, ", private_key_file: /secrets/app.pem", "", 1), "private_key_file (or signing_key, a KMS key URI) is required"},
		{strings.Replace(minimal, "@main/jobtoken", "/jobtoken", 1), "names no ref"},
		{strings.Replace(minimal, "github://", "https://github.com/", 1), "must be github://OWNER/REPO@REF/DIR"},
		{strings.Replace(minimal, "@main/jobtoken", "@main/../x", 1), "must be a plain path"},
		{strings.Replace(minimal, ", owners: [octo-org]", "", 1), "owners is required"},
		{minimal + "policy_ttl: 2h\n", "policy_ttl 2h0m0s must be between 10s and 1h"},
		{minimal + "policy_ttl: soon\n", `"soon" is not a duration`},
		{minimal + "issuers: [https://accounts.google.com]\n", "is not a GitHub Actions issuer"},
		{minimal + "issuers: [http://token.actions.githubusercontent.com]\n", "must be an https URL"},
		{minimal + "github: {api_url: http://github.example, client_id: x, private_key_file: k}\n", "mapping key \"github\" already defined"},
		{"", "empty file"},
	} {
		_, err := serve.ParseConfig([]byte(tc.yaml), env(nil))
		require.Error(t, err, tc.want)
		assert.Contains(t, err.Error(), tc.want)
	}
	_, err := serve.ParseConfig([]byte(strings.Replace(minimal, "api_url", "x", 1)+"\n"), env(map[string]string{"PORT": "http"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `PORT "http" is not a port number`)
}

func TestParseRequestSpellings(t *testing.T) {
	for _, body := range []string{
		`{"policy":"p","owner":"octo-org","repositories":["octo-org/app"],"permissions":{"contents":"write"}}`,
		`{"policy":"p","owner":"octo-org","repositories":["app"],"permissions":"contents:write"}`,
		`{"policy":"p","owner":"octo-org","repositories":["app"],"permissions":["contents:write"]}`,
	} {
		req, e := serve.ParseRequest([]byte(body))
		require.Nil(t, e, body)
		assert.Equal(t, serve.Permissions{"contents": "write"}, req.Permissions, body)
		assert.Equal(t, []string{"app"}, req.Repositories, body)
	}
	_, e := serve.ParseRequest([]byte(`{"policy":"p","owner":"octo-org","repositories":["evil/app"],"permissions":{"contents":"write"}}`))
	require.NotNil(t, e)
	b, _ := json.Marshal(e)
	assert.Contains(t, string(b), `is not owned by octo-org`)
}
