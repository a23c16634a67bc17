package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jobtoken/jobtoken/pkg/broker"
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// runBroker is the process the main stage of a step with refresh: true
// leaves behind; it is not run by hand.
func runBroker(ctx context.Context, e *Env, args []string) int {
	f := newFlags("broker", "", "The broker a step with refresh: true or git-credentials: true leaves running for the rest of the job: the main stage starts it and hands it the step's inputs on stdin; the post stage stops it. Later steps talk to it with jobtoken token and jobtoken credential.")
	if code, done := f.parse(e, args); done {
		return code
	}
	r := e.runner(nil)
	err := job.RunBroker(ctx, r, e.Stdin, func(out *secret.Writer, env map[string]string) host.Host {
		// The handoff's OIDC variables, never the process environment.
		over := *e
		over.Getenv = func(k string) string {
			if v, ok := env[k]; ok {
				return v
			}
			return e.Getenv(k)
		}
		return over.ciHost(out)
	})
	if err != nil {
		fmt.Fprintf(e.Stderr, "jobtoken broker: %s\n", err)
		return 1
	}
	return 0
}

// runToken prints the current token of an account from the job's broker.
func runToken(_ context.Context, e *Env, args []string) int {
	f := newFlags("token", "[--owner ACCOUNT]", "Print the current token of the job's broker (a jobtoken step with refresh: true ran earlier in the job), for scripts: GH_TOKEN=$(jobtoken token) gh … . It is fresh for at least ten minutes, so ask again for each command of a long script.")
	owner := f.String("owner", "ACCOUNT", "The account whose token to print, when the step named several; the first by default.")
	if code, done := f.parse(e, args); done {
		return code
	}
	resp, err := broker.Ask(e.Getenv(broker.EnvSocket), broker.Request{Key: e.Getenv(broker.EnvKey), Op: broker.OpToken, Owner: *owner})
	if err != nil {
		fmt.Fprintf(e.Stderr, "jobtoken token: %s\n", err)
		return 1
	}
	if err := e.RawStdout.WriteRaw(resp.Token + "\n"); err != nil {
		return 1
	}
	return 0
}

// runCredential is git's credential helper (git-credential(1)): get asks
// the broker for the URL's account; store and erase have nothing to do.
func runCredential(_ context.Context, e *Env, args []string) int {
	f := newFlags("credential", "get|store|erase", "git's credential helper for the repositories a jobtoken step with git-credentials: true named: git runs it with get, and jobtoken answers with the current token of the URL's account (username x-access-token). Other hosts and repositories get no answer, so git asks its other helpers.")
	if len(args) == 1 && (args[0] == "--help" || args[0] == "-h") {
		f.help(e.Stdout)
		return 0
	}
	if len(args) != 1 {
		return f.usageError(e, "expected one of get, store, erase (git runs it so)")
	}
	switch args[0] {
	case "store", "erase":
		// The broker's tokens are not git's to keep or forget.
		_, _ = io.Copy(io.Discard, io.LimitReader(e.Stdin, 64<<10))
		return 0
	case "get":
	default:
		// git-credential(1): ignore requests we do not understand.
		return 0
	}
	g, err := broker.ReadGitRequest(e.Stdin)
	if err != nil {
		fmt.Fprintf(e.Stderr, "jobtoken credential: %s\n", err)
		return 1
	}
	resp, err := broker.Ask(e.Getenv(broker.EnvSocket), broker.Request{Key: e.Getenv(broker.EnvKey), Op: broker.OpGit, Protocol: g.Protocol, Host: g.Host, Path: g.Path})
	switch {
	case errors.Is(err, broker.ErrNoBroker) || err != nil:
		fmt.Fprintf(e.Stderr, "jobtoken credential: %s\n", err)
		return 1
	case resp.Token == "":
		return 0 // not ours: git asks its other helpers
	}
	if err := broker.WriteGitCredential(e.RawStdout, resp); err != nil {
		fmt.Fprintf(e.Stderr, "jobtoken credential: %s\n", err)
		return 1
	}
	return 0
}
