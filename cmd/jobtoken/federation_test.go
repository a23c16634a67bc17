package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/broker"
	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

var (
	stepOnce sync.Once
	stepBin  string
	stepErr  error
)

// stepBinary builds the binary CI steps run (-tags jobtoken_step), as the
// action tree holds it.
func stepBinary(t *testing.T) string {
	t.Helper()
	full, _ := binary(t)
	stepOnce.Do(func() {
		stepBin = filepath.Join(filepath.Dir(full), "jobtoken-step")
		out, err := exec.Command("go", "build", "-tags", "jobtoken_step", "-o", stepBin, ".").CombinedOutput()
		if err != nil {
			stepErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	require.NoError(t, stepErr)
	return stepBin
}

const fedAudience = "https://jobtoken.octo-org.example"

const fedPolicy = `apiVersion: jobtoken.dev/v1
kind: TrustPolicy
name: release
who:
  issuer: https://token.actions.githubusercontent.com
  claims:
    repository_owner_id: "65"
    job_workflow_ref: {pattern: 'octo-org/app/\.github/workflows/release\.yml@refs/tags/v.*'}
    event_name: {not: [pull_request_target]}
grants:
  - {provider: github, owner: octo-org, repositories: [app], permissions: {contents: write}}
`

// service is `jobtoken serve` running as a process.
type service struct {
	cmd    *exec.Cmd
	url    string
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan error
}

func (s *service) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stdout.String() + s.stderr.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func startService(t *testing.T, config string) *service {
	bin, _ := binary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(config), 0o600))
	s := &service{done: make(chan error, 1)}
	s.cmd = exec.Command(bin, "serve", "--config", cfg)
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	s.cmd.Stdout = lockedWriter{&s.mu, &s.stdout}
	pr, pw := io.Pipe()
	s.cmd.Stderr = pw
	require.NoError(t, s.cmd.Start())
	go func() { s.done <- s.cmd.Wait(); pw.Close() }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		re := regexp.MustCompile(`listening on (\S+)`)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stderr.WriteString(line + "\n")
			s.mu.Unlock()
			if m := re.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		s.url = "http://" + a
	case err := <-s.done:
		t.Fatalf("jobtoken serve exited: %v\n%s", err, s.output())
	case <-time.After(30 * time.Second):
		t.Fatalf("jobtoken serve did not start:\n%s", s.output())
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
		}
	})
	return s
}

// fedWorld is the fake GitHub, whose octo-org holds the policy repository,
// the job's OIDC issuer, and `jobtoken serve` trusting that issuer and
// minting with the App.
type fedWorld struct {
	fake *ghfake.Server
	oidc *azfake.GitHubOIDC
	svc  *service
	key  string // the App's private key, which only the service has
}

// newFedWorld starts the world; life, when set, is how long the tokens
// GitHub mints live.
func newFedWorld(t *testing.T, life time.Duration) *fedWorld {
	t.Helper()
	w := &fedWorld{key: testutil.AppKeyPEM(t)}
	w.fake = ghfake.New(testutil.AppKey(t), &ghfake.Installation{ID: 9, Account: "octo-org",
		Permissions: map[string]string{"contents": "write", "metadata": "read"}, AllRepos: []string{"app", "policies"}})
	t.Cleanup(w.fake.Close)
	w.fake.TokenLife = life
	w.fake.WriteFiles("octo-org", "policies", map[string]string{"jobtoken/release.yaml": fedPolicy})
	w.oidc = azfake.NewGitHubOIDC("octo-org/app")
	t.Cleanup(w.oidc.Close)
	w.oidc.Claims = map[string]any{"repository_owner_id": "65", "event_name": "push",
		"job_workflow_ref": "octo-org/app/.github/workflows/release.yml@refs/tags/v1.2.0"}

	keyFile := filepath.Join(t.TempDir(), "app.pem")
	require.NoError(t, os.WriteFile(keyFile, []byte(w.key), 0o600))
	w.svc = startService(t, fmt.Sprintf(`listen: 127.0.0.1:0
audience: %s
issuers:
  - {url: https://token.actions.githubusercontent.com, jwks_url: %s}
github: {api_url: %s, client_id: %s, private_key_file: %s}
policy_sources:
  - {url: "github://octo-org/policies@main/jobtoken", owners: [octo-org]}
`, fedAudience, w.oidc.JWKSURL(), w.fake.URL, w.fake.ClientID, keyFile))
	return w
}

