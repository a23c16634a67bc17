package faultmatrix_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jobtoken/jobtoken/pkg/cli"
	"github.com/jobtoken/jobtoken/pkg/fake/anacondafake"
	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agenttest"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions/runnertest"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/retry"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/serve"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

const (
	clientID = "6f1c2a0e-7b4d-4c8e-9a51-3d2e1f0a9b8c"
	connID   = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	// faultsPerTransientCell: a transient fault hits the first two tries;
	// the third, the last the policy allows, gets through.
	faultsPerTransientCell = 2
)

// policy retries instantly; the attempt timeout makes a stalled server cost
// one try, as retry.Default's 30s does, without making the test slow.
var policy = retry.Policy{
	Attempts: faultsPerTransientCell + 1, Base: time.Millisecond, Max: time.Millisecond,
	Deadline: 60 * time.Second, AttemptTimeout: 2 * time.Second,
	Sleep: func(context.Context, time.Duration) error { return nil },
}

// world is one provider's fakes and the step's environment.
type world struct {
	host      string // "github" or "azure"
	env       map[string]string
	transport http.RoundTripper // base transport (the Entra fake is TLS)
	parents   []string          // parent credentials and other secrets given to the step
	minted    func() []string   // every token the fakes handed out (and derived forms)
	live      func() []string   // tokens the fakes would still accept
	issued    func() int        // tokens issued (GitHub and Entra worlds)
	// revocable is false for Entra tokens, which cannot be revoked: the
	// matrix says so instead of counting them live.
	revocable bool
	// sweep is the provider's name when jobtoken sweep can clean up what a
	// failed revocation left live.
	sweep string
	close func()
	dir   string // the job's temporary directory (file commands, agent temp)
}

// end stops the world's fakes and removes its directory: each cell has its
// own, and a matrix makes hundreds.
func (w *world) end() {
	w.close()
	_ = os.RemoveAll(w.dir)
}

// call is one API call jobtoken makes: a row of the matrix.
type call struct {
	name   string
	method string
	path   func(string) bool
	// match, when set, tells apart calls that share a path (AWS's POST /).
	match func(*http.Request) bool
	// readsNothing: the answer's body is not read (Key Vault's challenge
	// is in a header), so a malformed one does not matter.
	readsNothing bool
	stage        string // the stage that makes the call
	mints        bool   // the call creates a token
	revoke       bool   // the call revokes a token
	// bestEffort calls do not fail the step (listing PATs for duplicates).
	bestEffort bool
	// fallback: a persistent fault is routed around (anaconda falls back to
	// revoking by name when revoking with the token itself fails).
	fallback bool
	world    func() *world
	// background faults always present in this row's world (e.g. the
	// self-revocation failing, so that the by-name fallback is exercised).
	background []testutil.Rule
}

func githubWorld(key string) func() *world { return githubWorldLife(key, 0) }

// githubWorldLife is githubWorld with installation tokens that live life
// (an hour when 0).
func githubWorldLife(key string, life time.Duration) func() *world {
	parsed := appKey(key)
	return func() *world {
		fake := newApp(parsed)
		fake.TokenLife = life
		w := ghWorld(map[string]string{
			"INPUT_PROVIDER": "github", "INPUT_CLIENT-ID": fake.ClientID, "INPUT_PRIVATE-KEY": key,
			"INPUT_GITHUB-API-URL": fake.URL, "INPUT_PERMISSIONS": "contents:read",
		})
		w.parents = []string{key}
		w.minted = func() []string { return appMinted(fake) }
		w.live = func() []string { return appLive(fake) }
		w.issued = func() int { return len(fake.Minted()) }
		w.revocable = true
		w.close = fake.Close
		return w
	}
}

// appKey parses the App's private key, which the GitHub fakes check JWTs
// against.
func appKey(key string) *rsa.PrivateKey {
	parsed, err := ghapp.ParsePrivateKey(key)
	if err != nil {
		panic(err)
	}
	return parsed
}

// newApp is GitHub with the App installed on octo's app and docs
// repositories.
func newApp(key *rsa.PrivateKey) *ghfake.Server {
	return ghfake.New(key, &ghfake.Installation{ID: 77, Account: "octo", Permissions: map[string]string{"contents": "write", "metadata": "read"}, Repos: []string{"app", "docs"}})
}

