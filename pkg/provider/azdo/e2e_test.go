package azdo_test

// End-to-end: the main and post stages through the CLI entry point, as the
// GitHub runner and the Azure Pipelines agent run them, against the fakes.

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/cli"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agent"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agenttest"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions/runnertest"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// stage runs jobtoken as argv0 with args. cli.Main is the real entry point;
// the Entra path needs the TLS fake's transport and some tests move the clock,
// so those go through cli.Env, which Main fills the same way.
type stage struct {
	env       map[string]string
	transport http.RoundTripper
	now       func() time.Time
}

func (s stage) run(t *testing.T, argv0 string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	argv := append([]string{argv0}, args...)
	if s.transport == nil && s.now == nil {
		code := cli.Main(context.Background(), &out, &errb, nil, argv, testutil.Getenv(s.env))
		return code, out.String(), errb.String()
	}
	set := &secret.Set{}
	o, e := secret.NewWriter(&out, set), secret.NewWriter(&errb, set)
	env := &cli.Env{Args: argv, Getenv: testutil.Getenv(s.env), Stdout: o, Stderr: e, RawStdout: o, RawStderr: e,
		Secrets: set, Transport: s.transport, Retry: &instant, Now: s.now}
	code := env.Run(context.Background())
	_ = o.Flush()
	_ = e.Flush()
	return code, out.String(), errb.String()
}

// githubEnv is what the runner gives the action: every input (given, keyed
// by action.yml input name, for provider azure-devops), defaults filled.
func githubEnv(t *testing.T, given map[string]string) map[string]string {
	t.Helper()
	in := map[string]string{"provider": "azure-devops"}
	maps.Copy(in, given)
	return runnertest.StepEnv(t, in)
}

// githubStep is githubEnv for a step that asks this world's API for a PAT
// with permissions in the contoso organization, with the world's parent.
func (w *patWorld) githubStep(t *testing.T, permissions string) map[string]string {
	t.Helper()
	return githubEnv(t, map[string]string{
		"permissions": permissions, "azure-devops-organization": "contoso",
		"azure-devops-api-url": w.api.URL, "azure-access-token": w.parent,
	})
}

func TestGitHubPATMainThenPost(t *testing.T) {
	w := newPATWorld(t)
	env := githubEnv(t, map[string]string{
		"permissions": "vso.code_write\nvso.packaging", "lifetime": "30m",
		"azure-devops-organization": "contoso", "azure-devops-api-url": w.api.URL,
		"azure-access-token": w.parent, "export-env": "AZURE_DEVOPS_EXT_PAT",
	})
	code, stdout, stderr := stage{env: env}.run(t, "/jobtoken")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	live := w.api.Live()
	require.Len(t, live, 1)
	p := live[0]
	pat := p.Token
	basic := secret.BasicAuth("", pat)
	assert.Regexp(t, `^jobtoken octo/app run 9\.1 [0-9a-f]{6}$`, p.DisplayName)

	// Masked before use: the parent, the PAT and its basic-auth form.
	for _, m := range []string{w.parent, pat, basic} {
		assert.Contains(t, stdout, "::add-mask::"+m+"\n")
	}
	assert.Less(t, strings.Index(stdout, "::add-mask::"+pat), strings.Index(stdout, "minted azure-devops token"))

	testutil.AssertTokenOutputs(t, env["GITHUB_OUTPUT"], testutil.TokenOutputs{Token: pat, TokenID: p.AuthorizationID, Permissions: "vso.code_write vso.packaging", ExpiresAt: p.ValidTo})

	exported, _ := testutil.Heredocs(t, testutil.ReadFile(t, env["GITHUB_ENV"]))
	assert.Equal(t, map[string]string{"AZURE_DEVOPS_EXT_PAT": pat}, exported)

	summary := testutil.ReadFile(t, env["GITHUB_STEP_SUMMARY"])
	assert.Contains(t, summary, "| Organization | contoso |")
	assert.Contains(t, summary, "| Token ID | `"+p.AuthorizationID+"` |")
	assert.Contains(t, summary, "| Revocation | in the post step |")

	secrets := []string{w.parent, pat, basic}
	testutil.AssertGitHubStepClean(t, testutil.GitHubStep{Stdout: stdout, Stderr: stderr, Summary: summary,
		Output: testutil.ReadFile(t, env["GITHUB_OUTPUT"]), Env: testutil.ReadFile(t, env["GITHUB_ENV"])}, secrets...)

	state, _ := testutil.Heredocs(t, testutil.ReadFile(t, env["GITHUB_STATE"]))
	env["STATE_jobtoken"] = state["jobtoken"]
	code, stdout, stderr = stage{env: env}.run(t, "/jobtoken-post")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Empty(t, w.api.Live(), "the PAT is revoked")
	assert.Contains(t, stdout, "Revoked azure-devops token "+p.AuthorizationID)
	testutil.AssertNoSecret(t, "post stdout", testutil.WithoutGitHubMasks(stdout), secrets...)
	testutil.AssertNoSecret(t, "post stderr", stderr, secrets...)

	// A re-run of the post step: still fine.
	code, _, _ = stage{env: env}.run(t, "/jobtoken-post")
	require.Equal(t, 0, code)
}

