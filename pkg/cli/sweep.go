package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/host/local"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
)

func init() {
	commands["sweep"] = command{"list (and with --revoke, revoke) tokens left live by runs that ended without their post step", runSweep}
}

// DefaultSweepAge is the age past which a jobtoken token's run is taken to be
// over: the longest job GitHub-hosted runners and Microsoft-hosted agents
// allow is 6 hours.
const DefaultSweepAge = 6 * time.Hour

const sweepAbout = "List the live tokens jobtoken minted whose run is over, left behind when a runner died before its post step, " +
	"and with --revoke revoke them (the default is a dry run that revokes nothing). " +
	"A token is jobtoken's when its name (azure-devops: display name; anaconda: note) is \"jobtoken <repository> run <id>.<attempt> <suffix>\". " +
	"Its run is over when --run names it, or when it was created more than --older-than ago " +
	"(default 6h, the longest job GitHub-hosted runners and Microsoft-hosted agents allow; raise it for self-hosted runners that run longer). " +
	"anaconda.org does not say when a token was created: for anaconda, name the runs with --run, or pass --older-than 0 when no job that uses jobtoken is running. " +
	"Inside a CI job, the tokens of the current run and attempt are never swept. " +
	"Listing needs the parent credential the steps used: azure-devops lists the PATs of the user behind --azure-access-token (else az login's) in --azure-devops-organization; " +
	"anaconda lists the tokens of --anaconda-credential's own account (organization-owned tokens are not listed by anaconda.org). " +
	"github installation tokens cannot be listed and expire within an hour: there is nothing to sweep."

// sweepInputs are what listing a provider's tokens needs: the parent
// credential, its organization and the API URL.
var sweepInputs = []string{
	inputs.Provider,
	inputs.AzureOrganization, inputs.AzureAPIURL, inputs.AzureAccessToken,
	inputs.AnacondaAPIURL, inputs.AnacondaCredential, inputs.AnacondaOrganization,
}

// runSelector is one --run value: a run ID, or ID.attempt.
type runSelector struct{ id, attempt string }

func (s runSelector) match(l host.RunLabel) bool {
	return l.RunID == s.id && (s.attempt == "" || l.Attempt == s.attempt)
}

