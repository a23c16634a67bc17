package cli_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The exit status contract, on every command: 0 success; 1 the command ran
// and failed (plan found problems, a service refused or could not be
// reached); 2 the command line is wrong (unknown command or flag, a value
// refused before any call, a file that cannot be read), with the file named.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func TestExitStatus(t *testing.T) {
	fake := exampleFake()
	defer fake.Close()
	refusing := refusingFake()
	defer refusing.Close()
	const missing = "/does/not/exist/key.pem"
	gh := func(url string, more ...string) []string {
		return append([]string{"--provider", "github", "--client-id", fake.ClientID, "--private-key-file", keyFile,
			"--github-api-url", url, "--repository", "octo/app"}, more...)
	}
	for _, c := range []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  string // in stderr
	}{
		// No command, unknown commands, help and version.
		{"no command", nil, "", exitUsage, "jobtoken plan"},
		{"unknown command", []string{"nope"}, "", exitUsage, `unknown command "nope"`},
		{"help for an unknown command", []string{"help", "nope"}, "", exitUsage, `unknown command "nope"`},
		{"help for a typo", []string{"help", "plna"}, "", exitUsage, `did you mean "plan"?`},
		{"help", []string{"help"}, "", exitOK, ""},
		{"help for a command", []string{"help", "sweep"}, "", exitOK, ""},
		{"help with two commands", []string{"help", "plan", "mint"}, "", exitUsage, `unexpected argument "mint"`},
		{"version", []string{"version"}, "", exitOK, ""},
		{"version with an argument", []string{"version", "--json"}, "", exitUsage, `unexpected argument "--json"`},
		{"a stage outside CI", []string{"main"}, "", exitUsage, "runs inside GitHub Actions or Azure Pipelines"},

		// plan.
		{"plan: valid", []string{"plan", "--workflow", td("workflows", "github.yml")}, "", exitOK, ""},
		{"plan: valid with warnings", []string{"plan", "--workflow", td("workflows", "warnings.yml")}, "", exitOK, ""},
		{"plan: problems", []string{"plan", "--workflow", td("workflows", "github-errors.yml")}, "", exitFail, ""},
		{"plan: invalid YAML", []string{"plan", "--workflow", td("workflows", "invalid-yaml.yml")}, "", exitFail, ""},
		{"plan: check refused", append([]string{"plan", "--check"}, gh(refusing.URL, "--permissions", "contents:read")...), "", exitFail, ""},
		{"plan: unknown flag", []string{"plan", "--nope"}, "", exitUsage, "flag provided but not defined: -nope"},
		{"plan: unexpected argument", []string{"plan", "x.yml"}, "", exitUsage, `unexpected argument "x.yml"`},
		{"plan: missing workflow", []string{"plan", "--workflow", "/does/not/exist.yml"}, "", exitUsage, "failed to read --workflow /does/not/exist.yml: no such file or directory"},
		{"plan: missing key file", []string{"plan", "--private-key-file", missing}, "", exitUsage, missing},

		// mint.
		{"mint: minted", append([]string{"mint"}, gh(fake.URL, "--permissions", "contents:read")...), "", exitOK, ""},
		{"mint: refused", append([]string{"mint"}, gh(refusing.URL, "--permissions", "contents:read")...), "", exitFail, "403"},
		{"mint: App not installed", append([]string{"mint"}, gh(fake.URL, "--permissions", "contents:read", "--repositories", "elsewhere")...), "", exitFail, "is not installed"},
		// Only the first token would reach stdout: the others, live and out of reach. Refused offline (refusing would answer 403).
		{"mint: several accounts", append([]string{"mint"}, gh(refusing.URL, "--permissions", "contents:read", "--repositories", "octo/app, other/lib")...), "", exitUsage, "input --repositories: span 2 accounts (octo, other), but by hand jobtoken prints one token"},
		{"mint: bad value", append([]string{"mint"}, gh(fake.URL, "--permissions", "contens:read")...), "", exitUsage, "input --permissions"},
		{"mint: unknown flag", []string{"mint", "--nope"}, "", exitUsage, "flag provided but not defined"},
		{"mint: missing key file", []string{"mint", "--provider", "github", "--private-key-file", missing}, "", exitUsage, missing},

		// revoke.
		{"revoke: revoked", []string{"revoke", "--provider", "github", "--github-api-url", fake.URL, "--token-stdin"}, fakeToken, exitOK, ""},
		{"revoke: refused", []string{"revoke", "--provider", "github", "--github-api-url", refusing.URL, "--token-stdin"}, fakeToken, exitFail, "403"},
		{"revoke: no provider", []string{"revoke", "--token-stdin"}, fakeToken, exitUsage, "--provider is required"},
		{"revoke: no token", []string{"revoke", "--provider", "github"}, "", exitUsage, "--token-stdin is required"},
		{"revoke: missing parent file", []string{"revoke", "--provider", "azure-devops", "--token-id", "x", "--azure-access-token-file", missing}, "", exitUsage, missing},

		// sweep.
		{"sweep: nothing to sweep", []string{"sweep", "--provider", "github"}, "", exitOK, ""},
		{"sweep: listing refused", []string{"sweep", "--provider", "anaconda", "--anaconda-api-url", refusing.URL, "--anaconda-credential", "tok"}, "", exitFail, "403"},
		{"sweep: no provider", []string{"sweep"}, "", exitUsage, "--provider is required"},
		{"sweep: bad --older-than", []string{"sweep", "--provider", "anaconda", "--older-than", "soon"}, "", exitUsage, "--older-than"},
		{"sweep: bad organization", []string{"sweep", "--provider", "azure-devops", "--azure-devops-organization", "a/b/c"}, "", exitUsage, "--azure-devops-organization"},
		{"sweep: missing credential file", []string{"sweep", "--provider", "anaconda", "--anaconda-credential-file", missing}, "", exitUsage, missing},

		// policy.
		{"policy check: valid", []string{"policy", "check", td("policies")}, "", exitOK, ""},
		{"policy check: invalid", []string{"policy", "check", td("policies", "bad")}, "", exitFail, ""},
		{"policy test: tests hold", []string{"policy", "test", td("policies")}, "", exitOK, ""},
		{"policy test: a test fails", []string{"policy", "test", td("policies", "bad", "failing-test.yaml")}, "", exitFail, ""},
		{"policy check: bound to its owner", []string{"policy", "check", "--owners", "octo-org", td("policies")}, "", exitOK, ""},
		{"policy check: another owner", []string{"policy", "check", "--owners", "other-org", td("policies", "release.yaml")}, "", exitFail, ""},
		{"policy: no subcommand", []string{"policy"}, "", exitUsage, "name a subcommand"},
		{"policy: unknown subcommand", []string{"policy", "lint", "x"}, "", exitUsage, `unknown subcommand "lint"`},
		{"policy check: no path", []string{"policy", "check"}, "", exitUsage, "name at least one"},
		{"policy check: missing path", []string{"policy", "check", "/does/not/exist"}, "", exitUsage, "/does/not/exist: no such file or directory"},

		// serve (a running service: cmd/jobtoken's TestEndToEndFederation).
		{"serve: no config", []string{"serve"}, "", exitUsage, "--config is required"},
		{"serve: missing config", []string{"serve", "--config", "/does/not/exist.yaml"}, "", exitUsage, "failed to read --config /does/not/exist.yaml: no such file or directory"},
		{"serve: bad config", []string{"serve", "--config", td("policies", "release.yaml")}, "", exitUsage, "field apiVersion not found"},

		// the broker's commands, in a job without one.
		{"token: no broker", []string{"token"}, "", exitFail, "no jobtoken broker runs for this job: JOBTOKEN_BROKER is not set (refresh is off for this job"},
		{"token: unexpected argument", []string{"token", "octo"}, "", exitUsage, `unexpected argument "octo"`},
		{"credential: no broker", []string{"credential", "get"}, "protocol=https\nhost=github.com\npath=octo/app.git\n\n", exitFail, "no jobtoken broker runs for this job"},
		{"credential: store", []string{"credential", "store"}, "protocol=https\nhost=github.com\n", exitOK, ""},
		{"credential: no action", []string{"credential"}, "", exitUsage, "expected one of get, store, erase"},
		{"broker: by hand", []string{"broker"}, "", exitFail, "not by hand"},

		// demo (a failing verdict, exit 1, needs a misbehaving fake: TestDemoFailingVerdictExitsOne).
		{"demo: all good", []string{"demo", "--provider", "anaconda"}, "", exitOK, ""},
		{"demo: unknown provider", []string{"demo", "--provider", "gitlab"}, "", exitUsage, `unknown provider "gitlab"`},
		{"demo: unknown host", []string{"demo", "--host", "jenkins"}, "", exitUsage, `unknown host "jenkins"`},
		{"demo: unexpected argument", []string{"demo", "anaconda"}, "", exitUsage, `unexpected argument "anaconda"`},
		{"demo: unknown flag", []string{"demo", "--permissions", "contents:write"}, "", exitUsage, "flag provided but not defined: -permissions"},
	} {
		if stepBuild && len(c.args) > 0 && c.args[0] == "demo" {
			// The step binaries answer every demo command line the same
			// way: a usage error saying where the demo is.
			c.code, c.want = exitUsage, "built without the demo"
		}
		if stepBuild && len(c.args) > 0 && (c.args[0] == "policy" || c.args[0] == "serve") {
			// Nor is the federation service, or its policy tools.
			c.code, c.want = exitUsage, "built without the federation service"
		}
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(map[string]string{}, c.stdin, c.args...)
			assert.Equal(t, c.code, code, "stderr:\n%s", stderr)
			if c.want != "" {
				assert.Contains(t, stderr, c.want)
			}
			if c.code == exitUsage {
				assert.Empty(t, stdout, "a usage error prints nothing a script would read")
				assert.NotEmpty(t, stderr, "a usage error says what is wrong")
			}
		})
	}
}

// TestExitStatusCoversEveryCommand: a command added later joins the table.
func TestExitStatusCoversEveryCommand(t *testing.T) {
	stdout, _, _ := runCLI(map[string]string{}, "", "help")
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == "jobtoken" && !strings.HasSuffix(f[1], ":") {
			assert.Contains(t, []string{"broker", "credential", "demo", "help", "mint", "plan", "policy", "revoke", "serve", "sweep", "token", "version"}, f[1], "add %s to TestExitStatus", f[1])
		}
	}
}