func TestGitHubPATParentExpiredBeforePost(t *testing.T) {
	w := newPATWorld(t)
	w.parent = w.tenant.UserToken("alice@contoso.com", 20*time.Minute)
	env := w.githubStep(t, "vso.code")
	code, stdout, _ := stage{env: env}.run(t, "/jobtoken")
	require.Equal(t, 0, code, stdout)
	state, _ := testutil.Heredocs(t, testutil.ReadFile(t, env["GITHUB_STATE"]))
	env["STATE_jobtoken"] = state["jobtoken"]

	// The job ran 40 minutes: the parent is gone, the PAT is not.
	later := func() time.Time { return time.Now().Add(40 * time.Minute) }
	code, stdout, _ = stage{env: env, now: later}.run(t, "/jobtoken-post")
	require.Equal(t, 0, code, "a failed revocation warns, it does not fail the job")
	assert.Regexp(t, `::warning::Failed to revoke token [0-9a-f-]{36}: the parent azure-access-token expired at \S+, so Azure DevOps would refuse the revocation; keep lifetime short, or revoke the PAT by hand \(User settings → Personal access tokens\); it stays valid until \S+`, stdout)
	assert.Len(t, w.api.Live(), 1)
}

func TestGitHubEntraMainThenPost(t *testing.T) {
	ew := newEntraWorld(t)
	ew.Entra.Trust(clientID, ew.GitHubOIDC.Federated())
	env := githubEnv(t, map[string]string{
		"azure-credential": "entra", "azure-client-id": clientID, "azure-tenant-id": ew.Tenant.ID,
		"export-env": "AZURE_DEVOPS_TOKEN",
	})
	maps.Copy(env, ew.githubEnv())
	st := stage{env: env, transport: ew.Entra.Client().Transport}

	code, stdout, stderr := st.run(t, "/jobtoken")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Len(t, ew.Entra.Issued(), 1)
	tok := ew.Entra.Issued()[0]
	assertion := ew.GitHubOIDC.Issued()[0]
	for _, m := range []string{tok, secret.BasicAuth("", tok), assertion, ew.GitHubOIDC.RequestToken} {
		assert.Contains(t, stdout, "::add-mask::"+m+"\n")
	}
	outputs, _ := testutil.Heredocs(t, testutil.ReadFile(t, env["GITHUB_OUTPUT"]))
	assert.Equal(t, tok, outputs["token"])
	assert.Equal(t, "499b84ac-1321-427f-aa17-267ca6975798/.default", outputs["permissions"])
	summary := testutil.ReadFile(t, env["GITHUB_STEP_SUMMARY"])
	assert.Contains(t, summary, "| Revocation | cannot be revoked; it expires at ")
	assert.Contains(t, summary, "| Narrowing | none: carries everything the identity may do in Azure DevOps |")
	secrets := []string{tok, assertion, ew.GitHubOIDC.RequestToken}
	testutil.AssertNoSecret(t, "stdout", testutil.WithoutGitHubMasks(stdout), secrets...)
	testutil.AssertNoSecret(t, "summary", summary, secrets...)

	state, _ := testutil.Heredocs(t, testutil.ReadFile(t, env["GITHUB_STATE"]))
	env["STATE_jobtoken"] = state["jobtoken"]
	code, stdout, _ = st.run(t, "/jobtoken-post")
	require.Equal(t, 0, code)
	assert.Regexp(t, `::notice::Token sha256:[0-9a-f]{12} cannot be revoked; expires at \S+`, stdout)
	testutil.AssertNoSecret(t, "post stdout", testutil.WithoutGitHubMasks(stdout), secrets...)
}

