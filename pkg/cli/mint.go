package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/jobtoken/jobtoken/pkg/host/local"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

func init() {
	commands["mint"] = command{"mint a token from a terminal and print it on stdout", runMint}
}

func runMint(ctx context.Context, e *Env, args []string) int {
	f := newFlags("mint", "--provider NAME --permissions LIST [input flags]",
		"Mint one token from a terminal, with the same inputs as the CI step, and print only the token on stdout "+
			"(everything else, including its token-id and expiry, goes to stderr), so that TOKEN=$(jobtoken mint …) works. "+
			"Nothing revokes it for you: run jobtoken revoke when you are done, or let it expire.")
	repository := f.String("repository", "OWNER/NAME", "The current repository, for the github provider's defaults (default GITHUB_REPOSITORY).")
	// Nothing revokes what mint mints, and a terminal has no service
	// connection: those two inputs would do nothing here.
	in := f.Inputs(inputsExcept(inputs.Revoke, inputs.AzureServiceConnection)...)
	if code, done := f.parse(e, args); done {
		return code
	}
	values, err := in.values(e)
	if err != nil {
		return f.usageError(e, "%s", err)
	}
	h := local.New(local.Options{Values: values, Run: e.localRun(*repository), Getenv: e.Getenv, Stdout: e.RawStdout, Stderr: e.Stderr, Secrets: e.Secrets, CIMask: e.ciMask()})
	je := &job.Env{Host: h, Providers: Providers(), Transport: e.Transport, Retry: e.Retry, Now: e.Now, Secrets: e.Secrets}
	if err := job.Main(ctx, je); err != nil {
		if errors.Is(err, job.ErrInputs) {
			// The command line's values were refused before any call.
			return 2
		}
		return 1
	}
	if raw, ok := h.State(job.StateName); ok {
		if saved, err := job.OpenState(values, raw); err == nil {
			fmt.Fprintln(e.Stderr, revokeHint(saved))
		}
	}
	return 0
}

// revokeHint tells the person who minted a token how to take it back.
func revokeHint(s provider.Saved) string {
	if !s.Revocable {
		return fmt.Sprintf("this token cannot be revoked; it expires at %s", s.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"))
	}
	spec := revokeSpecs[s.Provider]
	cmd := "jobtoken revoke --provider " + s.Provider
	if spec.needsID {
		cmd += " --token-id " + s.ID
	}
	if spec.needsToken {
		cmd += " --token-stdin"
	}
	if spec.hint != nil {
		cmd += spec.hint(s)
	}
	if spec.needsToken {
		return "to revoke it, pipe the token into: " + cmd
	}
	return "to revoke it: " + cmd
}
