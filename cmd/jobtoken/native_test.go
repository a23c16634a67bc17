package main_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// actionTree lays out the native action as a release ref holds it, where the
// runner unpacks it (_actions/<owner>/<repo>/<ref>): the shim, the binary
// for this platform and SHA256SUMS.
func actionTree(t *testing.T) string {
	t.Helper()
	bin, _ := binary(t)
	tree := filepath.Join(t.TempDir(), "_actions", "jobtoken", "jobtoken", "v1")
	testutil.ReleaseTree(t, tree, bin)
	return tree
}

// node runs a stage of the native action as the runner does: `node
// <action>/dist/<script>` with the job's environment, INPUT_* and the
// step's file-command files.
func (r *runner) node(node testutil.Node, tree, script string, extra ...string) (stdout, stderr string, code int) {
	cmd := exec.Command(node.Path, filepath.Join(tree, "dist", script))
	cmd.Dir = r.t.TempDir() // GITHUB_WORKSPACE, not the action folder
	return r.exec(cmd, extra...)
}

// TestNativeActionMainThenPost runs the action as a GitHub runner runs a
// node24 action: main, then post in a step of its own (fresh file-command
// files) with STATE_* read from main's GITHUB_STATE, against the fake
// GitHub; under Node 24 and the node on PATH.
func TestNativeActionMainThenPost(t *testing.T) {
	tree := actionTree(t)
	for _, node := range testutil.Nodes(t) {
		t.Run(node.Version, func(t *testing.T) {
			fake := ghfake.New(testutil.AppKey(t), &ghfake.Installation{ID: 5, Account: "octo", Permissions: map[string]string{"contents": "write", "pull_requests": "read", "metadata": "read"}, Repos: []string{"app", "docs"}})
			defer fake.Close()
			key := testutil.AppKeyPEM(t)
			in := map[string]string{
				"provider": "github", "client-id": fake.ClientID, "private-key": key,
				"repositories": "app, docs", "permissions": "contents:write, pull-requests:read",
				"github-api-url": fake.URL, "export-env": "GH_TOKEN", "lifetime": "1h", "revoke": "true",
			}

			main := newRunner(t, in)
			stdout, stderr, code := main.node(node, tree, "main.js")
			require.Equal(t, 0, code, stdout+stderr)
			live := fake.Live()
			require.Len(t, live, 1)
			tok := live[0].Value
			outs := entries(t, main.read("OUTPUT"))
			assert.Equal(t, tok, outs["token"])
			assert.Equal(t, "5", outs["installation-id"])
			assert.Regexp(t, `^sha256:[0-9a-f]{12}$`, outs["token-id"])
			assert.Equal(t, tok, entries(t, main.read("ENV"))["GH_TOKEN"])
			require.GreaterOrEqual(t, strings.Index(stdout, "::add-mask::"+tok+"\n"), 0, "the token is masked")
			secrets := []string{tok, secret.BasicAuth("x-access-token", tok), key}
			testutil.AssertGitHubStepClean(t, testutil.GitHubStep{Stdout: stdout, Stderr: stderr, Summary: main.read("STEP_SUMMARY"),
				Output: main.read("OUTPUT"), Env: main.read("ENV")}, secrets...)

			// The runner reads main's GITHUB_STATE and gives post each
			// entry as STATE_<name>; post has file-command files of its own.
			var state []string
			for k, v := range entries(t, main.read("STATE")) {
				state = append(state, "STATE_"+k+"="+v)
			}
			require.NotEmpty(t, state)
			post := newRunner(t, in)
			stdout, stderr, code = post.node(node, tree, "post.js", state...)
			require.Equal(t, 0, code, stdout+stderr)
			assert.Empty(t, fake.Live(), "the post step must revoke the token")
			assert.True(t, fake.Lookup(tok).Revoked)
			assert.Contains(t, stdout, "Revoked github token "+outs["token-id"])
			testutil.AssertGitHubStepClean(t, testutil.GitHubStep{Stdout: stdout, Stderr: stderr, Summary: post.read("STEP_SUMMARY"),
				Output: post.read("OUTPUT"), Env: post.read("ENV")}, secrets...)
		})
	}
}

// What CI runs on every runner OS from the release tree: a dry run, which
// validates and prints the plan without a request.
func TestNativeActionDryRun(t *testing.T) {
	tree := actionTree(t)
	fake := ghfake.New(testutil.AppKey(t))
	defer fake.Close()
	r := newRunner(t, map[string]string{"provider": "github", "client-id": "Iv23liexample", "private-key": testutil.AppKeyPEM(t),
		"permissions": "contents:read", "github-api-url": fake.URL, "dry-run": "true"})
	stdout, stderr, code := r.node(testutil.FirstNode(t), tree, "main.js")
	require.Equal(t, 0, code, stdout+stderr)
	assert.Contains(t, stdout, "contents:read")
	assert.Zero(t, fake.Requests())
	assert.Empty(t, entries(t, r.read("OUTPUT"))["token"])
	stdout, stderr, code = newRunner(t, map[string]string{"provider": "github"}).node(testutil.FirstNode(t), tree, "post.js")
	require.Equal(t, 0, code, stdout+stderr)
	assert.Contains(t, stdout, "Skipping revocation")
}
