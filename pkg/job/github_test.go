package job_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/cli"
	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions/runnertest"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
	"github.com/jobtoken/jobtoken/pkg/retry"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// fixedNow keeps expiry times in golden files stable.
var fixedNow = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// ghRun is one GitHub job: a fake GitHub and the step's environment (which
// names the runner's file-command files).
type ghRun struct {
	t    *testing.T
	fake *ghfake.Server
	env  map[string]string
	n    int
	now  time.Time // the job's clock
}

// newGHRun starts a job whose step is given the App and the fake, and the
// inputs with (keyed by action.yml input name).
func newGHRun(t *testing.T, with map[string]string) *ghRun {
	t.Helper()
	fake := ghfake.New(testutil.AppKey(t), &ghfake.Installation{ID: 77, Account: "octo", Permissions: map[string]string{"contents": "write", "pull_requests": "write", "metadata": "read"}, Repos: []string{"app", "docs"}})
	t.Cleanup(fake.Close)
	n := 0
	fake.TokenFunc = func() string { n++; return fmt.Sprintf("ghs_FAKEtoken%02dAAAAAAAAAAAAAAAAAAAAAAAAA", n) }
	fake.Now = func() time.Time { return fixedNow }
	given := map[string]string{"provider": "github", "client-id": fake.ClientID, "private-key": testutil.AppKeyPEM(t), "github-api-url": fake.URL}
	maps.Copy(given, with)
	return &ghRun{t: t, fake: fake, now: fixedNow, env: runnertest.StepEnv(t, given)}
}

// stage runs main or post in-process with a fixed clock and delimiter.
func (r *ghRun) stage(stage string) (stdout string, ok bool) {
	return r.run(stage, http.DefaultTransport, nil)
}

// run runs a stage over base transport tr (nil: the one the job builds),
// telling setenv what it would set in the process environment.
func (r *ghRun) run(stage string, tr http.RoundTripper, setenv func(k, v string)) (stdout string, ok bool) {
	var out bytes.Buffer
	set := &secret.Set{}
	w := secret.NewWriter(&out, set)
	h := ghactions.New(w, testutil.Getenv(r.env), registry.Default().Catalog())
	h.Delimiter = func() string { r.n++; return fmt.Sprintf("ghadelimiter_%d", r.n) }
	e := &job.Runner{Host: h, Providers: registry.Default(), Transport: tr, Retry: &providertest.NoSleep, Now: func() time.Time { return r.now }, Secrets: set, Setenv: setenv}
	run := job.Main
	if stage == "post" {
		run = job.Post
	}
	err := run(context.Background(), e)
	require.NoError(r.t, w.Flush())
	return out.String(), err == nil
}

func (r *ghRun) file(name string) string {
	b, err := os.ReadFile(r.env[name])
	require.NoError(r.t, err)
	return string(b)
}

// mainDone runs the main stage, which must succeed, and carries its state
// over as the runner does before post.
func (r *ghRun) mainDone() {
	r.t.Helper()
	out, ok := r.stage("main")
	require.True(r.t, ok, out)
	r.carryState()
}

// post runs the post stage, which never fails the job, and returns its
// stdout.
func (r *ghRun) post() string {
	r.t.Helper()
	out, ok := r.stage("post")
	assert.True(r.t, ok, "the post stage never fails the job:\n%s", out)
	return out
}

// carryState does what the runner does between stages: GITHUB_STATE entries
// become STATE_ variables of the post stage.
func (r *ghRun) carryState() {
	entries, err := ghactions.ParseFileCommand(r.file("GITHUB_STATE"))
	require.NoError(r.t, err)
	for _, e := range entries {
		r.env["STATE_"+e.Name] = e.Value
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, testutil.Testdata("golden", "github", name), got)
}

var (
	backoffRE = regexp.MustCompile(`retrying in [0-9.]+m?s`)
	// The state's MAC covers the fake's URL, whose port changes.
	macRE = regexp.MustCompile(`"mac":"[0-9a-f]{64}"`)
)

// stable removes what changes between runs: the fake's port and the jittered
// backoff.
func (r *ghRun) stable(s string) string {
	s = strings.ReplaceAll(s, r.fake.URL, "http://FAKE")
	s = strings.ReplaceAll(s, strings.TrimPrefix(r.fake.URL, "http://"), "FAKE")
	s = macRE.ReplaceAllString(s, `"mac":"<HMAC-SHA256>"`)
	return backoffRE.ReplaceAllString(s, "retrying in <backoff>")
}