func TestGitHubBadInputFailsBeforeAnyCall(t *testing.T) {
	w := newPATWorld(t)
	env := githubEnv(t, map[string]string{
		"permissions": "vso.cod app_token", "azure-devops-organization": "contoso",
		"azure-devops-api-url": w.api.URL, "azure-access-token": w.tenant.AppToken(clientID, time.Hour, true),
	})
	code, stdout, _ := stage{env: env}.run(t, "/jobtoken")
	require.Equal(t, 1, code)
	assert.Empty(t, w.api.Requests())
	golden(t, "badinput-github.golden", normalize(testutil.WithoutGitHubMasks(stdout), w.api.URL))
}

func TestGitHubEntraWithoutIDTokenPermission(t *testing.T) {
	ew := newEntraWorld(t)
	env := githubEnv(t, map[string]string{
		"azure-credential": "entra", "azure-client-id": clientID, "azure-tenant-id": ew.Tenant.ID,
		"permissions": "vso.code",
	})
	code, stdout, _ := stage{env: env, transport: ew.Entra.Client().Transport}.run(t, "/jobtoken")
	require.Equal(t, 1, code)
	assert.Empty(t, ew.Entra.Requests())
	assert.Contains(t, stdout, "::error::input azure-credential: entra needs the job's OIDC token, but ACTIONS_ID_TOKEN_REQUEST_URL is not set: give the job `permissions: id-token: write` (workflows run from a fork's pull request never get one)\n")
	assert.Contains(t, stdout, "::error::input permissions: must be empty with azure-credential: entra")
}

var (
	suffixRE = regexp.MustCompile(`(run \d+\.\d+) [0-9a-f]{6}`)
	timeRE   = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
)

// normalize replaces what changes from run to run in a golden text.
func normalize(s, url string) string {
	s = strings.ReplaceAll(s, url, "<api-url>")
	s = suffixRE.ReplaceAllString(s, "$1 <suffix>")
	return timeRE.ReplaceAllString(s, "<time>")
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", name), got)
}

func TestGitHubDryRunGolden(t *testing.T) {
	w := newPATWorld(t)
	env := w.githubStep(t, "vso.code vso.packaging_write")
	env["INPUT_DRY-RUN"] = "true"
	code, stdout, stderr := stage{env: env}.run(t, "/jobtoken")
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, w.api.Requests(), "a dry run makes no call")
	assert.Empty(t, testutil.ReadFile(t, env["GITHUB_OUTPUT"]))
	golden(t, "dryrun-github-pat.golden", normalize(testutil.WithoutGitHubMasks(stdout), w.api.URL))

	ew := newEntraWorld(t)
	env = githubEnv(t, map[string]string{
		"azure-credential": "entra", "azure-client-id": clientID, "azure-tenant-id": "11111111-2222-4333-8444-555555555555",
		"dry-run": "true",
	})
	maps.Copy(env, ew.githubEnv())
	code, stdout, stderr = stage{env: env}.run(t, "/jobtoken")
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, ew.Entra.Requests())
	golden(t, "dryrun-github-entra.golden", normalize(testutil.WithoutGitHubMasks(stdout), ew.Entra.URL))
}

