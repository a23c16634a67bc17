package faultmatrix_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// refreshCall is a call the broker makes while the job runs: a row of a
// refresh fault matrix.
type refreshCall struct {
	name   string
	world  func() *world // a job whose tokens live seconds
	method string
	path   func(string) bool
	// afterMain: the main stage makes the call once and it passes; only the
	// broker's get the fault.
	afterMain bool
	mints     bool // the call issues the token
}

func refreshCalls(key string) []refreshCall {
	gh := func() *world {
		w := githubWorldLife(key, 4*time.Second)()
		w.env["INPUT_GIT-CREDENTIALS"] = "true"
		return w
	}
	return []refreshCall{
		{name: "github: refresh mint", world: gh, method: "POST", path: testutil.PathSuffix("/access_tokens"), afterMain: true, mints: true},
		// The broker revokes a superseded token (the post step's revocations
		// get the same fault when it persists).
		{name: "github: revoke superseded", world: gh, method: "DELETE", path: testutil.PathSuffix("/installation/token")},
	}
}

// afterFirst matches the calls path matches but the first.
func afterFirst(path func(string) bool) func(string) bool {
	n := 0
	var mu sync.Mutex
	return func(p string) bool {
		if !path(p) {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		n++
		return n > 1
	}
}

// refreshing gives w's step the inputs that leave a broker refreshing its
// token for ten minutes, and on GitHub what the runner gives every step
// (RUNNER_TEMP, GITHUB_PATH).
func (w *world) refreshing() {
	w.env["INPUT_REFRESH"] = "true"
	if w.host != "github" {
		w.env["INPUT_REFRESHUNTIL"] = "10m"
		return
	}
	w.env["INPUT_REFRESH-UNTIL"] = "10m"
	w.env["RUNNER_TEMP"] = w.dir
	w.env["GITHUB_PATH"] = w.env["GITHUB_OUTPUT"] + ".path"
	_ = os.WriteFile(w.env["GITHUB_PATH"], nil, 0o600)
}

// runRefreshCell runs main with refresh (the broker in process, over the
// faulty transport), waits until the broker has met the fault, then post.
func runRefreshCell(c refreshCall, f testutil.Fault, transient bool) *outcome {
	o := &outcome{}
	w := c.world()
	defer w.end()
	w.refreshing()
	path := c.path
	if c.afterMain {
		path = afterFirst(path)
	}
	ft := &testutil.FaultTransport{Base: w.transport}
	ft.Add(testutil.Rule{Name: "fault", Method: c.method, Path: path, Fault: f, Times: faultTimes(transient)})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var brokerDone sync.WaitGroup
	defer brokerDone.Wait()
	var blog syncBuffer
	start := func(handoff []byte) error {
		brokerDone.Add(1)
		go func() {
			defer brokerDone.Done()
			set := &secret.Set{}
			out := secret.NewWriter(&blog, set)
			env := jobEnv(w, ft, out, out, set)
			env.Args, env.Stdin = []string{"/jobtoken", "broker"}, bytes.NewReader(handoff)
			env.Run(ctx)
			_ = out.Flush()
		}()
		return nil
	}

	code, stdout, stderr := run(w, ft, start, w.argv("main")...)
	if !assert.Equal(o, 0, code, "main:\n%s%s", stdout, stderr) {
		return o
	}
	// Wait until the broker met the fault: every try of the call when it
	// persists; when it passes, the try that got through and a successor
	// issued (besides the tokens whose answer the fault lost).
	lost := 0
	if c.mints && f.AfterService() {
		lost = faultsPerTransientCell
	}
	met := func(seen int) bool {
		if !transient {
			return seen >= policy.Attempts
		}
		return seen > faultsPerTransientCell && w.issued() >= 2+lost
	}
	deadline := time.Now().Add(90 * time.Second)
	for seen, _ := ft.Seen("fault"); !met(seen); seen, _ = ft.Seen("fault") {
		if time.Now().After(deadline) {
			o.Errorf("the broker never met the fault (seen %d, issued %d)", seen, w.issued())
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	o.refreshed = w.issued() >= 2+lost
	w.carryState(stdout)
	pcode, pstdout, pstderr := run(w, ft, start, w.argv("post")...)
	assert.Equal(o, 0, pcode, "the post stage never fails the job")
	cancel()
	brokerDone.Wait()
	plain, errs, warns := logLines(w.host, stdout)
	pplain, perrs, pwarns := logLines(w.host, pstdout)
	assert.Empty(o, errs)
	assert.Empty(o, perrs, "the post stage reports failures as warnings")
	if !w.revocable {
		assert.Contains(o, pplain, "cannot be revoked")
	}
	o.kind = "ok"
	if len(pwarns)+len(warns) > 0 {
		o.kind, o.errText = "warn", append(warns, pwarns...)[0]
	}
	o.tries, _ = ft.Seen("fault")
	secrets := append(append([]string{}, w.parents...), w.minted()...)
	for i, text := range []string{plain, stderr, pplain, pstderr, blog.String()} {
		testutil.AssertNoSecret(o, fmt.Sprintf("output %d", i), text, secrets...)
	}
	w.assertFilesClean(o, secrets)
	o.leftLive = len(w.live())
	return o
}

// syncBuffer is the broker's log: its goroutine writes while the cell reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runRefreshMatrix runs every cell of a refresh fault matrix, eight at a
// time since each mostly waits for tokens that live seconds, logs its
// tables titled title, then checks each cell with check.
func runRefreshMatrix(t *testing.T, title string, rows []refreshCall, check func(t *testing.T, c refreshCall, k cellKey, o *outcome)) {
	t.Helper()
	if testing.Short() {
		t.Skip("waits for refreshes of tokens that live seconds")
	}
	var names []string
	for _, c := range rows {
		names = append(names, c.name)
	}
	results := runMatrix(len(rows), 8, nil, func(i int, f testutil.Fault, transient bool) *outcome {
		return runRefreshCell(rows[i], f, transient)
	})
	var tables []string
	for _, transient := range []bool{true, false} {
		tables = append(tables, matrixTable(title, modeName(transient), names, func(i int, f testutil.Fault) string {
			return results[cellKey{i, f, transient}].cell()
		}))
	}
	t.Log(strings.Join(tables, ""))
	checkCells(t, names, results, func(t *testing.T, k cellKey, o *outcome) { check(t, rows[k.row], k, o) })
}

// TestRefreshFaultMatrix: every fault on the calls the broker makes, once
// and for good; main and post still succeed, nothing the job saw is left
// live but what GitHub's lost answers made (they cannot be listed), and no
// secret is printed.
func TestRefreshFaultMatrix(t *testing.T) {
	runRefreshMatrix(t, "refresh fault matrix", refreshCalls(testutil.AppKeyPEM(t)), func(t *testing.T, c refreshCall, k cellKey, o *outcome) {
		switch {
		case o.leftLive == 0:
		case c.mints && k.fault.AfterService():
			t.Logf("documented: %d GitHub token(s) minted by refreshes whose answer was lost stay live until GitHub expires them", o.leftLive)
		case !c.mints && !k.transient:
			assert.Equal(t, "warn", o.kind)
			assert.Contains(t, o.errText, "it stays valid until", "the warning names the token's expiry")
		default:
			t.Errorf("%d token(s) left live after post", o.leftLive)
		}
		if k.transient && c.mints && k.fault != testutil.Malformed {
			assert.True(t, o.refreshed, "the broker refreshed once the fault passed")
		}
	})
}
