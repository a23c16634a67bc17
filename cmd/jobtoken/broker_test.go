package main_test

import (
	"encoding/json"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/broker"
	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// gitWorld is the fake GitHub serving its API and, on the same host, git's
// smart HTTP (git http-backend through net/http/cgi) for the repositories
// of two accounts, each clone and fetch authenticated with a live
// installation token of the repository's account that covers it, as
// GitHub checks.
type gitWorld struct {
	fake *ghfake.Server
	srv  *httptest.Server
	root string

	mu   sync.Mutex
	used map[string][]string // owner/repo → tokens git authenticated with
}

func newGitWorld(t *testing.T, life time.Duration) *gitWorld {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	out, err := exec.Command(git, "--exec-path").Output()
	require.NoError(t, err)
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Skip("git-http-backend is not installed")
	}
	w := &gitWorld{root: t.TempDir(), used: map[string][]string{}}
	w.fake = ghfake.New(testutil.AppKey(t),
		&ghfake.Installation{ID: 5, Account: "octo", Permissions: map[string]string{"contents": "write", "metadata": "read"}, Repos: []string{"app", "docs"}},
		&ghfake.Installation{ID: 6, Account: "acme", Permissions: map[string]string{"contents": "write", "metadata": "read"}, Repos: []string{"lib", "secret"}},
	)
	t.Cleanup(w.fake.Close)
	w.fake.TokenLife = life
	for _, repo := range []string{"octo/app", "acme/lib", "acme/secret"} {
		src := filepath.Join(t.TempDir(), "src")
		gitRun(t, nil, "", "init", "-q", "-b", "main", src)
		require.NoError(t, os.WriteFile(filepath.Join(src, "README"), []byte(repo+"\n"), 0o644))
		gitRun(t, nil, src, "add", "README")
		gitRun(t, nil, src, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "first")
		gitRun(t, nil, "", "clone", "-q", "--bare", src, filepath.Join(w.root, repo+".git"))
	}
	gitHandler := &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + w.root, "GIT_HTTP_EXPORT_ALL=1"}}
	api := w.fake.Config.Handler
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
		if len(parts) < 3 || !strings.HasSuffix(parts[1], ".git") {
			api.ServeHTTP(rw, r)
			return
		}
		owner, repo := parts[0], strings.TrimSuffix(parts[1], ".git")
		user, pass, ok := r.BasicAuth()
		tok := w.fake.Lookup(pass)
		if !ok || user != "x-access-token" || tok == nil || !tok.Live(time.Now()) || !w.covers(tok, owner, repo) {
			rw.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
			http.Error(rw, "Invalid username or token.", http.StatusUnauthorized)
			return
		}
		w.mu.Lock()
		w.used[owner+"/"+repo] = append(w.used[owner+"/"+repo], pass)
		w.mu.Unlock()
		gitHandler.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// covers reports whether tok is an installation token of owner that reaches
// repo.
func (w *gitWorld) covers(tok *ghfake.Token, owner, repo string) bool {
	ids := map[string]int64{"octo": 5, "acme": 6}
	return ids[owner] == tok.Installation && (len(tok.Repos) == 0 || slices.Contains(tok.Repos, repo))
}

func (w *gitWorld) lastUsed(repo string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	u := w.used[repo]
	if len(u) == 0 {
		return ""
	}
	return u[len(u)-1]
}

func gitRun(t *testing.T, env []string, dir string, args ...string) string {
	t.Helper()
	out, err := gitCmd(env, dir, args...).CombinedOutput()
	require.NoError(t, err, "git %s: %s", strings.Join(args, " "), out)
	return string(out)
}

func gitCmd(env []string, dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", "PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}, env...)
	return cmd
}

