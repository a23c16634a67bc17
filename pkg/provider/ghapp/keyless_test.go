package ghapp_test

// Keyless signing end to end: the main and post stages as the GitHub runner
// and the Azure Pipelines agent run them, the App's key in a fake Azure Key
// Vault reached through a fake Microsoft Entra with the job's OIDC token.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/cli"
	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agenttest"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions/runnertest"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/cloudid"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

const (
	kvClientID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
	kvConnID   = "5b0f2a8e-1c1d-4e0a-9d7b-2a3b4c5d6e7f"
)

// vaultWorld is GitHub, Microsoft Entra, Azure Key Vault holding the App's
// key, and both CI systems' OIDC issuers.
type vaultWorld struct {
	*azfake.Workload
	gh    *ghfake.Server
	vault *azfake.Vault
}

func newVaultWorld(t *testing.T) *vaultWorld {
	t.Helper()
	w := &vaultWorld{Workload: azfake.NewWorkload(kvConnID, "signer-conn"), gh: newFake(t)}
	w.vault = azfake.NewVault(w.Tenant, w.Entra.URL)
	t.Cleanup(func() { w.Close(); w.vault.Close() })
	w.vault.Import("github-app", testutil.AppKey(t))
	w.vault.Grant(kvClientID)
	w.Entra.Trust(kvClientID, w.GitHubOIDC.Federated(), w.PipelinesOIDC.Federated("signer-conn"))
	return w
}

// run runs jobtoken as the CI system would, trusting the TLS fakes.
func (w *vaultWorld) run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	set := &secret.Set{}
	o, e := secret.NewWriter(&out, set), secret.NewWriter(&errb, set)
	instant := providertest.Instant
	c := &cli.Env{Args: args, Getenv: testutil.Getenv(env), Stdout: o, Stderr: e, RawStdout: o, RawStderr: e,
		Secrets: set, Transport: w.Entra.Client().Transport, Retry: &instant}
	code := c.Run(context.Background())
	_ = o.Flush()
	_ = e.Flush()
	return code, out.String(), errb.String()
}

// assertOneError checks that a failed main stage logged exactly one
// ::error:: line, holding want and no raw answer body (JSON or XML).
func assertOneError(t *testing.T, stdout, want string) {
	t.Helper()
	var errLines []string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "::error::") {
			errLines = append(errLines, l)
		}
	}
	require.Len(t, errLines, 1, stdout)
	assert.Contains(t, errLines[0], want)
	assert.NotContains(t, errLines[0], "{", "an API answer is summarised, never echoed")
	for _, raw := range []string{"<html", "<?xml", "<Error"} {
		assert.NotContains(t, errLines[0], raw, "an API answer is summarised, never echoed")
	}
}

// signingWorld is a vaultWorld, or one that adds another cloud's KMS to it
// (awsWorld, gcpWorld): the step's environment on GitHub Actions and every
// credential that may not show.
type signingWorld interface {
	world() *vaultWorld
	githubEnv(t *testing.T) map[string]string
	secrets() []string
}

func (w *vaultWorld) world() *vaultWorld { return w }

// mainOnGitHub runs the main stage as the runner does: it mints one token,
// and no secret shows in its log or its state. It returns the log.
func mainOnGitHub(t *testing.T, w signingWorld, env map[string]string) string {
	t.Helper()
	code, stdout, stderr := w.world().run(t, env, "/jobtoken")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Len(t, w.world().gh.Live(), 1)
	secrets := w.secrets()
	testutil.AssertNoSecret(t, "stdout", testutil.WithoutGitHubMasks(stdout), secrets...)
	testutil.AssertNoSecret(t, "stderr", stderr, secrets...)
	testutil.AssertNoSecret(t, "state", testutil.ReadFile(t, env["GITHUB_STATE"]), secrets...)
	return stdout
}

// postOnGitHub runs the post stage with main's state, as the runner does:
// it revokes the token. It returns the log.
func postOnGitHub(t *testing.T, w signingWorld, env map[string]string) string {
	t.Helper()
	state, _ := testutil.Heredocs(t, testutil.ReadFile(t, env["GITHUB_STATE"]))
	env["STATE_jobtoken"] = state["jobtoken"]
	code, stdout, _ := w.world().run(t, env, "/jobtoken-post")
	require.Equal(t, 0, code, stdout)
	assert.Empty(t, w.world().gh.Live(), "revoked in the post step")
	return stdout
}

