package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/host/local"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

// manualRevoke is what revoking a provider's token by hand needs; a
// provider that does not say is revoked with the token itself.
func manualRevoke(p provider.Provider) provider.ManualRevoke {
	if mr, ok := p.(provider.ManualRevoker); ok {
		return mr.ManualRevoke()
	}
	return provider.ManualRevoke{Token: true}
}

func runRevoke(ctx context.Context, e *Env, args []string) int {
	provs := e.providers()
	names := slices.Sorted(slices.Values(provs.Names()))
	var about strings.Builder
	about.WriteString("Revoke a token minted earlier by jobtoken mint (or left alive by a CI step). ")
	keys := []inputs.Input{inputs.Provider}
	for _, name := range names {
		p, _ := provs.Lookup(name)
		mr := manualRevoke(p)
		if mr.How != "" {
			about.WriteString(name + ": " + mr.How + ". ")
		}
		keys = append(keys, mr.Inputs...)
	}
	f := newFlags("revoke", "--provider NAME (--token-stdin | --token-id ID) [input flags]", about.String())
	tokenID := f.String("token-id", "ID", "The token's non-secret ID, as the token-id output gave it.")
	tokenStdin := f.Bool("token-stdin", "Read the token from stdin (never from a flag, which the shell history and process list would keep).")
	in := f.Inputs(provs.Catalog(), keys...)
	if code, done := f.parse(e, args); done {
		return code
	}
	values, err := in.values(e)
	if err != nil {
		return f.usageError(e, "%s", err)
	}
	name := strings.ToLower(values.Get(inputs.Provider))
	prov, ok := provs.Lookup(name)
	if !ok {
		if name == "" {
			return f.usageError(e, "--provider is required; one of %s", strings.Join(names, ", "))
		}
		return f.usageError(e, "unknown provider %q%s; valid providers are %s", name, inputs.DidYouMean(name, names), strings.Join(names, ", "))
	}
	mr := manualRevoke(prov)

	token := ""
	if *tokenStdin {
		if e.Stdin == nil {
			return f.usageError(e, "--token-stdin: there is no stdin")
		}
		b, err := io.ReadAll(io.LimitReader(e.Stdin, 1<<20))
		if err != nil {
			return f.usageError(e, "failed to read the token from stdin: %s", err)
		}
		token = strings.TrimSpace(string(b))
		e.Secrets.Add(token)
		if token == "" {
			return f.usageError(e, "--token-stdin: stdin was empty; pipe the token in, e.g. jobtoken revoke --provider %s --token-stdin < token.txt", name)
		}
	}
	var ps []string
	if mr.Token && token == "" {
		ps = append(ps, "--token-stdin is required: "+mr.How)
	}
	if mr.ID && *tokenID == "" {
		ps = append(ps, "--token-id is required: "+mr.How)
	}
	h := local.New(local.Options{Values: values, Run: e.localRun(""), Getenv: e.Getenv, Stderr: e.Stderr, Secrets: e.Secrets, CIMask: e.ciMask()})
	r := e.runner(h)
	req := r.Request(values)
	// Where the token (and, for some providers, the parent) goes is
	// resolved and checked as mint does it.
	dests, dps := prov.Destinations(req)
	for _, p := range dps {
		ps = append(ps, p.Format(inputs.FlagNames))
	}
	if len(ps) > 0 {
		for _, p := range ps {
			fmt.Fprintf(e.Stderr, "jobtoken revoke: %s\n", p)
		}
		return 2
	}

	// A person at a terminal is the authority on what to revoke.
	saved := provider.Saved{Provider: name, Token: token, ID: *tokenID, Revoke: true, Revocable: true, Authenticated: true,
		Destinations: map[string]string{}}
	for _, d := range dests {
		saved.Destinations[d.Input.Key] = d.Value
	}
	if mr.Rebuild != nil {
		mr.Rebuild(&saved)
	}
	label := saved.ID
	if label == "" {
		label = "(no token-id given)"
	}
	if token != "" {
		h.Mask(token)
	}
	switch err := prov.Revoke(ctx, req, saved); {
	case err == nil:
		fmt.Fprintf(e.Stderr, "revoked %s token %s\n", name, label)
		return 0
	case errors.Is(err, provider.ErrAlreadyRevoked):
		fmt.Fprintf(e.Stderr, "%s token %s was already revoked or expired\n", name, label)
		return 0
	default:
		fmt.Fprintf(e.Stderr, "error: failed to revoke %s token %s: %s\n", name, label, err)
		return 1
	}
}

// revokeHint tells the person who minted a token how to take it back.
func revokeHint(p provider.Provider, s provider.Saved) string {
	if !s.Revocable {
		return fmt.Sprintf("this token cannot be revoked; it expires at %s", s.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"))
	}
	mr := manualRevoke(p)
	cmd := "jobtoken revoke --provider " + s.Provider
	if mr.ID {
		cmd += " --token-id " + s.ID
	}
	if mr.Token {
		cmd += " --token-stdin"
	}
	if mr.Hint != nil {
		cmd += mr.Hint(s)
	}
	if mr.Token {
		return "to revoke it, pipe the token into: " + cmd
	}
	return "to revoke it: " + cmd
}
