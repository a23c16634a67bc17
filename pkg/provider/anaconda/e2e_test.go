package anaconda_test

// End-to-end: the main and post stages through cli.Main, as the GitHub runner
// and the Azure Pipelines agent run them, against the fake anaconda.org.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/cli"
	"github.com/jobtoken/jobtoken/pkg/fake/anacondafake"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agent"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agenttest"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions/runnertest"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

func newFake(t *testing.T) (*anacondafake.Server, string) {
	t.Helper()
	f := anacondafake.New(&anacondafake.Account{Login: "ana"}, &anacondafake.Account{Login: "conda-org", Org: true, Owners: []string{"ana"}})
	t.Cleanup(f.Close)
	// A fixed expiry keeps the plan golden stable.
	return f, f.AddAPIKey("ana", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
}

// run runs jobtoken as argv0 with args and env, and returns the exit code and
// streams. The GitHub runner starts the image's entrypoint (main) or its
// "-post" path; the Azure task's shim passes "main" or "post".
func run(t *testing.T, argv0 string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), &out, &errb, nil, append([]string{argv0}, args...), testutil.Getenv(env))
	return code, out.String(), errb.String()
}

// githubEnv is the step that asks fake for a token of conda-org with key.
func githubEnv(t *testing.T, fake *anacondafake.Server, key string) map[string]string {
	t.Helper()
	return runnertest.StepEnv(t, map[string]string{
		"provider": "anaconda", "permissions": "api:write\npypi:upload", "export-env": "ANACONDA_API_TOKEN",
		"anaconda-credential": key, "anaconda-api-url": fake.URL, "anaconda-organization": "conda-org",
	})
}

func TestGitHubMainThenPost(t *testing.T) {
	fake, key := newFake(t)
	env := githubEnv(t, fake, key)

	code, stdout, stderr := run(t, "/jobtoken", env)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	live := fake.Live()
	require.Len(t, live, 1)
	ft := live[0]
	tok := ft.Value
	assert.Equal(t, "conda-org", ft.Owner)
	assert.Equal(t, int64(3600), ft.MaxAge)
	assert.Equal(t, []string{"api:write", "pypi:upload"}, ft.Scopes)
	assert.Regexp(t, `^jobtoken octo:app run 9\.1 [0-9a-f]{6}$`, ft.Note)

	// Masked before anything else: the token, its channel-URL forms and the
	// parent credential.
	for _, m := range []string{key, tok, "/t/" + tok + "/", "https://conda.anaconda.org/t/" + tok} {
		assert.Contains(t, stdout, "::add-mask::"+m+"\n")
	}
	assert.Less(t, strings.Index(stdout, "::add-mask::"+tok), strings.Index(stdout, "minted anaconda token"))

	testutil.AssertTokenOutputs(t, env["GITHUB_OUTPUT"], testutil.TokenOutputs{Token: tok, TokenID: ft.Note, Permissions: "api:write pypi:upload", ExpiresAt: ft.ExpiresAt})

	exported, _ := testutil.Heredocs(t, testutil.ReadFile(t, env["GITHUB_ENV"]))
	assert.Equal(t, map[string]string{"ANACONDA_API_TOKEN": tok, "BINSTAR_API_TOKEN": tok}, exported)

	summary := testutil.ReadFile(t, env["GITHUB_STEP_SUMMARY"])
	assert.Contains(t, summary, "| Organization | conda-org |")
	assert.Contains(t, summary, "| Note | "+ft.Note+" |")

	secrets := []string{key, tok}
	testutil.AssertGitHubStepClean(t, testutil.GitHubStep{Stdout: stdout, Stderr: stderr, Summary: summary,
		Output: testutil.ReadFile(t, env["GITHUB_OUTPUT"]), Env: testutil.ReadFile(t, env["GITHUB_ENV"])}, secrets...)

	// Post: the runner hands GITHUB_STATE back as STATE_jobtoken.
	state, _ := testutil.Heredocs(t, testutil.ReadFile(t, env["GITHUB_STATE"]))
	require.Contains(t, state, "jobtoken")
	env["STATE_jobtoken"] = state["jobtoken"]
	code, stdout, stderr = run(t, "/jobtoken-post", env)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Empty(t, fake.Live())
	assert.Equal(t, "self", ft.RevokedBy, "revoked with the token itself")
	assert.Contains(t, stdout, "Revoked anaconda token "+ft.Note)
	testutil.AssertNoSecret(t, "post stdout", testutil.WithoutGitHubMasks(stdout), secrets...)
	testutil.AssertNoSecret(t, "post stderr", stderr, secrets...)

	// A second post run (a re-run of the post step) finds it gone: a notice.
	code, stdout, _ = run(t, "/jobtoken-post", env)
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "was already revoked or expired")
}

