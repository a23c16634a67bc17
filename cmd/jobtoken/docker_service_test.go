package main_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// TestServiceImage runs the service image (container/service.Dockerfile)
// as a platform would: PORT set, the config and the key mounted read-only,
// as its non-root user; it must answer /readyz against the fakes on
// loopback and stop cleanly on SIGTERM (docker stop). Skipped without a
// daemon or the image: build it with .ci/docker-build (jobtoken-serve:local)
// or set JOBTOKEN_SERVICE_IMAGE.
func TestServiceImage(t *testing.T) {
	img := localImage(t, "JOBTOKEN_SERVICE_IMAGE", "jobtoken-serve:local")
	fake := ghfake.New(testutil.AppKey(t), &ghfake.Installation{ID: 3, Account: "octo-org",
		Permissions: map[string]string{"contents": "write", "metadata": "read"}, AllRepos: []string{"app", "policies"}})
	defer fake.Close()
	fake.WriteFiles("octo-org", "policies", map[string]string{"jobtoken/release.yaml": fedPolicy})
	oidc := azfake.NewGitHubOIDC("octo-org/app")
	defer oidc.Close()

	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.pem"), []byte(testutil.AppKeyPEM(t)), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(fmt.Sprintf(`audience: %s
issuers:
  - {url: https://token.actions.githubusercontent.com, jwks_url: %s}
github: {api_url: %s, client_id: %s, private_key_file: /secrets/app.pem}
policy_sources:
  - {url: "github://octo-org/policies@main/jobtoken", owners: [octo-org]}
`, fedAudience, oidc.JWKSURL(), fake.URL, fake.ClientID)), 0o644))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()

	name := "jobtoken-serve-test-" + port
	cmd := exec.Command("docker", "run", "--rm", "--name", name, "--network", "host", "-e", "PORT="+port,
		"-v", filepath.Join(dir, "config.yaml")+":/etc/jobtoken/config.yaml:ro", "-v", filepath.Join(dir, "app.pem")+":/secrets/app.pem:ro", img)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { _ = exec.Command("docker", "rm", "-f", name).Run() }()

	var ready int
	for i := 0; i < 100 && ready != http.StatusOK; i++ {
		time.Sleep(200 * time.Millisecond)
		resp, err := http.Get("http://127.0.0.1:" + port + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			ready = resp.StatusCode
		}
	}
	require.Equal(t, http.StatusOK, ready, out.String())
	require.NoError(t, exec.Command("docker", "stop", name).Run())
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		t.Fatal("the container did not stop")
	}
	assert.Contains(t, out.String(), "jobtoken serve: stopped", "SIGTERM drains and stops")
	assert.False(t, strings.Contains(out.String(), testutil.AppKeyPEM(t)))
}
