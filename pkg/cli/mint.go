package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/host/local"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

func runMint(ctx context.Context, e *Env, args []string) int {
	f := newFlags("mint", "--provider NAME --permissions LIST [input flags]",
		"Mint one token from a terminal, with the same inputs as the CI step, and print only the token on stdout "+
			"(everything else, including its token-id and expiry, goes to stderr), so that TOKEN=$(jobtoken mint …) works. "+
			"Nothing revokes it for you: run jobtoken revoke when you are done, or let it expire.")
	repository := f.String("repository", "OWNER/NAME", "The current repository, for the github provider's defaults (default GITHUB_REPOSITORY).")
	oidcFile := f.String("oidc-token-file", "FILE", "With --federation-url: read the OIDC token to present from FILE (a CI job's token fetched for the service's audience; tests and local use). It is single use.")
	// Nothing revokes what mint mints, and a terminal has no service
	// connection (no Azure-only input): those would do nothing here.
	in := f.Inputs(e.providers().Catalog(), e.inputsWhere(func(in inputs.Input) bool { return in.Key != inputs.Revoke.Key && !in.AzureOnly })...)
	if code, done := f.parse(e, args); done {
		return code
	}
	values, err := in.values(e)
	if err != nil {
		return f.usageError(e, "%s", err)
	}
	h := local.New(local.Options{Values: values, Run: e.localRun(*repository), Getenv: e.Getenv, Stdout: e.RawStdout, Stderr: e.Stderr, Secrets: e.Secrets, CIMask: e.ciMask()})
	var run host.Host = h
	if *oidcFile != "" {
		run = withOIDC{h, fileOIDC{path: *oidcFile, secrets: e.Secrets}}
	}
	if err := job.Main(ctx, e.runner(run)); err != nil {
		if errors.Is(err, job.ErrInputs) {
			// The command line's values were refused before any call.
			return 2
		}
		return 1
	}
	if raw, ok := h.State(job.StateName); ok {
		if saved, err := job.OpenState(e.providers().Catalog(), values, raw); err == nil {
			if p, ok := e.providers().Lookup(saved.Provider); ok {
				fmt.Fprintln(e.Stderr, revokeHint(p, saved))
			}
		}
	}
	return 0
}

// withOIDC gives a terminal the OIDC token a file holds (--oidc-token-file).
type withOIDC struct {
	*local.Host
	oidc host.OIDC
}

func (w withOIDC) OIDC(*http.Client) host.OIDC { return w.oidc }

// fileOIDC reads the token when asked, and registers it as a secret first.
type fileOIDC struct {
	path    string
	secrets *secret.Set
}

func (f fileOIDC) Available() error {
	if _, err := os.Stat(f.path); err != nil {
		return fmt.Errorf("--oidc-token-file %s cannot be read: %s", f.path, pathError(err))
	}
	return nil
}

func (f fileOIDC) IDToken(context.Context, string) (string, error) {
	b, err := os.ReadFile(f.path)
	if err != nil {
		return "", fmt.Errorf("failed to read --oidc-token-file %s: %s", f.path, pathError(err))
	}
	tok := strings.TrimSpace(string(b))
	f.secrets.Add(tok)
	if tok == "" {
		return "", fmt.Errorf("--oidc-token-file %s is empty", f.path)
	}
	return tok, nil
}

func (fileOIDC) Credentials() []string { return nil }
