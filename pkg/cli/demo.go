//go:build !jobtoken_step

package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/demo"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
)

const demoAbout = "Run one whole CI job on this machine, with nothing to set up: the provider's fake starts on a loopback port " +
	"with a parent credential made for the run, jobtoken's own main stage mints a token exactly as the CI system runs it, " +
	"a stand-in later step uses the token once for what it was granted and once for what it was not, and jobtoken's own post stage revokes it. " +
	"It prints the job log as the CI system shows it (masked values as ***), the step summary, and a verdict from the fake's own records: " +
	"minted with exactly the asked scope, masked, used, refused outside its scope, revoked by the post step, nothing left live, the token never printed. " +
	"Needs no credentials, no Docker and no network beyond 127.0.0.1. " +
	"Exit status 0 when every check holds, 1 when one fails, 2 on a usage error."

// demoCommand is the demo, in the binaries a person downloads.
func demoCommand() command {
	return command{"run one whole job on this machine against a fake: mint, use, revoke (no credentials)", runDemo}
}

func runDemo(ctx context.Context, e *Env, args []string) int { return e.demo(ctx, args, nil) }

// demo runs the command; fake, when set, is handed the provider's fake
// before the job starts (tests make it misbehave).
func (e *Env) demo(ctx context.Context, args []string, fake func(any)) int {
	cat, worlds := e.providers().Catalog(), registry.Demos()
	ps, hs := worlds.Providers(cat), demo.Hosts()
	var titled []string
	for _, h := range hs {
		titled = append(titled, h+" ("+demo.HostTitle(h)+")")
	}
	f := newFlags("demo", "[--provider "+strings.Join(ps, "|")+"] [--host "+strings.Join(hs, "|")+"] [--json]", demoAbout)
	prov := f.String("provider", strings.Join(ps, "|"), "The provider to mint from (default "+ps[0]+").")
	hostName := f.String("host", strings.Join(hs, "|"), "The CI system to run the job as: "+strings.Join(titled, " or ")+" (default "+hs[0]+").")
	asJSON := f.Bool("json", "Print the verdict and the facts it rests on as JSON, instead of the transcript.")
	if code, done := f.parse(e, args); done {
		return code
	}
	p, h := strings.ToLower(strings.TrimSpace(*prov)), strings.ToLower(strings.TrimSpace(*hostName))
	if p == "" {
		p = ps[0]
	}
	if h == "" {
		h = hs[0]
	}
	if !slices.Contains(ps, p) {
		return f.usageError(e, "unknown provider %q; valid providers are %s%s", p, strings.Join(ps, ", "), inputs.DidYouMean(p, ps))
	}
	if !slices.Contains(hs, h) {
		return f.usageError(e, "unknown host %q; valid hosts are %s%s", h, strings.Join(hs, ", "), inputs.DidYouMean(h, hs))
	}
	res, err := demo.Run(ctx, demo.Options{Catalog: cat, Worlds: worlds, Provider: p, Host: h, Run: e.demoStage, Fake: fake})
	if err != nil {
		fmt.Fprintf(e.Stderr, "jobtoken demo: %s\n", err)
		return 1
	}
	if *asJSON {
		err = res.JSON(e.Stdout)
	} else {
		err = res.Text(e.Stdout, e.Terminal && e.Getenv("NO_COLOR") == "" && e.Getenv("TERM") != "dumb")
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "jobtoken demo: failed to print the result: %s\n", err)
		return 1
	}
	if !res.Verdict.OK {
		return 1
	}
	return 0
}

// demoStage runs one stage of the demo's job through the entry point the
// binary uses, with the environment the demo's CI system gives it. It runs
// on the real clock, as the fakes do; only the retry policy is the
// caller's (tests make retries instant).
func (e *Env) demoStage(ctx context.Context, s demo.Stage) int {
	se := &Env{Args: s.Args, Getenv: s.Getenv, Dial: s.Dial, Retry: e.Retry}
	return MainEnv(ctx, se, s.Stdout, s.Stderr)
}