// mainOnAzure runs the main stage as the agent does: it mints one token,
// and no secret shows but in a command that carries it, after
// task.setsecret. It returns the output as the agent reads it.
func mainOnAzure(t *testing.T, w signingWorld, env map[string]string) agenttest.Output {
	t.Helper()
	code, stdout, stderr := w.world().run(t, env, "/jobtoken", "main")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Len(t, w.world().gh.Live(), 1)
	out := agenttest.Read(stdout)
	out.AssertNoLeak(t, w.secrets()...)
	testutil.AssertNoSecret(t, "stderr", stderr, w.secrets()...)
	return out
}

// postOnAzure runs the post stage with main's state, as the agent does: it
// revokes the token.
func postOnAzure(t *testing.T, w signingWorld, env map[string]string, main agenttest.Output) {
	t.Helper()
	state, ok := main.TaskVariable("jobtoken")
	require.True(t, ok, "main saved its state")
	env["VSTS_TASKVARIABLE_JOBTOKEN"] = state
	code, stdout, _ := w.world().run(t, env, "/jobtoken", "post")
	require.Equal(t, 0, code, stdout)
	assert.Empty(t, w.world().gh.Live())
}

// failure is a case of a keyless failure table: setup breaks the world or
// the step's environment; want is in the one error line.
type failure[W signingWorld] struct {
	name  string
	setup func(w W, env map[string]string)
	want  string
}

// runFailures runs the main stage on GitHub for each case, in a fresh
// world: it fails with one ::error:: line holding want, before any token
// exists, with nothing leaked.
func runFailures[W signingWorld](t *testing.T, newWorld func(*testing.T) W, cases []failure[W]) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			env := w.githubEnv(t)
			tc.setup(w, env)
			code, stdout, stderr := w.world().run(t, env, "/jobtoken")
			require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			assertOneError(t, stdout, tc.want)
			assert.Empty(t, w.world().gh.Live(), "nothing minted, nothing left")
			testutil.AssertNoSecret(t, "stdout", testutil.WithoutGitHubMasks(stdout), w.secrets()...)
		})
	}
}

// secrets are every credential the keyless path handles: none may show.
func (w *vaultWorld) secrets() []string {
	s := append(w.Entra.Issued(), w.GitHubOIDC.Issued()...)
	s = append(s, w.PipelinesOIDC.Issued()...)
	return append(s, w.GitHubOIDC.RequestToken, w.PipelinesOIDC.JobToken)
}

func (w *vaultWorld) githubEnv(t *testing.T) map[string]string {
	t.Helper()
	return w.githubStep(t, map[string]string{"signing-key": w.vault.URI("github-app"), "azure-client-id": kvClientID, "azure-tenant-id": w.Tenant.ID})
}

// githubStep is the environment of a step on GitHub Actions that asks this
// world's App for a contents:read token, signing its JWTs as keyless says.
func (w *vaultWorld) githubStep(t *testing.T, keyless map[string]string) map[string]string {
	t.Helper()
	given := map[string]string{"provider": "github", "permissions": "contents:read", "client-id": w.gh.ClientID, "github-api-url": w.gh.URL}
	maps.Copy(given, keyless)
	env := runnertest.StepEnv(t, given)
	maps.Copy(env, w.GitHubEnv())
	return env
}

func (w *vaultWorld) azureEnv(t *testing.T) map[string]string {
	t.Helper()
	env := agenttest.StepEnv(t, map[string]string{
		"provider": "github", "permissions": "contents:read", "lifetime": "1h",
		"clientId": w.gh.ClientID, "githubApiUrl": w.gh.URL, "signingKey": w.vault.URI("github-app"),
		"azureServiceConnection": kvConnID,
	})
	maps.Copy(env, w.PipelinesEnv(kvClientID))
	return env
}