// job is a step of octo-org/app that asks the service for what policy
// release allows, with extra inputs.
func (w *fedWorld) job(t *testing.T, extra map[string]string) *runner {
	in := map[string]string{
		"provider": "github", "federation-url": w.svc.url, "policy": "release",
		"permissions": "contents:write", "github-api-url": w.fake.URL,
	}
	for k, v := range extra {
		in[k] = v
	}
	r := newRunner(t, in)
	r.env = append(r.env, "GITHUB_REPOSITORY=octo-org/app",
		"ACTIONS_ID_TOKEN_REQUEST_URL="+w.oidc.RequestURL(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN="+w.oidc.RequestToken)
	return r
}

// audit is the service's audit log, one record per token request.
func (w *fedWorld) audit(t *testing.T) []map[string]any {
	t.Helper()
	w.svc.mu.Lock()
	defer w.svc.mu.Unlock()
	var recs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(w.svc.stdout.String()), "\n") {
		if l == "" {
			continue
		}
		rec := map[string]any{}
		require.NoError(t, json.Unmarshal([]byte(l), &rec), l)
		recs = append(recs, rec)
	}
	return recs
}

func TestEndToEndFederation(t *testing.T) {
	step := stepBinary(t)
	w := newFedWorld(t, 0)
	fake, oidc, svc, key := w.fake, w.oidc, w.svc, w.key

	resp, err := http.Get(svc.url + "/readyz")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Contains(t, string(body), "jwks_url")

	job := func(t *testing.T) *runner { return w.job(t, nil) }

	t.Run("allowed: main mints through the service, post revokes", func(t *testing.T) {
		r := job(t)
		stdout, stderr, code := r.run(step)
		require.Equal(t, 0, code, stdout+stderr)
		live := fake.Live()
		require.Len(t, live, 1, "the policy read's own token was revoked")
		tok := live[0].Value
		assert.Equal(t, []string{"app"}, live[0].Repos)
		outs := entries(t, r.read("OUTPUT"))
		assert.Equal(t, tok, outs["token"])
		assert.Equal(t, "contents:write, metadata:read", outs["permissions"])
		assert.Contains(t, stdout, "::add-mask::"+tok+"\n")
		secrets := append([]string{tok, secret.BasicAuth("x-access-token", tok), key, oidc.RequestToken}, oidc.Issued()...)
		testutil.AssertGitHubStepClean(t, testutil.GitHubStep{Stdout: stdout, Stderr: stderr, Summary: r.read("STEP_SUMMARY"),
			Output: r.read("OUTPUT"), Env: r.read("ENV")}, secrets...)
		assert.Contains(t, r.read("STEP_SUMMARY"), "release")

		var st []string
		for k, v := range entries(t, r.read("STATE")) {
			st = append(st, "STATE_"+k+"="+v)
		}
		// Post, as the shim starts it: `jobtoken post` with STATE_*.
		stdout, stderr, code = r.runArgs(step, []string{"post"}, st...)
		require.Equal(t, 0, code, stdout+stderr)
		assert.Empty(t, fake.Live(), "nothing live after post")
		assert.Contains(t, stdout, "Revoked github token "+outs["token-id"])
		testutil.AssertNoSecret(t, "post", testutil.WithoutGitHubMasks(stdout)+stderr, secrets...)
	})

	t.Run("denied: the job's event is not trusted", func(t *testing.T) {
		oidc.Claims["event_name"] = "pull_request_target"
		defer func() { oidc.Claims["event_name"] = "push" }()
		before := len(fake.Minted())
		r := job(t)
		stdout, stderr, code := r.run(step)
		assert.Equal(t, 1, code)
		assert.Contains(t, stdout, `event_name: wanted not ["pull_request_target"], got "pull_request_target"`)
		assert.Regexp(t, `::error::.*the federation service answered 403`, stdout)
		assert.Equal(t, before, len(fake.Minted()), "nothing minted for a denied job")
		testutil.AssertNoSecret(t, "denied step", testutil.WithoutGitHubMasks(stdout)+stderr, append([]string{key}, oidc.Issued()...)...)
	})

	t.Run("by hand: jobtoken mint --oidc-token-file, then revoke", func(t *testing.T) {
		bin, _ := binary(t)
		req, _ := http.NewRequest(http.MethodGet, oidc.RequestURL()+"&audience="+fedAudience, nil)
		req.Header.Set("Authorization", "Bearer "+oidc.RequestToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var v struct{ Value string }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
		resp.Body.Close()
		file := filepath.Join(t.TempDir(), "oidc")
		require.NoError(t, os.WriteFile(file, []byte(v.Value+"\n"), 0o600))
		mint := exec.Command(bin, "mint", "--provider", "github", "--federation-url", svc.url, "--policy", "release",
			"--permissions", "contents:write", "--repository", "octo-org/app", "--github-api-url", fake.URL, "--oidc-token-file", file)
		mint.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		var out, errb bytes.Buffer
		mint.Stdout, mint.Stderr = &out, &errb
		require.NoError(t, mint.Run(), errb.String())
		tok := strings.TrimSpace(out.String())
		require.NotNil(t, fake.Lookup(tok))
		assert.True(t, fake.Lookup(tok).Live(time.Now()))
		testutil.AssertNoSecret(t, "mint stderr", errb.String(), tok, v.Value, key)

		revoke := exec.Command(bin, "revoke", "--provider", "github", "--github-api-url", fake.URL, "--token-stdin")
		revoke.Env = mint.Env
		revoke.Stdin = strings.NewReader(tok)
		b, err := revoke.CombinedOutput()
		require.NoError(t, err, string(b))
		assert.False(t, fake.Lookup(tok).Live(time.Now()))
	})

	t.Run("service stops on SIGTERM, audit holds no secret", func(t *testing.T) {
		require.NoError(t, svc.cmd.Process.Signal(syscall.SIGTERM))
		select {
		case err := <-svc.done:
			require.NoError(t, err, svc.output())
		case <-time.After(30 * time.Second):
			t.Fatal("jobtoken serve did not stop on SIGTERM")
		}
		out := svc.output()
		assert.Contains(t, out, "jobtoken serve: stopped")
		var toks []string
		for _, tk := range fake.Minted() {
			toks = append(toks, tk.Value)
		}
		testutil.AssertNoSecret(t, "service output", out, append(append(toks, key), oidc.Issued()...)...)
		lines := strings.Split(strings.TrimSpace(svc.stdout.String()), "\n")
		require.Len(t, lines, 3, "one audit line per request")
		assert.Contains(t, lines[0], `"decision":"allow"`)
		assert.Contains(t, lines[1], `"decision":"deny"`)
		assert.Contains(t, lines[1], `"failed_claims":[{"claim":"event_name"`)
		assert.Contains(t, lines[2], `"decision":"allow"`)
	})
}

// TestBrokerRefreshesThroughFederation: federation-url with refresh, in the
// step binary. The step holds no App key: main mints through `jobtoken
// serve`, and each refresh asks the service again with a fresh OIDC token
// of the job; a later step's git and jobtoken token get the fresh token,
// and post revokes every token.
func TestBrokerRefreshesThroughFederation(t *testing.T) {
	step := stepBinary(t)
	w := newFedWorld(t, 6*time.Second)
	r := w.job(t, map[string]string{"refresh": "true", "refresh-until": "10m", "git-credentials": "true"})
	stdout, stderr, env := r.runBrokerMain(t, step)
	main := testutil.GitHubStep{Stdout: stdout, Stderr: stderr, Summary: r.read("STEP_SUMMARY"), Output: r.read("OUTPUT"), Env: r.read("ENV")}
	first := entries(t, r.read("OUTPUT"))["token"]
	require.NotEmpty(t, first)
	environ := brokerEnviron(t, env[broker.EnvSocket], env[broker.EnvKey])
	assert.NotContains(t, environ, w.oidc.RequestToken, "the request token reaches the broker over its pipe only")
	assert.NotContains(t, environ, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	later := []string{"PATH=" + filepath.Dir(step) + string(os.PathListSeparator) + os.Getenv("PATH")}
	for k, v := range env {
		later = append(later, k+"="+v)
	}

	// The tokens of octo-org/app (the service's own, to read policies, are
	// for octo-org/policies).
	served := func() []*ghfake.Token {
		var out []*ghfake.Token
		for _, tk := range w.fake.Minted() {
			if slices.Equal(tk.Repos, []string{"app"}) {
				out = append(out, tk)
			}
		}
		return out
	}
	waitFor(t, "a refresh", func() bool { return len(served()) >= 2 })
	waitFor(t, "superseded tokens revoked", func() bool {
		n := 0
		for _, tk := range served() {
			if tk.Live(time.Now()) {
				n++
			}
		}
		return n <= 1
	})

	// A later step: jobtoken token and git get the fresh token.
	tok := strings.TrimSpace(runLater(t, later, "token"))
	require.NotNil(t, w.fake.Lookup(tok))
	assert.True(t, w.fake.Lookup(tok).Live(time.Now()), "jobtoken token prints a live token")
	assert.NotEqual(t, first, tok, "a refreshed token")
	u, err := url.Parse(w.fake.URL)
	require.NoError(t, err)
	fill := gitCmd(later, "", "credential", "fill")
	fill.Stdin = strings.NewReader("protocol=http\nhost=" + u.Host + "\npath=octo-org/app.git\n\n")
	out, err := fill.Output()
	require.NoError(t, err)
	var password string
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "password="); ok {
			password = v
		}
	}
	require.NotNil(t, w.fake.Lookup(password), "git gets a token")
	assert.True(t, w.fake.Lookup(password).Live(time.Now()), "git gets a live token")
	assert.NotEqual(t, first, password, "a refreshed token")

	post, perr, code := r.runArgs(step, []string{"post"}, stateEnv(t, r)...)
	require.Equal(t, 0, code, post+perr)
	assert.Empty(t, w.fake.Live(), "after post nothing is live")
	assert.Contains(t, post, "refresh(es) by the broker")
	assert.Contains(t, post, "broker log:")
	assert.Contains(t, post, "refreshed: token sha256:")

	// Every token (the broker stopped: no more come) came from the service,
	// each asked for with a fresh OIDC token (the service accepts each once)
	// and allowed by policy release.
	toks := served()
	waitFor(t, "the service's audit", func() bool { return len(w.audit(t)) >= len(toks) })
	audit := w.audit(t)
	allowed := map[string]bool{}
	for _, rec := range audit {
		assert.Equal(t, "allow", rec["decision"])
		assert.Equal(t, "release", rec["policy"])
		id, _ := rec["token_id"].(string)
		allowed[id] = true
	}
	assert.Len(t, audit, len(toks), "one request to the service per token")
	for _, tk := range toks {
		assert.True(t, allowed[ghapp.TokenID(tk.Value)], "token %s came from the service", ghapp.TokenID(tk.Value))
	}
	assert.GreaterOrEqual(t, len(w.oidc.Issued()), len(toks), "a fresh OIDC token per request")

	workload := append([]string{w.oidc.RequestToken, w.key}, w.oidc.Issued()...)
	secrets := append(tokenSecrets(w.fake.Minted()), workload...)
	testutil.AssertGitHubStepClean(t, main, secrets...)
	testutil.AssertNoSecret(t, "main's state", r.read("STATE"), workload...)
	testutil.AssertNoSecret(t, "post", testutil.WithoutGitHubMasks(post)+perr, secrets...)
	testutil.AssertNoSecret(t, "service output", w.svc.output(), secrets...)
	_, err = runLaterErr(later, "token")
	require.Error(t, err, "the broker stopped")
}

// The step binaries never carry the service: every job downloads them.
func TestStepBinaryHasNoServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "jobtoken_step", ".").CombinedOutput()
	require.NoError(t, err, string(out))
	for _, pkg := range []string{"github.com/jobtoken/jobtoken/pkg/serve", "github.com/jobtoken/jobtoken/pkg/policy",
		"github.com/jobtoken/jobtoken/pkg/oidcverify", "github.com/coreos/go-oidc/v3/oidc"} {
		assert.NotContains(t, strings.Fields(string(out)), pkg, "the step binary depends on %s", pkg)
	}
	out, err = exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, strings.Fields(string(out)), "github.com/jobtoken/jobtoken/pkg/serve", "the CLI has serve")
}
