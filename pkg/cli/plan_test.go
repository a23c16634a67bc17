package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// td is a path under testdata as the test passes it; outputs are compared
// with the repository root cut off, so golden files read like a run from it.
func td(parts ...string) string { return testutil.Testdata(parts...) }

// randomSuffix is the random part providers add to token names.
var randomSuffix = regexp.MustCompile(`(run \S+\.\S+) [0-9a-f]{6}\b`)

func rel(s string) string {
	s = strings.ReplaceAll(s, testutil.Root()+string(filepath.Separator), "")
	return randomSuffix.ReplaceAllString(s, "$1 {random}")
}

// golden compares got with testdata/golden/plan/name, or rewrites it.
func golden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, testutil.Testdata("golden", "plan", name), got)
}

type planCase struct {
	name string
	args []string
	env  map[string]string
	code int
}

var keyFile = td("keys", "app-pkcs1.pem")

func planCases() []planCase {
	return []planCase{
		// github, from a workflow.
		{name: "github", args: []string{"--workflow", td("workflows", "github.yml")}},
		{name: "github-repository", args: []string{"--workflow", td("workflows", "github.yml"), "--repository", "octo/app"}},
		{name: "github-env-repository", args: []string{"--workflow", td("workflows", "github.yml"), "--step", "token"}, env: map[string]string{"GITHUB_REPOSITORY": "octo/app"}},
		{name: "github-errors", args: []string{"--workflow", td("workflows", "github-errors.yml")}, code: 1},
		{name: "github-several-owners", args: []string{"--workflow", td("workflows", "examples", "several-owners.yml"), "--repository", "octo-org/app"}},
		{name: "entra-refresh", args: []string{"--workflow", td("workflows", "examples", "refresh-entra.yml"), "--repository", "octo-org/app"}},
		{name: "github-refresh", args: []string{"--workflow", td("workflows", "examples", "refresh-git.yml"), "--repository", "octo-org/app"}},
		{name: "refresh-errors", args: []string{"--workflow", td("workflows", "refresh-errors.yml")}, code: 1},
		{name: "github-runtime", args: []string{"--workflow", td("workflows", "runtime.yml")}},
		{name: "vendored", args: []string{"--workflow", td("workflows", "vendored.yml")}},
		{name: "vendored-action", args: []string{"--workflow", td("workflows", "vendored.yml"), "--action", "acme/ci-token"}},
		{name: "warnings", args: []string{"--workflow", td("workflows", "warnings.yml")}},
		{name: "pipeline-warnings", args: []string{"--pipeline", td("pipelines", "warnings.yml")}},
		{name: "container-variant", args: []string{"--workflow", td("workflows", "container.yml")}},
		{name: "no-step", args: []string{"--workflow", td("workflows", "no-step.yml")}, code: 1},
		{name: "invalid-yaml", args: []string{"--workflow", td("workflows", "invalid-yaml.yml")}, code: 1},
		// anaconda, from a workflow and a pipeline.
		{name: "anaconda", args: []string{"--workflow", td("workflows", "anaconda.yml")}},
		{name: "anaconda-errors", args: []string{"--workflow", td("workflows", "anaconda-errors.yml")}, code: 1},
		{name: "pipeline-anaconda", args: []string{"--pipeline", td("pipelines", "anaconda.yml")}},
		// azure-devops: PAT and Entra, from workflows and pipelines.
		{name: "azure-devops", args: []string{"--workflow", td("workflows", "azure-devops.yml")}},
		{name: "azure-devops-errors", args: []string{"--workflow", td("workflows", "azure-devops-errors.yml")}, code: 1},
		{name: "pipeline-azure-devops-pat", args: []string{"--pipeline", td("pipelines", "azure-devops-pat.yml")}},
		{name: "pipeline-azure-devops-entra", args: []string{"--pipeline", td("pipelines", "azure-devops-entra.yml")}},
		// github from a pipeline, and mistakes in pipelines.
		{name: "pipeline-github", args: []string{"--pipeline", td("pipelines", "github.yml")}},
		{name: "pipeline-errors", args: []string{"--pipeline", td("pipelines", "errors.yml")}, code: 1},
		{name: "unknown-step", args: []string{"--workflow", td("workflows", "github.yml"), "--step", "doc"}, code: 1},
		// github, from flags and INPUT_* variables.
		{name: "flags-github", args: []string{"--provider", "github", "--client-id", "Iv23liEXAMPLE", "--private-key-file", keyFile,
			"--repository", "octo/app", "--repositories", "app, docs", "--permissions", "contents:read, pull-requests:write", "--export-env", "GH_TOKEN"}},
		{name: "flags-env-github", env: map[string]string{"INPUT_PROVIDER": "github", "INPUT_APP_ID": "4242", "INPUT_PRIVATE-KEY": "${{ not an expression here }}",
			"INPUT_OWNER": "octo", "INPUT_REPOSITORIES": "*", "INPUT_PERMISSIONS": "issues:write", "INPUT_REVOKE": "false"}, code: 1},
		{name: "flags-ec-key", args: []string{"--provider", "github", "--client-id", "Iv23liEXAMPLE", "--private-key-file", td("keys", "ec.pem"),
			"--repository", "octo/app", "--permissions", "contents:read"}, code: 1},
		{name: "flags-nothing", code: 1},
	}
}

