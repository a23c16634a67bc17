package cli_test

// Trust boundaries (issue #11) for the commands: one URL check everywhere,
// --check never sends a command-line credential where a file points, and
// nothing a command prints becomes a CI command. Every test here failed on
// the code before that issue.

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/cli"
	"github.com/jobtoken/jobtoken/pkg/fake/anacondafake"
	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/minted"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
	"github.com/jobtoken/jobtoken/pkg/testutil/fuzzcorpus"
)

// nowhere is a transport that records the requests it is asked to send and
// sends none.
type nowhere struct {
	mu   sync.Mutex
	seen []string
}

func (n *nowhere) RoundTrip(r *http.Request) (*http.Response, error) {
	n.mu.Lock()
	n.seen = append(n.seen, r.Method+" "+r.URL.String())
	n.mu.Unlock()
	return nil, http.ErrHandlerTimeout
}

func (n *nowhere) requests() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.seen...)
}

// runWith runs jobtoken in-process as a terminal would, over tr, with a
// fixed clock and instant retries, and returns what it printed.
func runWith(tr http.RoundTripper, env map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	set := &secret.Set{}
	ow, ew := secret.NewWriter(&out, set), secret.NewWriter(&errb, set)
	e := &cli.Env{
		Args: append([]string{"jobtoken"}, args...), Getenv: testutil.Getenv(env), Stdin: strings.NewReader(stdin),
		Stdout: ow, Stderr: ew, RawStdout: ow, RawStderr: ew, Secrets: set,
		Transport: tr, Retry: &providertest.NoSleep, Now: func() time.Time { return fixedNow },
	}
	code = e.Run(context.Background())
	_ = ow.Flush()
	_ = ew.Flush()
	return out.String(), errb.String(), code
}

// TestEveryCommandChecksAPIURLs: revoke and sweep refuse, before any
// request, the API URLs mint refuses: plain http to another machine, and
// credentials in the URL (never echoed).
func TestEveryCommandChecksAPIURLs(t *testing.T) {
	const password = "hunter2-s3cret"
	urls := map[string]string{"plain http": "http://api.example.net", "user:password": "https://user:" + password + "@api.example.net"}
	cmds := []struct {
		name  string
		flag  string
		args  []string
		env   map[string]string
		stdin string
	}{
		{"revoke github", "--github-api-url", []string{"revoke", "--provider", "github", "--token-stdin"}, nil, "ghs_child0123456789"},
		{"revoke anaconda", "--anaconda-api-url", []string{"revoke", "--provider", "anaconda", "--token-stdin", "--token-id", "n"},
			map[string]string{"INPUT_ANACONDA_CREDENTIAL": "token abcdefabcdef"}, "child0123456789"},
		{"revoke azure-devops", "--azure-devops-api-url", []string{"revoke", "--provider", "azure-devops", "--token-id", "8f1c", "--azure-devops-organization", "contoso"},
			map[string]string{"INPUT_AZURE_ACCESS_TOKEN": "eyJparent.parent.parent"}, ""},
		{"sweep anaconda", "--anaconda-api-url", []string{"sweep", "--provider", "anaconda"},
			map[string]string{"INPUT_ANACONDA_CREDENTIAL": "token abcdefabcdef"}, ""},
		{"sweep azure-devops", "--azure-devops-api-url", []string{"sweep", "--provider", "azure-devops", "--azure-devops-organization", "contoso"},
			map[string]string{"INPUT_AZURE_ACCESS_TOKEN": "eyJparent.parent.parent"}, ""},
	}
	for _, c := range cmds {
		for kind, u := range urls {
			t.Run(c.name+"/"+kind, func(t *testing.T) {
				tr := &nowhere{}
				env := c.env
				if env == nil {
					env = map[string]string{}
				}
				stdout, stderr, code := runWith(tr, env, c.stdin, append(c.args, c.flag, u)...)
				assert.Equal(t, 2, code, stdout+stderr)
				assert.Empty(t, tr.requests(), "a credential was sent to %s", u)
				assert.Contains(t, stderr, "input "+c.flag+": ")
				assert.NotContains(t, stdout+stderr, password)
			})
		}
	}
}