// azureEnv is the step the agent gives the task in build 42 of an Azure
// Repos repository in contoso (the organization the PAT defaults to), with
// the azure-devops inputs given (by their task.json names) and vars (a
// service connection's).
func azureEnv(t *testing.T, given, vars map[string]string) map[string]string {
	t.Helper()
	in := map[string]string{"provider": "azure-devops"}
	maps.Copy(in, given)
	env := agenttest.StepEnv(t, in)
	maps.Copy(env, agenttest.Organization("contoso"))
	env["BUILD_REPOSITORY_PROVIDER"], env["BUILD_BUILDID"] = "TfsGit", "42"
	maps.Copy(env, vars)
	return env
}

type azureRun struct {
	masks map[string]bool
	vars  map[string]azpipelines.Command
	state string
	plain string
}

func parseAzure(t *testing.T, stdout string) azureRun {
	t.Helper()
	r := azureRun{masks: map[string]bool{}, vars: map[string]azpipelines.Command{}}
	var plain []string
	for _, line := range azpipelines.Lines(stdout) {
		c, ok := azpipelines.Parse(line)
		switch {
		case ok && c.Name == "task.setsecret":
			r.masks[c.Data] = true
		case ok && c.Name == "task.setvariable":
			r.vars[c.Prop("variable")] = c
		case ok && c.Name == "task.settaskvariable" && c.Prop("variable") == "jobtoken":
			assert.Equal(t, "true", c.Prop("issecret"))
			r.state = c.Data
		}
		if !ok || !agent.CarriesSecret(&c) {
			plain = append(plain, line)
		}
	}
	r.plain = strings.Join(plain, "\n")
	return r
}

func TestAzurePATMainThenPost(t *testing.T) {
	w := newPATWorld(t)
	env := azureEnv(t, map[string]string{
		"permissions": "vso.code, vso.build_execute", "lifetime": "45m",
		"azureDevOpsApiUrl": w.api.URL, "azureAccessToken": w.parent, "exportEnv": "AZURE_DEVOPS_EXT_PAT",
	}, nil)
	code, stdout, stderr := stage{env: env}.run(t, "/jobtoken", "main")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	live := w.api.Live()
	require.Len(t, live, 1)
	p := live[0]
	pat := p.Token
	assert.Equal(t, "contoso", p.Org, "the organization defaults to the pipeline's")
	assert.Regexp(t, `^jobtoken octo/app run 42\.1 [0-9a-f]{6}$`, p.DisplayName)
	assert.WithinDuration(t, time.Now().Add(45*time.Minute), p.ValidTo, 10*time.Second)

	r := parseAzure(t, stdout)
	for _, m := range []string{w.parent, pat, secret.BasicAuth("", pat)} {
		assert.True(t, r.masks[m], "task.setsecret for %.10s…", m)
	}
	assert.Equal(t, pat, r.vars["token"].Data)
	assert.Equal(t, "true", r.vars["token"].Prop("issecret"))
	assert.Equal(t, "true", r.vars["token"].Prop("isoutput"))
	assert.Equal(t, p.AuthorizationID, r.vars["tokenId"].Data)
	assert.Equal(t, pat, r.vars["AZURE_DEVOPS_EXT_PAT"].Data)
	assert.Equal(t, "true", r.vars["AZURE_DEVOPS_EXT_PAT"].Prop("issecret"))
	var saved struct {
		Token        string            `json:"token"`
		ID           string            `json:"id"`
		Destinations map[string]string `json:"destinations"`
		State        map[string]string `json:"state"`
	}
	testutil.StatePayload(t, r.state, &saved)
	assert.Equal(t, p.AuthorizationID, saved.ID)
	assert.Equal(t, map[string]string{"azure-devops-organization": "contoso", "azure-devops-api-url": w.api.URL}, saved.Destinations)
	assert.Equal(t, map[string]string{"credential": "pat"}, saved.State)

	secrets := []string{w.parent, pat, secret.BasicAuth("", pat)}
	testutil.AssertNoSecret(t, "stdout outside secret-carrying commands", r.plain, secrets...)
	testutil.AssertNoSecret(t, "stderr", stderr, secrets...)
	sums, _ := filepath.Glob(filepath.Join(env["AGENT_TEMPDIRECTORY"], "*.md"))
	require.Len(t, sums, 1)
	summary := testutil.ReadFile(t, sums[0])
	assert.Contains(t, summary, "| Organization | contoso |")
	testutil.AssertNoSecret(t, "summary", summary, secrets...)

	env["VSTS_TASKVARIABLE_JOBTOKEN"] = r.state
	code, stdout, stderr = stage{env: env}.run(t, "/jobtoken", "post")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Empty(t, w.api.Live(), "the PAT is revoked")
	assert.Contains(t, stdout, "Revoked azure-devops token "+p.AuthorizationID)
	testutil.AssertNoSecret(t, "post stdout", parseAzure(t, stdout).plain, secrets...)
	testutil.AssertNoSecret(t, "post stderr", stderr, secrets...)
}

