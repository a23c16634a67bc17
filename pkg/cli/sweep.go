package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/host/local"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

// DefaultSweepAge is the age past which a jobtoken token's run is taken to be
// over: the longest job GitHub-hosted runners and Microsoft-hosted agents
// allow is 6 hours.
const DefaultSweepAge = 6 * time.Hour

// sweepAbout is sweep's help: what it does, and what each provider says of
// listing its tokens (provider.Sweeper) or of why there is nothing to sweep
// (provider.Unsweepable).
func sweepAbout(provs []provider.Provider) string {
	var named, undated, lists, nothing []string
	for _, p := range provs {
		switch p := p.(type) {
		case provider.Sweeper:
			h := p.Sweep()
			named = append(named, p.Name()+": "+h.Named)
			if h.Undated != "" {
				undated = append(undated, h.Undated+" ")
			}
			lists = append(lists, h.Lists)
		case provider.Unsweepable:
			_, help := p.NothingToSweep()
			nothing = append(nothing, " "+help)
		}
	}
	return "List the live tokens jobtoken minted whose run is over, left behind when a runner died before its post step, " +
		"and with --revoke revoke them (the default is a dry run that revokes nothing). " +
		"A token is jobtoken's when its name (" + strings.Join(named, "; ") + ") is \"jobtoken <repository> run <id>.<attempt> <suffix>\". " +
		"Its run is over when --run names it, or when it was created more than --older-than ago " +
		"(default 6h, the longest job GitHub-hosted runners and Microsoft-hosted agents allow; raise it for self-hosted runners that run longer). " +
		strings.Join(undated, "") +
		"Inside a CI job, the tokens of the current run and attempt are never swept. " +
		"Listing needs the parent credential the steps used: " + strings.Join(lists, "; ") + "." + strings.Join(nothing, "")
}

// runSelector is one --run value: a run ID, or ID.attempt.
type runSelector struct{ id, attempt string }

func (s runSelector) match(l host.RunLabel) bool {
	return l.RunID == s.id && (s.attempt == "" || l.Attempt == s.attempt)
}

func runSweep(ctx context.Context, e *Env, args []string) int {
	provs := e.providers()
	var sweepers []string
	keys := []inputs.Input{inputs.Provider}
	for _, p := range provs.All() {
		if sw, ok := p.(provider.Sweeper); ok {
			sweepers = append(sweepers, sw.Name())
			keys = append(keys, sw.Sweep().Inputs...)
		}
	}
	f := newFlags("sweep", "--provider "+strings.Join(sweepers, "|")+" [--run ID]... [--older-than DURATION] [--revoke] [input flags]", sweepAbout(provs.All()))
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
	in := f.Inputs(provs.Catalog(), keys...)
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
	values.Delete(inputs.Revoke.Key)
	if err != nil {
		return f.usageError(e, "%s", err)
	}
	names := slices.Sorted(slices.Values(provs.Names()))
	sweepable := slices.Sorted(slices.Values(sweepers))
	name := strings.ToLower(values.Get(inputs.Provider))
	prov, known := provs.Lookup(name)
	if u, ok := prov.(provider.Unsweepable); ok {
		answer, _ := u.NothingToSweep()
		fmt.Fprintln(e.Stdout, name+": "+answer)
		return 0
	}
	switch {
	case name == "":
		return f.usageError(e, "--provider is required; one of %s", strings.Join(sweepable, ", "))
	case !known:
		return f.usageError(e, "unknown provider %q%s; valid providers are %s", name, inputs.DidYouMean(name, names), strings.Join(names, ", "))
	}
	sw, ok := prov.(provider.Sweeper)
	if !ok {
		return f.usageError(e, "%s tokens cannot be listed; sweep works for %s", name, strings.Join(sweepable, ", "))
	}

	h := local.New(local.Options{Values: values, Run: e.localRun(""), Getenv: e.Getenv, Stderr: e.Stderr, Secrets: e.Secrets})
	req := e.runner(h).Request(values)
	listing, err := sw.Minted(ctx, req)
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
	for _, n := range listing.Notes {
		fmt.Fprintln(e.Stderr, "note: "+n)
	}
	list := listing.Tokens

	now := req.Now
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
	h := e.ciHost(e.RawStderr)
	if h == nil {
		return r, false
	}
	run := h.Run()
	r.repo, r.id, r.attempt = run.Repository, run.RunID, run.Attempt
	if r.repo == "" {
		r.repo = run.RepoName
	}
	if r.attempt == "" {
		r.attempt = "1"
	}
	return r, true
}