func TestKeyVaultOnGitHub(t *testing.T) {
	w := newVaultWorld(t)
	env := w.githubEnv(t)
	stdout := mainOnGitHub(t, w, env)
	tok := w.gh.Live()[0].Value
	assert.NotEmpty(t, w.vault.Signed(), "the JWT was signed in the vault")
	assert.Contains(t, stdout, "Signing the App's JWTs with "+w.vault.URI("github-app")+" (Azure Key Vault, public key SHA256:")
	for _, m := range append([]string{tok}, w.GitHubOIDC.Issued()...) {
		assert.Contains(t, stdout, "::add-mask::"+m+"\n")
	}
	outputs, _ := testutil.Heredocs(t, testutil.ReadFile(t, env["GITHUB_OUTPUT"]))
	assert.Equal(t, tok, outputs["token"])
	require.NotEmpty(t, w.Entra.Issued())

	signed := len(w.vault.Signed())
	stdout = postOnGitHub(t, w, env)
	assert.Len(t, w.vault.Signed(), signed, "revoking needs no App JWT")
	testutil.AssertNoSecret(t, "post stdout", testutil.WithoutGitHubMasks(stdout), w.secrets()...)
}

func TestKeyVaultOnAzurePipelines(t *testing.T) {
	w := newVaultWorld(t)
	env := w.azureEnv(t)
	out := mainOnAzure(t, w, env)
	assert.NotEmpty(t, w.vault.Signed())
	assert.True(t, out.Masked(w.gh.Live()[0].Value))
	assert.True(t, out.Masked(w.PipelinesOIDC.JobToken), "the OIDC request's credential is masked")
	postOnAzure(t, w, env, out)
}

// TestKeyVaultFailures: each refusal is one line naming the fix, before any
// token exists, with nothing leaked.
func TestKeyVaultFailures(t *testing.T) {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	runFailures(t, newVaultWorld, []failure[*vaultWorld]{
		{"no role on the key", func(w *vaultWorld, env map[string]string) {
			w.vault.Import("ungranted", testutil.AppKey(t))
			env["INPUT_SIGNING-KEY"] = w.vault.URI("ungranted")
			env["INPUT_AZURE-CLIENT-ID"] = "11111111-2222-3333-4444-555555555555"
			w.Entra.Trust("11111111-2222-3333-4444-555555555555", w.GitHubOIDC.Federated())
		}, "Azure Key Vault answered 403 Forbidden: Caller is not authorized to perform action on resource."},
		{"no such key", func(w *vaultWorld, env map[string]string) {
			env["INPUT_SIGNING-KEY"] = w.vault.URI("nope")
		}, "Azure Key Vault answered 404 Not Found KeyNotFound"},
		{"not the App's key", func(w *vaultWorld, env map[string]string) {
			w.vault.Import("other", other)
			env["INPUT_SIGNING-KEY"] = w.vault.URI("other")
		}, "GitHub answered 401 Unauthorized: A JSON web token could not be decoded — signing-key azurekms://"},
		{"no federated credential", func(w *vaultWorld, env map[string]string) {
			env["INPUT_AZURE-CLIENT-ID"] = "99999999-2222-3333-4444-555555555555"
		}, "AADSTS700016"},
		{"vault refuses", func(w *vaultWorld, env map[string]string) {
			w.vault.Before = func(rw http.ResponseWriter, r *http.Request) bool {
				if strings.HasSuffix(r.URL.Path, "/sign") {
					rw.WriteHeader(http.StatusServiceUnavailable)
					return true
				}
				return false
			}
		}, "failed to sign: Azure Key Vault answered 503 Service Unavailable"},
	})
}

