package azpipelines_test

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/cli"
	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agenttest"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// clock is fixed so that expiry times in the golden files do not move.
var clock = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// stage runs one stage in-process the way cmd/jobtoken does, with the
// agent's environment.
func stage(t *testing.T, args []string, env map[string]string) (string, string, int) {
	t.Helper()
	set := &secret.Set{}
	var out, errb bytes.Buffer
	w, ew := secret.NewWriter(&out, set), secret.NewWriter(&errb, set)
	e := &cli.Env{
		Args: args, Getenv: testutil.Getenv(env), Stdout: w, Stderr: ew, RawStdout: w, RawStderr: ew,
		Secrets: set, Now: func() time.Time { return clock },
	}
	code := e.Run(context.Background())
	require.NoError(t, w.Flush())
	require.NoError(t, ew.Flush())
	return out.String(), errb.String(), code
}

// normalise replaces what changes between runs (token, temp dir, port).
func normalise(s string, repl ...string) string {
	s = strings.NewReplacer(repl...).Replace(s)
	s = regexp.MustCompile(`sha256:[0-9a-f]{12}`).ReplaceAllString(s, "sha256:<ID>")
	s = regexp.MustCompile(`jobtoken-summary-[0-9a-f]+\.md`).ReplaceAllString(s, "jobtoken-summary-<RANDOM>.md")
	// The state's MAC covers the token, which changes every run.
	s = regexp.MustCompile(`"mac":"[0-9a-f]{64}"`).ReplaceAllString(s, `"mac":"<HMAC-SHA256>"`)
	return s
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, testutil.Testdata("golden", "azure", name), got)
}

func newFake(t *testing.T) *ghfake.Server {
	t.Helper()
	fake := ghfake.New(testutil.AppKey(t), &ghfake.Installation{
		ID: 77, Account: "octo",
		Permissions: map[string]string{"contents": "write", "pull_requests": "write", "metadata": "read"},
		Repos:       []string{"app", "docs"},
	})
	fake.Now = func() time.Time { return clock }
	t.Cleanup(fake.Close)
	return fake
}

func TestAzureMainThenPost(t *testing.T) {
	fake := newFake(t)
	key := testutil.AppKeyPEM(t)
	env := agenttest.StepEnv(t, map[string]string{
		"provider": "github", "clientId": fake.ClientID, "privateKey": key,
		"permissions": "contents:read", "githubApiUrl": fake.URL, "exportEnv": "GH_TOKEN",
	})

	stdout, stderr, code := stage(t, []string{"/agent/_work/_tasks/JobToken/bin/linux-x64", "main"}, env)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Empty(t, stderr)
	live := fake.Live()
	require.Len(t, live, 1)
	tok := live[0].Value
	assert.Equal(t, []string{"app"}, live[0].Repos, "repositories default to BUILD_REPOSITORY_NAME on a GitHub repository")
	assert.Equal(t, map[string]string{"contents": "read", "metadata": "read"}, live[0].Permissions)

	out := agenttest.Read(stdout)
	basic := secret.BasicAuth("x-access-token", tok)
	out.AssertNoLeak(t, tok, basic, key)
	assert.True(t, out.Masked(tok), "token registered with task.setsecret")
	assert.True(t, out.Masked(basic), "basic-auth form registered with task.setsecret")
	v, ok := out.Variable("token")
	require.True(t, ok)
	assert.Equal(t, tok, v.Data)
	assert.Equal(t, "true", v.Prop("issecret"))
	assert.Equal(t, "true", v.Prop("isoutput"))
	for name, want := range map[string]string{"expiresAt": "2026-03-14T10:26:53Z", "installationId": "77", "appSlug": "jobtoken-test", "permissions": "contents:read, metadata:read"} {
		v, ok := out.Variable(name)
		if assert.True(t, ok, name) {
			assert.Equal(t, want, v.Data, name)
			assert.Equal(t, "true", v.Prop("isoutput"), name)
			assert.Empty(t, v.Prop("issecret"), name)
		}
	}
	gh, ok := out.Variable("GH_TOKEN")
	require.True(t, ok)
	assert.Equal(t, tok, gh.Data)
	assert.Equal(t, "true", gh.Prop("issecret"))
	assert.Empty(t, out.Named("task.complete"))
	sums := out.Named("task.uploadsummary")
	require.Len(t, sums, 1)
	md, err := os.ReadFile(sums[0].Data)
	require.NoError(t, err)
	testutil.AssertNoSecret(t, "summary", string(md), tok, basic, key)
	assert.Contains(t, string(md), "| Provider | github |")

	repl := []string{tok, "<TOKEN>", basic, "<BASIC>", fake.URL, "http://ghfake.test", env["AGENT_TEMPDIRECTORY"], "<AGENT_TEMPDIRECTORY>"}
	golden(t, "main.golden", normalise(stdout, repl...))
	golden(t, "summary.md.golden", normalise(string(md), repl...))

	// The agent hands the secret task variable back to this task's post-job
	// step, upper-cased.
	state, ok := out.TaskVariable("jobtoken")
	require.True(t, ok)
	env["VSTS_TASKVARIABLE_JOBTOKEN"] = state
	stdout, stderr, code = stage(t, []string{"/agent/_work/_tasks/JobToken/bin/linux-x64", "post"}, env)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Empty(t, fake.Live(), "token still live after the post-job step")
	assert.True(t, fake.Lookup(tok).Revoked)
	post := agenttest.Read(stdout)
	post.AssertNoLeak(t, tok, basic, key)
	assert.True(t, post.Masked(tok), "post masks the token it read back before anything else")
	assert.Empty(t, post.Named("task.logissue"))
	golden(t, "post.golden", normalise(stdout, repl...))
}

