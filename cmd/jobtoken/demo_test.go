package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// The built binary runs the demo with nothing but itself: no credentials,
// no HOME, and proxy settings in its environment change nothing (the demo's
// stages get the environment its CI system gives them, and talk to the
// fakes on loopback only).
func TestBinaryDemoJSON(t *testing.T) {
	bin, _ := binary(t)
	spy := testutil.NewSpy(t, false)
	cmd := exec.Command(bin, "demo", "--json")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HTTPS_PROXY=" + spy.URL, "HTTP_PROXY=" + spy.URL}
	var stderr []byte
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", out, stderr)
	var v struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name, Detail string
			OK           bool
		} `json:"checks"`
	}
	require.NoError(t, json.Unmarshal(out, &v), "%s", out)
	for _, c := range v.Checks {
		assert.True(t, c.OK, "%s: %s", c.Name, c.Detail)
	}
	assert.True(t, v.OK)
	assert.Len(t, v.Checks, 8)
	assert.Empty(t, spy.Requests())
}
