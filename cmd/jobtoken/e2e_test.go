package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binary builds jobtoken once and lays it out as the image does: one binary,
// a second name for the post-entrypoint.
func binary(t *testing.T) (main, post string) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "jobtoken-e2e")
		if buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "jobtoken"), ".").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Log(string(out))
			return
		}
		buildErr = os.Symlink("jobtoken", filepath.Join(binDir, "jobtoken-post"))
	})
	require.NoError(t, buildErr)
	return filepath.Join(binDir, "jobtoken"), filepath.Join(binDir, "jobtoken-post")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

type runner struct {
	t     *testing.T
	env   []string
	files map[string]string
}

// newRunner prepares what the GitHub runner gives a docker action: INPUT_*
// variables with hyphens kept, and file-command files.
func newRunner(t *testing.T, inputs map[string]string) *runner {
	dir := t.TempDir()
	r := &runner{t: t, files: map[string]string{}}
	r.env = []string{"GITHUB_ACTIONS=true", "GITHUB_REPOSITORY=octo/app", "GITHUB_RUN_ID=42", "GITHUB_RUN_ATTEMPT=2", "HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	for _, n := range []string{"OUTPUT", "ENV", "STATE", "STEP_SUMMARY", "PATH"} {
		p := filepath.Join(dir, "file_commands", strings.ToLower(n))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, nil, 0o644))
		r.files[n] = p
		r.env = append(r.env, "GITHUB_"+n+"="+p)
	}
	for k, v := range inputs {
		r.env = append(r.env, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	return r
}

func (r *runner) run(bin string, extra ...string) (stdout, stderr string, code int) {
	return r.exec(exec.Command(bin), extra...)
}

// runArgs runs bin with args, as the action's shim runs the binary.
func (r *runner) runArgs(bin string, args []string, extra ...string) (stdout, stderr string, code int) {
	return r.exec(exec.Command(bin, args...), extra...)
}

// exec runs cmd with the job's environment and extra, and returns what it
// printed and its exit status; a failure to start fails the test.
func (r *runner) exec(cmd *exec.Cmd, extra ...string) (stdout, stderr string, code int) {
	cmd.Env = append(append([]string{}, r.env...), extra...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(r.t, err)
	}
	return o.String(), e.String(), code
}

func (r *runner) read(name string) string {
	b, err := os.ReadFile(r.files[name])
	require.NoError(r.t, err)
	return string(b)
}

func entries(t *testing.T, data string) map[string]string {
	es, err := ghactions.ParseFileCommand(data)
	require.NoError(t, err)
	m := map[string]string{}
	for _, e := range es {
		m[e.Name] = e.Value
	}
	return m
}

func TestEndToEndGitHubAction(t *testing.T) {
	bin, post := binary(t)
	fake := ghfake.New(testutil.AppKey(t), &ghfake.Installation{ID: 5, Account: "octo", Permissions: map[string]string{"contents": "write", "pull_requests": "read", "metadata": "read"}, Repos: []string{"app", "docs"}})
	defer fake.Close()
	fake.LongTokens = true
	key := testutil.AppKeyPEM(t)
	r := newRunner(t, map[string]string{
		"provider": "github", "client-id": fake.ClientID, "private-key": key,
		"repositories": "app, docs", "permissions": "contents:write, pull-requests:read",
		"github-api-url": fake.URL, "export-env": "GH_TOKEN", "lifetime": "1h", "revoke": "true",
	})

	stdout, stderr, code := r.run(bin)
	require.Equal(t, 0, code, stdout+stderr)
	live := fake.Live()
	require.Len(t, live, 1)
	tok := live[0].Value
	outs := entries(t, r.read("OUTPUT"))
	assert.Equal(t, tok, outs["token"])
	assert.Equal(t, "5", outs["installation-id"])
	assert.Equal(t, "jobtoken-test", outs["app-slug"])
	assert.Regexp(t, `^sha256:[0-9a-f]{12}$`, outs["token-id"])
	assert.Equal(t, "contents:write, metadata:read, pull_requests:read", outs["permissions"])
	assert.NotEmpty(t, outs["expires-at"])
	assert.Equal(t, tok, entries(t, r.read("ENV"))["GH_TOKEN"])

	// The token is masked before it is written anywhere.
	maskAt := strings.Index(stdout, "::add-mask::"+tok+"\n")
	require.GreaterOrEqual(t, maskAt, 0)
	secrets := []string{tok, secret.BasicAuth("x-access-token", tok), key}
	assert.Contains(t, stdout, "::add-mask::"+secret.BasicAuth("x-access-token", tok)+"\n")
	testutil.AssertGitHubStepClean(t, testutil.GitHubStep{Stdout: stdout, Stderr: stderr, Summary: r.read("STEP_SUMMARY"),
		Output: r.read("OUTPUT"), Env: r.read("ENV")}, secrets...)
	assert.Contains(t, r.read("STEP_SUMMARY"), outs["token-id"])

	// Post: a fresh container, STATE_* from GITHUB_STATE, entrypoint
	// /jobtoken-post, same inputs.
	var st []string
	for k, v := range entries(t, r.read("STATE")) {
		st = append(st, "STATE_"+k+"="+v)
	}
	require.NotEmpty(t, st)
	stdout, stderr, code = r.run(post, st...)
	require.Equal(t, 0, code, stdout+stderr)
	assert.Empty(t, fake.Live(), "the token must be revoked")
	assert.Contains(t, stdout, "Revoked github token "+outs["token-id"])
	testutil.AssertNoSecret(t, "post stdout", testutil.WithoutGitHubMasks(stdout), secrets...)
	testutil.AssertNoSecret(t, "post stderr", stderr, secrets...)
}

func TestEndToEndBadInputMakesNoCall(t *testing.T) {
	bin, _ := binary(t)
	fake := ghfake.New(testutil.AppKey(t))
	defer fake.Close()
	r := newRunner(t, map[string]string{"provider": "github", "client-id": "Iv1.x", "private-key": testutil.AppKeyPEM(t), "permissions": "contens:read", "github-api-url": fake.URL})
	stdout, stderr, code := r.run(bin)
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "::error::input permissions: unknown GitHub App permission \"contens\"; did you mean \"contents\"?\n")
	assert.Zero(t, fake.Requests())
	testutil.AssertNoSecret(t, "stdout", testutil.WithoutGitHubMasks(stdout)+stderr, testutil.AppKeyPEM(t))
}

func TestEndToEndPostWithoutState(t *testing.T) {
	_, post := binary(t)
	r := newRunner(t, map[string]string{"provider": "github"})
	stdout, _, code := r.run(post)
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "Skipping revocation")
}

func TestOutsideCIPrintsHelp(t *testing.T) {
	bin, _ := binary(t)
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, 2, ee.ExitCode())
	assert.Contains(t, string(out), "jobtoken")
}