// TestPlanCheckSendsNoCommandLineCredentialWhereTheFilePoints: a workflow
// (perhaps from someone else's pull request) names an API URL; the App key
// comes from --private-key-file. --check refuses rather than send the App
// JWT there, and names the fix; with the same URL on the command line, it
// checks.
func TestPlanCheckSendsNoCommandLineCredentialWhereTheFilePoints(t *testing.T) {
	fake := exampleFake()
	defer fake.Close()
	wf := filepath.Join(t.TempDir(), "wf.yml")
	require.NoError(t, os.WriteFile(wf, []byte(`on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - id: token
        uses: jobtoken/jobtoken@v1
        with:
          provider: github
          client-id: `+fake.ClientID+`
          private-key: ${{ secrets.APP_PRIVATE_KEY }}
          github-api-url: `+fake.URL+`
          permissions: contents:read
`), 0o600))
	args := []string{"plan", "--workflow", wf, "--check", "--repository", "octo/app", "--private-key-file", keyFile}
	before := fake.Requests()
	stdout, stderr, code := runWith(http.DefaultTransport, map[string]string{}, "", args...)
	assert.Equal(t, 1, code, stdout+stderr)
	assert.Equal(t, before, fake.Requests(), "the App JWT went where the workflow file points")
	assert.Contains(t, stdout, "check refused: the workflow sets github-api-url to "+fake.URL+", and --private-key comes from the command line")
	assert.Contains(t, stdout, "pass the same --github-api-url "+fake.URL+" on the command line")

	stdout, stderr, code = runWith(http.DefaultTransport, map[string]string{}, "", append(args, "--github-api-url", fake.URL)...)
	assert.Equal(t, 0, code, stdout+stderr)
	assert.Greater(t, fake.Requests(), before)
	assert.Contains(t, stdout, "App authenticated")
}

// TestPlanRefusesCredentialsInAzureDevOpsAPIURL: the azure-devops provider
// had its own URL check, without the rule that refuses user:password.
func TestPlanRefusesCredentialsInAzureDevOpsAPIURL(t *testing.T) {
	const password = "hunter2-s3cret"
	for _, format := range [][]string{nil, {"--json"}} {
		stdout, stderr, code := runWith(&nowhere{}, map[string]string{}, "", append([]string{"plan", "--provider", "azure-devops",
			"--azure-devops-api-url", "https://user:" + password + "@vssps.example.net", "--azure-devops-organization", "contoso",
			"--permissions", "vso.code"}, format...)...)
		assert.Equal(t, 1, code)
		assert.NotContains(t, stdout+stderr, password)
		assert.Contains(t, stdout, "holds credentials (user:password@host)")
		assert.NotContains(t, stdout, "valid: 1 step")
	}
}

// commandLike holds text that a CI system reads as a command, in the shapes an
// API's listing could carry it: a whole line, after a line break or a lone
// CR, and inside a line.
var commandLike = []string{
	"##vso[task.setvariable variable=INJECTED]1",
	"x\n::warning::INJECTED",
	"x\r::error::INJECTED",
	"##[error]INJECTED",
	"x\n##vso[task.complete result=Succeeded]INJECTED",
}

// assertNoCommand fails when a line of out is a GitHub workflow command or
// an Azure Pipelines logging or formatting command.
func assertNoCommand(t *testing.T, out string) {
	t.Helper()
	for _, c := range ghactions.ParseCommands(out) {
		t.Errorf("the runner would run ::%s:: (%q)", c.Name, c.Message)
	}
	for _, l := range azpipelines.Lines(out) {
		if c, ok := azpipelines.Parse(l); ok {
			t.Errorf("the agent would run ##vso[%s] (%q)", c.Name, l)
		}
		if strings.Contains(l, "##[") {
			t.Errorf("the agent would format %q", l)
		}
	}
	assert.NotContains(t, out, "INJECTED\n::")
}

