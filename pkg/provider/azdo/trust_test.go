package azdo_test

// Trust boundaries (issue #11) for azure-devops: forged state, cancellation
// mid-create, grants broader than asked, redirects. Every test here failed on
// the code before that issue.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/cli"
	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agenttest"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// planted is what a later step writes where the post step reads its state:
// the old plain form, naming the API URL and the authorizationId it likes.
func planted(api, id string) string {
	b, _ := json.Marshal(map[string]any{"provider": "azure-devops", "token": "plantedplantedplantedplanted", "id": id,
		"revoke": true, "revocable": true, "expires_at": time.Now().Add(time.Hour),
		"state": map[string]string{"kind": "pat", "organization": "contoso", "api_url": api}})
	return string(b)
}

// TestPlantedStateGetsNoParent: the main step saved nothing (a dry run); a
// later step plants state naming its own server. The parent Entra token
// must not go there.
func TestPlantedStateGetsNoParent(t *testing.T) {
	w := newPATWorld(t)
	attacker := testutil.NewSpy(t, false)
	env := w.githubStep(t, "vso.code")
	env["INPUT_DRY-RUN"] = "true"
	code, _, _ := stage{env: env}.run(t, "/jobtoken")
	require.Equal(t, 0, code)
	env["STATE_jobtoken"] = planted(attacker.URL, "00000000-0000-0000-0000-000000000001")
	code, stdout, _ := stage{env: env}.run(t, "/jobtoken-post")
	assert.Equal(t, 0, code)
	assert.Empty(t, attacker.Requests(), "the parent token went where planted state pointed")
	assert.Contains(t, stdout, "nothing was revoked")
}

// TestPlantedStateRevokesNoOtherPAT: a later step names another PAT of the
// same user (one it wants gone, or that another job still uses), on the
// real API. Post must not revoke it.
func TestPlantedStateRevokesNoOtherPAT(t *testing.T) {
	w := newPATWorld(t)
	// Another job's PAT, live.
	other := w.githubStep(t, "vso.code")
	other["GITHUB_RUN_ID"] = "8"
	code, _, _ := stage{env: other}.run(t, "/jobtoken")
	require.Equal(t, 0, code)
	require.Len(t, w.api.Live(), 1)
	victim := w.api.Live()[0]

	for name, plant := range map[string]func(env map[string]string){
		"GitHub": func(env map[string]string) { env["STATE_jobtoken"] = planted(w.api.URL, victim.AuthorizationID) },
	} {
		t.Run(name, func(t *testing.T) {
			env := w.githubStep(t, "vso.code")
			env["INPUT_DRY-RUN"] = "true"
			code, _, _ := stage{env: env}.run(t, "/jobtoken")
			require.Equal(t, 0, code)
			plant(env)
			code, stdout, _ := stage{env: env}.run(t, "/jobtoken-post")
			assert.Equal(t, 0, code)
			assert.Contains(t, stdout, "nothing was revoked")
			assert.Len(t, w.api.Live(), 1, "post revoked another PAT of the same user")
		})
	}
	t.Run("Azure Pipelines", func(t *testing.T) {
		env := agenttest.StepEnv(t, map[string]string{
			"provider": "azure-devops", "permissions": "vso.code", "azureDevOpsOrganization": "contoso",
			"azureDevOpsApiUrl": w.api.URL, "azureAccessToken": w.parent,
		})
		env["VSTS_TASKVARIABLE_JOBTOKEN"] = planted(w.api.URL, victim.AuthorizationID)
		code, stdout, _ := stage{env: env}.run(t, "/jobtoken", "post")
		assert.Equal(t, 0, code)
		assert.Contains(t, stdout, "nothing was revoked")
		assert.Len(t, w.api.Live(), 1, "post revoked another PAT of the same user")
	})
}

// runCtx runs a stage with ctx, as cmd/jobtoken does on SIGINT.
func runCtx(t *testing.T, ctx context.Context, env map[string]string, argv ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	set := &secret.Set{}
	o := secret.NewWriter(&out, set)
	e := &cli.Env{Args: argv, Getenv: testutil.Getenv(env), Stdout: o, Stderr: o, RawStdout: o, RawStderr: o, Secrets: set, Retry: &instant}
	code := e.Run(ctx)
	_ = o.Flush()
	return code, out.String()
}

// cancelMidCreate makes the fake create the PAT, then cancel the step (as
// SIGINT does) before its answer arrives; other requests pass, or go to
// other when it is set. It returns the step's context.
func cancelMidCreate(t *testing.T, w *patWorld, other func(http.ResponseWriter, *http.Request) bool) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var once sync.Once
	w.api.Before = func(rw http.ResponseWriter, r *http.Request) bool {
		first := false
		if r.Method == http.MethodPost {
			once.Do(func() { first = true })
		}
		if !first {
			return other != nil && other(rw, r)
		}
		w.api.Serve(httptest.NewRecorder(), r) // the PAT exists from here on
		cancel()
		<-r.Context().Done() // the answer never reaches the step
		return true
	}
	return ctx
}

// TestCancelledMidCreate: SIGINT while the create is in flight. The clean-up
// runs on its own deadline, detached from the cancelled context, finds the
// PAT by its display name and revokes it.
func TestCancelledMidCreate(t *testing.T) {
	w := newPATWorld(t)
	env := w.githubStep(t, "vso.code")
	ctx := cancelMidCreate(t, w, nil)
	code, out := runCtx(t, ctx, env, "/jobtoken")
	assert.Equal(t, 1, code)
	require.Len(t, w.api.All(), 1, "the create reached the fake")
	assert.Empty(t, w.api.Live(), "a PAT created by a cancelled step was left alive:\n"+out)
	assert.Contains(t, out, "revoked PAT "+w.api.All()[0].AuthorizationID+", created by a request whose answer was lost")
}

