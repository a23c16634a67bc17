package main_test

import (
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/broker"
	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/record"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

const (
	entraClientID = "6f1c2a0e-7b4d-4c8e-9a51-3d2e1f0a9b8c"
	entraConnID   = "9a3e5b1c-2d4f-4a6b-8c7d-0e1f2a3b4c5d"
)

// entraWorld is Microsoft Entra issuing Azure DevOps tokens that live
// seconds to an app that trusts both CI systems' OIDC tokens.
type entraWorld struct {
	tenant *azfake.Tenant
	entra  *azfake.Entra
	gh     *azfake.GitHubOIDC
	pipes  *azfake.PipelinesOIDC
	ca     string
}

func newEntraBrokerWorld(t *testing.T, life time.Duration) *entraWorld {
	w := &entraWorld{tenant: azfake.NewTenant()}
	w.entra = azfake.NewEntra(w.tenant)
	w.entra.TokenLife = life
	w.gh = azfake.NewGitHubOIDC("octo/app")
	w.pipes = azfake.NewPipelinesOIDC("contoso", "web")
	w.pipes.Connections[entraConnID] = "deploy-conn"
	w.entra.Trust(entraClientID, w.gh.Federated(), w.pipes.Federated("deploy-conn"))
	t.Cleanup(func() { w.entra.Close(); w.gh.Close(); w.pipes.Close() })
	w.ca = writePEM(t, w.entra.Certificate())
	return w
}

// live reports whether tok is an access token Entra issued that has not
// expired.
func (w *entraWorld) live(tok string) bool {
	if !slices.Contains(w.entra.Issued(), tok) {
		return false
	}
	c, err := w.tenant.Issuer.Verify(tok, time.Now())
	return err == nil && c != nil
}

// brokerEnviron is the environment of the broker process: it must hold no
// credential of the step (Linux only: /proc).
func brokerEnviron(t *testing.T, socket, key string) string {
	t.Helper()
	st, err := broker.Ask(socket, broker.Request{Key: key, Op: broker.OpStatus})
	require.NoError(t, err)
	b, err := os.ReadFile("/proc/" + strconv.Itoa(st.PID) + "/environ")
	if err != nil {
		t.Logf("cannot read the broker's environment: %s", err)
		return ""
	}
	return string(b)
}

// checkEntraRefreshes waits for several refreshes and checks that jobtoken
// token answers with a live token of the latest ones, each from a fresh OIDC
// token.
func checkEntraRefreshes(t *testing.T, w *entraWorld, later []string, oidcIssued func() []string) {
	t.Helper()
	waitFor(t, "three refreshes", func() bool { return len(w.entra.Issued()) >= 4 })
	issued := w.entra.Issued()
	assert.Len(t, slices.Compact(slices.Clone(issued)), len(issued), "each exchange a new token")
	assert.GreaterOrEqual(t, len(oidcIssued()), 4, "each exchange with a fresh OIDC token")
	tok := strings.TrimSpace(runLater(t, later, "token"))
	assert.True(t, w.live(tok), "jobtoken token prints a live Entra token")
	assert.NotEqual(t, issued[0], tok, "not the first one")
	// The token of a later moment is still live: the broker keeps ahead.
	time.Sleep(3 * time.Second)
	tok2 := strings.TrimSpace(runLater(t, later, "token"))
	assert.True(t, w.live(tok2), "still live after a token's life")
	out, err := runLaterErr(later, "token", "--owner", "other")
	require.Error(t, err)
	assert.Contains(t, out, "no token for account")
}

func TestBrokerRefreshesEntraOnGitHubActions(t *testing.T) {
	w := newEntraBrokerWorld(t, 6*time.Second)
	bin, _ := binary(t)
	r := newRunner(t, map[string]string{"provider": "azure-devops", "azure-credential": "entra", "azure-client-id": entraClientID,
		"azure-tenant-id": w.tenant.ID, "refresh": "true", "refresh-until": "10m"})
	r.env = append(r.env, "SSL_CERT_FILE="+w.ca, "AZURE_AUTHORITY_HOST="+w.entra.AuthorityHost(),
		"ACTIONS_ID_TOKEN_REQUEST_URL="+w.gh.RequestURL(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN="+w.gh.RequestToken)
	stdout, stderr, env := r.runBrokerMain(t, bin)
	assert.NotContains(t, brokerEnviron(t, env[broker.EnvSocket], env[broker.EnvKey]), w.gh.RequestToken, "the request token reaches the broker over its pipe only")
	later := []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		later = append(later, k+"="+v)
	}
	checkEntraRefreshes(t, w, later, w.gh.Issued)

	post := r.post(t)
	assert.Contains(t, post, "cannot be revoked")
	assert.Contains(t, post, "broker log:")
	assert.Contains(t, post, "refreshed: token sha256:")
	all := testutil.WithoutGitHubMasks(stdout+post) + stderr
	testutil.AssertNoSecret(t, "output", all, append(append(w.entra.Issued(), w.gh.Issued()...), w.gh.RequestToken)...)
	_, err := runLaterErr(later, "token")
	require.Error(t, err, "the broker stopped")
}

func TestBrokerRefreshesEntraOnAzurePipelines(t *testing.T) {
	w := newEntraBrokerWorld(t, 6*time.Second)
	bin, _ := binary(t)
	temp, err := os.MkdirTemp("", "ea")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(temp) })
	env := []string{"TF_BUILD=True", "AGENT_TEMPDIRECTORY=" + temp, "BUILD_BUILDID=7", "SYSTEM_JOBATTEMPT=1",
		"BUILD_REPOSITORY_NAME=web", "BUILD_REPOSITORY_PROVIDER=TfsGit", "PATH=" + os.Getenv("PATH"), "HOME=" + temp,
		"SSL_CERT_FILE=" + w.ca, "AZURE_AUTHORITY_HOST=" + w.entra.AuthorityHost(),
		"INPUT_PROVIDER=azure-devops", "INPUT_AZURECREDENTIAL=entra", "INPUT_AZURESERVICECONNECTION=" + entraConnID, "INPUT_REFRESH=true",
		"ENDPOINT_AUTH_SCHEME_" + entraConnID + "=WorkloadIdentityFederation",
		"ENDPOINT_AUTH_PARAMETER_" + entraConnID + "_SERVICEPRINCIPALID=" + entraClientID,
		"ENDPOINT_AUTH_PARAMETER_" + entraConnID + "_TENANTID=" + w.tenant.ID,
		"ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN=" + w.pipes.JobToken,
		"SYSTEM_OIDCREQUESTURI=" + w.pipes.RequestURI()}
	run := agentStage(t, bin, env)
	out := run("main")
	vars := map[string]string{}
	var state string
	for _, l := range azpipelines.Lines(out) {
		c, ok := azpipelines.Parse(l)
		switch {
		case ok && c.Name == "task.setvariable":
			vars[c.Prop("variable")] = c.Data
		case ok && c.Name == "task.settaskvariable":
			state = c.Data
		}
	}
	require.NotEmpty(t, vars[broker.EnvSocket], out)
	t.Cleanup(func() {
		_, _ = broker.Ask(vars[broker.EnvSocket], broker.Request{Key: vars[broker.EnvKey], Op: broker.OpStop})
	})
	environ := brokerEnviron(t, vars[broker.EnvSocket], vars[broker.EnvKey])
	assert.NotContains(t, environ, w.pipes.JobToken, "the job's access token reaches the broker over its pipe only")
	assert.NotContains(t, environ, "ENDPOINT_AUTH_PARAMETER_")
	later := []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range vars {
		later = append(later, k+"="+v)
	}
	checkEntraRefreshes(t, w, later, w.pipes.Issued)
	// Each OIDC token was the service connection's.
	for _, o := range w.pipes.Issued() {
		c := jwt.MapClaims{}
		_, _, err := jwt.NewParser().ParseUnverified(o, c)
		require.NoError(t, err)
		assert.Equal(t, w.pipes.Subject("deploy-conn"), c["sub"])
	}

	post := run("post", "VSTS_TASKVARIABLE_JOBTOKEN="+state)
	assert.Contains(t, post, "cannot be revoked")
	assert.Contains(t, post, "refreshed: token sha256:")
	// The main stage's output carries the token in secret variables, for
	// the agent; the broker's log is printed by post.
	all := post
	for _, s := range append(append(w.entra.Issued(), w.pipes.Issued()...), w.pipes.JobToken) {
		all = strings.ReplaceAll(all, "##vso[task.setsecret]"+s, "")
	}
	testutil.AssertNoSecret(t, "output", all, append(append(w.entra.Issued(), w.pipes.Issued()...), w.pipes.JobToken)...)
	_, err = runLaterErr(later, "token")
	require.Error(t, err, "the broker stopped")
}

