package job_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRefreshRefusedOffline: what keeps a step from leaving a broker is one
// line naming the input, before any call.
func TestRefreshRefusedOffline(t *testing.T) {
	for _, tc := range []struct {
		name string
		with map[string]string
		env  map[string]string
		want string
	}{
		{"bad refresh-until", map[string]string{"refresh": "true", "refresh-until": "all day"}, nil,
			`::error::input refresh-until: "all day" is not a duration; write it like 6h or 90m`},
		{"refresh-until too long", map[string]string{"refresh": "true", "refresh-until": "200h"}, nil,
			`::error::input refresh-until: "200h" is out of range; use between 1m and 120h`},
		{"not a boolean", map[string]string{"refresh": "yes please"}, nil,
			`::error::input refresh: "yes please" is not a boolean`},
		{"container variant", map[string]string{"refresh": "true"}, map[string]string{"GITHUB_OUTPUT": "/github/file_commands/set_output_1", "RUNNER_TEMP": "/github/runner_temp"},
			"::error::input refresh: the container variant cannot leave a process running after its step; use the native action (uses: jobtoken/jobtoken@v1)"},
		{"git-credentials without revoke", map[string]string{"git-credentials": "true", "revoke": "false"}, nil,
			"::error::input git-credentials: needs revoke: true"},
		{"provider without refresh", map[string]string{"provider": "anaconda", "permissions": "api:read", "anaconda-credential": "tok", "refresh": "true"}, nil,
			"::error::input refresh: is not available for provider anaconda: only GitHub App tokens and Azure DevOps Entra tokens are refreshed and served; remove it"},
		{"azure-devops PAT", map[string]string{"provider": "azure-devops", "azure-credential": "pat", "azure-devops-organization": "contoso", "azure-access-token": "tok", "permissions": "vso.code", "refresh": "true"}, nil,
			"::error::input refresh: is not available with azure-credential: pat: a PAT lives exactly as long as lifetime asks (up to a year) and needs no refresh; remove it and set lifetime to the job's length, or use azure-credential: entra for an Entra token the broker refreshes"},
		{"azure-devops PAT git", map[string]string{"provider": "azure-devops", "azure-credential": "pat", "azure-devops-organization": "contoso", "azure-access-token": "tok", "permissions": "vso.code", "git-credentials": "true"}, nil,
			"::error::input git-credentials: is not available for provider azure-devops: jobtoken serves git only GitHub's repositories"},
		{"azure-devops git", map[string]string{"provider": "azure-devops", "azure-credential": "entra", "azure-client-id": "c", "azure-tenant-id": "t", "permissions": "", "refresh": "true", "git-credentials": "true"}, map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:9/x", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "r"},
			"::error::input git-credentials: is not available for provider azure-devops: jobtoken serves git only GitHub's repositories; remove it and pass the token from jobtoken token to git yourself"},
		{"azure-devops entra without revoke", map[string]string{"provider": "azure-devops", "azure-credential": "entra", "azure-client-id": "c", "azure-tenant-id": "t", "permissions": "", "refresh": "true", "revoke": "false"}, map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:9/x", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "r"},
			"::error::input refresh: needs revoke: true: the post step stops the broker and revokes what it minted; remove revoke: false"},
		{"no runner temp", map[string]string{"refresh": "true"}, map[string]string{"RUNNER_TEMP": ""},
			"::error::input refresh: RUNNER_TEMP is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newGHRun(t, tc.with)
			r.env["RUNNER_TEMP"] = t.TempDir()
			for k, v := range tc.env {
				r.env[k] = v
			}
			out, ok := r.stage("main")
			assert.False(t, ok)
			assert.Contains(t, out, tc.want)
			assert.Zero(t, r.fake.Requests(), "refused before any call")
		})
	}
}

func TestRefreshDryRunSaysWhatTheBrokerWouldDo(t *testing.T) {
	r := newGHRun(t, map[string]string{"refresh": "true", "git-credentials": "true", "refresh-until": "3h", "dry-run": "true", "permissions": "contents:read", "repositories": "app, acme/lib"})
	r.env["RUNNER_TEMP"] = t.TempDir()
	out, ok := r.stage("main")
	assert.True(t, ok, out)
	assert.Contains(t, out, "dry run: would mint 2 github tokens, one per account")
	assert.Contains(t, out, "refresh:     a broker re-mints the tokens before they expire, for 3h (refresh-until)")
	assert.Contains(t, out, "git:         later steps' git gets each account's current token (git-credentials)")
	assert.Zero(t, r.fake.Requests())
}

// TestPostOfEntraBrokerKeepsToTheTempFolder: the state of an Entra step
// cannot be authenticated (it has no parent-credential input), so post
// stops a broker, prints its log and removes its folder only when the state
// names a broker's folder in the runner's temp folder; a later step that
// forged it cannot make post print or delete another file.
func TestPostOfEntraBrokerKeepsToTheTempFolder(t *testing.T) {
	r := newGHRun(t, map[string]string{"provider": "azure-devops", "azure-credential": "entra", "azure-client-id": "c", "azure-tenant-id": "t"})
	delete(r.env, "INPUT_PRIVATE-KEY")
	r.env["RUNNER_TEMP"] = t.TempDir()
	victim := t.TempDir()
	log := filepath.Join(victim, "log")
	require.NoError(t, os.WriteFile(log, []byte("private line\n"), 0o600))
	state := `{"v":1,"payload":{"provider":"azure-devops","token":"x","id":"sha256:abc","expires_at":"2030-01-01T00:00:00Z","revoke":true,"revocable":false,` +
		`"run":"jobtoken octo/app run 9.1","broker":{"dir":` + strconv.Quote(victim) + `,"socket":` + strconv.Quote(filepath.Join(victim, "s")) +
		`,"key":"k","record":` + strconv.Quote(filepath.Join(victim, "record")) + `,"log":` + strconv.Quote(log) + `}}}`
	r.env["STATE_jobtoken"] = state
	out, ok := r.stage("post")
	assert.True(t, ok, out)
	assert.Contains(t, out, "cannot be revoked")
	assert.Contains(t, out, "Skipping the broker: the state names a folder outside the runner's temporary folder")
	assert.NotContains(t, out, "private line")
	assert.FileExists(t, log, "post removed nothing")
}