func TestGitHubGoldenMainAndPost(t *testing.T) {
	r := newGHRun(t, map[string]string{"repositories": "app, docs", "permissions": "contents:write, pull-requests:read", "export-env": "GH_TOKEN"})
	out, ok := r.stage("main")
	require.True(t, ok, out)
	// The key's lines are masked first; the golden file holds a fixed marker
	// instead of the test key.
	golden(t, "main.stdout", r.stable(maskKey(t, out)))
	golden(t, "main.GITHUB_OUTPUT", r.stable(maskKey(t, r.file("GITHUB_OUTPUT"))))
	golden(t, "main.GITHUB_STATE", r.stable(maskKey(t, r.file("GITHUB_STATE"))))
	golden(t, "main.GITHUB_ENV", r.stable(maskKey(t, r.file("GITHUB_ENV"))))
	golden(t, "main.GITHUB_STEP_SUMMARY", r.stable(maskKey(t, r.file("GITHUB_STEP_SUMMARY"))))
	require.Len(t, r.fake.Live(), 1)

	r.carryState()
	out, ok = r.stage("post")
	require.True(t, ok)
	golden(t, "post.stdout", r.stable(maskKey(t, out)))
	assert.Empty(t, r.fake.Live(), "the post stage must revoke the token")

	// A second post (a re-run of the post step) finds it already revoked.
	out, ok = r.stage("post")
	require.True(t, ok)
	golden(t, "post-again.stdout", r.stable(maskKey(t, out)))
}

// maskKey replaces the test key's add-mask lines with one marker line.
func maskKey(t *testing.T, out string) string {
	var b strings.Builder
	skipping := false
	for _, l := range strings.SplitAfter(out, "\n") {
		if strings.HasPrefix(l, "::add-mask::") && !strings.HasPrefix(l, "::add-mask::ghs_") && !strings.HasPrefix(l, "::add-mask::eC1") && !strings.HasPrefix(l, "::add-mask::{") {
			if !skipping {
				b.WriteString("::add-mask::<each line of private-key>\n")
			}
			skipping = true
			continue
		}
		skipping = false
		b.WriteString(l)
	}
	return b.String()
}

func TestGitHubGoldenFailures(t *testing.T) {
	tests := []struct {
		name string
		with map[string]string
		prep func(*ghRun)
	}{
		{name: "typo-permission", with: map[string]string{"permissions": "contens:read, pull-requests:admin"}},
		{name: "bad-key", with: map[string]string{"permissions": "contents:read", "private-key": "-----BEGIN RSA PRIVATE KEY-----\nnot really\n-----END RSA PRIVATE KEY-----"}},
		{name: "missing-provider", with: map[string]string{"provider": "", "permissions": "contents:read"}},
		{name: "unknown-provider", with: map[string]string{"provider": "gthub", "permissions": "contents:read"}},
		{name: "not-installed", with: map[string]string{"permissions": "contents:read", "repositories": "other"}},
		{name: "not-granted", with: map[string]string{"permissions": "contents:read, actions:write"}},
		{name: "broader-grant", with: map[string]string{"permissions": "contents:read"}, prep: func(r *ghRun) {
			r.fake.Grant = func(tk *ghfake.Token) { tk.Permissions["pull_requests"] = "write" }
		}},
		{name: "bad-export-env", with: map[string]string{"permissions": "contents:read", "export-env": "GITHUB_TOKEN"}},
		{name: "bad-lifetime", with: map[string]string{"permissions": "contents:read", "lifetime": "forever"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newGHRun(t, tc.with)
			if tc.prep != nil {
				tc.prep(r)
			}
			before := r.fake.Requests()
			out, ok := r.stage("main")
			assert.False(t, ok)
			golden(t, "fail-"+tc.name+".stdout", r.stable(maskKey(t, out)))

			assert.Empty(t, r.fake.Live(), "a failed main stage must leave no token alive")
			assert.Empty(t, r.file("GITHUB_OUTPUT"))
			if strings.HasPrefix(tc.name, "typo") || strings.HasPrefix(tc.name, "bad") || strings.Contains(tc.name, "provider") {
				assert.Equal(t, before, r.fake.Requests(), "offline-detectable input errors must not reach the network")
			}
			// Each error is one line naming the input.
			for _, c := range ghactions.ParseCommands(out) {
				if c.Name == "error" {
					assert.NotContains(t, c.Message, "%0A")
				}
			}
		})
	}
}

