//go:build !jobtoken_step

package cli

import (
	"context"
	"fmt"
	"net"
	"os"

	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/serve"
)

const serveAbout = "Run the federation service: a CI job sends its OIDC token and names a trust policy; the service verifies the token, " +
	"evaluates the policy read from the organization's policy repository, mints a GitHub App installation token no broader than the " +
	"policy's ceiling and the job's ask, and answers it. Jobs hold no secret. The config (YAML, strict) is documented in docs/federation.md. " +
	"One JSON audit line per request goes to stdout (never a token), operator messages to stderr. SIGTERM drains: requests in flight finish. " +
	"Exit status 1 when the service cannot start or stops on an error, 2 on a usage or config error."

func serveCommand() command {
	return command{"run the federation service: jobs present their CI OIDC token, a trust policy decides, the service mints", runServe}
}

func runServe(ctx context.Context, e *Env, args []string) int {
	f := newFlags("serve", "--config FILE", serveAbout)
	config := f.String("config", "FILE", "The service's config file (YAML).")
	if code, done := f.parse(e, args); done {
		return code
	}
	if *config == "" {
		return f.usageError(e, "--config is required: the service's config file (docs/federation.md)")
	}
	set, err := serve.LoadConfig(*config, e.Getenv)
	if err != nil {
		return f.usageError(e, "%s", err)
	}
	o := serve.Options{Audit: e.Stdout, Log: e.Stderr, Getenv: e.Getenv, Now: e.Now, Redact: func(v ...string) { e.Secrets.Add(v...) }}
	if e.Transport != nil || e.Retry != nil {
		p := serve.Retry
		if e.Retry != nil {
			p = *e.Retry
		}
		o.HTTP = network.Client(e.Transport, p, nil)
	}
	if set.KeyFile != "" {
		if data, err := os.ReadFile(set.KeyFile); err == nil {
			e.Secrets.Add(string(data))
		}
	}
	srv, err := serve.New(set, o)
	if err != nil {
		return f.usageError(e, "%s", err)
	}
	ln, err := net.Listen("tcp", set.Listen)
	if err != nil {
		fmt.Fprintf(e.Stderr, "jobtoken serve: failed to listen on %s: %s\n", set.Listen, err)
		return 1
	}
	fmt.Fprintf(e.Stderr, "jobtoken serve: listening on %s (audience %s, %d policy source(s))\n", ln.Addr(), set.Audience, len(set.Sources))
	if err := srv.Run(ctx, ln); err != nil {
		fmt.Fprintf(e.Stderr, "jobtoken serve: %s\n", err)
		return 1
	}
	fmt.Fprintln(e.Stderr, "jobtoken serve: stopped")
	return 0
}
