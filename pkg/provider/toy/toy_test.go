// Package toy_test follows docs/adding-a-provider.md: a fourth provider,
// written in this test alone (its inputs, plan, mint, state, revocation and
// manual revocation), registered with one line beside the providers
// jobtoken ships, runs through jobtoken plan, a GitHub step's main and post
// stages, jobtoken mint and jobtoken revoke against an httptest fake of its
// service. Nothing else in jobtoken knows it exists.
package toy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/cli"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions/runnertest"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/api"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// ---- The provider: what pkg/provider/toy would hold. ----

// name is the provider input's value.
const name = "toy"

// The toy provider's inputs (inputs.go).
var (
	toyURL = inputs.Input{Key: "toy-url", Azure: "toyUrl", Label: "Toy URL", Type: inputs.TypeString,
		Description: "The toy service's API URL."}
	toyCredential = inputs.Input{Key: "toy-credential", Azure: "toyCredential", Type: inputs.TypeString, Secret: true,
		Description: "Parent credential of the toy service."}
)

type toy struct{}

var (
	_ provider.Provider      = toy{}
	_ provider.ManualRevoker = toy{}
)

func (toy) Name() string { return name }

func (toy) Inputs() inputs.Group {
	return inputs.Group{Name: name, Title: "Toy", Inputs: []inputs.Input{toyURL, toyCredential}}
}

// state is what revoking needs beyond the token and its destination
// (state.go).
type state struct {
	Name string `json:"name"`
}

// minter is one step's request (prepare.go).
type minter struct {
	req    provider.Request
	url    string
	parent string
	scopes []string
	name   string
}

func (toy) Prepare(req provider.Request) (provider.Minter, inputs.Problems) {
	var ps inputs.Problems
	m := &minter{req: req, scopes: req.Permissions, name: req.Run.Label()}
	m.url, ps = destination(req)
	m.parent = req.Inputs.Get(toyCredential)
	if m.parent == "" {
		ps.Add(toyCredential, "is required for %s; set %s from a secret", name, req.Name(toyCredential))
	}
	if req.Inputs.Known(inputs.Permissions) && len(m.scopes) == 0 {
		ps.Add(inputs.Permissions, "is required for toy; name the scopes")
	}
	return m, ps
}

func destination(req provider.Request) (string, inputs.Problems) {
	var ps inputs.Problems
	u := strings.TrimRight(req.Inputs.Get(toyURL), "/")
	if !req.Inputs.Known(toyURL) {
		return u, nil
	}
	if msg := provider.APIURLProblem(u, "https://toy.example.com"); msg != "" {
		ps.Add(toyURL, "%s", msg)
	}
	return u, ps
}

func (toy) Destinations(req provider.Request) ([]provider.Destination, inputs.Problems) {
	u, ps := destination(req)
	return []provider.Destination{{Input: toyURL, Value: u, URL: true}}, ps
}

func (m *minter) Plan() provider.Plan {
	var secrets []string
	if m.req.Inputs.Known(toyCredential) {
		secrets = []string{m.parent}
	}
	return provider.Plan{Provider: name, Parent: "toy credential from " + m.req.Name(toyCredential), Scopes: m.scopes,
		Lifetime: m.req.Lifetime, Revocation: "DELETE /tokens/self with the token itself, in the post step", Revocable: true,
		Details: map[string]string{"api": m.url}, Secrets: secrets}
}

// service is the toy service in the one API idiom (client.go).
func service(hc *http.Client) api.Service { return api.Service{Name: "the toy service", HTTP: hc} }

// Mint mints (mint.go).
func (m *minter) Mint(ctx context.Context) (*provider.Token, error) {
	body := map[string]any{"scopes": m.scopes, "ttl": int(m.req.Lifetime / time.Second), "name": m.name}
	req, err := api.NewRequest(ctx, http.MethodPost, m.url+"/tokens", "Bearer "+m.parent, body)
	if err != nil {
		return nil, err
	}
	var out struct{ ID, Token string }
	if _, err := service(m.req.HTTP).Do(req, &out, http.StatusCreated); err != nil {
		return nil, fmt.Errorf("failed to mint: %w", err)
	}
	return &provider.Token{Value: out.Token, ID: out.ID, ExpiresAt: m.req.Now().Add(m.req.Lifetime), Granted: strings.Join(m.scopes, " "),
		State: provider.MarshalState(state{Name: m.name}), Revocable: true}, nil
}