func TestSigningKeyInputs(t *testing.T) {
	t.Parallel()
	gh := azfake.NewGitHubOIDC("octo/app")
	defer gh.Close()
	prep := func(v map[string]string, oidc host.OIDC) []string {
		in := inputs.ValuesOf(v)
		r := onRunner(t, in, "octo/app")
		r.OIDC = oidc
		_, ps := ghapp.New().Prepare(r)
		var out []string
		for _, p := range ps {
			out = append(out, p.Error())
		}
		return out
	}
	base := func(kv ...string) map[string]string {
		m := map[string]string{ghapp.ClientID.Key: "Iv23liX", ghapp.SigningKey.Key: "azurekms://ci-vault.vault.azure.net/github-app",
			cloudid.AzureClientID.Key: kvClientID, cloudid.AzureTenantID.Key: "contoso.onmicrosoft.com"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	assert.Empty(t, prep(base(), host.PlannedOIDC{}))
	assert.Equal(t, []string{"input signing-key: cannot be used with private-key: the App's key is either in a KMS or a secret; remove private-key (and delete the secret)"},
		prep(base(ghapp.PrivateKey.Key, testutil.AppKeyPEM(t)), host.PlannedOIDC{}))
	assert.Equal(t, []string{`input signing-key: "azurekms://evil.example/app" names host "evil.example", which is not a Key Vault or Managed HSM host; use azurekms://<vault>.vault.azure.net/<key>[/<version>] (a Managed HSM's host is <name>.managedhsm.azure.net)`},
		prep(base(ghapp.SigningKey.Key, "azurekms://evil.example/app"), host.PlannedOIDC{}))
	ps := prep(base(cloudid.AzureClientID.Key, ""), host.PlannedOIDC{})
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0], "input azure-client-id: is required for an azurekms:// signing-key")
	ps = prep(base(), host.PlannedOIDC{Unavailable: errors.New("ACTIONS_ID_TOKEN_REQUEST_URL is not set: give the job `permissions: id-token: write`")})
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0], "needs the job's OIDC token, but")
	assert.Contains(t, ps[0], "id-token: write")
	ps = prep(map[string]string{ghapp.ClientID.Key: "Iv23liX"}, host.PlannedOIDC{})
	require.Len(t, ps, 1)
	assert.Contains(t, ps[0], "input private-key: is required for github; set it to the App's private key")
	assert.Contains(t, ps[0], "signing-key")
}

