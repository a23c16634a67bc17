package cli_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

func ghArgs(fake *ghfake.Server, more ...string) []string {
	return append([]string{"--provider", "github", "--client-id", fake.ClientID, "--private-key-file", keyFile,
		"--github-api-url", fake.URL, "--repository", "octo/app"}, more...)
}

// TestPlanCheck: --check authenticates as the App and looks the installation
// up with read-only calls, and mints nothing.
func TestPlanCheck(t *testing.T) {
	t.Run("installation grants what is asked", func(t *testing.T) {
		fake := exampleFake()
		defer fake.Close()
		stdout, stderr, code := runCLI(map[string]string{}, "", append([]string{"plan", "--check"}, ghArgs(fake, "--permissions", "contents:read")...)...)
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Contains(t, stdout, "  check:        App authenticated; installation 77 (jobtoken-test) on octo, repository access: selected\n")
		assert.Contains(t, stdout, "  check:        installation grants every permission asked\n")
		assert.Empty(t, fake.Minted(), "a check mints nothing")
		assert.Positive(t, fake.Requests())
	})
	t.Run("installation lacks a permission", func(t *testing.T) {
		fake := exampleFake()
		defer fake.Close()
		stdout, _, code := runCLI(map[string]string{}, "", append([]string{"plan", "--check"}, ghArgs(fake, "--permissions", "issues:write")...)...)
		assert.Equal(t, 1, code)
		assert.Contains(t, stdout, `check failed: the installation lacks issues:write (installation has ""); add them to the App and accept them on the installation, or ask for less`)
		assert.Empty(t, fake.Minted())
	})
	t.Run("App not installed on the repository", func(t *testing.T) {
		fake := exampleFake()
		defer fake.Close()
		stdout, _, code := runCLI(map[string]string{}, "", append([]string{"plan", "--check"}, ghArgs(fake, "--permissions", "contents:read", "--repositories", "elsewhere")...)...)
		assert.Equal(t, 1, code)
		assert.Contains(t, stdout, "is not installed on repository octo/elsewhere")
	})
	t.Run("invalid steps are not checked", func(t *testing.T) {
		fake := exampleFake()
		defer fake.Close()
		_, _, code := runCLI(map[string]string{}, "", append([]string{"plan", "--check"}, ghArgs(fake, "--permissions", "contens:read")...)...)
		assert.Equal(t, 1, code)
		assert.Zero(t, fake.Requests(), "no network call before the inputs are valid")
	})
	t.Run("run-time values and the current repository are not guessed", func(t *testing.T) {
		fake := exampleFake()
		defer fake.Close()
		env := map[string]string{"GITHUB_API_URL": fake.URL}
		stdout, _, code := runCLI(env, "", "plan", "--check", "--workflow", td("workflows", "github.yml"))
		assert.Equal(t, 0, code)
		assert.Contains(t, stdout, "check:        not checked: --client-id, --private-key only exist at run time; give them on the command line (or as INPUT_* variables) to check")
		stdout, _, code = runCLI(env, "", "plan", "--check", "--workflow", td("workflows", "github.yml"), "--step", "token",
			"--client-id", fake.ClientID, "--private-key-file", keyFile)
		assert.Equal(t, 0, code)
		assert.Contains(t, stdout, "check:        not checked: the current repository is only known at run time; give it with --repository owner/name")
		stdout, _, code = runCLI(env, "", "plan", "--check", "--workflow", td("workflows", "github.yml"), "--step", "token",
			"--client-id", fake.ClientID, "--private-key-file", keyFile, "--repository", "octo/app")
		assert.Equal(t, 0, code, stdout)
		assert.Contains(t, stdout, "check:        App authenticated; installation 77")
		assert.Empty(t, fake.Minted())
	})
}