func runSweep(ctx context.Context, e *Env, args []string) int {
	f := newFlags("sweep", "--provider azure-devops|anaconda [--run ID]... [--older-than DURATION] [--revoke] [input flags]", sweepAbout)
	// --revoke is sweep's own: it is read from the command line only, never
	// from INPUT_REVOKE (the CI input of that name means something else), so
	// that no environment turns a dry run into a revocation.
	revoke := f.Bool("revoke", "Revoke the stale tokens (without it, only list what would be revoked).")
	olderThan := f.String("older-than", "DURATION", "A token created longer ago than this belongs to a run that is over (default 6h; 0 takes every jobtoken token's run as over).")
	var runs []runSelector
	f.own = append(f.own, flagHelp{"run", "ID[.ATTEMPT]", "This run is over: sweep its tokens whatever their age (repeatable; a GitHub run ID or an Azure Pipelines build ID)."})
	f.fs.Func("run", "", func(s string) error {
		id, att, _ := strings.Cut(strings.TrimSpace(s), ".")
		if id == "" || strings.ContainsAny(id, " /") {
			return fmt.Errorf("%q is not a run ID; use the number from the run's URL, e.g. --run 9123456789", s)
		}
		runs = append(runs, runSelector{id, att})
		return nil
	})
	in := f.Inputs(sweepInputs...)
	if code, done := f.parse(e, args); done {
		return code
	}
	age := DefaultSweepAge
	if *olderThan != "" {
		d, err := time.ParseDuration(*olderThan)
		if err != nil || d < 0 {
			return f.usageError(e, "--older-than %q is not a duration; write it like 6h or 48h", *olderThan)
		}
		age = d
	}
	values, err := in.values(e)
	delete(values, inputs.Revoke)
	if err != nil {
		return f.usageError(e, "%s", err)
	}
	provs := Providers()
	name := strings.ToLower(values.Get(inputs.Provider))
	var sweepable []string
	for _, n := range sortedKeys(provs) {
		if _, ok := provs[n].(provider.Sweeper); ok {
			sweepable = append(sweepable, n)
		}
	}
	switch {
	case name == "":
		return f.usageError(e, "--provider is required; one of %s", strings.Join(sweepable, ", "))
	case name == ghapp.Name:
		fmt.Fprintln(e.Stdout, "github: installation tokens cannot be listed (GitHub has no API for it) and expire within an hour of minting; nothing to sweep")
		return 0
	case provs[name] == nil:
		return f.usageError(e, "unknown provider %q%s; valid providers are %s", name, inputs.DidYouMean(name, sortedKeys(provs)), strings.Join(sortedKeys(provs), ", "))
	}
	sw, ok := provs[name].(provider.Sweeper)
	if !ok {
		return f.usageError(e, "%s tokens cannot be listed; sweep works for %s", name, strings.Join(sweepable, ", "))
	}

	h := local.New(local.Options{Values: values, Run: e.localRun(""), Getenv: e.Getenv, Stderr: e.Stderr, Secrets: e.Secrets})
	je := &job.Env{Host: h, Providers: provs, Transport: e.Transport, Retry: e.Retry, Now: e.Now, Secrets: e.Secrets}
	req := je.Request(values)
	list, err := sw.Minted(ctx, req)
	if err != nil {
		var ps inputs.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				fmt.Fprintf(e.Stderr, "jobtoken sweep: %s\n", p.Format(inputs.FlagNames))
			}
			return 2
		}
		fmt.Fprintf(e.Stderr, "error: %s\n", err)
		return 1
	}
	if name == "anaconda" && values.Get(inputs.AnacondaOrganization) != "" {
		fmt.Fprintln(e.Stderr, "note: anaconda.org lists only the credential's own tokens; tokens owned by organization "+values.Get(inputs.AnacondaOrganization)+" are not swept (see its settings → access)")
	}

	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	current, inCI := e.currentRun()
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	var stale []provider.Listed
	var b strings.Builder
	for _, t := range list {
		l, _ := host.ParseLabel(t.Name)
		verdict, sweep := "", false
		switch {
		case inCI && l.Repo == current.repo && l.RunID == current.id && l.Attempt == current.attempt:
			verdict = "keep: the current run's"
		case matchesAny(runs, l):
			verdict, sweep = "stale: run "+l.RunID+" named with --run", true
		case t.Created.IsZero() && age == 0:
			verdict, sweep = "stale: --older-than 0", true
		case t.Created.IsZero():
			verdict = "keep: age unknown (" + name + " does not say when it was created); name its run with --run"
		case now().Sub(t.Created) >= age:
			verdict, sweep = "stale: created "+job.FormatDuration(now().Sub(t.Created).Truncate(time.Minute))+" ago", true
		default:
			verdict = "keep: created " + job.FormatDuration(now().Sub(t.Created).Truncate(time.Minute)) + " ago, within --older-than " + job.FormatDuration(age)
		}
		if sweep {
			stale = append(stale, t)
		}
		exp := "unknown"
		if !t.Expires.IsZero() {
			exp = t.Expires.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "  %s\n    id %s, scopes %s, expires %s\n    %s\n", t.Name, t.ID, orNone(t.Scopes), exp, verdict)
	}
	fmt.Fprintf(e.Stdout, "%s: %d live token(s) minted by jobtoken, %d stale\n%s", name, len(list), len(stale), b.String())
	if !*revoke {
		if len(stale) > 0 {
			fmt.Fprintf(e.Stdout, "dry run: nothing revoked; run again with --revoke to revoke the %d stale token(s)\n", len(stale))
		}
		return 0
	}
	code := 0
	for _, t := range stale {
		switch err := sw.RevokeListed(ctx, req, t); {
		case err == nil:
			fmt.Fprintf(e.Stdout, "revoked %s (%s)\n", t.ID, t.Name)
		case errors.Is(err, provider.ErrAlreadyRevoked):
			fmt.Fprintf(e.Stdout, "%s (%s) was already revoked or expired\n", t.ID, t.Name)
		default:
			fmt.Fprintf(e.Stderr, "error: failed to revoke %s (%s): %s\n", t.ID, t.Name, err)
			code = 1
		}
	}
	return code
}

func matchesAny(runs []runSelector, l host.RunLabel) bool {
	for _, r := range runs {
		if r.match(l) {
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "(not listed)"
	}
	return s
}

// currentRun is the run sweep is part of when it runs inside a CI job, named
// as the providers name tokens (host.Run.Label).
func (e *Env) currentRun() (r struct{ repo, id, attempt string }, ok bool) {
	switch e.ciHost() {
	case "github":
		r.repo, r.id, r.attempt = e.Getenv("GITHUB_REPOSITORY"), e.Getenv("GITHUB_RUN_ID"), e.Getenv("GITHUB_RUN_ATTEMPT")
	case "azure":
		r.repo, r.id, r.attempt = e.Getenv("BUILD_REPOSITORY_NAME"), e.Getenv("BUILD_BUILDID"), e.Getenv("SYSTEM_JOBATTEMPT")
	default:
		return r, false
	}
	if r.attempt == "" {
		r.attempt = "1"
	}
	return r, true
}