// TestBrokerRefreshesWithKeyVault: signing-key azurekms:// with refresh on
// GitHub Actions. The broker holds no App key: each refresh gets a fresh
// OIDC token of the job, exchanges it at Microsoft Entra and signs the App
// JWT in Key Vault; later steps' git and jobtoken token get the fresh
// tokens, and post revokes every token.
func TestBrokerRefreshesWithKeyVault(t *testing.T) {
	w := newGitWorld(t, 6*time.Second)
	az := azfake.NewWorkload(entraConnID, "signer-conn")
	vault := azfake.NewVault(az.Tenant, az.Entra.URL)
	t.Cleanup(func() { az.Close(); vault.Close() })
	vault.Import("github-app", testutil.AppKey(t))
	vault.Grant(entraClientID)
	az.Entra.Trust(entraClientID, az.GitHubOIDC.Federated())
	// Every App JWT GitHub is shown.
	var jwts record.Log[string]
	w.fake.Before = func(_ http.ResponseWriter, r *http.Request) bool {
		if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			if _, _, err := jwt.NewParser().ParseUnverified(v, jwt.MapClaims{}); err == nil {
				jwts.Add(v)
			}
		}
		return false
	}
	env := []string{"SSL_CERT_FILE=" + writePEM(t, vault.Certificate())}
	for k, v := range az.GitHubEnv() {
		env = append(env, k+"="+v)
	}
	r, later, main := brokerStep(t, w, map[string]string{"private-key": "", "signing-key": vault.URI("github-app"),
		"azure-client-id": entraClientID, "azure-tenant-id": az.Tenant.ID}, env...)
	assert.Contains(t, main.Stdout, "Signing the App's JWTs with "+vault.URI("github-app")+" (Azure Key Vault")
	first := w.fake.Minted()
	require.Len(t, first, 2, "one token per account")
	signedByMain, oidcByMain := len(vault.Signed()), len(az.GitHubOIDC.Issued())
	require.NotZero(t, signedByMain)
	laterEnv := map[string]string{}
	for _, kv := range later {
		k, v, _ := strings.Cut(kv, "=")
		laterEnv[k] = v
	}
	environ := brokerEnviron(t, laterEnv[broker.EnvSocket], laterEnv[broker.EnvKey])
	assert.NotContains(t, environ, az.GitHubOIDC.RequestToken, "the request token reaches the broker over its pipe only")
	assert.NotContains(t, environ, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")

	waitFor(t, "a refresh", func() bool { return len(w.fake.Minted()) >= 4 })
	waitFor(t, "superseded tokens revoked", func() bool { return len(w.fake.Live()) <= 2 })
	rounds := len(w.fake.Minted()) / 2
	assert.GreaterOrEqual(t, len(vault.Signed())-signedByMain, rounds-1, "each refresh signs in the vault")
	assert.GreaterOrEqual(t, len(az.GitHubOIDC.Issued())-oidcByMain, rounds-1, "each refresh with a fresh OIDC token")
	// The step has no App key: every JWT GitHub accepted was signed in the
	// vault (RS256 is deterministic: two signatures of one second may make
	// one JWT).
	assert.LessOrEqual(t, len(slices.Compact(slices.Sorted(slices.Values(jwts.All())))), len(vault.Signed()))

	// A later step clones with git and asks jobtoken token: the fresh
	// tokens, not main's.
	gitRun(t, later, t.TempDir(), "clone", "-q", w.srv.URL+"/octo/app.git")
	used := liveToken(w, w.lastUsed("octo/app"))
	require.NotNil(t, used, "git got a live token")
	assert.Equal(t, int64(5), used.Installation)
	tok := liveToken(w, strings.TrimSpace(runLater(t, later, "token", "--owner", "acme")))
	require.NotNil(t, tok, "jobtoken token prints a live token")
	assert.Equal(t, int64(6), tok.Installation)
	for _, f := range first {
		assert.NotEqual(t, f.Value, used.Value, "a refreshed token")
		assert.NotEqual(t, f.Value, tok.Value, "a refreshed token")
	}

	post := r.post(t)
	assert.Empty(t, w.fake.Live(), "after post nothing is live")
	assert.Contains(t, post, "refresh(es) by the broker")
	assert.Contains(t, post, "broker log:")
	assert.Contains(t, post, "refreshed: token sha256:")
	// The state holds the main stage's token (for post, as with every
	// step), never what the job's workload identity gave.
	workload := append(append([]string{az.GitHubOIDC.RequestToken}, az.GitHubOIDC.Issued()...), az.Entra.Issued()...)
	secrets := append(tokenSecrets(w.fake.Minted()), workload...)
	testutil.AssertGitHubStepClean(t, main, secrets...)
	testutil.AssertNoSecret(t, "main's state", r.read("STATE"), workload...)
	testutil.AssertNoSecret(t, "post", testutil.WithoutGitHubMasks(post), secrets...)
	_, err := runLaterErr(later, "token")
	require.Error(t, err, "the broker stopped")
}
