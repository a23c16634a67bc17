package cli_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/cli"
	"github.com/jobtoken/jobtoken/pkg/fake/anacondafake"
	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agenttest"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions/runnertest"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// hostile is a transport that misbehaves with the credentials it is given,
// as a careless library or proxy might: it echoes the Authorization header
// into its error, or panics with it after printing it in two halves without
// a line end. Everything it sees is recorded, so the test knows every
// secret that could leak, derived ones (the App JWT) included.
type hostile struct {
	panics bool
	env    *cli.Env // its Stderr is the redacting writer MainEnv installed

	mu   sync.Mutex
	seen []string
}

func (h *hostile) RoundTrip(r *http.Request) (*http.Response, error) {
	_, auth, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	h.mu.Lock()
	h.seen = append(h.seen, auth)
	h.mu.Unlock()
	if h.panics {
		half := len(auth) / 2
		_, _ = h.env.Stderr.Write([]byte("about to fail with " + auth[:half]))
		_, _ = h.env.Stderr.Write([]byte(auth[half:] + " ... "))
		panic("transport failed with credential " + auth + "\n::add-mask::nothing ##vso[task.complete result=Succeeded]")
	}
	return nil, errors.New("proxy refused credential " + auth)
}

func (h *hostile) secrets() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.seen...)
}

// TestRedactionUnderEveryCommand: on every host and subcommand, a secret
// that reaches jobtoken's stdout or stderr by a path no code meant to print
// it (an error echoing a header, a panic, a secret split across writes, a
// local run with no CI system to mask anything) leaves the process redacted.
// Only the commands that must carry a secret (::add-mask::,
// task.setsecret, secret variables, the token mint prints) carry one.
func TestRedactionUnderEveryCommand(t *testing.T) {
	key := testutil.AppKeyPEM(t)
	gh := exampleFake()
	defer gh.Close()
	tenant := azfake.NewTenant()
	pats := azfake.NewPATs(tenant, "contoso")
	defer pats.Close()
	parent := tenant.UserToken("alice@contoso.com", time.Hour)
	ana := anacondafake.New(&anacondafake.Account{Login: "ana"})
	defer ana.Close()
	apiKey := ana.AddAPIKey("ana", time.Now().Add(time.Hour))
	const childToken = "ghs_CHILDtokenFromAnEarlierMain0123456789"

	ghStep := func(t *testing.T) map[string]string {
		return runnertest.StepEnv(t, map[string]string{"provider": "github", "client-id": gh.ClientID, "private-key": key,
			"github-api-url": gh.URL, "permissions": "contents:read"})
	}
	saved, err := job.SealState(registry.Default().Catalog(), inputs.ValuesOf(map[string]string{ghapp.PrivateKey.Key: strings.TrimSpace(key)}), host.Run{Repository: "octo/app", RunID: "9", Attempt: "1"}, network.Settings{},
		provider.Saved{Provider: "github", Token: childToken, ID: "sha256:0123456789ab", Revoke: true, Revocable: true,
			ExpiresAt: time.Now().Add(time.Hour), Destinations: map[string]string{ghapp.APIURL.Key: gh.URL}})
	require.NoError(t, err)

	cases := []struct {
		name  string
		argv  []string
		env   func(t *testing.T) map[string]string
		stdin string
		given []string // secrets the step was given
	}{
		{"github main", []string{"/jobtoken"}, ghStep, "", []string{key}},
		{"github post", []string{"/jobtoken-post"}, func(t *testing.T) map[string]string {
			env := ghStep(t)
			env["STATE_jobtoken"] = string(saved)
			return env
		}, "", []string{key, childToken}},
		{"azure main", []string{"/jobtoken", "main"}, func(t *testing.T) map[string]string {
			return agenttest.StepEnv(t, map[string]string{"provider": "azure-devops", "azureCredential": "pat", "permissions": "vso.code",
				"azureDevOpsOrganization": "contoso", "azureDevOpsApiUrl": pats.URL, "azureAccessToken": parent})
		}, "", []string{parent}},
		{"local mint", []string{"jobtoken", "mint", "--provider", "anaconda", "--permissions", "conda:download", "--anaconda-api-url", ana.URL}, func(*testing.T) map[string]string {
			return map[string]string{"INPUT_ANACONDA_CREDENTIAL": apiKey}
		}, "", []string{apiKey}},
		{"local revoke", []string{"jobtoken", "revoke", "--provider", "github", "--token-stdin", "--github-api-url", gh.URL}, func(*testing.T) map[string]string {
			return map[string]string{}
		}, childToken, []string{childToken}},
		{"local plan --check", []string{"jobtoken", "plan", "--check", "--provider", "github", "--client-id", gh.ClientID, "--private-key-file", keyFile,
			"--github-api-url", gh.URL, "--repository", "octo/app", "--permissions", "contents:read"}, func(*testing.T) map[string]string {
			return map[string]string{}
		}, "", []string{key}},
		{"local sweep", []string{"jobtoken", "sweep", "--provider", "azure-devops", "--azure-devops-organization", "contoso", "--azure-devops-api-url", pats.URL}, func(*testing.T) map[string]string {
			return map[string]string{"INPUT_AZURE_ACCESS_TOKEN": parent}
		}, "", []string{parent}},
	}
	for _, tc := range cases {
		for _, panics := range []bool{false, true} {
			name := tc.name + "/echoing error"
			if panics {
				name = tc.name + "/panic"
			}
			t.Run(name, func(t *testing.T) {
				var out, errb bytes.Buffer
				e := &cli.Env{Args: tc.argv, Getenv: testutil.Getenv(tc.env(t)), Stdin: strings.NewReader(tc.stdin)}
				tr := &hostile{panics: panics, env: e}
				e.Transport, e.Retry = tr, &providertest.NoSleep
				code := cli.MainEnv(context.Background(), e, &out, &errb)

				seen := tr.secrets()
				assert.NotEmpty(t, seen, "the command made a call")
				all := append(append([]string{}, tc.given...), seen...)
				stdout := out.String()
				if tc.name == "local mint" {
					assert.Empty(t, stdout, "no token was minted")
				}
				var plain []string
				for _, l := range strings.Split(stdout, "\n") {
					c, isAz := azpipelines.Parse(l)
					if strings.HasPrefix(l, "::add-mask::") || (isAz && (c.Name == "task.setsecret" || c.Prop("issecret") == "true")) {
						continue
					}
					plain = append(plain, l)
				}
				testutil.AssertNoSecret(t, "stdout", strings.Join(plain, "\n"), all...)
				testutil.AssertNoSecret(t, "stderr", errb.String(), all...)
				assert.Contains(t, stdout+errb.String(), "***", "the leaked credential was there, redacted")
				if panics {
					assert.Equal(t, 2, code)
					assert.Regexp(t, `(?m)about to fail with \*\*\* \.\.\. jobtoken: internal error: transport failed with credential \*\*\* : :add-mask: :nothing # #vso\[task\.complete result=Succeeded\]$`, errb.String(),
						"the held half-line is flushed redacted; the panic is one line that starts no command")
				} else {
					assert.NotEqual(t, 2, code)
				}
			})
		}
	}
}