func TestGitHubBroaderGrantRevokedAtOnce(t *testing.T) {
	fake, key := newFake(t)
	fake.Grant = func(tk *anacondafake.Token) { tk.Scopes = append(tk.Scopes, "all") }
	env := githubEnv(t, fake, key)

	code, stdout, stderr := run(t, "/jobtoken", env)
	require.Equal(t, 1, code)
	require.Len(t, fake.Minted(), 1)
	tok := fake.Minted()[0].Value
	assert.Empty(t, fake.Live(), "a broader grant is revoked before exiting")
	assert.Contains(t, stdout, "::error::anaconda.org granted more than asked: all (not asked). ")
	assert.Contains(t, stdout, "The token was revoked\n")
	assert.Empty(t, testutil.ReadFile(t, env["GITHUB_OUTPUT"]))
	// The state ends empty: the post step has nothing left to do.
	states, err := ghactions.ParseFileCommand(testutil.ReadFile(t, env["GITHUB_STATE"]))
	require.NoError(t, err)
	require.NotEmpty(t, states)
	assert.Empty(t, states[len(states)-1].Value)
	testutil.AssertNoSecret(t, "stdout", testutil.WithoutGitHubMasks(stdout), key, tok)
	testutil.AssertNoSecret(t, "stderr", stderr, key, tok)
}

func TestGitHubBadInputFailsBeforeAnyCall(t *testing.T) {
	fake, key := newFake(t)
	env := githubEnv(t, fake, key)
	env["INPUT_PERMISSIONS"] = "conda:downlaod all"
	env["INPUT_LIFETIME"] = "30s"
	code, stdout, _ := run(t, "/jobtoken", env)
	require.Equal(t, 1, code)
	assert.Empty(t, fake.Requests())
	assert.Contains(t, stdout, `::error::input permissions: unknown anaconda scope "conda:downlaod"; did you mean "conda:download"?`)
	assert.Contains(t, stdout, "::error::input permissions: all is a full-access scope (Allow all operations); name narrower scopes (e.g. api:read, conda:download, pypi:upload) or set allow-broad-scopes to true\n")
	assert.Contains(t, stdout, "::error::input lifetime: 30s is shorter than a minute, too short for a job to use the token; use 1m to 24h (e.g. 30m)\n")
}

var noteRE = regexp.MustCompile(`(run \d+\.\d+) [0-9a-f]{6}`)

// normalize replaces what changes from run to run in a golden text.
func normalize(s, key, url string) string {
	s = strings.ReplaceAll(s, key, "<api-key>")
	s = strings.ReplaceAll(s, url, "<api-url>")
	return noteRE.ReplaceAllString(s, "$1 <suffix>")
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", name), got)
}

func TestGitHubDryRunGolden(t *testing.T) {
	fake, key := newFake(t)
	env := githubEnv(t, fake, key)
	env["INPUT_DRY-RUN"] = "true"
	code, stdout, stderr := run(t, "/jobtoken", env)
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, fake.Requests(), "a dry run makes no call")
	assert.Empty(t, testutil.ReadFile(t, env["GITHUB_OUTPUT"]))
	golden(t, "dryrun-github.golden", normalize(stdout, key, fake.URL))
}