// brokerStep runs a step's main stage with refresh and git-credentials on
// the world, with extra inputs and environment, and returns the runner and
// what later steps get.
func brokerStep(t *testing.T, w *gitWorld, extra map[string]string, extraEnv ...string) (r *runner, later []string, main testutil.GitHubStep) {
	t.Helper()
	bin, _ := binary(t)
	in := map[string]string{
		"provider": "github", "client-id": w.fake.ClientID, "private-key": testutil.AppKeyPEM(t),
		"repositories": "octo/app, acme/lib", "permissions": "contents:read",
		"github-api-url": w.srv.URL, "refresh": "true", "git-credentials": "true", "refresh-until": "10m",
	}
	for k, v := range extra {
		in[k] = v
	}
	r = newRunner(t, in)
	r.env = append(r.env, extraEnv...)
	stdout, stderr, env := r.runBrokerMain(t, bin)
	assert.Contains(t, stdout, "::add-mask::"+env[broker.EnvKey]+"\n", "the key is masked")
	outs := entries(t, r.read("OUTPUT"))
	var byOwner map[string]string
	require.NoError(t, json.Unmarshal([]byte(outs["tokens"]), &byOwner))
	assert.Equal(t, outs["token"], byOwner["octo"], "token is the first account's")
	assert.Len(t, byOwner, 2)
	for _, v := range []string{outs["tokens"], byOwner["acme"], byOwner["octo"]} {
		assert.Contains(t, stdout, "::add-mask::"+v+"\n", "masked before it is written")
	}
	for k, v := range env {
		later = append(later, k+"="+v)
	}
	assert.Equal(t, filepath.Dir(bin)+"\n", r.read("PATH"), "jobtoken is on PATH for later steps")
	later = append(later, "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	return r, later, testutil.GitHubStep{Stdout: stdout, Stderr: stderr, Summary: r.read("STEP_SUMMARY"), Output: r.read("OUTPUT"), Env: r.read("ENV")}
}

// runBrokerMain runs the main stage of a step that leaves a broker, in a
// runner temp folder short enough for the socket's path (sun_path), and
// returns its output and the environment it exported for later steps. The
// broker is stopped when the test ends.
func (r *runner) runBrokerMain(t *testing.T, bin string) (stdout, stderr string, env map[string]string) {
	t.Helper()
	temp, err := os.MkdirTemp("", "rt")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(temp) })
	r.env = append(r.env, "RUNNER_TEMP="+temp)
	stdout, stderr, code := r.run(bin)
	if code != 0 {
		logs, _ := exec.Command("sh", "-c", "cat "+temp+"/jobtoken-*/log").CombinedOutput()
		t.Logf("broker log: %s", logs)
	}
	require.Equal(t, 0, code, stdout+stderr)
	env = entries(t, r.read("ENV"))
	require.NotEmpty(t, env[broker.EnvSocket], stdout)
	t.Cleanup(func() {
		_, _ = broker.Ask(env[broker.EnvSocket], broker.Request{Key: env[broker.EnvKey], Op: broker.OpStop})
	})
	return stdout, stderr, env
}

func (r *runner) post(t *testing.T) string {
	t.Helper()
	_, post := binary(t)
	var st []string
	for k, v := range entries(t, r.read("STATE")) {
		st = append(st, "STATE_"+k+"="+v)
	}
	stdout, stderr, code := r.run(post, st...)
	require.Equal(t, 0, code, stdout+stderr)
	return stdout
}