// TestKeyVaultCheck: plan --check signs one JWT in the vault and calls GET
// /app, then looks the installation up; a key that is not the App's is
// named with its fingerprint.
func TestKeyVaultCheck(t *testing.T) {
	w := newVaultWorld(t)
	// By hand, the Azure CLI's sign-in: a stand-in az prints the token
	// Entra would give the signed-in identity for Key Vault.
	now := time.Now()
	tok := w.Tenant.Issuer.Sign(jwt.MapClaims{"aud": azfake.VaultResource, "tid": w.Tenant.ID, "appid": kvClientID, "oid": "o",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	bin := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\necho '{\"accessToken\":\"%s\",\"expiresOn\":\"%s\",\"expires_on\":%d,\"tenant\":\"%s\",\"tokenType\":\"Bearer\"}'\n",
		tok, now.Add(time.Hour).Format("2006-01-02 15:04:05.000000"), now.Add(time.Hour).Unix(), w.Tenant.ID)
	require.NoError(t, os.WriteFile(filepath.Join(bin, "az"), []byte(script), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	env := map[string]string{"HOME": t.TempDir()}
	args := []string{"jobtoken", "plan", "--check", "--provider", "github", "--client-id", w.gh.ClientID, "--github-api-url", w.gh.URL,
		"--signing-key", w.vault.URI("github-app"), "--repository", "octo/app", "--permissions", "contents:read"}
	check := func() (int, string) {
		code, stdout, stderr := w.run(t, env, args...)
		testutil.AssertNoSecret(t, "output", stdout+stderr, append(w.secrets(), tok)...)
		return code, stdout + stderr
	}
	code, out := check()
	require.Equal(t, 0, code, out)
	assert.Regexp(t, `JWT signed in Azure Key Vault with azurekms://127\.0\.0\.1:\d+/github-app \(public key SHA256:\S+\); GET /app: App jobtoken-test \(4242\)`, out)
	assert.Len(t, w.vault.Signed(), 1, "one JWT for GET /app and the lookup")
	assert.Empty(t, w.gh.Minted(), "a check mints nothing")

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	w.vault.Import("github-app", other)
	code, out = check()
	require.Equal(t, 1, code, out)
	assert.Contains(t, out, "check failed: failed to authenticate as the App: GitHub answered 401 Unauthorized: A JSON web token could not be decoded — --signing-key "+w.vault.URI("github-app")+" (public key SHA256:")
	assert.Contains(t, out, "is not a key of App "+w.gh.ClientID)
}

// TestKeyVaultCheckFromAFileUsesOnlyKeysTheCommandLineNames: a workflow
// (perhaps from someone else's pull request) names a signing-key; --check by
// hand would sign in to it with the person's own cloud credentials, and
// send the JWT it signs to the file's github-api-url. It refuses both until
// the command line names the same values.
func TestKeyVaultCheckFromAFileUsesOnlyKeysTheCommandLineNames(t *testing.T) {
	w := newVaultWorld(t)
	t.Setenv("PATH", t.TempDir()) // no az: nothing may try to sign in
	wf := filepath.Join(t.TempDir(), "wf.yml")
	require.NoError(t, os.WriteFile(wf, []byte(`on: push
jobs:
  build:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
    steps:
      - uses: jobtoken/jobtoken@v1
        with:
          provider: github
          client-id: `+w.gh.ClientID+`
          signing-key: `+w.vault.URI("github-app")+`
          azure-client-id: `+kvClientID+`
          azure-tenant-id: `+w.Tenant.ID+`
          github-api-url: `+w.gh.URL+`
          permissions: contents:read
`), 0o600))
	env := map[string]string{"HOME": t.TempDir()}
	args := []string{"jobtoken", "plan", "--workflow", wf, "--check", "--repository", "octo/app"}

	code, stdout, stderr := w.run(t, env, args...)
	assert.Equal(t, 1, code, stdout+stderr)
	assert.Contains(t, stdout, "check refused: the workflow sets signing-key to "+w.vault.URI("github-app")+", and --check would sign in there with your own cloud credentials")
	assert.Contains(t, stdout, "pass the same --signing-key "+w.vault.URI("github-app")+" on the command line")

	code, stdout, stderr = w.run(t, env, append(args, "--signing-key", w.vault.URI("github-app"))...)
	assert.Equal(t, 1, code, stdout+stderr)
	assert.Contains(t, stdout, "check refused: the workflow sets github-api-url to "+w.gh.URL+", and --signing-key comes from the command line")
	assert.Empty(t, w.vault.Signed(), "nothing was signed")
	assert.Zero(t, w.gh.Requests(), "no JWT went where the file points")
}

// TestKeyVaultRefreshHandsTheBrokerTheOIDCRequest: with a signing-key, each
// refresh signs a new JWT, which needs a fresh OIDC token: the broker is
// handed what requesting one takes (over its pipe). With a private key it
// is handed nothing of the kind.
func TestKeyVaultRefreshHandsTheBrokerTheOIDCRequest(t *testing.T) {
	for _, keyless := range []bool{true, false} {
		t.Run(fmt.Sprintf("keyless=%v", keyless), func(t *testing.T) {
			w := newVaultWorld(t)
			env := w.githubEnv(t)
			if !keyless {
				delete(env, "INPUT_SIGNING-KEY")
				env["INPUT_PRIVATE-KEY"] = testutil.AppKeyPEM(t)
			}
			env["INPUT_REFRESH"], env["INPUT_REFRESH-UNTIL"] = "true", "10m"
			env["RUNNER_TEMP"] = t.TempDir()
			env["GITHUB_PATH"] = env["GITHUB_OUTPUT"] + ".path"
			var handoff struct {
				OIDC map[string]string `json:"oidc"`
			}
			var out, errb bytes.Buffer
			set := &secret.Set{}
			o, e := secret.NewWriter(&out, set), secret.NewWriter(&errb, set)
			instant := providertest.Instant
			c := &cli.Env{Args: []string{"/jobtoken"}, Getenv: testutil.Getenv(env), Stdout: o, Stderr: e, RawStdout: o, RawStderr: e,
				Secrets: set, Transport: w.Entra.Client().Transport, Retry: &instant,
				StartBroker: func(b []byte) error {
					require.NoError(t, json.Unmarshal(b, &handoff))
					return errors.New("no broker in this test")
				}}
			code := c.Run(context.Background())
			_ = o.Flush()
			_ = e.Flush()
			require.Equal(t, 1, code, "the broker did not start: main fails\n%s%s", out.String(), errb.String())
			// The token was published and saved before the broker was
			// asked to start: the post step revokes it.
			postOnGitHub(t, w, env)
			if keyless {
				assert.Equal(t, w.GitHubOIDC.RequestToken, handoff.OIDC["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
				assert.Equal(t, w.GitHubOIDC.RequestURL(), handoff.OIDC["ACTIONS_ID_TOKEN_REQUEST_URL"])
			} else {
				assert.Empty(t, handoff.OIDC, "a private key needs no OIDC token: the broker gets none")
			}
			testutil.AssertNoSecret(t, "stdout", testutil.WithoutGitHubMasks(out.String()), w.secrets()...)
		})
	}
}

// TestKeylessCloudInputs: an awskms:// or gcpkms:// signing-key needs what
// trusts the job's OIDC token (a role, a pool provider) and an OIDC token it
// trusts: each gap is one problem naming the input and the fix.
func TestKeylessCloudInputs(t *testing.T) {
	t.Parallel()
	noConn := func(string) (host.ServiceConnection, error) {
		return host.ServiceConnection{}, errors.New("service connection x is not shared with this pipeline")
	}
	// Each cloud's problem in each situation, in this order.
	situations := []struct {
		name       string
		trustee    bool // the role or pool provider is set
		oidc       host.OIDC
		connection func(string) (host.ServiceConnection, error)
		conn       string // azure-service-connection
	}{
		{name: "no trustee", oidc: host.PlannedOIDC{}},
		{name: "no OIDC token", trustee: true, oidc: host.PlannedOIDC{Unavailable: errors.New("give the job `permissions: id-token: write`")}},
		{name: "no workload identity", trustee: true},
		{name: "pipelines without a service connection", trustee: true, connection: noConn},
		{name: "pipelines with a connection it cannot use", trustee: true, connection: noConn, conn: "x"},
	}
	for _, cloud := range []struct {
		key     string
		trustee inputs.Input
		value   string
		want    []string
	}{
		{"awskms:///arn:aws:kms:eu-west-1:111122223333:alias/github-app", cloudid.AWSRoleARN, awsRole, []string{
			"input aws-role-arn: is required for an awskms:// signing-key; set it to the role that trusts this job's OIDC token and may use the key (kms:GetPublicKey, kms:Sign)",
			"input aws-role-arn: needs the job's OIDC token, but give the job `permissions: id-token: write`",
			"input signing-key: an awskms:// signing-key needs workload identity (GitHub Actions or Azure Pipelines) or, by hand, your AWS credentials",
			"input azure-service-connection: is required for an awskms:// signing-key on Azure Pipelines: the role trusts the OIDC token of that service connection",
			"input azure-service-connection: service connection x is not shared with this pipeline",
		}},
		{"gcpkms://" + gcpKey, cloudid.GCPWorkloadIdentityProvider, gcpProvider, []string{
			"input gcp-workload-identity-provider: is required for a gcpkms:// signing-key; set it to the workload identity pool provider that trusts this job's OIDC token",
			"input gcp-workload-identity-provider: needs the job's OIDC token, but give the job `permissions: id-token: write`",
			"input signing-key: a gcpkms:// signing-key needs workload identity (GitHub Actions or Azure Pipelines) or, by hand, Application Default Credentials",
			"input azure-service-connection: is required for a gcpkms:// signing-key on Azure Pipelines: the pool provider trusts the OIDC token of that service connection",
			"input azure-service-connection: service connection x is not shared with this pipeline",
		}},
	} {
		for i, sit := range situations {
			t.Run(cloud.trustee.Key+", "+sit.name, func(t *testing.T) {
				in := map[string]string{ghapp.ClientID.Key: "Iv23liX", ghapp.SigningKey.Key: cloud.key, cloudid.AzureServiceConnection.Key: sit.conn}
				if sit.trustee {
					in[cloud.trustee.Key] = cloud.value
				}
				r := onRunner(t, inputs.ValuesOf(in), "octo/app")
				r.OIDC, r.Connection = sit.oidc, sit.connection
				_, ps := ghapp.New().Prepare(r)
				var got []string
				for _, p := range ps {
					got = append(got, p.Error())
				}
				assert.Equal(t, []string{cloud.want[i]}, got)
			})
		}
	}
}