func TestAzureDryRunGolden(t *testing.T) {
	fake, key := newFake(t)
	env := azureEnv(t, fake, key)
	env["INPUT_DRYRUN"] = "true"
	code, stdout, stderr := run(t, "/jobtoken", env, "main")
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, fake.Requests(), "a dry run makes no call")
	golden(t, "dryrun-azure.golden", normalize(stdout, key, fake.URL))
}

func TestAzureBadInputNamesAzureInputs(t *testing.T) {
	fake, key := newFake(t)
	env := azureEnv(t, fake, key)
	env["INPUT_PERMISSIONS"] = "api"
	env["INPUT_LIFETIME"] = "36h"
	code, stdout, _ := run(t, "/jobtoken", env, "main")
	require.Equal(t, 1, code)
	assert.Empty(t, fake.Requests())
	golden(t, "badinput-azure.golden", normalize(stdout, key, fake.URL))
}

// azureEnv is the step of build 42 of octo/app that asks fake for a token of
// conda-org with key.
func azureEnv(t *testing.T, fake *anacondafake.Server, key string) map[string]string {
	t.Helper()
	env := agenttest.StepEnv(t, map[string]string{
		"provider": "anaconda", "permissions": "conda:download, pypi:upload", "lifetime": "45m", "exportEnv": "ANACONDA_API_TOKEN",
		"anacondaCredential": key, "anacondaApiUrl": fake.URL, "anacondaOrganization": "conda-org",
	})
	env["BUILD_BUILDID"] = "42"
	return env
}

func TestAzureMainThenPost(t *testing.T) {
	fake, key := newFake(t)
	env := azureEnv(t, fake, key)

	code, stdout, stderr := run(t, "/jobtoken", env, "main")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	live := fake.Live()
	require.Len(t, live, 1)
	ft := live[0]
	tok := ft.Value
	assert.Equal(t, int64(45*60), ft.MaxAge)
	assert.Equal(t, "conda-org", ft.Owner)
	assert.Regexp(t, `^jobtoken octo:app run 42\.1 [0-9a-f]{6}$`, ft.Note)

	masks := map[string]bool{}
	vars := map[string]azpipelines.Command{}
	var state string
	var plain []string
	for _, line := range azpipelines.Lines(stdout) {
		c, ok := azpipelines.Parse(line)
		switch {
		case ok && c.Name == "task.setsecret":
			masks[c.Data] = true
			continue
		case ok && c.Name == "task.setvariable":
			vars[c.Prop("variable")] = c
		case ok && c.Name == "task.settaskvariable" && c.Prop("variable") == "jobtoken":
			assert.Equal(t, "true", c.Prop("issecret"))
			state = c.Data
		}
		if !ok || !agent.CarriesSecret(&c) {
			plain = append(plain, line)
		}
	}
	for _, m := range []string{key, tok, "/t/" + tok + "/", "https://conda.anaconda.org/t/" + tok} {
		assert.True(t, masks[m], "task.setsecret for %.10s…", m)
	}
	assert.Equal(t, tok, vars["token"].Data)
	assert.Equal(t, "true", vars["token"].Prop("issecret"))
	assert.Equal(t, "true", vars["token"].Prop("isoutput"))
	assert.Equal(t, ft.Note, vars["tokenId"].Data)
	for _, n := range []string{"ANACONDA_API_TOKEN", "BINSTAR_API_TOKEN"} {
		assert.Equal(t, tok, vars[n].Data, n)
		assert.Equal(t, "true", vars[n].Prop("issecret"), n)
	}
	var saved struct {
		Token        string            `json:"token"`
		Destinations map[string]string `json:"destinations"`
		State        map[string]string `json:"state"`
	}
	testutil.StatePayload(t, state, &saved)
	assert.Equal(t, tok, saved.Token)
	assert.Equal(t, map[string]string{"anaconda-api-url": fake.URL, "anaconda-organization": "conda-org"}, saved.Destinations)
	assert.Equal(t, map[string]string{"note": ft.Note}, saved.State)

	secrets := []string{key, tok}
	testutil.AssertNoSecret(t, "stdout outside secret-carrying commands", strings.Join(plain, "\n"), secrets...)
	testutil.AssertNoSecret(t, "stderr", stderr, secrets...)
	sums, _ := filepath.Glob(filepath.Join(env["AGENT_TEMPDIRECTORY"], "*.md"))
	require.Len(t, sums, 1)
	summary := testutil.ReadFile(t, sums[0])
	assert.Contains(t, summary, "| Organization | conda-org |")
	testutil.AssertNoSecret(t, "summary", summary, secrets...)

	// Post: the agent hands the secret task variable back.
	env["VSTS_TASKVARIABLE_JOBTOKEN"] = state
	code, stdout, stderr = run(t, "/jobtoken", env, "post")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Empty(t, fake.Live())
	assert.Equal(t, "self", ft.RevokedBy)
	assert.Contains(t, stdout, "Revoked anaconda token "+ft.Note)
	var postPlain []string
	for _, line := range azpipelines.Lines(stdout) {
		if c, ok := azpipelines.Parse(line); !ok || !agent.CarriesSecret(&c) {
			postPlain = append(postPlain, line)
		}
	}
	testutil.AssertNoSecret(t, "post stdout", strings.Join(postPlain, "\n"), secrets...)
	testutil.AssertNoSecret(t, "post stderr", stderr, secrets...)
}