// Revoke revokes with the token itself (revoke.go).
func (toy) Revoke(ctx context.Context, req provider.Request, saved provider.Saved) error {
	var st state
	if err := provider.UnmarshalState(saved.State, &st); err != nil {
		return err
	}
	r, err := api.NewRequest(ctx, http.MethodDelete, saved.Destination(toyURL)+"/tokens/self", "Bearer "+saved.Token, nil)
	if err != nil {
		return err
	}
	_, err = service(req.HTTP).Do(r, nil, http.StatusNoContent)
	if apierror.StatusOf(err) == http.StatusUnauthorized {
		return provider.ErrAlreadyRevoked
	}
	return err
}

func (toy) ManualRevoke() provider.ManualRevoke {
	return provider.ManualRevoke{Token: true, How: "the toy service revokes a token with the token itself", Inputs: []inputs.Input{toyURL},
		Hint: func(s provider.Saved) string { return " " + inputs.FlagNames.Setting(toyURL, s.Destination(toyURL)) }}
}

// ---- The registration: the one line of pkg/provider/registry. ----

func providers(t *testing.T) *provider.Registry {
	t.Helper()
	r, err := provider.NewRegistry(append(registry.Default().All(), toy{})...)
	require.NoError(t, err)
	return r
}

// ---- The toy service, as its fake. ----

type fake struct {
	*httptest.Server
	parent string
	mu     sync.Mutex
	live   map[string]string // token → name
	n      int
}