func TestAzureEntraMainThenPost(t *testing.T) {
	ew := newEntraWorld(t)
	ew.Entra.Trust(clientID, ew.PipelinesOIDC.Federated("deploy-conn"))
	env := azureEnv(t, map[string]string{"azureCredential": "entra", "azureServiceConnection": connID}, ew.azureEnv())
	st := stage{env: env, transport: ew.Entra.Client().Transport}

	code, stdout, stderr := st.run(t, "/jobtoken", "main")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Len(t, ew.Entra.Issued(), 1)
	tok := ew.Entra.Issued()[0]
	r := parseAzure(t, stdout)
	for _, m := range []string{tok, ew.PipelinesOIDC.Issued()[0], ew.PipelinesOIDC.JobToken} {
		assert.True(t, r.masks[m], "task.setsecret for %.10s…", m)
	}
	assert.Equal(t, tok, r.vars["token"].Data)
	secrets := []string{tok, ew.PipelinesOIDC.Issued()[0], ew.PipelinesOIDC.JobToken}
	testutil.AssertNoSecret(t, "stdout outside secret-carrying commands", r.plain, secrets...)
	testutil.AssertNoSecret(t, "stderr", stderr, secrets...)

	env["VSTS_TASKVARIABLE_JOBTOKEN"] = r.state
	code, stdout, _ = st.run(t, "/jobtoken", "post")
	require.Equal(t, 0, code)
	assert.Regexp(t, `Token sha256:[0-9a-f]{12} cannot be revoked; expires at \S+`, stdout)
	testutil.AssertNoSecret(t, "post stdout", parseAzure(t, stdout).plain, secrets...)
}

func TestAzureBadInputNamesAzureInputs(t *testing.T) {
	ew := newEntraWorld(t)
	vars := ew.azureEnv()
	vars["ENDPOINT_AUTH_SCHEME_"+connID] = "ServicePrincipal"
	env := azureEnv(t, map[string]string{
		"azureCredential": "entra", "permissions": "vso.code", "lifetime": "15m", "azureServiceConnection": connID,
	}, vars)
	code, stdout, _ := stage{env: env, transport: ew.Entra.Client().Transport}.run(t, "/jobtoken", "main")
	require.Equal(t, 1, code)
	assert.Empty(t, ew.Entra.Requests())
	golden(t, "badinput-azure.golden", normalize(stdout, ew.Entra.URL))
}