// waitFor polls cond until it holds; a broker that never gets there fails
// the test after a minute (a bound, not a measurement).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBrokerServesGitAcrossRefreshes(t *testing.T) {
	w := newGitWorld(t, 6*time.Second)
	r, later, _ := brokerStep(t, w, nil)
	require.Len(t, w.fake.Live(), 2, "one token per account")
	first := map[string]string{"octo/app": "", "acme/lib": ""}

	// A later step clones a repository of each account with plain git.
	work := t.TempDir()
	for repo := range first {
		gitRun(t, later, work, "clone", "-q", w.srv.URL+"/"+repo+".git", strings.ReplaceAll(repo, "/", "-"))
		first[repo] = w.lastUsed(repo)
		require.NotEmpty(t, first[repo])
	}
	assert.NotEqual(t, first["octo/app"], first["acme/lib"], "each account's own token")

	// A repository the step did not name gets no credential from jobtoken.
	out, err := gitCmd(later, work, "clone", "-q", w.srv.URL+"/acme/secret.git").CombinedOutput()
	require.Error(t, err, "%s", out)

	// Several refreshes later, fetch gets the current tokens; the
	// superseded ones are revoked.
	waitFor(t, "three rounds of tokens", func() bool { return len(w.fake.Minted()) >= 6 })
	waitFor(t, "superseded tokens revoked", func() bool { return len(w.fake.Live()) <= 2 })
	for repo := range first {
		gitRun(t, later, filepath.Join(work, strings.ReplaceAll(repo, "/", "-")), "fetch", "-q")
		now := w.lastUsed(repo)
		assert.NotEqual(t, first[repo], now, "%s: a fresh token after refreshes", repo)
		assert.Nil(t, liveToken(w, first[repo]), "%s: the first token is revoked", repo)
	}

	// jobtoken token, for gh and scripts; a caller without the key gets
	// nothing.
	tok := runLater(t, later, "token", "--owner", "acme")
	ft := liveToken(w, strings.TrimSpace(tok))
	require.NotNil(t, ft, "jobtoken token prints a live token")
	assert.Equal(t, int64(6), ft.Installation)
	var noKey []string
	for _, kv := range later {
		if !strings.HasPrefix(kv, broker.EnvKey+"=") {
			noKey = append(noKey, kv)
		}
	}
	out2, err := runLaterErr(append(noKey, broker.EnvKey+"=guess"), "token")
	require.Error(t, err)
	assert.Contains(t, out2, "wrong broker key")
	for _, m := range w.fake.Minted() {
		assert.NotContains(t, out2, m.Value)
	}

	stdout := r.post(t)
	assert.Empty(t, w.fake.Live(), "after post nothing is live")
	assert.Contains(t, stdout, "broker log:")
	for _, m := range w.fake.Minted() {
		assert.NotContains(t, testutil.WithoutGitHubMasks(stdout), m.Value)
	}
	_, err = runLaterErr(later, "token")
	require.Error(t, err, "the broker stopped")
}

