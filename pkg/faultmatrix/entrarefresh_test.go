package faultmatrix_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jobtoken/jobtoken/pkg/cli"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// entraRefreshCall is a call the broker makes to refresh an Entra token:
// the OIDC request or the exchange, on one host. The main stage's call of
// the same kind passes; the broker's get the fault.
type entraRefreshCall struct {
	name     string
	onAzure  bool
	method   string
	suffix   string
	exchange bool // the call that issues the Entra token
}

var entraRefreshCalls = []entraRefreshCall{
	{name: "entra/github: OIDC request", method: "GET", suffix: "/idtoken"},
	{name: "entra/github: exchange", method: "POST", suffix: "/oauth2/v2.0/token", exchange: true},
	{name: "entra/azure: OIDC request", onAzure: true, method: "POST", suffix: "/oidctoken"},
	{name: "entra/azure: exchange", onAzure: true, method: "POST", suffix: "/oauth2/v2.0/token", exchange: true},
}

// afterFirst matches the calls to paths ending in suffix but the first.
func afterFirst(suffix string) func(string) bool {
	n := 0
	var mu sync.Mutex
	return func(p string) bool {
		if !strings.HasSuffix(p, suffix) {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		n++
		return n > 1
	}
}

// runEntraRefreshCell runs main with refresh (the broker in-process, over
// the faulty transport) on Entra tokens that live seconds, waits until the
// broker has met the fault, then post.
func runEntraRefreshCell(c entraRefreshCall, f testutil.Fault, transient bool) *refreshOutcome {
	o := &refreshOutcome{}
	w := entraWorldLife(c.onAzure, 4*time.Second)()
	defer w.close()
	w.env["INPUT_REFRESH"] = "true"
	if w.host == "github" {
		w.env["INPUT_REFRESH-UNTIL"] = "10m"
		w.env["RUNNER_TEMP"] = filepath.Dir(w.files["OUTPUT"])
		w.env["GITHUB_PATH"] = w.files["OUTPUT"] + ".path"
		_ = os.WriteFile(w.env["GITHUB_PATH"], nil, 0o600)
	} else {
		w.env["INPUT_REFRESHUNTIL"] = "10m"
	}
	ft := &testutil.FaultTransport{Base: w.transport}
	times := 0
	if transient {
		times = faultsPerTransientCell
	}
	ft.Add(testutil.Rule{Name: "fault", Method: c.method, Path: afterFirst(c.suffix), Fault: f, Times: times})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var brokerDone sync.WaitGroup
	defer brokerDone.Wait()
	var blog bytes.Buffer
	var bmu sync.Mutex
	start := func(handoff []byte) error {
		brokerDone.Add(1)
		go func() {
			defer brokerDone.Done()
			set := &secret.Set{}
			out := secret.NewWriter(&lockedWriter{w: &blog, mu: &bmu}, set)
			p := policy
			env := &cli.Env{Args: []string{"/jobtoken", "broker"}, Getenv: testutil.Getenv(w.env), Stdin: bytes.NewReader(handoff),
				Stdout: out, Stderr: out, RawStdout: out, RawStderr: out, Secrets: set, Transport: ft, Retry: &p}
			env.Run(ctx)
			_ = out.Flush()
		}()
		return nil
	}
	stage := func(argv ...string) (int, string, string) {
		var out, errb bytes.Buffer
		set := &secret.Set{}
		so, se := secret.NewWriter(&out, set), secret.NewWriter(&errb, set)
		p := policy
		env := &cli.Env{Args: argv, Getenv: testutil.Getenv(w.env), Stdout: so, Stderr: se, RawStdout: so, RawStderr: se,
			Secrets: set, Transport: ft, Retry: &p, StartBroker: start}
		code := env.Run(context.Background())
		_ = so.Flush()
		_ = se.Flush()
		return code, out.String(), errb.String()
	}

	code, stdout, stderr := stage(w.argv("main")...)
	if !assert.Equal(o, 0, code, "main:\n%s%s", stdout, stderr) {
		return o
	}
	lost := 0
	if c.exchange && f.AfterService() {
		lost = faultsPerTransientCell
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		seen, _ := ft.Seen("fault")
		done := seen >= policy.Attempts
		if transient {
			done = seen >= faultsPerTransientCell && w.issued() >= 2+lost
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			o.Errorf("the broker never met the fault (seen %d, issued %d)", seen, w.issued())
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	o.refreshed = w.issued() >= 2+lost
	w.carryState(stdout)
	pcode, pstdout, pstderr := stage(w.argv("post")...)
	assert.Equal(o, 0, pcode, "the post stage never fails the job")
	cancel()
	brokerDone.Wait()
	plain, errs, warns := logLines(w.host, stdout)
	pplain, perrs, pwarns := logLines(w.host, pstdout)
	assert.Empty(o, errs)
	assert.Empty(o, perrs, "the post stage reports failures as warnings")
	assert.Contains(o, pplain, "cannot be revoked")
	o.kind = "ok"
	if len(pwarns)+len(warns) > 0 {
		o.kind, o.errText = "warn", append(warns, pwarns...)[0]
	}
	o.tries, _ = ft.Seen("fault")
	secrets := append(w.minted(), w.parents...)
	bmu.Lock()
	broker := blog.String()
	bmu.Unlock()
	for i, text := range []string{plain, stderr, pplain, pstderr, broker} {
		testutil.AssertNoSecret(o, fmt.Sprintf("output %d", i), text, secrets...)
	}
	return o
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestEntraRefreshFaultMatrix: every fault on the OIDC request and the
// exchange a refresh of an Entra token makes, on both hosts, once and for
// good; main and post still succeed, the broker refreshes once a fault
// passes, and no secret (Entra token, OIDC token, the request's
// credential) is printed.
func TestEntraRefreshFaultMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for refreshes of tokens that live seconds")
	}
	var rows []string
	for _, c := range entraRefreshCalls {
		rows = append(rows, c.name)
	}
	results := runRefreshMatrix(t, "entra refresh fault matrix", rows, func(i int, f testutil.Fault, transient bool) *refreshOutcome {
		return runEntraRefreshCell(entraRefreshCalls[i], f, transient)
	})

	for i, c := range entraRefreshCalls {
		for _, f := range testutil.Faults {
			for _, transient := range []bool{true, false} {
				o := results[refreshCell{i, f, transient}]
				t.Run(c.name+"/"+string(f)+"/"+refreshMode(transient), func(t *testing.T) {
					for _, p := range o.problems {
						t.Error(p)
					}
					assert.Equal(t, "ok", o.kind, "a failed refresh is the broker log's, not a warning: %s", o.errText)
					if transient {
						assert.True(t, o.refreshed, "the broker refreshed once the fault passed")
					}
				})
			}
		}
	}
}
