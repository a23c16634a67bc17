//go:build !jobtoken_step

package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/cli"
	"github.com/jobtoken/jobtoken/pkg/demo"
	"github.com/jobtoken/jobtoken/pkg/fake/anacondafake"
	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// variable are the parts of a transcript that change between runs.
var variable = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:PORT"},
	{regexp.MustCompile(`sha256:[0-9a-f]{12}`), "sha256:<ID>"},
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "<UUID>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`), "<TIME>"},
	{regexp.MustCompile(`( run 1\.1) [0-9a-f]{6}`), "$1 <SUFFIX>"},
	{regexp.MustCompile(`in \d+\.\d\ds\b`), "in <SECONDS>"},
}

func normalise(s string) string {
	for _, v := range variable {
		s = v.re.ReplaceAllString(s, v.with)
	}
	return s
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, testutil.Testdata("golden", "demo", name), got)
}

// stage runs a stage through cli's entry point, as cli's demo command does.
func stage(ctx context.Context, s demo.Stage) int {
	e := &cli.Env{Args: s.Args, Getenv: s.Getenv, Dial: s.Dial, Retry: &providertest.NoSleep}
	return cli.MainEnv(ctx, e, s.Stdout, s.Stderr)
}

// run runs the demo and returns its result, transcript, JSON, and every
// secret the fake knows of (minted tokens and their derived forms) with the
// run's own list.
func run(t *testing.T, provider, host string, tamper func(any)) (*demo.Result, string, string, []string) {
	t.Helper()
	var fake any
	res, err := demo.Run(context.Background(), demo.Options{Catalog: registry.Default().Catalog(), Worlds: registry.Demos(), Provider: provider, Host: host, Run: stage, Fake: func(f any) {
		fake = f
		if tamper != nil {
			tamper(f)
		}
	}})
	require.NoError(t, err)
	var text, js bytes.Buffer
	require.NoError(t, res.Text(&text, false))
	require.NoError(t, res.JSON(&js))
	secrets := demo.SecretsOf(res)
	// The fake's own records, so that the check does not rest on the
	// demo's list alone.
	switch f := fake.(type) {
	case *ghfake.Server:
		for _, tok := range f.Minted() {
			secrets = append(secrets, tok.Value, secret.BasicAuth("x-access-token", tok.Value))
		}
	case *azfake.PATs:
		for _, p := range f.All() {
			secrets = append(secrets, p.Token, secret.BasicAuth("", p.Token))
		}
	case *anacondafake.Server:
		for _, tok := range f.Minted() {
			secrets = append(secrets, tok.Value)
		}
	default:
		t.Fatalf("unexpected fake %T", fake)
	}
	return res, text.String(), js.String(), secrets
}

func TestEveryProviderOnEveryHost(t *testing.T) {
	for _, p := range registry.Demos().Providers(registry.Default().Catalog()) {
		for _, h := range demo.Hosts() {
			t.Run(p+"/"+h, func(t *testing.T) {
				t.Parallel()
				res, text, js, secrets := run(t, p, h, nil)
				for _, c := range res.Verdict.Checks {
					assert.True(t, c.OK, "%s: %s", c.Name, c.Detail)
				}
				assert.True(t, res.Verdict.OK)
				require.GreaterOrEqual(t, len(secrets), 3, "a parent, a token and a derived form at least")
				testutil.AssertNoSecret(t, "transcript", text, secrets...)
				testutil.AssertNoSecret(t, "JSON", js, secrets...)

				// What a user sees: the token as ***, every check held, the
				// fake's three answers.
				assert.Contains(t, text, "=***\n", "the later step's line with the token, masked")
				assert.NotContains(t, text, "✗")
				assert.Contains(t, text, "All good")

				var v demo.Verdict
				require.NoError(t, json.Unmarshal([]byte(js), &v))
				assert.True(t, v.OK)
				assert.Equal(t, p, v.Provider)
				assert.Equal(t, h, v.Host)
				assert.Equal(t, 1, v.Facts.Minted)
				assert.Zero(t, v.Facts.Live)
				assert.Empty(t, v.Facts.Leaks)
				assert.Empty(t, v.Facts.Network.Refused)
				assert.Equal(t, []string{strings.TrimPrefix(v.Facts.Fake, "http://")}, v.Facts.Network.Dialed, "only the fake")
				assert.True(t, v.Facts.Token.LiveAfterMain)
				assert.True(t, v.Facts.Token.Revoked)
				for _, c := range v.Facts.Calls {
					assert.Equal(t, c.Expect, c.Got, "%s %s", c.Method, c.Path)
				}
				golden(t, p+"-"+h+".txt", normalise(text))
			})
		}
	}
}

