//go:build !jobtoken_step

package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/cli"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// runMain runs jobtoken through cli.Main, the binary's entry point.
func runMain(env map[string]string, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = cli.Main(context.Background(), &out, &errb, nil, append([]string{"jobtoken"}, args...), testutil.Getenv(env))
	return out.String(), errb.String(), code
}

func TestDemoJSON(t *testing.T) {
	stdout, stderr, code := runMain(nil, "demo", "--json")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Empty(t, stderr)
	var v struct {
		OK       bool   `json:"ok"`
		Provider string `json:"provider"`
		Host     string `json:"host"`
		Checks   []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &v))
	assert.True(t, v.OK)
	assert.Equal(t, "github", v.Provider, "the default provider")
	assert.Equal(t, "github", v.Host, "the default host")
	assert.Len(t, v.Checks, 8)
}

func TestDemoText(t *testing.T) {
	// Inside a CI job too: the demo's stages get their own environment.
	stdout, stderr, code := runMain(map[string]string{"GITHUB_ACTIONS": "true"}, "demo", "--provider", "Anaconda", "--host", "azure")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, "jobtoken demo: the anaconda provider on Azure Pipelines\n")
	assert.Contains(t, stdout, "ANACONDA_API_TOKEN=***\n")
	assert.Contains(t, stdout, "All good")
	assert.NotContains(t, stdout, "\x1b[", "no colour when stdout is not a terminal")
}

// TestDemoHelp: the demo's help is its golden file, both ways of asking.
func TestDemoHelp(t *testing.T) {
	stdout, stderr, code := runCLI(map[string]string{}, "", "demo", "--help")
	require.Equal(t, 0, code, stderr)
	goldenHelp(t, "demo.txt", stdout)
	again, _, code := runCLI(map[string]string{}, "", "help", "demo")
	assert.Equal(t, 0, code)
	assert.Equal(t, stdout, again)
	assert.NotContains(t, stdout, "\ninputs (", "the demo reads no input: it makes its own")
}

func TestDemoUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  string // in stdout, or stderr for usage errors
	}{
		{[]string{"demo", "--provider", "gthub"}, 2, `jobtoken demo: unknown provider "gthub"; valid providers are github, azure-devops, anaconda; did you mean "github"?`},
		{[]string{"demo", "--host", "azur"}, 2, `jobtoken demo: unknown host "azur"; valid hosts are github, azure; did you mean "azure"?`},
		{[]string{"demo", "github"}, 2, `jobtoken demo: unexpected argument "github"`},
		{[]string{"demo", "--verbose"}, 2, "flag provided but not defined: -verbose"},
		{[]string{"demo", "--help"}, 0, "usage: jobtoken demo [--provider github|azure-devops|anaconda] [--host github|azure] [--json]"},
		{[]string{"help", "demo"}, 0, "  --host github|azure\n"},
		{[]string{"help"}, 0, "  jobtoken demo       run one whole job on this machine"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, code := runMain(nil, tc.args...)
			assert.Equal(t, tc.code, code)
			if tc.code == 0 {
				assert.Contains(t, stdout, tc.out)
				assert.Empty(t, stderr)
			} else {
				assert.Contains(t, stderr, tc.out)
				assert.Empty(t, stdout)
			}
		})
	}
}
