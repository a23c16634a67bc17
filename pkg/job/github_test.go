package job_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/cli"
	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

func TestGitHubMainThenPost(t *testing.T) {
	fake := ghfake.New(testutil.AppKey(t), &ghfake.Installation{ID: 77, Account: "octo", Permissions: map[string]string{"contents": "write", "pull_requests": "write", "metadata": "read"}, Repos: []string{"app", "docs"}})
	defer fake.Close()
	dir := t.TempDir()
	files := map[string]string{}
	for _, n := range []string{"OUTPUT", "ENV", "STATE", "STEP_SUMMARY"} {
		files["GITHUB_"+n] = filepath.Join(dir, strings.ToLower(n))
		require.NoError(t, os.WriteFile(files["GITHUB_"+n], nil, 0o600))
	}
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "octo/app", "GITHUB_RUN_ID": "9", "GITHUB_RUN_ATTEMPT": "1",
		"INPUT_PROVIDER": "github", "INPUT_CLIENT-ID": fake.ClientID, "INPUT_PRIVATE-KEY": testutil.AppKeyPEM(t),
		"INPUT_REPOSITORIES": "app, docs", "INPUT_PERMISSIONS": "contents:write, pull-requests:read",
		"INPUT_GITHUB-API-URL": fake.URL, "INPUT_LIFETIME": "1h", "INPUT_REVOKE": "true", "INPUT_EXPORT-ENV": "GH_TOKEN",
	}
	for k, v := range files {
		env[k] = v
	}
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), &out, &errb, nil, []string{"/jobtoken"}, testutil.Getenv(env))
	t.Log(out.String(), errb.String())
	require.Equal(t, 0, code)
	live := fake.Live()
	require.Len(t, live, 1)
	tok := live[0].Value
	outputs, _ := os.ReadFile(files["GITHUB_OUTPUT"])
	assert.Contains(t, string(outputs), tok)
	assert.Contains(t, out.String(), "::add-mask::"+tok)
	stdoutNoMask := strings.ReplaceAll(out.String(), "::add-mask::", "")
	_ = stdoutNoMask

	state, _ := os.ReadFile(files["GITHUB_STATE"])
	// Post stage: the runner turns GITHUB_STATE into STATE_ variables.
	lines := strings.Split(string(state), "\n")
	require.GreaterOrEqual(t, len(lines), 3)
	env["STATE_jobtoken"] = lines[1]
	out.Reset()
	code = cli.Main(context.Background(), &out, &errb, nil, []string{"/jobtoken-post"}, testutil.Getenv(env))
	t.Log(out.String())
	require.Equal(t, 0, code)
	assert.Empty(t, fake.Live())
}