// A verdict that cannot fail proves nothing: each fake, made to grant more
// than asked, fails it. jobtoken revokes such a token at once and fails the
// step, so nothing is published or used either.
func TestVerdictFailsWhenTheFakeGrantsMore(t *testing.T) {
	tamper := map[string]func(any){
		"github":       func(f any) { f.(*ghfake.Server).Grant = func(t *ghfake.Token) { t.Permissions["issues"] = "write" } },
		"azure-devops": func(f any) { f.(*azfake.PATs).Grant = func(p *azfake.PAT) { p.Scope += " vso.build_execute" } },
		"anaconda": func(f any) {
			f.(*anacondafake.Server).Grant = func(t *anacondafake.Token) { t.Scopes = append(t.Scopes, "api:write") }
		},
	}
	for _, p := range registry.Demos().Providers(registry.Default().Catalog()) {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			res, text, _, secrets := run(t, p, "github", tamper[p])
			assert.False(t, res.Verdict.OK)
			checks := map[string]demo.Check{}
			for _, c := range res.Verdict.Checks {
				checks[c.Name] = c
			}
			assert.False(t, checks[demo.CheckMinted].OK)
			assert.Contains(t, checks[demo.CheckMinted].Detail, "but the fake granted")
			assert.False(t, checks[demo.CheckUsed].OK, "no token was published to use")
			assert.True(t, checks[demo.CheckNothingLive].OK, "jobtoken revoked the broader token at once: %s", checks[demo.CheckNothingLive].Detail)
			assert.Equal(t, 1, res.Verdict.Facts.Stages[0].Exit, "the main stage fails")
			assert.Contains(t, text, "✗ minted")
			assert.Contains(t, text, "Error: ", "the step's error, as the runner shows it")
			assert.Regexp(t, `\d of 8 checks failed`, text)
			testutil.AssertNoSecret(t, "transcript", text, secrets...)
		})
	}
}

// A post step that cannot revoke leaves the token live: the verdict says so.
func TestVerdictFailsWhenRevocationFails(t *testing.T) {
	refuse := func(method, path string) func(w http.ResponseWriter, r *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == method && strings.Contains(r.URL.Path, path) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, `{"message":"Forbidden","error":"Forbidden"}`)
				return true
			}
			return false
		}
	}
	tamper := map[string]func(any){
		"github":       func(f any) { f.(*ghfake.Server).Before = refuse("DELETE", "/installation/token") },
		"azure-devops": func(f any) { f.(*azfake.PATs).Before = refuse("DELETE", "/_apis/tokens/pats") },
		// Both ways: with the token itself, and by name with the parent.
		"anaconda": func(f any) { f.(*anacondafake.Server).Before = refuse("DELETE", "/authentications") },
	}
	for _, p := range registry.Demos().Providers(registry.Default().Catalog()) {
		for _, h := range demo.Hosts() {
			t.Run(p+"/"+h, func(t *testing.T) {
				t.Parallel()
				res, text, _, secrets := run(t, p, h, tamper[p])
				assert.False(t, res.Verdict.OK)
				for _, c := range res.Verdict.Checks {
					switch c.Name {
					case demo.CheckRevoked, demo.CheckNothingLive:
						assert.False(t, c.OK, "%s: %s", c.Name, c.Detail)
					default:
						assert.True(t, c.OK, "%s: %s", c.Name, c.Detail)
					}
				}
				assert.Contains(t, text, "Warning: ", "the post step's warning, as the CI system shows it")
				assert.Contains(t, text, "✗ revoked")
				testutil.AssertNoSecret(t, "transcript", text, secrets...)
			})
		}
	}
}

func TestUnknownNamesAreErrors(t *testing.T) {
	_, err := demo.Run(context.Background(), demo.Options{Catalog: registry.Default().Catalog(), Worlds: registry.Demos(), Provider: "gitlab", Run: stage})
	assert.ErrorContains(t, err, `unknown provider "gitlab"; valid providers are github, azure-devops, anaconda`)
	_, err = demo.Run(context.Background(), demo.Options{Catalog: registry.Default().Catalog(), Worlds: registry.Demos(), Host: "jenkins", Run: stage})
	assert.ErrorContains(t, err, `unknown host "jenkins"; valid hosts are github, azure`)
}

// A stage that prints the token (a bug jobtoken must never have) fails the
// verdict, which names where it was found; the transcript itself stays
// clean, because the CI system masks what it shows.
func TestVerdictFailsWhenAStagePrintsTheToken(t *testing.T) {
	for _, h := range demo.Hosts() {
		t.Run(h, func(t *testing.T) {
			t.Parallel()
			var fake *ghfake.Server
			leaky := func(ctx context.Context, s demo.Stage) int {
				code := stage(ctx, s)
				if s.Args[1] != "main" {
					return code
				}
				for _, tok := range fake.Minted() {
					fmt.Fprintf(s.Stdout, "debug: minted %s\n", tok.Value)
					if p := s.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
						f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
						require.NoError(t, err)
						fmt.Fprintf(f, "token: %s\n", secret.BasicAuth("x-access-token", tok.Value))
						require.NoError(t, f.Close())
					}
				}
				return code
			}
			res, err := demo.Run(context.Background(), demo.Options{Catalog: registry.Default().Catalog(), Worlds: registry.Demos(), Host: h, Run: leaky, Fake: func(f any) { fake = f.(*ghfake.Server) }})
			require.NoError(t, err)
			assert.False(t, res.Verdict.OK)
			var never demo.Check
			for _, c := range res.Verdict.Checks {
				if c.Name == demo.CheckNeverPrinted {
					never = c
				}
			}
			assert.False(t, never.OK)
			assert.Contains(t, never.Detail, "the token in stdout of the main stage")
			if h == "github" {
				assert.Contains(t, never.Detail, "the git basic-auth form in GITHUB_STEP_SUMMARY of the main stage")
			}
			var text bytes.Buffer
			require.NoError(t, res.Text(&text, false))
			assert.Contains(t, text.String(), "debug: minted ***", "the CI system masks it in the log")
			testutil.AssertNoSecret(t, "transcript", text.String(), demo.SecretsOf(res)...)
		})
	}
}
