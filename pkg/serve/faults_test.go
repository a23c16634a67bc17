package serve_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/serve"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// TestFaultMatrix applies the fault matrix to every call the service makes
// for a cold token request (issuer keys, the policy read: installation
// lookup, its token, the commit, the listing and the file, the token's
// revocation; the mint: installation lookup and token): each fault on the
// first two tries, then on every try. Each cell must end in a token or in
// one clear error (429 or 502 with its code), with no secret in the audit
// or the log and nothing left live but the token handed out, except where
// the matrix of the steps says so too: a token whose answer was lost
// cannot be found (installation tokens cannot be listed) and expires
// within the hour, and a revocation that fails on every try is logged with
// the token's ID.
func TestFaultMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the matrix runs ~150 cold requests")
	}
	calls := []struct {
		name   string
		method string
		path   func(string) bool
		// mints: a body fault loses a token GitHub created.
		mints bool
	}{
		{"issuer keys", http.MethodGet, testutil.PathSuffix("/.well-known/jwks"), false},
		{"policy: installation", http.MethodGet, testutil.PathSuffix("/repos/octo-org/policies/installation"), false},
		{"policy: token", http.MethodPost, func(p string) bool { return strings.HasSuffix(p, "/access_tokens") }, true},
		{"policy: commit", http.MethodGet, testutil.PathContains("/commits/"), false},
		{"policy: listing", http.MethodGet, testutil.PathSuffix("/contents/jobtoken"), false},
		{"policy: file", http.MethodGet, testutil.PathSuffix("/contents/jobtoken/release.yaml"), false},
		{"policy: revoke", http.MethodDelete, testutil.PathSuffix("/installation/token"), false},
		{"mint: installation", http.MethodGet, testutil.PathSuffix("/users/octo-org/installation"), false},
	}
	p := serve.Retry
	p.AttemptTimeout, p.Deadline = 300*time.Millisecond, 5*time.Second
	rows := make([]string, 2*len(calls))
	// Rows run in parallel: most of a cell is waiting out a fault.
	t.Run("rows", func(t *testing.T) {
		for i, c := range calls {
			for j, every := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/every=%v", c.name, every), func(t *testing.T) {
					t.Parallel()
					row := fmt.Sprintf("%-22s %-6s", c.name, map[bool]string{false: "2 tries", true: "every"}[every])
					for _, f := range testutil.Faults {
						times := 2
						if every {
							times = 0
						}
						ft := &testutil.FaultTransport{Base: network.Base(network.Options{})}
						ft.Add(testutil.Rule{Name: c.name, Method: c.method, Path: c.path, Fault: f, Times: times})
						w := newWorldWith(t, "", ft, p)
						a := w.ask(w.oidcToken(nil), release(map[string]string{"contents": "read"}, "app"))
						cell := "ok"
						switch a.status {
						case http.StatusOK:
						case http.StatusTooManyRequests, http.StatusBadGateway:
							cell = a.err.Error.Code
							assert.NotContains(t, a.err.Error.Message, "\n", "%s %s: one line", c.name, f)
						default:
							t.Errorf("%s, %s (every=%v): status %d: %s", c.name, f, every, a.status, a.raw)
						}
						handed := []string{}
						if a.status == http.StatusOK {
							handed = append(handed, a.ok.Token)
						}
						revokeFails := c.name == "policy: revoke" && every && !f.AfterService()
						if !(c.mints && f.AfterService()) && !revokeFails {
							w.checkClean(handed...)
						} else {
							w.outMu.Lock()
							testutil.AssertNoSecret(t, "audit and log", w.audit.String()+w.log.String(), w.secrets...)
							w.outMu.Unlock()
							cell += "*"
						}
						if revokeFails {
							assert.Contains(t, w.log.String(), "failed to revoke the token sha256:", "a revocation that never succeeds is logged by ID")
						}
						row += fmt.Sprintf(" %s=%s", f, cell)
					}
					rows[2*i+j] = row
				})
			}
		}
	})
	t.Logf("fault matrix of jobtoken serve (* = a token may stay live until it expires, as documented):\n%s", strings.Join(rows, "\n"))
}
