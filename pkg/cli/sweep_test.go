package cli_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/anacondafake"
	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/minted"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// patWorld is a fake PAT lifecycle API holding what a user's PAT list looks
// like after a while: PATs of finished runs whose post step never ran, a PAT
// of a run still going, the user's own PATs, and PATs that jobtoken must not
// see (another user's, another organization's, revoked ones).
type sweepPATs struct {
	api    *azfake.PATs
	parent string
	tokens []string // every PAT value, for the leak check
}

func newSweepPATs(t *testing.T) *sweepPATs {
	t.Helper()
	tenant := azfake.NewTenant()
	tenant.Now = func() time.Time { return fixedNow }
	api := azfake.NewPATs(tenant, "contoso", "fabrikam")
	api.Now = tenant.Now
	t.Cleanup(api.Close)
	w := &sweepPATs{api: api, parent: tenant.UserToken("alice@contoso.com", time.Hour)}
	claims, err := tenant.Verify(w.parent)
	require.NoError(t, err)
	alice := claims["oid"].(string)
	add := func(id, name, org, oid string, age time.Duration, revoked bool) {
		tok := fmt.Sprintf("pat%049d", len(w.tokens))
		w.tokens = append(w.tokens, tok)
		api.Add(&azfake.PAT{AuthorizationID: id, DisplayName: name, Scope: "vso.code", Token: tok, Org: org, UserOID: oid,
			TargetAccounts: []string{"x"}, ValidFrom: fixedNow.Add(-age), ValidTo: fixedNow.Add(-age).Add(24 * time.Hour), Revoked: revoked})
	}
	// More PATs than one page holds, so that listing must follow the
	// continuation token; they are older, so jobtoken's come on page two.
	for i := range 120 {
		add(fmt.Sprintf("00000000-0000-4000-8000-%012d", i), fmt.Sprintf("laptop %d", i), "contoso", alice, 20*time.Hour+time.Duration(i)*time.Second, false)
	}
	add("11111111-1111-4111-8111-111111111111", "jobtoken octo/app run 100.1 aaaaaa", "contoso", alice, 8*time.Hour, false)
	add("22222222-2222-4222-8222-222222222222", "jobtoken octo/app run 200.2 bbbbbb", "contoso", alice, time.Hour, false)
	add("33333333-3333-4333-8333-333333333333", "jobtoken octo/app run 9.1 cccccc", "contoso", alice, 7*time.Hour, false)
	add("44444444-4444-4444-8444-444444444444", "jobtoken octo/app run 50.1 dddddd", "contoso", alice, 9*time.Hour, true)
	add("55555555-5555-4555-8555-555555555555", "jobtoken octo/app run 51.1 eeeeee", "contoso", "someone-else", 9*time.Hour, false)
	add("66666666-6666-4666-8666-666666666666", "jobtoken octo/app run 52.1 ffffff", "fabrikam", alice, 9*time.Hour, false)
	add("77777777-7777-4777-8777-777777777777", "jobtoken-like but not jobtoken's", "contoso", alice, 9*time.Hour, false)
	return w
}

func (w *sweepPATs) args(more ...string) []string {
	return append([]string{"sweep", "--provider", "azure-devops", "--azure-devops-organization", "contoso", "--azure-devops-api-url", w.api.URL}, more...)
}

func (w *sweepPATs) live() []string {
	var out []string
	for _, p := range w.api.Live() {
		out = append(out, p.DisplayName)
	}
	return out
}

// jobtoken sweep lists the PATs jobtoken minted whose run is over (here:
// created more than 6h ago) and, with --revoke, revokes them. The PATs of
// other users, other organizations, and PATs jobtoken did not mint are never
// touched; listing follows Azure DevOps' pages.
func Example_sweep() {
	t := &testing.T{}
	w := newSweepPATs(t)
	env := map[string]string{"INPUT_AZURE_ACCESS_TOKEN": w.parent}
	stdout, stderr, code := runCLI(env, "", w.args()...)
	fmt.Print(stdout, stderr)
	fmt.Println("exit status", code)
	stdout, stderr, code = runCLI(env, "", w.args("--revoke")...)
	fmt.Print(stdout, stderr)
	fmt.Println("exit status", code)
	// Output:
	// azure-devops: 3 live token(s) minted by jobtoken, 2 stale
	//   jobtoken octo/app run 100.1 aaaaaa
	//     id 11111111-1111-4111-8111-111111111111, scopes vso.code, expires 2026-11-28T01:00:00Z
	//     stale: created 8h ago
	//   jobtoken octo/app run 200.2 bbbbbb
	//     id 22222222-2222-4222-8222-222222222222, scopes vso.code, expires 2026-11-28T08:00:00Z
	//     keep: created 1h ago, within --older-than 6h
	//   jobtoken octo/app run 9.1 cccccc
	//     id 33333333-3333-4333-8333-333333333333, scopes vso.code, expires 2026-11-28T02:00:00Z
	//     stale: created 7h ago
	// dry run: nothing revoked; run again with --revoke to revoke the 2 stale token(s)
	// exit status 0
	// azure-devops: 3 live token(s) minted by jobtoken, 2 stale
	//   jobtoken octo/app run 100.1 aaaaaa
	//     id 11111111-1111-4111-8111-111111111111, scopes vso.code, expires 2026-11-28T01:00:00Z
	//     stale: created 8h ago
	//   jobtoken octo/app run 200.2 bbbbbb
	//     id 22222222-2222-4222-8222-222222222222, scopes vso.code, expires 2026-11-28T08:00:00Z
	//     keep: created 1h ago, within --older-than 6h
	//   jobtoken octo/app run 9.1 cccccc
	//     id 33333333-3333-4333-8333-333333333333, scopes vso.code, expires 2026-11-28T02:00:00Z
	//     stale: created 7h ago
	// revoked 11111111-1111-4111-8111-111111111111 (jobtoken octo/app run 100.1 aaaaaa)
	// revoked 33333333-3333-4333-8333-333333333333 (jobtoken octo/app run 9.1 cccccc)
	// exit status 0
}