func TestGitHubGoldenPostCases(t *testing.T) {
	t.Run("no-state", func(t *testing.T) {
		r := newGHRun(t, map[string]string{"permissions": "contents:read"})
		out := r.post()
		golden(t, "post-no-state.stdout", r.stable(maskKey(t, out)))
	})
	t.Run("revoke-false", func(t *testing.T) {
		r := newGHRun(t, map[string]string{"permissions": "contents:read", "revoke": "false"})
		r.mainDone()
		out := r.post()
		golden(t, "post-revoke-false.stdout", r.stable(maskKey(t, out)))
		assert.Len(t, r.fake.Live(), 1)
	})
	t.Run("revoked-elsewhere", func(t *testing.T) {
		r := newGHRun(t, map[string]string{"permissions": "contents:read"})
		r.mainDone()
		r.fake.Expire()
		out := r.post()
		golden(t, "post-already-revoked.stdout", r.stable(maskKey(t, out)))
	})
	t.Run("expired", func(t *testing.T) {
		r := newGHRun(t, map[string]string{"permissions": "contents:read"})
		r.mainDone()
		r.now = fixedNow.Add(2 * time.Hour)
		before := r.fake.Requests()
		out := r.post()
		assert.Equal(t, before, r.fake.Requests(), "an expired token needs no call")
		golden(t, "post-expired.stdout", r.stable(maskKey(t, out)))
	})
	t.Run("revoke-fails", func(t *testing.T) {
		r := newGHRun(t, map[string]string{"permissions": "contents:read"})
		r.mainDone()
		r.fake.Before = func(w http.ResponseWriter, _ *http.Request) bool {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		before := r.fake.Requests()
		out := r.post()
		golden(t, "post-revoke-fails.stdout", r.stable(maskKey(t, out)))
		assert.Equal(t, retry.Default.Attempts, r.fake.Requests()-before, "revocation is retried")
	})
	t.Run("dry-run", func(t *testing.T) {
		r := newGHRun(t, map[string]string{"permissions": "contents:read", "dry-run": "true"})
		out, ok := r.stage("main")
		assert.True(t, ok)
		golden(t, "dry-run.stdout", r.stable(maskKey(t, out)))

		assert.Zero(t, r.fake.Requests())
		r.carryState()
		out, _ = r.stage("post")
		assert.Contains(t, out, "Skipping revocation")
	})
}

// TestGitHubThroughCLI runs both stages through cli.Main as the binary does,
// with argv[0] choosing the post stage.
func TestGitHubThroughCLI(t *testing.T) {
	r := newGHRun(t, map[string]string{"permissions": "contents:read", "repositories": "docs"})
	r.fake.LongTokens = true
	r.fake.TokenFunc = nil
	r.fake.Now = time.Now
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), &out, &errb, nil, []string{"/jobtoken"}, testutil.Getenv(r.env))
	require.Equal(t, 0, code, out.String()+errb.String())
	live := r.fake.Live()
	require.Len(t, live, 1)
	tok := live[0].Value
	assert.Contains(t, out.String(), "::add-mask::"+tok+"\n")
	r.carryState()
	out.Reset()
	code = cli.Main(context.Background(), &out, &errb, nil, []string{"/jobtoken-post"}, testutil.Getenv(r.env))
	require.Equal(t, 0, code)
	assert.Empty(t, r.fake.Live())
	assert.Contains(t, out.String(), "::add-mask::"+tok+"\n")
	assert.Contains(t, out.String(), "Revoked github token sha256:")
}

func TestUndefinedPipelineVariableIsNamed(t *testing.T) {
	r := newGHRun(t, map[string]string{"permissions": "contents:read", "private-key": "$(APP_PRIVATE_KEY)"})
	out, ok := r.stage("main")
	assert.False(t, ok)
	assert.Contains(t, out, "::error::input private-key: is the literal text $(APP_PRIVATE_KEY): the pipeline variable APP_PRIVATE_KEY is not defined here")
	assert.NotContains(t, out, "PEM", "the key-format problem is noise once the variable is known to be undefined")
	assert.Zero(t, r.fake.Requests())
}

// panicHost panics when the token output is set, as a bug in a host would.
type panicHost struct{ *ghactions.Host }

func (h panicHost) SetOutput(k, v string, secret bool) error {
	if k == "token" {
		panic("boom")
	}
	return h.Host.SetOutput(k, v, secret)
}

func TestPanicWhilePublishingRevokes(t *testing.T) {
	r := newGHRun(t, map[string]string{"permissions": "contents:read"})
	var out bytes.Buffer
	set := &secret.Set{}
	w := secret.NewWriter(&out, set)
	e := &job.Runner{Host: panicHost{ghactions.New(w, testutil.Getenv(r.env), registry.Default().Catalog())}, Providers: registry.Default(), Now: func() time.Time { return fixedNow }, Secrets: set}
	assert.Panics(t, func() { _ = job.Main(context.Background(), e) })
	require.Len(t, r.fake.Minted(), 1)
	assert.Empty(t, r.fake.Live(), "a panic after minting must not leave the token alive")
}

func TestMissingFileCommandsFailBeforeMinting(t *testing.T) {
	for _, v := range []string{"GITHUB_OUTPUT", "GITHUB_STATE", "GITHUB_ENV"} {
		t.Run(v, func(t *testing.T) {
			r := newGHRun(t, map[string]string{"permissions": "contents:read", "export-env": "GH_TOKEN"})
			delete(r.env, v)
			out, ok := r.stage("main")
			assert.False(t, ok)
			assert.Contains(t, out, "::error::"+v+" is not set")
			assert.Empty(t, r.fake.Minted(), "nothing may be minted when it cannot be published")
		})
	}
}

func TestPostRevokesWithinClockSlack(t *testing.T) {
	r := newGHRun(t, map[string]string{"permissions": "contents:read"})
	r.mainDone()
	// This runner's clock runs 5 minutes fast: the token looks expired here
	// but is still valid at GitHub, so it is revoked all the same.
	r.now = fixedNow.Add(time.Hour + 5*time.Minute)
	out := r.post()
	assert.Contains(t, out, "Revoked github token")
	assert.Empty(t, r.fake.Live())
}