// TestCancelledMidCreateLeftForPost: the cancelled step could not clean up
// (the listing failed; a runner may also kill it first). The state it saved
// before the create lets the post step find the PAT and revoke it.
func TestCancelledMidCreateLeftForPost(t *testing.T) {
	w := newPATWorld(t)
	env := w.githubStep(t, "vso.code")
	ctx := cancelMidCreate(t, w, func(rw http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet {
			rw.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	code, out := runCtx(t, ctx, env, "/jobtoken")
	assert.Equal(t, 1, code)
	require.Len(t, w.api.Live(), 1, "main could not list, so the PAT is still there:\n"+out)

	w.api.Before = nil
	state, _ := testutil.Heredocs(t, testutil.ReadFile(t, env["GITHUB_STATE"]))
	env["STATE_jobtoken"] = state["jobtoken"]
	code, stdout, _ := stage{env: env}.run(t, "/jobtoken-post")
	assert.Equal(t, 0, code)
	assert.Empty(t, w.api.Live(), "post did not find the PAT the cancelled create left:\n"+stdout)
	assert.Contains(t, stdout, "Revoked the azure-devops token the main step's lost answer left")
}

// TestBroaderPATAnswers: a PAT with a scope not asked, valid in more than
// the one organization asked, with no validTo, or valid longer than asked
// is broader than asked: revoked at once, and the step fails, saying so.
func TestBroaderPATAnswers(t *testing.T) {
	for name, c := range map[string]struct {
		grant func(*azfake.PAT)
		want  string
	}{
		"another scope": {func(p *azfake.PAT) { p.Scope += " vso.build_execute" },
			"::error::Azure DevOps granted more than asked: the PAT also carries vso.build_execute."},
		"two target accounts": {func(p *azfake.PAT) {
			p.TargetAccounts = append(p.TargetAccounts, "b0b0b0b0-0000-4000-8000-000000000000")
		}, "::error::Azure DevOps granted more than asked"},
		"no validTo":          {func(p *azfake.PAT) { p.ValidTo = time.Time{} }, "::error::Azure DevOps granted more than asked"},
		"validTo a day later": {func(p *azfake.PAT) { p.ValidTo = p.ValidTo.Add(24 * time.Hour) }, "::error::Azure DevOps granted more than asked"},
	} {
		t.Run(name, func(t *testing.T) {
			w := newPATWorld(t)
			w.api.Grant = c.grant
			env := w.githubStep(t, "vso.code")
			code, stdout, stderr := stage{env: env}.run(t, "/jobtoken")
			assert.Equal(t, 1, code)
			all := w.api.All()
			require.Len(t, all, 1)
			assert.True(t, all[0].Revoked, "a broader PAT is revoked at once")
			assert.Contains(t, stdout, c.want)
			assert.Contains(t, stdout, "The token was revoked\n")
			assert.Empty(t, testutil.ReadFile(t, env["GITHUB_OUTPUT"]))
			testutil.AssertNoSecret(t, "stdout", testutil.WithoutGitHubMasks(stdout), w.parent, all[0].Token)
			testutil.AssertNoSecret(t, "stderr", stderr, w.parent, all[0].Token)
		})
	}
}

// TestPATRedirectsAreRefused: a 307 from the PAT lifecycle API to another
// host is not followed (net/http would replay the create's body there).
func TestPATRedirectsAreRefused(t *testing.T) {
	w := newPATWorld(t)
	elsewhere := testutil.NewSpy(t, false)
	w.api.Before = func(rw http.ResponseWriter, r *http.Request) bool {
		http.Redirect(rw, r, elsewhere.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return true
	}
	env := w.githubStep(t, "vso.code")
	code, stdout, _ := stage{env: env, transport: http.DefaultTransport}.run(t, "/jobtoken")
	assert.Equal(t, 1, code)
	assert.Empty(t, elsewhere.Requests())
	assert.Contains(t, stdout, "refused a redirect")
}

// TestEntraRedirectsAreRefused: Microsoft Entra's token endpoint answering
// 307 to another host: azidentity goes through jobtoken's client, which
// does not follow it, so the federated assertion in the body stays home.
func TestEntraRedirectsAreRefused(t *testing.T) {
	w := newEntraWorld(t)
	w.Entra.Trust(clientID, w.GitHubOIDC.Federated())
	elsewhere := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		t.Errorf("the redirect was followed: %s %s (%d bytes of body)", r.Method, r.URL.Path, len(body))
	}))
	t.Cleanup(elsewhere.Close)
	real := w.Entra.Config.Handler
	w.Entra.Config.Handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			http.Redirect(rw, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		real.ServeHTTP(rw, r)
	})
	env := githubEnv(t, map[string]string{"azure-credential": "entra", "azure-client-id": clientID, "azure-tenant-id": w.Tenant.ID, "permissions": ""})
	maps.Copy(env, w.githubEnv())
	// One transport trusts both TLS fakes (same httptest certificate).
	code, stdout, _ := stage{env: env, transport: w.Entra.Client().Transport}.run(t, "/jobtoken")
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "refused a redirect")
}
