package anaconda_test

// Trust boundaries (issue #11) for anaconda: forged state, a router that
// decodes %2F, cancellation mid-create, redirects. Every test here failed on
// the code before that issue.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/cli"
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// TestPlantedStateGetsNoParent: the main step saved nothing (a dry run); a
// later step plants state naming its own server, which fails the
// revocation with the token itself so that the by-name fallback (with the
// parent) would follow. The parent must not go there.
func TestPlantedStateGetsNoParent(t *testing.T) {
	fake, key := newFake(t)
	attacker := testutil.NewSpy(t, false)
	env := githubEnv(t, fake, key)
	env["INPUT_DRY-RUN"] = "true"
	code, _, _ := run(t, "/jobtoken", env)
	require.Equal(t, 0, code)
	b, _ := json.Marshal(map[string]any{"provider": "anaconda", "token": "planted-token-0123456789", "id": "jobtoken x run 1.1 aaaaaa",
		"revoke": true, "revocable": true, "expires_at": time.Now().Add(time.Hour),
		"state": map[string]string{"api_url": attacker.URL, "note": "anything", "org": ""}})
	env["STATE_jobtoken"] = string(b)
	code, stdout, _ := run(t, "/jobtoken-post", env)
	assert.Equal(t, 0, code)
	for _, r := range attacker.Requests() {
		assert.NotContains(t, r, key, "the parent credential went where planted state pointed")
	}
	assert.Empty(t, attacker.Requests())
	assert.Contains(t, stdout, "nothing was revoked")
}

// TestByNameFallbackThroughDecodingRouter: the token cannot revoke itself
// (the self-revocation fails), so post revokes it by name with the parent.
// anaconda.org, like Flask or Django, decodes %2F before routing: a note
// holding owner/repo would never match, so notes hold none.
func TestByNameFallbackThroughDecodingRouter(t *testing.T) {
	fake, key := newFake(t)
	env := githubEnv(t, fake, key)
	code, stdout, _ := run(t, "/jobtoken", env)
	require.Equal(t, 0, code, stdout)
	require.Len(t, fake.Live(), 1)
	note := fake.Live()[0].Note
	l, ok := host.ParseLabel(note)
	require.True(t, ok, note)
	assert.Equal(t, "octo/app", l.Repo, "the note still names the repository")

	fake.Before = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodDelete && r.URL.Path == "/authentications" {
			w.WriteHeader(http.StatusForbidden) // not retried
			return true
		}
		return false
	}
	state, _ := testutil.Heredocs(t, testutil.ReadFile(t, env["GITHUB_STATE"]))
	env["STATE_jobtoken"] = state["jobtoken"]
	code, stdout, _ = run(t, "/jobtoken-post", env)
	assert.Equal(t, 0, code)
	assert.Empty(t, fake.Live(), "the by-name fallback did not reach the token:\n"+stdout)
	assert.Contains(t, stdout, "revoked it by name")
}

// runCtx runs a stage with ctx, as cmd/jobtoken does on SIGINT.
func runCtx(t *testing.T, ctx context.Context, env map[string]string, argv ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	set := &secret.Set{}
	o := secret.NewWriter(&out, set)
	e := &cli.Env{Args: argv, Getenv: testutil.Getenv(env), Stdout: o, Stderr: o, RawStdout: o, RawStderr: o, Secrets: set, Retry: &providertest.NoSleep}
	code := e.Run(ctx)
	_ = o.Flush()
	return code, out.String()
}

// TestCancelledMidCreate: SIGINT while the create is in flight: anaconda.org
// has minted the token, the answer never arrives. The clean-up runs on its
// own deadline and revokes the token by its note.
func TestCancelledMidCreate(t *testing.T) {
	fake, key := newFake(t)
	env := githubEnv(t, fake, key)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	fake.Before = func(w http.ResponseWriter, r *http.Request) bool {
		first := false
		if r.Method == http.MethodPost {
			once.Do(func() { first = true })
		}
		if !first {
			return false
		}
		fake.Serve(httptest.NewRecorder(), r) // minted from here on
		cancel()
		<-r.Context().Done()
		return true
	}
	code, out := runCtx(t, ctx, env, "/jobtoken")
	assert.Equal(t, 1, code)
	require.Len(t, fake.Minted(), 1, "the create reached the fake")
	assert.Empty(t, fake.Live(), "a token minted for a cancelled step was left alive:\n"+out)
}

// TestRedirectsAreRefused: a 307 from the API to another host is not
// followed: net/http would replay the create there.
func TestRedirectsAreRefused(t *testing.T) {
	fake, key := newFake(t)
	elsewhere := testutil.NewSpy(t, false)
	fake.Before = func(w http.ResponseWriter, r *http.Request) bool {
		http.Redirect(w, r, elsewhere.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return true
	}
	env := githubEnv(t, fake, key)
	code, stdout, _ := run(t, "/jobtoken", env)
	assert.Equal(t, 1, code)
	assert.Empty(t, elsewhere.Requests())
	assert.Contains(t, stdout, "refused a redirect")
}
