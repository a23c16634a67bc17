package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/host/local"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/anaconda"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
)

func init() {
	commands["revoke"] = command{"revoke a token minted earlier (--token-stdin or --token-id)", runRevoke}
}

// revokeSpec is what a provider's Revoke needs from a person, who has no
// saved state: the token itself, its ID, and the state the main stage would
// have saved, rebuilt from the inputs. Destinations (API URLs, the
// organization) come from the provider's own Destinations, with the checks
// mint applies; state adds what only revocation needs.
type revokeSpec struct {
	needsToken bool // revoked with the token itself
	needsID    bool // revoked by ID, with the parent credential
	how        string
	// inputs are what revoking needs beyond provider: where the token goes,
	// and the parent credential when it is revoked with that.
	inputs []string
	state  func(id string) map[string]string
	hint   func(provider.Saved) string
}

var revokeSpecs = map[string]revokeSpec{
	ghapp.Name: {
		needsToken: true,
		how:        "GitHub revokes an installation token with the token itself (DELETE /installation/token)",
		inputs:     []string{inputs.GitHubAPIURL},
		hint: func(s provider.Saved) string {
			if api := s.State["api_url"]; api != "" && api != ghapp.DefaultAPIURL {
				return " --github-api-url " + api
			}
			return ""
		},
	},
	anaconda.Name: {
		needsToken: true,
		how:        "anaconda.org revokes a token with the token itself (DELETE /authentications); with --anaconda-credential it falls back to revoking it by name (--token-id, the note)",
		inputs:     []string{inputs.AnacondaAPIURL, inputs.AnacondaCredential, inputs.AnacondaOrganization},
		state: func(id string) map[string]string {
			return map[string]string{"note": id}
		},
		hint: func(s provider.Saved) string {
			if api := s.State["api_url"]; api != "" && api != anaconda.DefaultAPIURL {
				return " --anaconda-api-url " + api
			}
			return ""
		},
	},
}

func runRevoke(ctx context.Context, e *Env, args []string) int {
	var about strings.Builder
	about.WriteString("Revoke a token minted earlier by jobtoken mint (or left alive by a CI step). ")
	for _, name := range sortedKeys(revokeSpecs) {
		about.WriteString(name + ": " + revokeSpecs[name].how + ". ")
	}
	f := newFlags("revoke", "--provider NAME (--token-stdin | --token-id ID) [input flags]", about.String())
	tokenID := f.String("token-id", "ID", "The token's non-secret ID, as the token-id output gave it.")
	tokenStdin := f.Bool("token-stdin", "Read the token from stdin (never from a flag, which the shell history and process list would keep).")
	keys := []string{inputs.Provider}
	for _, name := range sortedKeys(revokeSpecs) {
		keys = append(keys, revokeSpecs[name].inputs...)
	}
	in := f.Inputs(keys...)
	if code, done := f.parse(e, args); done {
		return code
	}
	values, err := in.values(e)
	if err != nil {
		return f.usageError(e, "%s", err)
	}
	provs := Providers()
	name := strings.ToLower(values.Get(inputs.Provider))
	prov := provs[name]
	if prov == nil {
		names := sortedKeys(provs)
		if name == "" {
			return f.usageError(e, "--provider is required; one of %s", strings.Join(names, ", "))
		}
		return f.usageError(e, "unknown provider %q%s; valid providers are %s", name, inputs.DidYouMean(name, names), strings.Join(names, ", "))
	}
	spec, ok := revokeSpecs[name]
	if !ok {
		spec = revokeSpec{needsToken: true}
	}

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
	if spec.needsToken && token == "" {
		ps = append(ps, "--token-stdin is required: "+spec.how)
	}
	if spec.needsID && *tokenID == "" {
		ps = append(ps, "--token-id is required: "+spec.how)
	}
	h := local.New(local.Options{Values: values, Run: e.localRun(""), Getenv: e.Getenv, Stderr: e.Stderr, Secrets: e.Secrets, CIMask: e.ciMask()})
	je := &job.Env{Host: h, Providers: provs, Transport: e.Transport, Retry: e.Retry, Now: e.Now, Secrets: e.Secrets}
	req := je.Request(values)
	state := map[string]string{}
	if spec.state != nil {
		state = spec.state(*tokenID)
	}
	// Where the token (and, for some providers, the parent) goes is
	// resolved and checked as mint does it.
	dests, dps := prov.Destinations(req)
	for _, p := range dps {
		ps = append(ps, p.Format(inputs.FlagNames))
	}
	for _, d := range dests {
		state[d.Key] = d.Value
	}
	if len(ps) > 0 {
		for _, p := range ps {
			fmt.Fprintf(e.Stderr, "jobtoken revoke: %s\n", p)
		}
		return 2
	}

	id := *tokenID
	if id == "" && name == ghapp.Name {
		id = githubTokenID(token)
	}
	label := id
	if label == "" {
		label = "(no token-id given)"
	}
	// A person at a terminal is the authority on what to revoke.
	saved := provider.Saved{Provider: name, Token: token, ID: id, Revoke: true, Revocable: true, State: state, Authenticated: true}
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

// githubTokenID is the token-id output of a github token: "sha256:" and the
// first 12 hex digits of its SHA-256, as the provider computes it.
func githubTokenID(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return "sha256:" + hex.EncodeToString(sum[:])[:12]
}