// TestPlanGolden runs jobtoken plan on every example and compares its text
// and JSON with the golden files.
func TestPlanGolden(t *testing.T) {
	for _, c := range planCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := c.env
			if env == nil {
				env = map[string]string{}
			}
			stdout, stderr, code := runCLI(env, "", append([]string{"plan"}, c.args...)...)
			assert.Equal(t, c.code, code, "exit status; stderr: %s", stderr)
			assert.Empty(t, stderr)
			golden(t, c.name+".txt", rel(stdout))

			stdout, _, code = runCLI(env, "", append([]string{"plan", "--json"}, c.args...)...)
			assert.Equal(t, c.code, code, "exit status with --json")
			var report struct {
				Valid bool `json:"valid"`
			}
			require.NoError(t, json.Unmarshal([]byte(stdout), &report), "--json must print JSON")
			assert.Equal(t, c.code == 0, report.Valid)
			golden(t, c.name+".json", rel(stdout))
		})
	}
}

// TestPlanNeverPrintsSecrets: a key given in a file, on the command line or
// literally in a workflow is never printed, in text or JSON.
func TestPlanNeverPrintsSecrets(t *testing.T) {
	key := testutil.AppKeyPEM(t)
	literal := "THISISNOTAREALKEYBUTITISWRITTENLITERALLYINTHEWORKFLOWFILE"
	for _, args := range [][]string{
		{"--provider", "github", "--client-id", "Iv23liEXAMPLE", "--private-key-file", keyFile, "--repository", "octo/app", "--permissions", "contents:read"},
		{"--provider", "github", "--client-id", "Iv23liEXAMPLE", "--private-key", key, "--repository", "octo/app", "--permissions", "contents:read"},
		// An invalid plan prints more; still no key.
		{"--provider", "github", "--client-id", "Iv23 bad", "--private-key-file", keyFile, "--permissions", "contens:read", "--lifetime", "9h"},
		{"--workflow", td("workflows", "github-errors.yml")},
		{"--workflow", td("workflows", "github.yml"), "--private-key-file", keyFile, "--client-id", "Iv23liEXAMPLE"},
	} {
		for _, format := range []string{"", "--json"} {
			a := append([]string{"plan"}, args...)
			if format != "" {
				a = append(a, format)
			}
			stdout, stderr, _ := runCLI(map[string]string{}, "", a...)
			require.NotEmpty(t, stdout)
			testutil.AssertNoSecret(t, "plan "+strings.Join(args[:2], " ")+" "+format, stdout+stderr, key, literal)
		}
	}
}

// TestPlanFillsRunTimeValuesFromFlags: flags stand in for what a workflow
// leaves to run time, never for what it says.
func TestPlanFillsRunTimeValuesFromFlags(t *testing.T) {
	stdout, stderr, code := runCLI(map[string]string{}, "", "plan", "--workflow", td("workflows", "github.yml"), "--step", "docs",
		"--client-id", "Iv23liEXAMPLE", "--private-key-file", keyFile, "--owner", "someone-else")
	assert.Equal(t, 0, code, stdout)
	assert.Contains(t, stdout, "parent:       GitHub App Iv23liEXAMPLE (")
	assert.NotContains(t, stdout, "at run time:  client-id")
	assert.Contains(t, stdout, "octo-org/docs")
	assert.Equal(t, "jobtoken plan: ignoring --owner: the workflow file sets it (or leaves it out), and the plan shows the file as it is\n", stderr)
}

func TestPlanUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--workflow", "a.yml", "--pipeline", "b.yml"}, "give --workflow or --pipeline, not both"},
		{[]string{"--step", "x"}, "--step needs --workflow or --pipeline"},
		{[]string{"--action", "acme/x"}, "--action needs --workflow or --pipeline"},
		{[]string{"--workflow", "a.yml", "--action", "acme/x@v1"}, `--action "acme/x@v1": name the action without a ref`},
		{[]string{"--provider"}, "flag needs an argument: -provider"},
		{[]string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--private-key-file", "/does/not/exist"}, "failed to read --private-key-file: open /does/not/exist: no such file or directory"},
		{[]string{"--workflow", "/does/not/exist.yml"}, "failed to read --workflow /does/not/exist.yml: no such file or directory"},
		{[]string{"--pipeline", "/does/not/exist.yml"}, "failed to read --pipeline /does/not/exist.yml: no such file or directory"},
	} {
		stdout, stderr, code := runCLI(map[string]string{}, "", append([]string{"plan"}, c.args...)...)
		assert.Equal(t, 2, code, c.args)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, c.want)
	}
}

func TestNoSubcommand(t *testing.T) {
	_, stderr, code := runCLI(map[string]string{}, "")
	assert.Equal(t, 2, code, "outside CI without a command: help and exit 2")
	for _, cmd := range []string{"plan", "mint", "revoke", "version", "help"} {
		assert.Contains(t, stderr, "jobtoken "+cmd)
	}
	stdout, _, code := runCLI(map[string]string{}, "", "version")
	assert.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(stdout, "jobtoken "), stdout)
}

// TestPlanOwnerWithoutRepositories: a workflow that names the owner and
// leaves the repositories to the current one, which only the run knows,
// plans valid and says so; no stand-in text reaches the plan (a plan once
// printed "current-owner-at-run-time" in a problem).
func TestPlanOwnerWithoutRepositories(t *testing.T) {
	wf := filepath.Join(t.TempDir(), "wf.yml")
	require.NoError(t, os.WriteFile(wf, []byte(`on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: jobtoken/jobtoken@v1
        with:
          provider: github
          client-id: Iv23liEXAMPLE
          private-key: ${{ secrets.KEY }}
          owner: acme
          permissions: contents:read
`), 0o600))
	stdout, _, code := runCLI(map[string]string{}, "", "plan", "--workflow", wf)
	assert.Equal(t, 0, code, stdout)
	assert.Contains(t, stdout, "resources:    the current repository (at run time)")
	assert.Contains(t, stdout, "installation: looked up from /repos/acme/{current repository}/installation")
	assert.Contains(t, stdout, "plan with --repository owner/name")
	assert.NotContains(t, stdout, "at-run-time")
}
