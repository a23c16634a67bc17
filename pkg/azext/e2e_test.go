package azext_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
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
// `node <task folder>/main.js` (then post.js), no arguments, the step's
// environment, stdout and stderr both read for ##vso commands.

func nodePath(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the shim tests need it")
	}
	return node
}

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

// taskFolder lays out the task as the extension ships it: shims, task.json,
// and the binary at bin/<os>-<arch>, without its execute bit (a .vsix is a
// zip without file modes).
func taskFolder(t *testing.T, withBinary bool) string {
	t.Helper()
	nodePath(t) // skip before building anything
	dir := filepath.Join(t.TempDir(), "JobToken_f7621ccb", "1.0.0")
	taskJSON, err := os.ReadFile(filepath.Join(testutil.Root(), "task.json"))
	require.NoError(t, err)
	require.NoError(t, azext.WriteTask(dir, taskJSON))
	if !withBinary {
		return dir
	}
	p, ok := azext.PlatformFor(runtime.GOOS, runtime.GOARCH)
	if !ok {
		t.Skipf("the task ships no binary for %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	b, err := os.ReadFile(binary(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, p.BinPath()), b, 0o644))
	return dir
}

type result struct {
	stdout, stderr string
	code           int
}

// runNode runs a stage's entry point as the agent's Node handler does.
func runNode(t *testing.T, dir, script string, env map[string]string, extra ...string) result {
	t.Helper()
	cmd := exec.Command(nodePath(t), filepath.Join(dir, script))
	cmd.Dir = t.TempDir() // System.DefaultWorkingDirectory, not the task folder
	cmd.Env = extra
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{out.String(), errb.String(), code}
}

// agentEnv is what the agent gives the step: its own environment (PATH,
// HOME), the job's variables, and every task.json input as INPUT_*.
func agentEnv(t *testing.T, given map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{
		"PATH":                                     os.Getenv("PATH"),
		"HOME":                                     t.TempDir(),
		"TF_BUILD":                                 "True",
		"AGENT_TEMPDIRECTORY":                      t.TempDir(),
		"AGENT_OS":                                 "Linux",
		"AGENT_JOBSTATUS":                          "Succeeded",
		"BUILD_BUILDID":                            "812",
		"BUILD_REPOSITORY_NAME":                    "octo/app",
		"BUILD_REPOSITORY_PROVIDER":                "GitHub",
		"BUILD_REPOSITORY_URI":                     "https://github.com/octo/app",
		"SYSTEM_JOBATTEMPT":                        "1",
		"SYSTEM_TEAMFOUNDATIONCOLLECTIONURI":       "https://dev.azure.com/octo/",
		"SYSTEM_DEFAULTWORKINGDIRECTORY":           t.TempDir(),
		"ENDPOINT_URL_SYSTEMVSSCONNECTION":         "https://dev.azure.com/octo/",
		"ENDPOINT_AUTH_SCHEME_SYSTEMVSSCONNECTION": "OAuth",
		"VSTS_PUBLIC_VARIABLES":                    "[]",
		"VSTS_SECRET_VARIABLES":                    "[]",
	}
	for k, v := range agenttest.InputEnv(t, given) {
		env[k] = v
	}
	return env
}

func TestShimMainThenPost(t *testing.T) {
	dir := taskFolder(t, true)
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

	main := runNode(t, dir, "main.js", env)
	require.Equal(t, 0, main.code, "stdout:\n%s\nstderr:\n%s", main.stdout, main.stderr)
	live := fake.Live()
	require.Len(t, live, 1)
	tok := live[0].Value
	basic := secret.BasicAuth("x-access-token", tok)

	// The agent parses stdout and stderr alike.
	out := agenttest.Read(main.stdout + main.stderr)
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
	post := runNode(t, dir, "post.js", env)
	require.Equal(t, 0, post.code, "stdout:\n%s\nstderr:\n%s", post.stdout, post.stderr)
	assert.Empty(t, fake.Live(), "the token is still live after the post-job step")
	assert.True(t, fake.Lookup(tok).Revoked)
	pout := agenttest.Read(post.stdout + post.stderr)
	pout.AssertNoLeak(t, tok, basic, key)
	assert.Contains(t, pout.Plain(), "Revoked github token "+idOf(out))
}

// idOf returns the tokenId output of a main stage.
func idOf(out agenttest.Output) string {
	v, _ := out.Variable("tokenId")
	return v.Data
}

func TestShimFailsWithTheBinarysExitCode(t *testing.T) {
	dir := taskFolder(t, true)
	env := agentEnv(t, map[string]string{"provider": "gihtub", "permissions": "contents:read"})
	r := runNode(t, dir, "main.js", env)
	assert.Equal(t, 1, r.code)
	out := agenttest.Read(r.stdout + r.stderr)
	errs := out.Named("task.logissue")
	require.Len(t, errs, 1, r.stdout)
	// Named as the pipeline spells it, with the likely fix.
	assert.Contains(t, errs[0].Data, `input provider: unknown provider "gihtub"`)
	assert.Contains(t, errs[0].Data, `did you mean "github"?`)
	require.Len(t, out.Named("task.complete"), 1)
	assert.Equal(t, "Failed", out.Named("task.complete")[0].Prop("result"))
}

func TestShimPostWithoutStateSucceeds(t *testing.T) {
	dir := taskFolder(t, true)
	r := runNode(t, dir, "post.js", agentEnv(t, map[string]string{"provider": "github"}))
	assert.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Empty(t, agenttest.Read(r.stdout).Commands())
	assert.Contains(t, r.stdout, "Skipping revocation")
}

func TestShimSaysWhenTheBinaryIsMissing(t *testing.T) {
	dir := taskFolder(t, false)
	r := runNode(t, dir, "main.js", agentEnv(t, nil))
	assert.Equal(t, 1, r.code)
	out := agenttest.Read(r.stdout)
	errs := out.Named("task.logissue")
	require.Len(t, errs, 1, r.stdout)
	assert.Contains(t, errs[0].Data, "is missing from the task folder")
	assert.Equal(t, "Failed", out.Named("task.complete")[0].Prop("result"))
}

func TestShimSaysWhenThePlatformHasNoBinary(t *testing.T) {
	dir := taskFolder(t, false)
	// Pretend to be a 32-bit agent: the shim must say so, not crash.
	pre := filepath.Join(t.TempDir(), "ia32.js")
	require.NoError(t, os.WriteFile(pre, []byte("Object.defineProperty(process, 'arch', { value: 'ia32' });\n"), 0o644))
	env := agentEnv(t, nil)
	env["NODE_OPTIONS"] = "--require " + pre
	r := runNode(t, dir, "main.js", env)
	assert.Equal(t, 1, r.code)
	errs := agenttest.Read(r.stdout).Named("task.logissue")
	require.Len(t, errs, 1, r.stdout+r.stderr)
	assert.Contains(t, errs[0].Data, "no binary for this agent's platform")
	assert.Contains(t, errs[0].Data, "-ia32")
	assert.True(t, strings.Contains(errs[0].Data, "linux-x64, linux-arm64, darwin-x64, darwin-arm64, windows-x64"))
}

func TestShimLoadsNoTaskLib(t *testing.T) {
	for _, f := range []string{"task/shim.js", "task/main.js", "task/post.js"} {
		b, err := azext.Task.ReadFile(f)
		require.NoError(t, err)
		for _, req := range requires(string(b)) {
			assert.Contains(t, []string{"fs", "path", "child_process", "./shim.js"}, req, "%s requires %s", f, req)
		}
	}
}

// requires lists the modules a script requires.
func requires(js string) []string {
	var out []string
	for _, part := range strings.Split(js, "require(")[1:] {
		if end := strings.IndexByte(part, ')'); end > 0 {
			out = append(out, strings.Trim(part[:end], `'"`))
		}
	}
	return out
}
