package azext_test

import (
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/azext"
	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agenttest"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// The tests here run the task the way the agent's Node handler does:
// `node <task folder>/dist/main.js` (then dist/post.js), no arguments, the
// step's environment, stdout and stderr both read for ##vso commands; under
// every node testutil.Nodes finds (Node 24 for the Node24 handler, Node 20
// for Node20_1).

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binary builds cmd/jobtoken once for the whole package.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "jobtoken-azext-")
		if buildErr != nil {
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		cmd := exec.Command(goTool, "build", "-o", filepath.Join(binDir, "jobtoken"), "./cmd/jobtoken")
		cmd.Dir = testutil.Root()
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(string(out))
		}
	})
	require.NoError(t, buildErr, "go build ./cmd/jobtoken")
	return filepath.Join(binDir, "jobtoken")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// taskFolder lays out the task as the extension ships it: the shim,
// task.json, the icon, and the binary at bin/<platform>/jobtoken with
// SHA256SUMS, the binary without its execute bit (a .vsix is a zip without
// file modes).
func taskFolder(t *testing.T, withBinary bool) string {
	t.Helper()
	testutil.Nodes(t) // skip before building anything
	dir := filepath.Join(t.TempDir(), "JobToken_f7621ccb", "1.0.0")
	taskJSON, err := os.ReadFile(filepath.Join(testutil.Root(), "task.json"))
	require.NoError(t, err)
	require.NoError(t, azext.WriteTask(testutil.Root(), dir, taskJSON))
	if withBinary {
		testutil.ReleaseTree(t, dir, binary(t))
	}
	return dir
}

// runNode runs a stage's entry point as the agent's Node handler does, with
// the step's environment env.
func runNode(t *testing.T, node testutil.Node, dir, script string, env map[string]string) testutil.NodeRun {
	t.Helper()
	var list []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		list = append(list, k+"="+env[k])
	}
	return node.Run(t, dir, script, list, "")
}

// agentEnv is what the agent gives the step: its own environment (PATH,
// HOME), the job's variables, and every task.json input as INPUT_*.
func agentEnv(t *testing.T, given map[string]string) map[string]string {
	t.Helper()
	env := agenttest.StepEnv(t, given)
	env["PATH"], env["HOME"] = os.Getenv("PATH"), t.TempDir()
	return env
}

func TestShimMainThenPost(t *testing.T) {
	dir := taskFolder(t, true)
	for _, node := range testutil.Nodes(t) {
		t.Run(node.Version, func(t *testing.T) {
			fake := ghfake.New(testutil.AppKey(t), &ghfake.Installation{
				ID: 77, Account: "octo",
				Permissions: map[string]string{"contents": "write", "metadata": "read"},
				Repos:       []string{"app", "docs"},
			})
			defer fake.Close()
			key := testutil.AppKeyPEM(t)
			env := agentEnv(t, map[string]string{
				"provider": "github", "clientId": fake.ClientID, "privateKey": key,
				"repositories": "app, docs", "permissions": "contents:write",
				"githubApiUrl": fake.URL, "exportEnv": "GH_TOKEN",
			})

			main := runNode(t, node, dir, "main.js", env)
			require.Equal(t, 0, main.Code, "stdout:\n%s\nstderr:\n%s", main.Stdout, main.Stderr)
			live := fake.Live()
			require.Len(t, live, 1)
			tok := live[0].Value
			basic := secret.BasicAuth("x-access-token", tok)

			// The agent parses stdout and stderr alike.
			out := agenttest.Read(main.Stdout + main.Stderr)
			out.AssertNoLeak(t, tok, basic, key)
			assert.True(t, out.Masked(tok))
			v, ok := out.Variable("token")
			require.True(t, ok)
			assert.Equal(t, tok, v.Data)
			assert.Equal(t, "true", v.Prop("issecret"))
			assert.Equal(t, "true", v.Prop("isoutput"))
			assert.Empty(t, out.Named("task.complete"))
			assert.Empty(t, out.Named("task.logissue"))
			allowed := map[string]bool{"task.setsecret": true, "task.settaskvariable": true, "task.setvariable": true, "task.uploadsummary": true, "task.debug": true}
			for _, c := range out.Commands() {
				assert.True(t, allowed[c.Name], "unexpected command %s", c.Name)
			}

			state, ok := out.TaskVariable("jobtoken")
			require.True(t, ok, "main left state for the post-job step")
			env["VSTS_TASKVARIABLE_JOBTOKEN"] = state
			post := runNode(t, node, dir, "post.js", env)
			require.Equal(t, 0, post.Code, "stdout:\n%s\nstderr:\n%s", post.Stdout, post.Stderr)
			assert.Empty(t, fake.Live(), "the token is still live after the post-job step")
			assert.True(t, fake.Lookup(tok).Revoked)
			pout := agenttest.Read(post.Stdout + post.Stderr)
			pout.AssertNoLeak(t, tok, basic, key)
			assert.Contains(t, pout.Plain(), "Revoked github token "+idOf(out))
		})
	}
}

// idOf returns the tokenId output of a main stage.
func idOf(out agenttest.Output) string {
	v, _ := out.Variable("tokenId")
	return v.Data
}

func TestShimFailsWithTheBinarysExitCode(t *testing.T) {
	dir := taskFolder(t, true)
	for _, node := range testutil.Nodes(t) {
		t.Run(node.Version, func(t *testing.T) {
			env := agentEnv(t, map[string]string{"provider": "gihtub", "permissions": "contents:read"})
			r := runNode(t, node, dir, "main.js", env)
			assert.Equal(t, 1, r.Code)
			out := agenttest.Read(r.Stdout + r.Stderr)
			errs := out.Named("task.logissue")
			require.Len(t, errs, 1, r.Stdout)
			// Named as the pipeline spells it, with the likely fix.
			assert.Contains(t, errs[0].Data, `input provider: unknown provider "gihtub"`)
			assert.Contains(t, errs[0].Data, `did you mean "github"?`)
			require.Len(t, out.Named("task.complete"), 1)
			assert.Equal(t, "Failed", out.Named("task.complete")[0].Prop("result"))
		})
	}
}

func TestShimPostWithoutStateSucceeds(t *testing.T) {
	dir := taskFolder(t, true)
	for _, node := range testutil.Nodes(t) {
		t.Run(node.Version, func(t *testing.T) {
			r := runNode(t, node, dir, "post.js", agentEnv(t, map[string]string{"provider": "github"}))
			assert.Equal(t, 0, r.Code, r.Stdout+r.Stderr)
			assert.Empty(t, agenttest.Read(r.Stdout).Commands())
			assert.Contains(t, r.Stdout, "Skipping revocation")
		})
	}
}

// A task folder without binaries (a hand-made package) fails in the agent's
// words; pkg/release's shim tests cover every other failure on both hosts.
func TestShimSaysWhenTheTaskHasNoBinaries(t *testing.T) {
	dir := taskFolder(t, false)
	r := runNode(t, testutil.FirstNode(t), dir, "main.js", agentEnv(t, nil))
	assert.Equal(t, 1, r.Code)
	out := agenttest.Read(r.Stdout)
	errs := out.Named("task.logissue")
	require.Len(t, errs, 1, r.Stdout)
	assert.Equal(t, "error", errs[0].Prop("type"))
	assert.Contains(t, errs[0].Data, "no prebuilt binaries")
	assert.Contains(t, errs[0].Data, "install the .vsix of a release")
	assert.Equal(t, "Failed", out.Named("task.complete")[0].Prop("result"))
}