// appMinted is every installation token fake minted, in the forms that
// must never leak.
func appMinted(fake *ghfake.Server) []string {
	return forms(fake.Minted(), func(t *ghfake.Token) []string {
		return []string{t.Value, secret.BasicAuth("x-access-token", t.Value)}
	})
}

// appLive is the installation tokens fake still accepts.
func appLive(fake *ghfake.Server) []string {
	return forms(fake.Live(), func(t *ghfake.Token) []string { return []string{t.Value} })
}

// federationWorld is a GitHub job that mints through `jobtoken serve`
// (in process, on its own unfaulted client): the faults hit the step's
// calls to the service and to the runner's OIDC endpoint.
func federationWorld(key string) func() *world {
	parsed := appKey(key)
	return func() *world {
		fake := ghfake.New(parsed, &ghfake.Installation{ID: 78, Account: "octo", Permissions: map[string]string{"contents": "write", "metadata": "read"}, AllRepos: []string{"app", "policies"}})
		fake.WriteFiles("octo", "policies", map[string]string{"p/ci.yaml": `apiVersion: jobtoken.dev/v1
kind: TrustPolicy
name: ci
who:
  issuer: https://token.actions.githubusercontent.com
  claims: {repository_owner_id: "65", ref: refs/heads/main}
grants:
  - {provider: github, owner: octo, repositories: [app], permissions: {contents: read}}
`})
		oidc := azfake.NewGitHubOIDC("octo/app")
		oidc.Claims = map[string]any{"repository_owner_id": "65"}
		set, err := serve.ParseConfig([]byte(fmt.Sprintf(`audience: https://jobtoken.octo.example
issuers: [{url: https://token.actions.githubusercontent.com, jwks_url: %s}]
github: {api_url: %s, client_id: %s, private_key_file: unused}
policy_sources: [{url: "github://octo/policies@main/p", owners: [octo]}]
`, oidc.JWKSURL(), fake.URL, fake.ClientID)), func(string) string { return "" })
		if err != nil {
			panic(err)
		}
		srv, err := serve.New(set, serve.Options{Signer: parsed})
		if err != nil {
			panic(err)
		}
		hs := httptest.NewServer(srv.Handler())
		w := ghWorld(map[string]string{
			"INPUT_PROVIDER": "github", "INPUT_FEDERATION-URL": hs.URL, "INPUT_POLICY": "ci",
			"INPUT_GITHUB-API-URL": fake.URL, "INPUT_PERMISSIONS": "contents:read",
			"ACTIONS_ID_TOKEN_REQUEST_URL": oidc.RequestURL(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN": oidc.RequestToken,
		})
		w.parents = []string{oidc.RequestToken, key}
		w.minted = func() []string { return append(appMinted(fake), oidc.Issued()...) }
		w.live = func() []string { return appLive(fake) }
		w.revocable = true
		w.close = func() { hs.Close(); oidc.Close(); fake.Close() }
		return w
	}
}

func patWorld() *world {
	tenant := azfake.NewTenant()
	api := azfake.NewPATs(tenant, "contoso")
	parent := tenant.UserToken("alice@contoso.com", time.Hour)
	w := ghWorld(map[string]string{
		"INPUT_PROVIDER": "azure-devops", "INPUT_AZURE-CREDENTIAL": "pat", "INPUT_PERMISSIONS": "vso.code",
		"INPUT_AZURE-DEVOPS-ORGANIZATION": "contoso", "INPUT_AZURE-DEVOPS-API-URL": api.URL, "INPUT_AZURE-ACCESS-TOKEN": parent,
	})
	w.parents = []string{parent}
	w.minted = func() []string {
		return forms(api.All(), func(p *azfake.PAT) []string { return []string{p.Token, secret.BasicAuth("", p.Token)} })
	}
	w.live = func() []string { return forms(api.Live(), func(p *azfake.PAT) []string { return []string{p.Token} }) }
	w.revocable, w.sweep, w.close = true, "azure-devops", api.Close
	return w
}

func entraWorld(onAzure bool) func() *world { return entraWorldLife(onAzure, 0) }

// entraWorldLife is entraWorld with Entra tokens that live life (an hour
// when 0).
func entraWorldLife(onAzure bool, life time.Duration) func() *world {
	return func() *world {
		wl := azfake.NewWorkload(connID, "deploy-conn")
		wl.Entra.TokenLife = life
		var w *world
		if onAzure {
			wl.Entra.Trust(clientID, wl.PipelinesOIDC.Federated("deploy-conn"))
			w = connectionWorld(wl, map[string]string{
				"INPUT_PROVIDER": "azure-devops", "INPUT_AZURECREDENTIAL": "entra",
			})
		} else {
			wl.Entra.Trust(clientID, wl.GitHubOIDC.Federated())
			w = workloadGHWorld(wl, map[string]string{
				"INPUT_PROVIDER": "azure-devops", "INPUT_AZURE-CREDENTIAL": "entra",
				"INPUT_AZURE-CLIENT-ID": clientID, "INPUT_AZURE-TENANT-ID": wl.Tenant.ID,
			})
		}
		w.transport = wl.Entra.Client().Transport
		w.minted = func() []string {
			var out []string
			for _, t := range wl.Entra.Issued() {
				out = append(out, t, secret.BasicAuth("", t))
			}
			// The OIDC assertions are secrets too.
			return append(append(out, wl.GitHubOIDC.Issued()...), wl.PipelinesOIDC.Issued()...)
		}
		w.live = func() []string { return nil }
		w.issued = func() int { return len(wl.Entra.Issued()) }
		w.close = wl.Close
		return w
	}
}

func anacondaWorld() *world {
	fake := anacondafake.New(&anacondafake.Account{Login: "ana"})
	key := fake.AddAPIKey("ana", time.Now().Add(24*time.Hour))
	w := ghWorld(map[string]string{
		"INPUT_PROVIDER": "anaconda", "INPUT_PERMISSIONS": "conda:download",
		"INPUT_ANACONDA-API-URL": fake.URL, "INPUT_ANACONDA-CREDENTIAL": key,
	})
	w.parents = []string{key}
	w.minted = func() []string { return fake.Values() }
	w.live = func() []string {
		return forms(fake.Live(), func(t *anacondafake.Token) []string { return []string{t.Value} })
	}
	w.revocable, w.sweep, w.close = true, "anaconda", fake.Close
	return w
}

// forms lists, for each token of list, the forms that must never leak (its
// value and what is derived from it).
func forms[T any](list []T, of func(T) []string) []string {
	var out []string
	for _, t := range list {
		out = append(out, of(t)...)
	}
	return out
}

// ghWorld is a GitHub job's environment, as runnertest gives it (every
// input with its default, the run, and the file-command files), with with's
// variables.
func ghWorld(with map[string]string) *world {
	dir := must(os.MkdirTemp("", "faultmatrix"))
	env := must(runnertest.NewStepEnv(dir, must(runnertest.ActionYML()), nil))
	maps.Copy(env, with)
	return &world{host: "github", dir: dir, env: env}
}

// azWorld is an Azure Pipelines job's environment, as agenttest gives it
// (every input with its default, the run, and the agent's directories), in
// build 42 of an Azure Repos repository in contoso, with with's variables.
func azWorld(with map[string]string) *world {
	dir := must(os.MkdirTemp("", "faultmatrix"))
	env := must(agenttest.NewStepEnv(dir, must(agenttest.TaskJSON()), nil))
	maps.Copy(env, agenttest.Organization("contoso"))
	env["BUILD_REPOSITORY_PROVIDER"], env["BUILD_BUILDID"] = "TfsGit", "42"
	maps.Copy(env, with)
	return &world{host: "azure", dir: dir, env: env}
}

// must panics on err: worlds are built outside any test.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// connectionWorld is an Azure Pipelines job whose step names wl's AzureRM
// service connection (workload identity federation for clientID, through
// wl's Entra): the agent gives it the connection's ENDPOINT_* variables and
// its OIDC endpoint, whose job token is the step's parent secret.
func connectionWorld(wl *azfake.Workload, with map[string]string) *world {
	w := azWorld(wl.PipelinesEnv(clientID))
	w.env["INPUT_AZURESERVICECONNECTION"] = wl.ConnectionID
	maps.Copy(w.env, with)
	w.parents = []string{wl.PipelinesOIDC.JobToken}
	return w
}

// workloadGHWorld is a GitHub job of wl, with with's variables: it may
// request OIDC tokens, whose request token is the step's parent secret,
// and Entra is wl's.
func workloadGHWorld(wl *azfake.Workload, with map[string]string) *world {
	w := ghWorld(wl.GitHubEnv())
	maps.Copy(w.env, with)
	w.parents = []string{wl.GitHubOIDC.RequestToken}
	return w
}

func calls(key string) []call {
	gh, fed := githubWorld(key), federationWorld(key)
	return append([]call{
		{name: "github: installation lookup", method: "GET", path: testutil.PathSuffix("/repos/octo/app/installation"), stage: "main", world: gh},
		{name: "github: mint", method: "POST", path: testutil.PathSuffix("/access_tokens"), stage: "main", mints: true, world: gh},
		{name: "github: revoke", method: "DELETE", path: testutil.PathSuffix("/installation/token"), stage: "post", revoke: true, world: gh},
		{name: "github: federation discovery", method: "GET", path: testutil.PathSuffix("/.well-known/jobtoken"), stage: "main", world: fed},
		{name: "github: federation OIDC request", method: "GET", path: testutil.PathSuffix("/idtoken"), stage: "main", world: fed},
		{name: "github: federation token", method: "POST", path: testutil.PathSuffix("/v1/token"), stage: "main", mints: true, world: fed},
		{name: "azure-devops pat: create", method: "POST", path: testutil.PathSuffix("/_apis/tokens/pats"), stage: "main", mints: true, world: patWorld},
		// The listing looks for a PAT that an earlier try of the create made
		// and whose answer was lost, so the create loses its first answer.
		{name: "azure-devops pat: list", method: "GET", path: testutil.PathSuffix("/_apis/tokens/pats"), stage: "main", bestEffort: true, world: patWorld,
			background: []testutil.Rule{{Name: "background", Method: "POST", Path: testutil.PathSuffix("/_apis/tokens/pats"), Fault: testutil.CutShort, Times: 1}}},
		{name: "azure-devops pat: revoke", method: "DELETE", path: testutil.PathSuffix("/_apis/tokens/pats"), stage: "post", revoke: true, world: patWorld},
		{name: "entra (github): OIDC request", method: "GET", path: testutil.PathSuffix("/idtoken"), stage: "main", world: entraWorld(false)},
		{name: "entra (github): discovery", method: "GET", path: testutil.PathSuffix("/openid-configuration"), stage: "main", world: entraWorld(false)},
		{name: "entra (github): token exchange", method: "POST", path: testutil.PathSuffix("/oauth2/v2.0/token"), stage: "main", mints: true, world: entraWorld(false)},
		{name: "entra (azure): OIDC request", method: "POST", path: testutil.PathSuffix("/oidctoken"), stage: "main", world: entraWorld(true)},
		{name: "entra (azure): token exchange", method: "POST", path: testutil.PathSuffix("/oauth2/v2.0/token"), stage: "main", mints: true, world: entraWorld(true)},
		{name: "anaconda: create", method: "POST", path: func(p string) bool { return p == "/authentications" }, stage: "main", mints: true, world: anacondaWorld},
		{name: "anaconda: revoke (self)", method: "DELETE", path: func(p string) bool { return p == "/authentications" }, stage: "post", revoke: true, fallback: true, world: anacondaWorld},
		{name: "anaconda: revoke (by name)", method: "DELETE", path: testutil.PathContains("/authentications/name/"), stage: "post", revoke: true, world: anacondaWorld,
			background: []testutil.Rule{{Name: "background", Method: "DELETE", Path: func(p string) bool { return p == "/authentications" }, Fault: testutil.Status503}}},
	}, keylessCalls(key)...)
}

// outcome is what one cell did.
type outcome struct {
	kind     string // "ok", "error" or "warn"
	tries    int    // requests that reached the faulted call
	errText  string // the one error (or warning) line
	orphans  int    // tokens left live that jobtoken cannot reach (github)
	unrevoc  int    // Entra tokens issued beyond the one handed over
	leftLive int    // live after main+post, before any sweep
	swept    bool   // jobtoken sweep revoked what was left live
	// refreshed: the broker served a successor (refresh matrices).
	refreshed bool
	problems  []string
}

// Helper and Errorf make outcome a testutil.Reporter and assert.TestingT: cells run concurrently and
// report their failures through the parent test.
func (*outcome) Helper() {}

func (o *outcome) Errorf(format string, args ...any) {
	o.problems = append(o.problems, fmt.Sprintf(format, args...))
}

// expectation is what a cell must do; documented exceptions are spelt out.
type expectation struct {
	kind string
	// orphansOK: GitHub installation tokens minted by a request whose answer
	// was lost cannot be found (they cannot be listed) and so cannot be
	// revoked: they die within the hour GitHub gives them.
	orphansOK bool
	// liveOK: a revocation that keeps failing leaves the token live until it
	// expires; the post step warns, naming it and its expiry.
	liveOK bool
	// sweptOK: a PAT made by a create whose answer was lost, which the
	// listing that looks for it could not find, is left for jobtoken sweep.
	sweptOK bool
}

func expect(c call, f testutil.Fault, transient bool) expectation {
	githubMint := c.mints && strings.HasPrefix(c.name, "github:")
	switch {
	case c.bestEffort && (f == testutil.Malformed || !transient):
		// The listing failed: the step goes on, and the PAT it was looking
		// for is left to jobtoken sweep (the step may warn about it).
		return expectation{kind: "ok|warn", sweptOK: true}
	case f == testutil.Malformed:
		// Never retried: a well-formed request got an answer that cannot be
		// read. Calls that read nothing from the body do not care.
		if c.revoke || c.readsNothing {
			return expectation{kind: "ok"}
		}
		return expectation{kind: "error", orphansOK: githubMint}
	case transient:
		return expectation{kind: "ok", orphansOK: githubMint && f.AfterService()}
	case c.bestEffort || c.fallback:
		return expectation{kind: "ok"}
	case c.revoke && f.AfterService():
		// The first try revoked the token; its answer, and every later
		// one, was lost: the post step cannot confirm, and warns.
		return expectation{kind: "warn"}
	case c.revoke:
		return expectation{kind: "warn", liveOK: true}
	}
	return expectation{kind: "error", orphansOK: githubMint && f.AfterService()}
}

// run runs jobtoken once, as the runner or agent does, with the fault
// transport under the retries; start, when set, starts the broker refresh
// leaves running.
func run(w *world, ft http.RoundTripper, start func(handoff []byte) error, argv ...string) (int, string, string) {
	var out, errb bytes.Buffer
	set := &secret.Set{}
	o, e := secret.NewWriter(&out, set), secret.NewWriter(&errb, set)
	env := jobEnv(w, ft, o, e, set)
	env.Args, env.StartBroker = argv, start
	code := env.Run(context.Background())
	_ = o.Flush()
	_ = e.Flush()
	return code, out.String(), errb.String()
}

// jobEnv is jobtoken's environment in w's job, writing to stdout and
// stderr (both masking set), over ft with the matrix's retry policy.
func jobEnv(w *world, ft http.RoundTripper, stdout, stderr *secret.Writer, set *secret.Set) *cli.Env {
	p := policy
	return &cli.Env{Getenv: testutil.Getenv(w.env), Stdout: stdout, Stderr: stderr, RawStdout: stdout, RawStderr: stderr,
		Secrets: set, Transport: ft, Retry: &p}
}

// faultTimes is how many tries of the call a cell's fault hits: the first
// faultsPerTransientCell, or every one (0).
func faultTimes(transient bool) int {
	if transient {
		return faultsPerTransientCell
	}
	return 0
}

// logLines splits a stage's stdout into the lines that may carry a secret
// (mask commands, secret variables) and the rest, and picks the errors and
// warnings out of the rest.
func logLines(hostName, stdout string) (plain string, errs, warns []string) {
	var keep []string
	if hostName == "github" {
		for _, l := range strings.Split(stdout, "\n") {
			switch {
			case strings.HasPrefix(l, "::add-mask::"):
				continue
			case strings.HasPrefix(l, "::error::"):
				errs = append(errs, strings.TrimPrefix(l, "::error::"))
			case strings.HasPrefix(l, "::warning::"):
				warns = append(warns, strings.TrimPrefix(l, "::warning::"))
			}
			keep = append(keep, l)
		}
		return strings.Join(keep, "\n"), errs, warns
	}
	for _, l := range azpipelines.Lines(stdout) {
		c, ok := azpipelines.Parse(l)
		if ok && (c.Name == "task.setsecret" || c.Prop("issecret") == "true") {
			continue
		}
		if ok && c.Name == "task.logissue" && c.Prop("type") == "error" {
			errs = append(errs, c.Data)
		}
		if ok && c.Name == "task.logissue" && c.Prop("type") == "warning" {
			warns = append(warns, c.Data)
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n"), errs, warns
}

// state returns what the main stage left for the post stage, as the runner
// or agent hands it over.
func (w *world) carryState(stdout string) {
	if w.host == "github" {
		b, _ := os.ReadFile(w.env["GITHUB_STATE"])
		vals, _ := testutil.Heredocs(&outcome{}, string(b))
		w.env["STATE_jobtoken"] = vals["jobtoken"]
		return
	}
	for _, l := range azpipelines.Lines(stdout) {
		if c, ok := azpipelines.Parse(l); ok && c.Name == "task.settaskvariable" && c.Prop("variable") == "jobtoken" {
			w.env["VSTS_TASKVARIABLE_JOBTOKEN"] = c.Data
		}
	}
}

func (w *world) argv(stage string) []string {
	if w.host == "github" {
		if stage == "post" {
			return []string{"/jobtoken-post"}
		}
		return []string{"/jobtoken"}
	}
	return []string{"/jobtoken", stage}
}

var htmlRE = regexp.MustCompile(`(?i)<\s*(html|body|title|h1)`)

// runCell runs main then post with one fault on one call, and checks it.
func runCell(c call, f testutil.Fault, transient bool) *outcome {
	o := &outcome{}
	w := c.world()
	defer w.end()
	ft := &testutil.FaultTransport{Base: w.transport}
	ft.Add(testutil.Rule{Name: "fault", Method: c.method, Path: c.path, Match: c.match, Fault: f, Times: faultTimes(transient)})
	for _, b := range c.background {
		ft.Add(b)
	}

	code, stdout, stderr := run(w, ft, nil, w.argv("main")...)
	plain, errs, warns := logLines(w.host, stdout)
	outs := []string{plain, stderr}
	mainOK := code == 0
	var postErrs []string
	if mainOK {
		w.carryState(stdout)
		pcode, pstdout, pstderr := run(w, ft, nil, w.argv("post")...)
		pplain, perrs, pwarns := logLines(w.host, pstdout)
		outs = append(outs, pplain, pstderr)
		postErrs = perrs
		warns = append(warns, pwarns...)
		assert.Equal(o, 0, pcode, "the post stage never fails the job:\n%s", pstdout)
	}
	o.tries, _ = ft.Seen("fault")
	switch {
	case !mainOK:
		o.kind = "error"
		if len(errs) > 0 {
			o.errText = errs[0]
		}
		assert.Len(o, errs, 1, "a failed main stage reports one error:\n%s", stdout)
		assert.Equal(o, 1, code)
	case len(warns) > 0:
		o.kind = "warn"
		o.errText = warns[0]
	default:
		o.kind = "ok"
	}
	assert.Empty(o, postErrs, "the post stage reports failures as warnings")
	if w.host == "azure" && !mainOK {
		assert.Equal(o, 1, strings.Count(stdout, "##vso[task.complete result=Failed"), "one task.complete for a failed step")
	}

	// One clear error: one line, summarised, no raw body.
	for _, m := range append(append([]string{}, errs...), warns...) {
		assert.NotRegexp(o, htmlRE, m, "an error echoes a raw body")
		assert.NotContains(o, m, "%0A", "an error spans lines")
		assert.Less(o, len(m), 700, "an error is a summary, not a dump: %s", m)
	}

	// No secret in any output: stdout outside the commands that must carry
	// one, stderr, the summary, and the file commands outside their values.
	secrets := append(append([]string{}, w.parents...), w.minted()...)
	for i, text := range outs {
		testutil.AssertNoSecret(o, fmt.Sprintf("output %d", i), text, secrets...)
	}
	w.assertFilesClean(o, secrets)

	// Nothing left alive.
	o.leftLive = len(w.live())
	if o.leftLive > 0 && w.sweep != "" {
		// What a failed revocation left live is what jobtoken sweep is
		// for: a maintainer names the run, from a terminal, once the
		// network has healed.
		ft.Clear()
		term := map[string]string{}
		for k, v := range w.env {
			if strings.HasPrefix(k, "INPUT_") {
				term[k] = v
			}
		}
		tw := &world{host: "local", env: term}
		code, out, errOut := run(tw, ft, nil, "jobtoken", "sweep", "--provider", w.sweep, "--run", w.runID(), "--revoke")
		assert.Equal(o, 0, code, "sweep:\n%s%s", out, errOut)
		testutil.AssertNoSecret(o, "sweep output", out+errOut, append(append([]string{}, w.parents...), w.minted()...)...)
		o.swept = len(w.live()) == 0
		assert.True(o, o.swept, "jobtoken sweep revokes what the post step could not:\n%s%s", out, errOut)
	}
	if !w.revocable {
		// Entra tokens cannot be revoked: count those a lost answer made
		// beyond the one handed over.
		o.unrevoc = w.issued()
		if mainOK {
			o.unrevoc--
		}
	}
	return o
}

// assertFilesClean checks the files the job wrote carry none of secrets:
// GitHub's file commands outside their values, Azure's summaries.
func (w *world) assertFilesClean(o *outcome, secrets []string) {
	if w.host == "github" {
		for _, v := range runnertest.FileCommands {
			b, _ := os.ReadFile(w.env[v])
			_, rest := testutil.Heredocs(o, string(b))
			testutil.AssertNoSecret(o, v, rest, secrets...)
		}
		return
	}
	sums, _ := filepath.Glob(filepath.Join(w.env["AGENT_TEMPDIRECTORY"], "*.md"))
	for _, s := range sums {
		b, _ := os.ReadFile(s)
		testutil.AssertNoSecret(o, "summary", string(b), secrets...)
	}
}

func (w *world) runID() string {
	if w.host == "azure" {
		return w.env["BUILD_BUILDID"]
	}
	return w.env["GITHUB_RUN_ID"]
}

func TestFaultMatrix(t *testing.T) {
	key := testutil.AppKeyPEM(t)
	rows := calls(key)
	var names []string
	for _, c := range rows {
		names = append(names, c.name)
	}
	// Cells that wait for the attempt timeout mostly sleep: they all run at
	// once. The others use the CPU (RSA signatures, TLS), and run a few at
	// a time so that a healthy request never comes near the attempt timeout,
	// even under -race on a small machine.
	sleeps := func(f testutil.Fault) bool { return f == testutil.Timeout || f == testutil.SlowBody }
	results := runMatrix(len(rows), 4, sleeps, func(i int, f testutil.Fault, transient bool) *outcome {
		return runCell(rows[i], f, transient)
	})

	for _, transient := range []bool{true, false} {
		mode := "persistent (every try fails)"
		if transient {
			mode = fmt.Sprintf("transient (the first %d tries fail)", faultsPerTransientCell)
		}
		msgs := map[string]bool{}
		table := matrixTable("fault matrix", mode, names, func(i int, f testutil.Fault) string {
			o := results[cellKey{i, f, transient}]
			if o.errText != "" {
				msgs[names[i]+": "+runIDs.ReplaceAllString(o.errText, "<…>")] = true
			}
			return o.cell()
		})
		ms := slices.Sorted(maps.Keys(msgs))
		t.Log(table + legend + "errors and warnings, one per failed cell:\n  " + strings.Join(ms, "\n  ") + "\n")
	}

	checkCells(t, names, results, func(t *testing.T, k cellKey, o *outcome) {
		c, f, transient := rows[k.row], k.fault, k.transient
		want := expect(c, f, transient)
		assert.Contains(t, strings.Split(want.kind, "|"), o.kind, "outcome (%s)", o.errText)
		switch {
		case f == testutil.Malformed:
			assert.Equal(t, 1, o.tries, "an unreadable answer is not retried")
		case !f.AfterService() || !c.mints:
			assert.Equal(t, policy.Attempts, o.tries, "retried up to the policy's attempts")
		}
		switch {
		case o.leftLive == 0:
		case want.orphansOK:
			t.Logf("documented: %d GitHub token(s) minted by tries whose answer was lost stay live until GitHub expires them (1h)", o.leftLive)
		case want.liveOK:
			assert.Contains(t, o.errText, "it stays valid until", "the warning names the token's expiry")
		case want.sweptOK:
			assert.True(t, o.swept, "jobtoken sweep revokes it")
		default:
			t.Errorf("%d token(s) left live after main and post", o.leftLive)
		}
	})
}

// cellKey names one cell of a fault matrix: a row, a fault, and whether the
// fault is transient (the first faultsPerTransientCell tries) or persists.
type cellKey struct {
	row       int
	fault     testutil.Fault
	transient bool
}

// modeName names a cell's fault mode, as subtests do.
func modeName(transient bool) string {
	if transient {
		return "transient"
	}
	return "persistent"
}

// runMatrix runs every cell of a fault matrix (rows × testutil.Faults ×
// transient or persistent) concurrently, limit at a time; cells whose fault
// sleeps (when set) says mostly waits run at once, outside the limit.
func runMatrix(rows, limit int, sleeps func(testutil.Fault) bool, run func(row int, f testutil.Fault, transient bool) *outcome) map[cellKey]*outcome {
	results := map[cellKey]*outcome{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, limit)
	for i := range rows {
		for _, f := range testutil.Faults {
			for _, transient := range []bool{true, false} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if sleeps == nil || !sleeps(f) {
						sem <- struct{}{}
						defer func() { <-sem }()
					}
					o := run(i, f, transient)
					mu.Lock()
					results[cellKey{i, f, transient}] = o
					mu.Unlock()
				}()
			}
		}
	}
	wg.Wait()
	return results
}

// matrixTable is one mode's table of a fault matrix: a line per row name, a
// column per fault, cell's text in each.
func matrixTable(title, mode string, names []string, cell func(row int, f testutil.Fault) string) string {
	width := len("call")
	for _, n := range names {
		width = max(width, len(n))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s, %s; cell = outcome/requests that reached the call\n%-*s", title, mode, width, "call")
	for _, f := range testutil.Faults {
		fmt.Fprintf(&b, " | %-10s", f)
	}
	b.WriteString("\n")
	for i, name := range names {
		fmt.Fprintf(&b, "%-*s", width, name)
		for _, f := range testutil.Faults {
			fmt.Fprintf(&b, " | %-10s", cell(i, f))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// checkCells checks every cell of a fault matrix in a subtest named
// row/fault/mode: the problems the cell met while it ran, then check.
func checkCells(t *testing.T, names []string, results map[cellKey]*outcome, check func(t *testing.T, k cellKey, o *outcome)) {
	t.Helper()
	for i, name := range names {
		for _, f := range testutil.Faults {
			for _, transient := range []bool{true, false} {
				k := cellKey{i, f, transient}
				o := results[k]
				t.Run(name+"/"+string(f)+"/"+modeName(transient), func(t *testing.T) {
					for _, p := range o.problems {
						t.Error(p)
					}
					check(t, k, o)
				})
			}
		}
	}
}

var runIDs = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|run 9\.1 [0-9a-f]{6}|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)

const legend = `ok = main and post succeeded; error = the main stage failed with one error; warn = the post stage warned
L1§ = a revocation that kept failing left the token live (the post step warns with its expiry); jobtoken sweep --run revoked it
+1§ = a PAT made by a create whose answer was lost, which the listing meant to find it could not: jobtoken sweep --run revoked it
L1¶ = as L1§, for a GitHub token: it cannot be listed, so it stays live until it expires (1h)
+N† = GitHub tokens minted by tries whose answer was lost: they cannot be listed or revoked and expire within 1h (documented exception)
+N‡ = Entra tokens issued to tries whose answer was lost (and the one handed over, if any, is not counted): Entra tokens cannot be revoked
`

// cell is one matrix cell's text.
func (o *outcome) cell() string {
	s := fmt.Sprintf("%s/%d", o.kind, o.tries)
	switch {
	case o.leftLive > 0 && o.swept && o.kind == "ok":
		s += fmt.Sprintf(" +%d§", o.leftLive)
	case o.leftLive > 0 && o.swept:
		s += fmt.Sprintf(" L%d§", o.leftLive)
	case o.leftLive > 0 && o.kind == "warn":
		s += fmt.Sprintf(" L%d¶", o.leftLive)
	case o.leftLive > 0:
		s += fmt.Sprintf(" +%d†", o.leftLive)
	}
	if o.unrevoc > 0 {
		s += fmt.Sprintf(" +%d‡", o.unrevoc)
	}
	if len(o.problems) > 0 {
		s += " FAIL"
	}
	return s
}