func TestSweepAzureDevOps(t *testing.T) {
	t.Run("dry run revokes nothing and prints no secret", func(t *testing.T) {
		w := newSweepPATs(t)
		before := w.live()
		stdout, stderr, code := runCLI(map[string]string{"INPUT_AZURE_ACCESS_TOKEN": w.parent}, "", w.args()...)
		require.Equal(t, 0, code, stderr)
		assert.ElementsMatch(t, before, w.live())
		assert.Zero(t, w.api.Count("DELETE"))
		assert.Equal(t, 2, w.api.Count("GET"), "two pages")
		testutil.AssertNoSecret(t, "stdout", stdout+stderr, append(w.tokens, w.parent)...)
		for _, other := range []string{"laptop", "run 50.1", "run 51.1", "run 52.1", "jobtoken-like"} {
			assert.NotContains(t, stdout, other)
		}
	})
	t.Run("--revoke revokes exactly the stale ones", func(t *testing.T) {
		w := newSweepPATs(t)
		_, stderr, code := runCLI(map[string]string{"INPUT_AZURE_ACCESS_TOKEN": w.parent}, "", w.args("--revoke")...)
		require.Equal(t, 0, code, stderr)
		live := strings.Join(w.live(), "\n")
		assert.NotContains(t, live, "run 100.1")
		assert.NotContains(t, live, "run 9.1")
		for _, kept := range []string{"run 200.2", "run 51.1", "run 52.1", "laptop 0", "laptop 119", "jobtoken-like"} {
			assert.Contains(t, live, kept)
		}
	})
	t.Run("--run sweeps a run whatever its age; inside CI the current run is kept", func(t *testing.T) {
		w := newSweepPATs(t)
		env := map[string]string{"INPUT_AZURE_ACCESS_TOKEN": w.parent, "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "octo/app", "GITHUB_RUN_ID": "9", "GITHUB_RUN_ATTEMPT": "1"}
		stdout, stderr, code := runCLI(env, "", w.args("--run", "200", "--older-than", "48h", "--revoke")...)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, "stale: run 200 named with --run")
		assert.Contains(t, stdout, "keep: the current run's")
		live := strings.Join(w.live(), "\n")
		assert.NotContains(t, live, "run 200.2")
		assert.Contains(t, live, "run 9.1")
		assert.Contains(t, live, "run 100.1", "8h is within --older-than 48h")
	})
	t.Run("--run with an attempt matches only that attempt", func(t *testing.T) {
		w := newSweepPATs(t)
		stdout, _, code := runCLI(map[string]string{"INPUT_AZURE_ACCESS_TOKEN": w.parent}, "", w.args("--run", "200.1", "--older-than", "48h")...)
		require.Equal(t, 0, code)
		assert.Contains(t, stdout, "0 stale")
	})
	t.Run("bad inputs fail before any call", func(t *testing.T) {
		w := newSweepPATs(t)
		_, stderr, code := runCLI(map[string]string{}, "", "sweep", "--provider", "azure-devops", "--azure-devops-api-url", w.api.URL)
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "input --azure-devops-organization: is required")
		_, stderr, code = runCLI(map[string]string{}, "", w.args("--older-than", "soon")...)
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, `--older-than "soon" is not a duration`)
		assert.Empty(t, w.api.Requests())
	})
	t.Run("a refused parent is one clear error", func(t *testing.T) {
		w := newSweepPATs(t)
		other := azfake.NewTenant().UserToken("mallory@example.com", time.Hour)
		_, stderr, code := runCLI(map[string]string{"INPUT_AZURE_ACCESS_TOKEN": other}, "", w.args()...)
		assert.Equal(t, 1, code)
		assert.Equal(t, 1, strings.Count(stderr, "error: "), stderr)
		assert.Contains(t, stderr, "error: failed to list PATs: Azure DevOps answered 401")
		testutil.AssertNoSecret(t, "stderr", stderr, other)
	})
}

