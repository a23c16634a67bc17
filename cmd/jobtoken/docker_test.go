package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// dockerImage returns the action image to test, or skips: the suite must
// pass without Docker. Build the image with .ci/docker-build (no registry
// needed) or `docker build -t jobtoken:local .`; JOBTOKEN_IMAGE picks another tag.
func dockerImage(t *testing.T) string {
	t.Helper()
	return localImage(t, "JOBTOKEN_IMAGE", "jobtoken:local")
}

// localImage returns the image named by env (else def), or skips when
// Docker, its daemon or the image is missing.
func localImage(t *testing.T, env, def string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no Docker")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker client")
	}
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skip("no docker daemon reachable (docker info failed)")
	}
	img := os.Getenv(env)
	if img == "" {
		img = def
	}
	if err := exec.Command("docker", "image", "inspect", img).Run(); err != nil {
		t.Skipf("image %s not built; run .ci/docker-build", img)
	}
	return img
}

// dockerStage runs one stage the way the runner runs a docker action: a fresh
// container, --entrypoint for the stage, INPUT_* and GITHUB_* passed by name,
// the file-command directory mounted at /github/file_commands. Host
// networking lets the container reach the fake on loopback.
func dockerStage(t *testing.T, img, entrypoint, dir string, env map[string]string) (string, int) {
	args := []string{"run", "--rm", "--network", "host", "--entrypoint", entrypoint,
		"--workdir", "/github/workspace", "-v", dir + ":/github/file_commands"}
	cmdEnv := os.Environ()
	for k, v := range env {
		args = append(args, "-e", k) // by name, the value comes from our env, as the runner does
		cmdEnv = append(cmdEnv, k+"="+v)
	}
	cmd := exec.Command("docker", append(args, img)...)
	cmd.Env = cmdEnv
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	}
	require.NoError(t, err, out.String())
	return out.String(), 0
}

func TestDockerImageMainThenPost(t *testing.T) {
	img := dockerImage(t)
	fake := ghfake.New(testutil.AppKey(t), &ghfake.Installation{ID: 5, Account: "octo", Permissions: map[string]string{"contents": "write", "metadata": "read"}, Repos: []string{"app"}})
	defer fake.Close()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o777))
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "octo/app", "GITHUB_RUN_ID": "1", "GITHUB_RUN_ATTEMPT": "1",
		"INPUT_PROVIDER": "github", "INPUT_CLIENT-ID": fake.ClientID, "INPUT_PRIVATE-KEY": testutil.AppKeyPEM(t),
		"INPUT_PERMISSIONS": "contents:read", "INPUT_GITHUB-API-URL": fake.URL, "INPUT_EXPORT-ENV": "GH_TOKEN",
	}
	for _, n := range []string{"output", "env", "state", "step_summary"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), nil, 0o666))
		env["GITHUB_"+strings.ToUpper(n)] = "/github/file_commands/" + n
	}

	out, code := dockerStage(t, img, "/jobtoken", dir, env)
	require.Equal(t, 0, code, out)
	live := fake.Live()
	require.Len(t, live, 1, out)
	read := func(n string) map[string]string {
		b, err := os.ReadFile(filepath.Join(dir, n))
		require.NoError(t, err)
		return entries(t, string(b))
	}
	assert.Equal(t, live[0].Value, read("output")["token"])
	assert.Equal(t, live[0].Value, read("env")["GH_TOKEN"])
	testutil.AssertNoSecret(t, "container output", testutil.WithoutGitHubMasks(out), live[0].Value, testutil.AppKeyPEM(t))

	env["STATE_jobtoken"] = read("state")["jobtoken"]
	out, code = dockerStage(t, img, "/jobtoken-post", dir, env)
	require.Equal(t, 0, code, out)
	assert.Empty(t, fake.Live(), "the post stage must revoke the token:\n%s", out)
	assert.Contains(t, out, "Revoked github token")
}

func TestDockerImagePostWithoutState(t *testing.T) {
	img := dockerImage(t)
	out, code := dockerStage(t, img, "/jobtoken-post", t.TempDir(), map[string]string{"GITHUB_ACTIONS": "true", "INPUT_PROVIDER": "github"})
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "Skipping revocation")
}
