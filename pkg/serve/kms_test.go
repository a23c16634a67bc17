package serve_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/awsfake"
	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/serve"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// TestSigningKey: with github.signing_key the service signs its App JWTs in
// a KMS (AWS here, with the environment's credentials, as on a server) and
// holds no private key; a key that is not the App's fails at start.
func TestSigningKey(t *testing.T) {
	aws := awsfake.New("eu-west-1")
	defer aws.Close()
	user := "arn:aws:iam::111122223333:user/jobtoken-serve"
	creds := aws.AddUser(user)
	aws.AddKey("alias/github-app", testutil.AppKey(t), user)

	gh := ghfake.New(testutil.AppKey(t), &ghfake.Installation{ID: 7, Account: "octo-org",
		Permissions: map[string]string{"contents": "write", "metadata": "read"}, AllRepos: []string{"app", "policies"}})
	defer gh.Close()
	gh.WriteFiles("octo-org", "policies", map[string]string{"jobtoken/release.yaml": releasePolicy})
	oidc := azfake.NewGitHubOIDC("octo-org/app")
	defer oidc.Close()
	env := testutil.Getenv(map[string]string{"AWS_ACCESS_KEY_ID": creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": creds.SecretAccessKey,
		"AWS_ENDPOINT_URL_KMS": aws.KMS.URL})
	hc := network.Client(aws.KMS.Client().Transport, serve.Retry, nil)

	config := func(key string) *serve.Settings {
		set, err := serve.ParseConfig([]byte(fmt.Sprintf(`audience: %s
issuers: [{url: https://token.actions.githubusercontent.com, jwks_url: %s}]
github: {api_url: %s, client_id: %s, signing_key: "%s"}
policy_sources: [{url: "github://octo-org/policies@main/jobtoken", owners: [octo-org]}]
`, audience, oidc.JWKSURL(), gh.URL, gh.ClientID, key)), env)
		require.NoError(t, err)
		return set
	}
	var log strings.Builder
	srv, err := serve.New(config("awskms:///arn:aws:kms:eu-west-1:111122223333:alias/github-app"), serve.Options{HTTP: hc, Getenv: env, Log: &log})
	require.NoError(t, err)
	assert.Contains(t, log.String(), "signing the App's JWTs with awskms:///arn:aws:kms:eu-west-1:111122223333:alias/github-app (public key SHA256:")
	assert.NotContains(t, log.String(), creds.SecretAccessKey)
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	w := &world{t: t, gh: gh, oidc: oidc, http: hs, clock: &clock{t: gh.Now()}}
	a := w.ask(w.oidcToken(nil), release(map[string]string{"contents": "read"}, "app"))
	require.Equal(t, http.StatusOK, a.status, a.raw)
	assert.NotEmpty(t, aws.Signed(), "the JWTs were signed in KMS")

	// A key the service's identity may not use fails at start, naming it.
	_, err = serve.New(config("awskms:///arn:aws:kms:eu-west-1:111122223333:alias/nope"), serve.Options{HTTP: hc, Getenv: env})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "failed to open github.signing_key awskms:///arn:aws:kms:eu-west-1:111122223333:alias/nope")
	assert.NotContains(t, err.Error(), creds.SecretAccessKey)

	_, err = serve.ParseConfig([]byte(strings.Replace(minimal, "private_key_file: /secrets/app.pem", "signing_key: hashivault://app", 1)), env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "github.signing_key")
}