func TestSweepAnaconda(t *testing.T) {
	newWorld := func(t *testing.T) (*anacondafake.Server, string, []string) {
		f := anacondafake.New(&anacondafake.Account{Login: "ana"}, &anacondafake.Account{Login: "bob"})
		t.Cleanup(f.Close)
		f.Now = func() time.Time { return fixedNow }
		key := f.AddAPIKey("ana", fixedNow.Add(24*time.Hour))
		var vals []string
		for _, tk := range []anacondafake.Token{
			{Note: "jobtoken octo:app run 100.1 aaaaaa", Owner: "ana", Life: minted.Life{ExpiresAt: fixedNow.Add(time.Hour)}},
			{Note: "jobtoken octo:app run 200.1 bbbbbb", Owner: "ana", Life: minted.Life{ExpiresAt: fixedNow.Add(time.Hour)}},
			{Note: "jobtoken octo:app run 300.1 cccccc", Owner: "ana", Life: minted.Life{ExpiresAt: fixedNow.Add(-time.Hour)}},
			{Note: "jobtoken octo:app run 400.1 dddddd", Owner: "bob", Life: minted.Life{ExpiresAt: fixedNow.Add(time.Hour)}},
			{Note: "binstar_token:laptop", Owner: "ana", Life: minted.Life{ExpiresAt: fixedNow.Add(time.Hour)}},
		} {
			tk.Scopes = []string{"conda:download"}
			vals = append(vals, f.Seed(tk).Value)
		}
		return f, key, vals
	}
	live := func(f *anacondafake.Server) string {
		var names []string
		for _, tk := range f.Live() {
			names = append(names, tk.Note)
		}
		return strings.Join(names, "\n")
	}
	t.Run("age unknown: kept unless the run is named", func(t *testing.T) {
		f, key, vals := newWorld(t)
		args := []string{"sweep", "--provider", "anaconda", "--anaconda-api-url", f.URL}
		stdout, stderr, code := runCLI(map[string]string{"INPUT_ANACONDA_CREDENTIAL": key}, "", args...)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, "anaconda: 2 live token(s) minted by jobtoken, 0 stale\n")
		assert.Contains(t, stdout, "keep: age unknown (anaconda does not say when it was created); name its run with --run")
		testutil.AssertNoSecret(t, "output", stdout+stderr, append(vals, key)...)

		stdout, stderr, code = runCLI(map[string]string{"INPUT_ANACONDA_CREDENTIAL": key}, "", append(args, "--run", "100", "--revoke")...)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, "revoked jobtoken octo:app run 100.1 aaaaaa (jobtoken octo:app run 100.1 aaaaaa)\n")
		l := live(f)
		assert.NotContains(t, l, "run 100.1")
		for _, kept := range []string{"run 200.1", "run 400.1", "binstar_token:laptop"} {
			assert.Contains(t, l, kept)
		}
	})
	t.Run("--older-than 0: every jobtoken token of the account", func(t *testing.T) {
		f, key, _ := newWorld(t)
		_, stderr, code := runCLI(map[string]string{"INPUT_ANACONDA_CREDENTIAL": key}, "", "sweep", "--provider", "anaconda", "--anaconda-api-url", f.URL, "--older-than", "0", "--revoke")
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "jobtoken octo:app run 400.1 dddddd\nbinstar_token:laptop", sortedLines(live(f)))
	})
	t.Run("a note made before owner:name is listed and named, not taken as gone", func(t *testing.T) {
		f, key, _ := newWorld(t)
		f.Seed(anacondafake.Token{Note: "jobtoken octo/app run 500.1 eeeeee", Owner: "ana", Life: minted.Life{ExpiresAt: fixedNow.Add(time.Hour)}, Scopes: []string{"conda:download"}})
		stdout, stderr, code := runCLI(map[string]string{"INPUT_ANACONDA_CREDENTIAL": key}, "", "sweep", "--provider", "anaconda", "--anaconda-api-url", f.URL, "--run", "500", "--revoke")
		assert.Equal(t, 1, code)
		assert.Contains(t, stdout, "jobtoken octo/app run 500.1 eeeeee\n    id jobtoken octo/app run 500.1 eeeeee")
		assert.Contains(t, stderr, `error: failed to revoke jobtoken octo/app run 500.1 eeeeee (jobtoken octo/app run 500.1 eeeeee): its note holds a "/", which anaconda.org's router splits, so it cannot be revoked by name; remove it in anaconda.org's settings → access, or let it expire at 2026-11-27T10:00:00Z`)
		assert.NotContains(t, stdout, "already revoked")
	})
}

func sortedLines(s string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		for j := i + 1; j < len(lines); j++ {
			if lines[j] > lines[i] {
				lines[i], lines[j] = lines[j], lines[i]
			}
		}
	}
	return strings.Join(lines, "\n")
}

func TestSweepGitHubSaysWhy(t *testing.T) {
	stdout, stderr, code := runCLI(map[string]string{}, "", "sweep", "--provider", "github")
	assert.Equal(t, 0, code)
	assert.Empty(t, stderr)
	assert.Equal(t, "github: installation tokens cannot be listed (GitHub has no API for it) and expire within an hour of minting; nothing to sweep\n", stdout)
	_, stderr, code = runCLI(map[string]string{}, "", "sweep")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--provider is required; one of anaconda, azure-devops")
}