// TestSweepPrintsNoCommands: names, IDs and scopes a hostile or compromised
// API lists are printed neutralised.
func TestSweepPrintsNoCommands(t *testing.T) {
	t.Run("azure-devops", func(t *testing.T) {
		tenant := azfake.NewTenant()
		tenant.Now = func() time.Time { return fixedNow }
		api := azfake.NewPATs(tenant, "contoso")
		api.Now = tenant.Now
		t.Cleanup(api.Close)
		parent := tenant.UserToken("alice@contoso.com", time.Hour)
		claims, err := tenant.Verify(parent)
		require.NoError(t, err)
		for i, h := range commandLike {
			name := "jobtoken octo/app run 100.1 aaaaaa"
			if !strings.ContainsAny(h, "\r\n") {
				name = "jobtoken " + h + " run 100.1 aaaaaa"
			}
			api.Add(&azfake.PAT{AuthorizationID: "id-" + h + string(rune('a'+i)), DisplayName: name, Scope: "vso.code " + h, Token: "pat" + strings.Repeat("x", 49),
				Org: "contoso", UserOID: claims["oid"].(string), TargetAccounts: []string{"x"}, ValidFrom: fixedNow.Add(-8 * time.Hour), ValidTo: fixedNow.Add(time.Hour)})
		}
		stdout, stderr, _ := runWith(http.DefaultTransport, map[string]string{"INPUT_AZURE_ACCESS_TOKEN": parent}, "",
			"sweep", "--provider", "azure-devops", "--azure-devops-organization", "contoso", "--azure-devops-api-url", api.URL, "--revoke")
		assert.Contains(t, stdout, "INJECTED")
		assertNoCommand(t, stdout)
		assertNoCommand(t, stderr)
	})
	t.Run("anaconda", func(t *testing.T) {
		f := anacondafake.New(&anacondafake.Account{Login: "ana"})
		t.Cleanup(f.Close)
		f.Now = func() time.Time { return fixedNow }
		key := f.AddAPIKey("ana", fixedNow.Add(24*time.Hour))
		for _, h := range commandLike {
			note := "jobtoken octo:app run 100.1 aaaaaa"
			if !strings.ContainsAny(h, "\r\n") {
				note = "jobtoken " + h + " run 100.1 aaaaaa"
			}
			f.Seed(anacondafake.Token{Note: note, Owner: "ana", Life: minted.Life{ExpiresAt: fixedNow.Add(time.Hour)}, Scopes: []string{"conda:download", h}})
		}
		stdout, stderr, _ := runWith(http.DefaultTransport, map[string]string{"INPUT_ANACONDA_CREDENTIAL": key}, "",
			"sweep", "--provider", "anaconda", "--anaconda-api-url", f.URL, "--older-than", "0", "--revoke")
		assert.Contains(t, stdout, "INJECTED")
		assertNoCommand(t, stdout)
		assertNoCommand(t, stderr)
	})
}

// FuzzCLINeutralize: whatever a command prints, no line of it is a command to
// the GitHub runner or the Azure agent.
func FuzzCLINeutralize(f *testing.F) {
	for _, h := range commandLike {
		f.Add(h)
	}
	f.Add("\u200b::error::x")
	f.Add(" \t::add-mask::x")
	f.Add("a\r\n##vso[x.y]z")
	fuzzcorpus.Add(f)
	f.Fuzz(func(t *testing.T, s string) {
		out := cli.Neutralize(s)
		for _, c := range ghactions.ParseCommands(out) {
			t.Fatalf("%q → %q holds ::%s::", s, out, c.Name)
		}
		for _, l := range azpipelines.Lines(out) {
			if _, ok := azpipelines.Parse(l); ok || strings.Contains(l, "##[") {
				t.Fatalf("%q → %q holds an Azure command", s, out)
			}
		}
	})
}
