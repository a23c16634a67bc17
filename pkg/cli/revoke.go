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
// have saved, rebuilt from the inputs.
type revokeSpec struct {
	needsToken bool // revoked with the token itself
	needsID    bool // revoked by ID, with the parent credential
	how        string
	state      func(e *Env, v inputs.Values, id string) (map[string]string, inputs.Problems)
	hint       func(provider.Saved) string
}

var revokeSpecs = map[string]revokeSpec{
	ghapp.Name: {
		needsToken: true,
		how:        "GitHub revokes an installation token with the token itself (DELETE /installation/token)",
		state: func(e *Env, v inputs.Values, _ string) (map[string]string, inputs.Problems) {
			return map[string]string{"api_url": githubAPI(e, v)}, nil
		},
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
		state: func(_ *Env, v inputs.Values, id string) (map[string]string, inputs.Problems) {
			return map[string]string{"api_url": v.Get(inputs.AnacondaAPIURL), "note": id, "org": v.Get(inputs.AnacondaOrganization)}, nil
		},
		hint: func(s provider.Saved) string {
			if api := s.State["api_url"]; api != "" && api != anaconda.DefaultAPIURL {
				return " --anaconda-api-url " + api
			}
			return ""
		},
	},
}

func githubAPI(e *Env, v inputs.Values) string {
	for _, u := range []string{v.Get(inputs.GitHubAPIURL), e.Getenv("GITHUB_API_URL"), ghapp.DefaultAPIURL} {
		if u != "" {
			return strings.TrimRight(u, "/")
		}
	}
	return ""
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
	in := f.Inputs()
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
	state := map[string]string{}
	if spec.state != nil {
		var sps inputs.Problems
		state, sps = spec.state(e, values, *tokenID)
		for _, p := range sps {
			ps = append(ps, p.Format(inputs.FlagNames))
		}
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
	saved := provider.Saved{Provider: name, Token: token, ID: id, Revoke: true, Revocable: true, State: state}
	h := local.New(local.Options{Values: values, Run: e.localRun(""), Getenv: e.Getenv, Stderr: e.Stderr, Secrets: e.Secrets, CIMask: e.ciMask()})
	if token != "" {
		h.Mask(token)
	}
	je := &job.Env{Host: h, Providers: provs, Transport: e.Transport, Retry: e.Retry, Now: e.Now, Secrets: e.Secrets}
	switch err := prov.Revoke(ctx, je.Request(values), saved); {
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