func TestPlanCheckLocal(t *testing.T) {
	fake, key := newFake(t)
	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(keyFile, []byte(key+"\n"), 0o600))
	code, stdout, stderr := run(t, "jobtoken", map[string]string{}, "plan", "--check", "--repository", "octo/app",
		"--provider", "anaconda", "--permissions", "repos conda:download", "--lifetime", "20m",
		"--anaconda-api-url", fake.URL, "--anaconda-organization", "conda-org", "--anaconda-credential-file", keyFile)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, "anaconda.com API key authenticated as ana (Authorization: Bearer)")
	assert.Contains(t, stdout, "organization conda-org exists")
	assert.Empty(t, fake.Minted(), "a check mints nothing")
	testutil.AssertNoSecret(t, "stdout", stdout, key)
	testutil.AssertNoSecret(t, "stderr", stderr, key)
}

func TestLocalMintThenRevoke(t *testing.T) {
	fake, key := newFake(t)
	// The credential comes from the environment, as a person would pass it.
	env := map[string]string{"INPUT_ANACONDA_CREDENTIAL": key}
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), &out, &errb, nil, []string{"jobtoken", "mint", "--provider", "anaconda",
		"--permissions", "conda:download", "--lifetime", "5m", "--anaconda-api-url", fake.URL + "/"}, testutil.Getenv(env))
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	require.Len(t, fake.Live(), 1)
	tok := fake.Live()[0].Value
	assert.Equal(t, tok+"\n", out.String(), "only the token goes to stdout")
	assert.Equal(t, int64(300), fake.Live()[0].MaxAge)
	testutil.AssertNoSecret(t, "stderr", errb.String(), key, tok)

	out.Reset()
	errb.Reset()
	code = cli.Main(context.Background(), &out, &errb, strings.NewReader(tok+"\n"), []string{"jobtoken", "revoke", "--provider", "anaconda",
		"--token-stdin", "--anaconda-api-url", fake.URL + "/"}, testutil.Getenv(nil))
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	assert.Empty(t, fake.Live())
	testutil.AssertNoSecret(t, "revoke output", out.String()+errb.String(), key, tok)
}