func TestAzurePostWithoutStateSucceeds(t *testing.T) {
	// The post-job step runs even when main was skipped or failed early.
	env := agenttest.StepEnv(t, map[string]string{"provider": "github"})
	stdout, _, code := stage(t, []string{"jobtoken", "post"}, env)
	assert.Equal(t, 0, code)
	out := agenttest.Read(stdout)
	assert.Empty(t, out.Commands())
	golden(t, "post-nostate.golden", stdout)
}

func TestAzureBadInputsFailOnceBeforeAnyCall(t *testing.T) {
	fake := newFake(t)
	env := agenttest.StepEnv(t, map[string]string{
		"provider": "github", "clientId": fake.ClientID, "privateKey": testutil.AppKeyPEM(t), "githubApiUrl": fake.URL,
		"permissions": "contents:read",
		"lifetime":    "2x]##vso[task.complete result=Succeeded;done=true]",
		"revoke":      "maybe\n##vso[task.setvariable variable=evil]1",
		"exportEnv":   "not a name",
	})
	stdout, _, code := stage(t, []string{"jobtoken", "main"}, env)
	assert.Equal(t, 1, code)
	assert.Zero(t, fake.Requests(), "bad input must fail before any network call")
	out := agenttest.Read(stdout)
	errs := out.Named("task.logissue")
	require.Len(t, errs, 3, stdout)
	joined := ""
	for _, e := range errs {
		assert.Equal(t, "error", e.Prop("type"))
		joined += e.Data + "\n"
	}
	// Inputs are named as the pipeline spells them.
	assert.Contains(t, joined, "input exportEnv:")
	assert.Contains(t, joined, "input lifetime:")
	assert.Contains(t, joined, "input revoke:")
	completes := out.Named("task.complete")
	require.Len(t, completes, 1, "one task.complete however many errors")
	assert.Equal(t, "Failed", completes[0].Prop("result"))
	assert.Empty(t, out.Named("task.setvariable"), "the hostile values set no variable")
	golden(t, "main-bad-inputs.golden", normalise(stdout, env["AGENT_TEMPDIRECTORY"], "<AGENT_TEMPDIRECTORY>"))
}