func TestBrokerKilledPostStillRevokesEverything(t *testing.T) {
	w := newGitWorld(t, 4*time.Second)
	r, later, _ := brokerStep(t, w, nil)
	waitFor(t, "a refresh", func() bool { return len(w.fake.Minted()) >= 4 })
	env := map[string]string{}
	for _, kv := range later {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	st, err := broker.Ask(env[broker.EnvSocket], broker.Request{Key: env[broker.EnvKey], Op: broker.OpStatus})
	require.NoError(t, err)
	require.NotZero(t, st.PID)
	p, err := os.FindProcess(st.PID)
	require.NoError(t, err)
	require.NoError(t, p.Signal(syscall.SIGKILL))
	waitFor(t, "the broker to die", func() bool {
		_, err := broker.Ask(env[broker.EnvSocket], broker.Request{Key: env[broker.EnvKey], Op: broker.OpStatus})
		return err != nil
	})
	require.NotEmpty(t, w.fake.Live())

	stdout := r.post(t)
	assert.Contains(t, stdout, "The broker was not running")
	assert.Empty(t, w.fake.Live(), "post revokes every token of the record")
}

// tokenSecrets are the values of toks and the Basic auth git sends with
// each.
func tokenSecrets(toks []*ghfake.Token) []string {
	var s []string
	for _, tk := range toks {
		s = append(s, tk.Value, secret.BasicAuth("x-access-token", tk.Value))
	}
	return s
}

func liveToken(w *gitWorld, v string) *ghfake.Token {
	for _, t := range w.fake.Live() {
		if t.Value == v {
			return t
		}
	}
	return nil
}

func runLater(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, err := runLaterErr(env, args...)
	require.NoError(t, err, out)
	return out
}

func runLaterErr(env []string, args ...string) (string, error) {
	bin, _ := binaryPath()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func binaryPath() (string, string) {
	return filepath.Join(binDir, "jobtoken"), filepath.Join(binDir, "jobtoken-post")
}

// TestBrokerOnAzurePipelines: the task's main and post stages, as the agent
// runs them, leave and stop a broker that serves git, with the key a secret
// variable.
func TestBrokerOnAzurePipelines(t *testing.T) {
	w := newGitWorld(t, time.Hour)
	bin, _ := binary(t)
	temp, err := os.MkdirTemp("", "at")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(temp) })
	env := []string{"TF_BUILD=True", "AGENT_TEMPDIRECTORY=" + temp, "BUILD_BUILDID=7", "SYSTEM_JOBATTEMPT=1",
		"BUILD_REPOSITORY_NAME=octo/app", "BUILD_REPOSITORY_PROVIDER=GitHub", "PATH=" + os.Getenv("PATH"), "HOME=" + temp,
		"INPUT_PROVIDER=github", "INPUT_CLIENTID=" + w.fake.ClientID, "INPUT_PRIVATEKEY=" + testutil.AppKeyPEM(t),
		"INPUT_REPOSITORIES=octo/app, acme/lib", "INPUT_PERMISSIONS=contents:read", "INPUT_GITHUBAPIURL=" + w.srv.URL,
		"INPUT_GITCREDENTIALS=true"}
	run := agentStage(t, bin, env)
	out := run("main")
	vars, secretVars := map[string]string{}, map[string]bool{}
	var state string
	for _, l := range azpipelines.Lines(out) {
		c, ok := azpipelines.Parse(l)
		switch {
		case ok && c.Name == "task.setvariable":
			vars[c.Prop("variable")] = c.Data
			secretVars[c.Prop("variable")] = c.Prop("issecret") == "true"
		case ok && c.Name == "task.settaskvariable":
			state = c.Data
		}
	}
	require.NotEmpty(t, vars[broker.EnvSocket], out)
	assert.True(t, secretVars[broker.EnvKey], "the key is a secret variable")
	assert.Contains(t, out, "##vso[task.setsecret]"+vars[broker.EnvKey])
	assert.Contains(t, out, "##vso[task.prependpath]"+filepath.Dir(bin))
	t.Cleanup(func() {
		_, _ = broker.Ask(vars[broker.EnvSocket], broker.Request{Key: vars[broker.EnvKey], Op: broker.OpStop})
	})

	// A script step that maps the key, as the docs say.
	var later []string
	for k, v := range vars {
		later = append(later, k+"="+v)
	}
	gitRun(t, later, t.TempDir(), "clone", "-q", w.srv.URL+"/acme/lib.git")
	used := liveToken(w, w.lastUsed("acme/lib"))
	require.NotNil(t, used)
	assert.Equal(t, int64(6), used.Installation)

	post := run("post", "VSTS_TASKVARIABLE_JOBTOKEN="+state)
	assert.Empty(t, w.fake.Live(), "after post nothing is live:\n%s", post)
	for _, m := range w.fake.Minted() {
		assert.NotContains(t, strings.ReplaceAll(post, "##vso[task.setsecret]"+m.Value, ""), m.Value)
	}
}

// agentStage runs a stage of the task as the agent does (bin main|post with
// the job's environment and extra, stdout and stderr together, the status
// required to be 0) and returns what it printed.
func agentStage(t *testing.T, bin string, env []string) func(stage string, extra ...string) string {
	return func(stage string, extra ...string) string {
		t.Helper()
		cmd := exec.Command(bin, stage)
		cmd.Env = append(append([]string{}, env...), extra...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
}