func TestMintFailures(t *testing.T) {
	fake := exampleFake()
	defer fake.Close()
	t.Run("bad inputs: every problem, no call, nothing on stdout", func(t *testing.T) {
		stdout, stderr, code := runCLI(map[string]string{}, "", append([]string{"mint"}, ghArgs(fake, "--permissions", "contens:read", "--lifetime", "2h")...)...)
		assert.Equal(t, 2, code, "values refused before any call are a usage error")
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, `error: input --permissions: unknown GitHub App permission "contens"`)
		assert.Contains(t, stderr, "error: input --lifetime: 2h is longer than GitHub's fixed 1h")
		assert.Zero(t, fake.Requests())
	})
	t.Run("refused by GitHub: nothing on stdout", func(t *testing.T) {
		stdout, stderr, code := runCLI(map[string]string{}, "", append([]string{"mint"}, ghArgs(fake, "--permissions", "issues:write")...)...)
		assert.Equal(t, 1, code)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, "error: failed to mint: GitHub answered 422 Unprocessable Entity: The permissions requested are not granted to this installation. — the installation lacks issues:write")
	})
	t.Run("broader grant: revoked before exit, nothing on stdout", func(t *testing.T) {
		fake.Grant = func(tok *ghfake.Token) { tok.Permissions["issues"] = "write" }
		defer func() { fake.Grant = nil }()
		stdout, stderr, code := runCLI(map[string]string{}, "", append([]string{"mint"}, ghArgs(fake, "--permissions", "contents:read")...)...)
		assert.Equal(t, 1, code)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, "GitHub granted more than asked")
		assert.Empty(t, fake.Live(), "the broader token was revoked")
		testutil.AssertNoSecret(t, "stderr", stderr, fakeToken, testutil.AppKeyPEM(t))
	})
}

func TestMintLeaksNothingButTheToken(t *testing.T) {
	fake := exampleFake()
	defer fake.Close()
	key := testutil.AppKeyPEM(t)
	// The key from INPUT_PRIVATE_KEY (as a shell can export it), debug on.
	env := map[string]string{"INPUT_PRIVATE_KEY": key, "JOBTOKEN_DEBUG": "1"}
	stdout, stderr, code := runCLI(env, "", "mint", "--provider", "github", "--client-id", fake.ClientID, "--github-api-url", fake.URL,
		"--repository", "octo/app", "--permissions", "contents:read", "--export-env", "GH_TOKEN")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, fakeToken+"\n", stdout)
	testutil.AssertNoSecret(t, "stderr", stderr, fakeToken, key)
	assert.Contains(t, stderr, `export-env GH_TOKEN: a command cannot set variables in its parent shell; use GH_TOKEN="$(jobtoken mint …)"`)
}

func TestRevokeUsage(t *testing.T) {
	for _, c := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"no provider", []string{"--token-stdin"}, "ghs_x", "--provider is required; one of anaconda"},
		{"unknown provider", []string{"--provider", "githb", "--token-stdin"}, "ghs_x", `unknown provider "githb"; did you mean "github"?`},
		{"github without the token", []string{"--provider", "github", "--token-id", "sha256:abc"}, "", "--token-stdin is required: GitHub revokes an installation token with the token itself"},
		{"empty stdin", []string{"--provider", "github", "--token-stdin"}, "\n", "--token-stdin: stdin was empty"},
		{"anaconda without the token", []string{"--provider", "anaconda", "--token-id", "note"}, "", "--token-stdin is required: anaconda.org revokes a token with the token itself"},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(map[string]string{}, c.stdin, append([]string{"revoke"}, c.args...)...)
			assert.Equal(t, 2, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, c.want)
		})
	}
}

func TestRevokeFailureIsReported(t *testing.T) {
	fake := refusingFake()
	defer fake.Close()
	stdout, stderr, code := runCLI(map[string]string{"GITHUB_API_URL": fake.URL}, fakeToken, "revoke", "--provider", "github", "--token-stdin")
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Equal(t, "error: failed to revoke github token sha256:df4eb8ac8c0a: failed to revoke: GitHub answered 403 Forbidden: Resource not accessible by integration\n", stderr)
	assert.False(t, strings.Contains(stderr, fakeToken))
}

func TestRevokeAzureDevOpsUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--provider", "azure-devops", "--azure-devops-organization", "contoso"}, "--token-id is required: Azure DevOps revokes a PAT by its authorizationId"},
		{[]string{"--provider", "azure-devops", "--token-id", "8f1c"}, "input --azure-devops-organization: is required for azure-devops PATs"},
		{[]string{"--provider", "azure-devops", "--token-id", "8f1c", "--azure-devops-organization", "https://dev.azure.com/contoso/project"}, `input --azure-devops-organization: "https://dev.azure.com/contoso/project" names more than an organization`},
	} {
		stdout, stderr, code := runCLI(map[string]string{}, "", append([]string{"revoke"}, c.args...)...)
		assert.Equal(t, 2, code, c.args)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, c.want)
	}
}

// TestMintRevokeAzureDevOpsPAT: the revoke command rebuilds what the main
// stage would have saved (organization, API URL, authorizationId) well
// enough for the provider to revoke the PAT.
func TestMintRevokeAzureDevOpsPAT(t *testing.T) {
	tenant := azfake.NewTenant()
	tenant.Now = func() time.Time { return fixedNow }
	api := azfake.NewPATs(tenant, "contoso")
	api.Now = tenant.Now
	defer api.Close()
	parent := tenant.UserToken("alice@contoso.com", time.Hour)
	env := map[string]string{"INPUT_AZURE_ACCESS_TOKEN": parent}
	common := []string{"--provider", "azure-devops", "--azure-devops-organization", "https://dev.azure.com/contoso", "--azure-devops-api-url", api.URL}
	stdout, stderr, code := runCLI(env, "", append([]string{"mint", "--permissions", "vso.code", "--lifetime", "10m"}, common...)...)
	require.Equal(t, 0, code, stderr)
	live := api.Live()
	require.Len(t, live, 1)
	assert.Equal(t, live[0].Token+"\n", stdout)
	id := regexp.MustCompile(`(?m)^token-id: (\S+)$`).FindStringSubmatch(stderr)
	require.NotNil(t, id, stderr)
	assert.Equal(t, live[0].AuthorizationID, id[1])
	assert.Contains(t, stderr, "to revoke it: jobtoken revoke --provider azure-devops --token-id "+id[1]+" --azure-devops-organization contoso\n")
	testutil.AssertNoSecret(t, "stderr", stderr, parent, live[0].Token)

	stdout, stderr, code = runCLI(env, "", append([]string{"revoke", "--token-id", id[1]}, common...)...)
	assert.Equal(t, 0, code, stderr)
	assert.Empty(t, stdout)
	assert.Equal(t, "revoked azure-devops token "+id[1]+"\n", stderr)
	assert.Empty(t, api.Live())
}

// TestMintInsideCI: run by hand in a CI step, jobtoken mint also asks the CI
// system to mask the token (on stderr, so stdout stays the token alone).
func TestMintInsideCI(t *testing.T) {
	fake := exampleFake()
	defer fake.Close()
	for ci, mask := range map[string]string{"GITHUB_ACTIONS": "::add-mask::" + fakeToken + "\n", "TF_BUILD": "##vso[task.setsecret]" + fakeToken + "\n"} {
		env := map[string]string{ci: "true"}
		stdout, stderr, code := runCLI(env, "", append([]string{"mint"}, ghArgs(fake, "--permissions", "contents:read")...)...)
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, fakeToken+"\n", stdout)
		assert.True(t, strings.HasPrefix(stderr, mask), "%s: the mask command comes before anything else:\n%s", ci, stderr)
		var rest []string
		for _, l := range strings.Split(stderr, "\n") {
			if !strings.HasPrefix(l, "::add-mask::") && !strings.HasPrefix(l, "##vso[task.setsecret]") {
				rest = append(rest, l)
			}
		}
		assert.NotContains(t, strings.Join(rest, "\n"), fakeToken, "only mask commands carry the token (its own, and the tokens output's)")
	}
	// Outside CI there is nothing to tell.
	_, stderr, _ := runCLI(map[string]string{}, "", append([]string{"mint"}, ghArgs(fake, "--permissions", "contents:read")...)...)
	assert.NotContains(t, stderr, fakeToken)
	assert.NotContains(t, stderr, "add-mask")
}
