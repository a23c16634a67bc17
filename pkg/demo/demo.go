// Package demo runs one whole CI job on this machine, with nothing but
// jobtoken itself: the provider's fake (the one the tests use) on a loopback
// port with a throwaway parent credential, jobtoken's real main stage run
// exactly as the chosen CI system runs it, a stand-in later step that uses
// the token once for what it was granted and once for what it was not, and
// the real post stage. It shows the job log as the CI system shows it, the
// step summary, and a verdict taken from the fake's own records.
//
// The stages run through the entry point the binary uses (Options.Run, given
// by package cli), so the demo knows no provider's or host's internals: one
// file per provider (its fake and what a later step does) and one per CI
// system (the environment it gives and how it reads output).
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// Stage is one run of jobtoken as a CI system starts it.
type Stage struct {
	Args           []string // argv, argv[0] included
	Getenv         func(string) string
	Stdout, Stderr io.Writer
	// Dial is the stage's only way to the network: loopback only.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Options choose the demo.
type Options struct {
	// Catalog is the inputs of the providers the job may use, and Worlds
	// their demo worlds.
	Catalog  *inputs.Catalog
	Worlds   Worlds
	Provider string // a provider input value; default the first of Providers
	Host     string // one of Hosts; default the first (GitHub Actions)
	// Run runs one stage and returns its exit code: package cli's entry
	// point with the stage's environment injected.
	Run func(ctx context.Context, s Stage) int
	// Fake, when set, is handed the provider's fake before the job starts
	// (*ghfake.Server, *azfake.PATs or *anacondafake.Server), so that tests
	// can make it misbehave and see the verdict fail.
	Fake func(fake any)
}

// Result is one demo run.
type Result struct {
	Verdict Verdict
	out     transcript
	// secrets are every secret of the run, to check what is printed.
	secrets []Form
}

// Run runs the demo. An error means it could not run (a fake did not
// start); a job that goes wrong is a failing verdict instead.
func Run(ctx context.Context, o Options) (*Result, error) {
	start := time.Now()
	if ps := o.Worlds.Providers(o.Catalog); o.Provider == "" && len(ps) > 0 {
		o.Provider = ps[0]
	}
	if o.Host == "" {
		o.Host = Hosts()[0]
	}
	newSvc, newCI := o.Worlds[o.Provider], hosts[o.Host].start
	switch {
	case newSvc == nil:
		return nil, fmt.Errorf("unknown provider %q; valid providers are %s", o.Provider, strings.Join(o.Worlds.Providers(o.Catalog), ", "))
	case newCI == nil:
		return nil, fmt.Errorf("unknown host %q; valid hosts are %s", o.Host, strings.Join(Hosts(), ", "))
	case o.Run == nil:
		return nil, fmt.Errorf("no stage runner")
	}
	svc, err := newSvc()
	if err != nil {
		return nil, fmt.Errorf("failed to start the fake: %w", err)
	}
	defer svc.Close()
	if o.Fake != nil {
		o.Fake(svc.Fake())
	}
	st := svc.Step(o.Host)
	c, err := newCI(st, svc.Repository(o.Host), o.Catalog)
	if err != nil {
		return nil, err
	}
	defer c.close()
	lb := newLoopback()
	stage := func(name string) (int, error) {
		args, env, err := c.stage(name)
		if err != nil {
			return 0, err
		}
		var stdout, stderr bytes.Buffer
		code := o.Run(ctx, Stage{Args: args, Getenv: func(k string) string { return env[k] }, Stdout: &stdout, Stderr: &stderr, Dial: lb.DialContext})
		return code, c.absorb(name, code, stdout.String(), stderr.String())
	}

	ev := evidence{provider: o.Provider, host: o.Host, svc: svc, c: c}
	if ev.mainExit, err = stage("main"); err != nil {
		return nil, err
	}
	ev.token, ev.id = c.output(inputs.OutToken), c.output(inputs.OutTokenID)

	name, value := c.later()
	c.log().start(c.scriptTitle(laterScript))
	for _, line := range later(ctx, lb, svc.URL(), name, value, svc.Calls()) {
		c.log().print("", line)
	}
	ev.afterMain = svc.Status(ev.token)

	if ev.postExit, err = stage("post"); err != nil {
		return nil, err
	}
	ev.afterPost = svc.Status(ev.token)
	ev.minted = svc.Tokens()

	for _, in := range st.Inputs {
		if in.Secret {
			ev.secrets = append(ev.secrets, Form{in.What, in.Value})
		}
	}
	ev.dialed, ev.refused = lb.seen()
	r := &Result{out: transcript{svc: svc, c: c, provider: o.Provider}}
	r.secrets = append(r.secrets, ev.secrets...)
	for _, tok := range ev.minted {
		r.secrets = append(r.secrets, Form{"the token", tok})
		r.secrets = append(r.secrets, svc.Derived(tok)...)
	}
	ev.transcript = r.out.body()
	ev.elapsed = time.Since(start)
	r.Verdict = judge(ev)
	r.recheck()
	return r, nil
}

// recheck looks for secrets in what the verdict added to the transcript and
// in the JSON, which judge could not see: a secret there fails the verdict
// too.
func (r *Result) recheck() {
	var text bytes.Buffer
	_ = r.out.verdict(&text, r.Verdict, style{})
	js, _ := json.Marshal(r.Verdict) // as JSON writes it, before redaction
	for _, p := range []place{{"transcript", "the verdict", text.String()}, {"json", "the JSON verdict", string(js)}} {
		for _, s := range r.secrets {
			if holds(p.text, s.Value) {
				r.fail(CheckNeverPrinted, s.Name+" in "+p.name)
			}
		}
	}
}

// fail turns a check into a failure naming a leak.
func (r *Result) fail(name, leak string) {
	for i, c := range r.Verdict.Checks {
		if c.Name == name {
			if c.OK {
				r.Verdict.Checks[i] = Check{Name: name, Detail: "found " + leak}
			} else {
				r.Verdict.Checks[i].Detail += ", " + leak
			}
		}
	}
	if !slices.Contains(r.Verdict.Facts.Leaks, leak) {
		r.Verdict.Facts.Leaks = append(r.Verdict.Facts.Leaks, leak)
	}
	r.Verdict.OK = false
}