func newFake(t *testing.T) *fake {
	f := &fake{parent: "toy-parent-0123456789abcdef", live: map[string]string{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/tokens" && auth == f.parent:
			var in struct {
				Scopes []string
				TTL    int
				Name   string
			}
			if json.NewDecoder(r.Body).Decode(&in) != nil || len(in.Scopes) == 0 || in.TTL <= 0 {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			f.n++
			tok := fmt.Sprintf("toy-token-%d-abcdef0123456789", f.n)
			f.live[tok] = in.Name
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]string{"id": fmt.Sprintf("toy-%d", f.n), "token": tok})
		case r.Method == http.MethodDelete && r.URL.Path == "/tokens/self" && f.live[auth] != "":
			delete(f.live, auth)
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"not a live credential"}`))
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) tokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for tok := range f.live {
		out = append(out, tok)
	}
	return out
}

// ---- jobtoken, with the toy registered. ----

func run(t *testing.T, reg *provider.Registry, env map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	set := &secret.Set{}
	ow, ew := secret.NewWriter(&out, set), secret.NewWriter(&errb, set)
	e := &cli.Env{Args: args, Getenv: testutil.Getenv(env), Stdin: strings.NewReader(stdin), Providers: reg,
		Stdout: ow, Stderr: ew, RawStdout: ow, RawStderr: ew, Secrets: set, Retry: &providertest.NoSleep}
	code = e.Run(context.Background())
	require.NoError(t, ow.Flush())
	require.NoError(t, ew.Flush())
	return out.String(), errb.String(), code
}

func TestToyProvider(t *testing.T) {
	reg, f := providers(t), newFake(t)
	dir := t.TempDir()
	parentFile := filepath.Join(dir, "parent")
	require.NoError(t, os.WriteFile(parentFile, []byte(f.parent), 0o600))

	t.Run("catalog", func(t *testing.T) {
		cat := reg.Catalog()
		in, ok := cat.Lookup("toy-credential")
		require.True(t, ok, "its inputs join the catalog")
		assert.Equal(t, []string{name}, in.Providers)
		p, _ := cat.Lookup(inputs.Provider.Key)
		assert.Contains(t, p.Options, name)
		yml, err := cat.ActionYAML()
		require.NoError(t, err)
		assert.Contains(t, string(yml), "toy-credential:\n    description: (toy) Parent credential of the toy service.")
	})

	t.Run("plan from flags", func(t *testing.T) {
		stdout, stderr, code := run(t, reg, nil, "", "jobtoken", "plan", "--provider", "toy", "--toy-url", f.URL,
			"--toy-credential-file", parentFile, "--permissions", "read write")
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Contains(t, stdout, "provider:     toy")
		assert.Contains(t, stdout, "parent:       toy credential from --toy-credential")
		assert.Contains(t, stdout, "scopes:       read, write")
		assert.NotContains(t, stdout+stderr, f.parent)
	})

	t.Run("plan of a workflow", func(t *testing.T) {
		wf := filepath.Join(dir, "wf.yml")
		require.NoError(t, os.WriteFile(wf, []byte("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: jobtoken/jobtoken@v1\n        with:\n          provider: toy\n          toy-url: https://toy.example.com\n          toy-credential: ${{ secrets.TOY }}\n          permissions: read\n"), 0o600))
		stdout, stderr, code := run(t, reg, nil, "", "jobtoken", "plan", "--workflow", wf)
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Contains(t, stdout, "at run time:  toy-credential = ${{ secrets.TOY }}")
		assert.Contains(t, stdout, "api:          https://toy.example.com")
	})

	t.Run("main and post on a GitHub runner", func(t *testing.T) {
		// The action.yml of a build that registers toy declares its inputs.
		yml, err := reg.Catalog().ActionYAML()
		require.NoError(t, err)
		env, err := runnertest.NewStepEnv(t.TempDir(), yml, map[string]string{
			"provider": "toy", "toy-url": f.URL, "toy-credential": f.parent, "permissions": "read", "lifetime": "30m",
		})
		require.NoError(t, err)
		stdout, stderr, code := run(t, reg, env, "", "/jobtoken")
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		outputs, _ := testutil.Heredocs(t, testutil.ReadFile(t, env["GITHUB_OUTPUT"]))
		require.Len(t, f.tokens(), 1)
		tok := f.tokens()[0]
		assert.Equal(t, tok, outputs["token"])
		assert.Equal(t, "toy-1", outputs["token-id"])
		assert.Contains(t, stdout, "::add-mask::"+tok)
		assert.Contains(t, stdout, "::add-mask::"+f.parent)
		testutil.AssertNoSecret(t, "main's log", testutil.WithoutGitHubMasks(stdout)+stderr, tok, f.parent)

		entries, err := ghactions.ParseFileCommand(testutil.ReadFile(t, env["GITHUB_STATE"]))
		require.NoError(t, err)
		for _, e := range entries {
			env["STATE_"+e.Name] = e.Value
		}
		stdout, stderr, code = run(t, reg, env, "", "/jobtoken-post")
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
		assert.Contains(t, stdout, "Revoked toy token toy-1")
		assert.Empty(t, f.tokens(), "the post step revoked it")
	})

	t.Run("mint and revoke by hand", func(t *testing.T) {
		stdout, stderr, code := run(t, reg, nil, "", "jobtoken", "mint", "--provider", "toy", "--toy-url", f.URL,
			"--toy-credential-file", parentFile, "--permissions", "read")
		require.Equal(t, 0, code, "stderr:\n%s", stderr)
		tok := strings.TrimSpace(stdout)
		require.Equal(t, []string{tok}, f.tokens())
		assert.Contains(t, stderr, "to revoke it, pipe the token into: jobtoken revoke --provider toy --token-stdin --toy-url "+f.URL)

		_, stderr, code = run(t, reg, nil, tok, "jobtoken", "revoke", "--provider", "toy", "--token-stdin", "--toy-url", f.URL)
		require.Equal(t, 0, code, "stderr:\n%s", stderr)
		assert.Contains(t, stderr, "revoked toy token")
		assert.Empty(t, f.tokens())

		help, _, _ := run(t, reg, nil, "", "jobtoken", "revoke", "--help")
		assert.Contains(t, strings.Join(strings.Fields(help), " "), "toy: the toy service revokes a token with the token itself.")
		assert.Contains(t, help, "--toy-url")
	})
}
