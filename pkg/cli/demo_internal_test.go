//go:build !jobtoken_step

package cli

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// runDemoWith runs the demo command with a hook on the fake, as a terminal
// (or not) with the given environment.
func runDemoWith(t *testing.T, env map[string]string, terminal bool, fake func(any), args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	set := &secret.Set{}
	w := secret.NewWriter(&out, set)
	e := &Env{Args: []string{"jobtoken", "demo"}, Getenv: func(k string) string { return env[k] },
		Stdout: w, Stderr: w, RawStdout: w, RawStderr: w, Secrets: set, Retry: &providertest.NoSleep, Terminal: terminal}
	code := e.demo(context.Background(), args, fake)
	assert.NoError(t, w.Flush())
	return out.String(), code
}

// A failing verdict is exit status 1.
func TestDemoFailingVerdictExitsOne(t *testing.T) {
	out, code := runDemoWith(t, nil, false, func(f any) {
		f.(*ghfake.Server).Grant = func(t *ghfake.Token) { t.Permissions["issues"] = "write" }
	})
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "✗ minted")
	assert.Contains(t, out, "checks failed")
}

// Colour only on a terminal, and never with NO_COLOR or TERM=dumb.
func TestDemoColour(t *testing.T) {
	for _, tc := range []struct {
		env      map[string]string
		terminal bool
		colour   bool
	}{
		{nil, true, true},
		{nil, false, false},
		{map[string]string{"NO_COLOR": "1"}, true, false},
		{map[string]string{"TERM": "dumb"}, true, false},
	} {
		out, code := runDemoWith(t, tc.env, tc.terminal, nil, "--provider", "anaconda")
		assert.Equal(t, 0, code)
		assert.Equal(t, tc.colour, bytes.Contains([]byte(out), []byte("\x1b[32m✓\x1b[0m")), "%v terminal=%v", tc.env, tc.terminal)
	}
	// --json is never coloured.
	out, _ := runDemoWith(t, nil, true, nil, "--json", "--provider", "anaconda")
	assert.NotContains(t, out, "\x1b[")
}
