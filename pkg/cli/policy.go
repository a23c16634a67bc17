//go:build !jobtoken_step

package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/policy"
)

const policyAbout = "Check trust policies offline, as `jobtoken serve` loads them (check), and run each policy's own tests (test). " +
	"PATH is a policy file or a directory of them (its *.yaml and *.yml files; not its subdirectories). " +
	"Run both in the policy repository's CI, so that a policy that would not load, or would decide other than its tests say, never merges. " +
	"Exit status 0 when every policy is valid (and every test holds), 1 when one is not, 2 on a usage error."

// policyCommand is `jobtoken policy check|test`, in the CLI download: the
// step binaries never load policies.
func policyCommand() command {
	return command{"check trust policies (check PATH…) and run their tests (test PATH…) offline", runPolicy}
}

func runPolicy(_ context.Context, e *Env, args []string) int {
	f := newFlags("policy", "check|test PATH...", policyAbout)
	if len(args) == 0 {
		return f.usageError(e, "name a subcommand: jobtoken policy check PATH... or jobtoken policy test PATH...")
	}
	sub := args[0]
	switch sub {
	case "-h", "--help", "-help", "help":
		f.help(e.Stdout)
		return 0
	case "check", "test":
	default:
		return f.usageError(e, "unknown subcommand %q; use check or test", sub)
	}
	f = newFlags("policy "+sub, "[--owners LIST] PATH...", policyAbout)
	owners := f.String("owners", "LIST", "The accounts the service binds this policy source to (policy_sources[].owners), comma-separated: a policy that grants for another owner fails, as the service refuses to load it.")
	if err := f.fs.Parse(args[1:]); err != nil {
		if strings.Contains(err.Error(), "help requested") {
			f.help(e.Stdout)
			return 0
		}
		return f.usageError(e, "%s", err)
	}
	if f.fs.NArg() == 0 {
		return f.usageError(e, "name at least one policy file or directory")
	}
	files, err := policyFiles(f.fs.Args())
	if err != nil {
		return f.usageError(e, "%s", err)
	}
	failed := false
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(e.Stdout, "FAIL %s: failed to read: %s\n", file, pathError(err))
			failed = true
			continue
		}
		p, err := policy.Parse(file, data)
		if err != nil {
			fmt.Fprintf(e.Stdout, "FAIL %s\n", err)
			failed = true
			continue
		}
		if err := boundTo(p, *owners); err != nil {
			fmt.Fprintf(e.Stdout, "FAIL %s: %s\n", file, err)
			failed = true
			continue
		}
		if sub == "check" {
			fmt.Fprintf(e.Stdout, "ok   %s (policy %s, %d grant(s), %d test(s))\n", file, p.Name, len(p.Grants), len(p.Tests))
			continue
		}
		if len(p.Tests) == 0 {
			fmt.Fprintf(e.Stdout, "ok   %s: no tests (add tests: to show who the policy lets in and keeps out)\n", file)
			continue
		}
		for _, r := range p.RunTests() {
			label := fmt.Sprintf("%s test %d", file, r.Index+1)
			if r.Name != "" {
				label += " (" + r.Name + ")"
			}
			if r.OK() {
				fmt.Fprintf(e.Stdout, "ok   %s: %s\n", label, decision(r.Got))
				continue
			}
			failed = true
			fmt.Fprintf(e.Stdout, "FAIL %s: wanted %s, got %s: %s\n", label, decision(r.Want), decision(r.Got), r.Why())
		}
	}
	if failed {
		return 1
	}
	return 0
}

// boundTo checks, when owners is given, that every grant is for one of
// them, as the service checks a source's policies.
func boundTo(p *policy.Policy, owners string) error {
	if owners == "" {
		return nil
	}
	list := strings.FieldsFunc(owners, func(r rune) bool { return r == ',' || r == ' ' })
	for i, g := range p.Grants {
		if !slices.ContainsFunc(list, func(o string) bool { return strings.EqualFold(o, g.Owner) }) {
			return fmt.Errorf("grants[%d] is for owner %s, but the source is bound to %s only (--owners)", i, g.Owner, strings.Join(list, ", "))
		}
	}
	return nil
}

func decision(allow bool) string {
	if allow {
		return "allow"
	}
	return "deny"
}

// policyFiles expands each path: a directory to its policy files, sorted.
func policyFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %s", p, pathError(err))
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %s", p, pathError(err))
		}
		n := len(out)
		for _, en := range entries {
			if !en.IsDir() && (strings.HasSuffix(en.Name(), ".yaml") || strings.HasSuffix(en.Name(), ".yml")) {
				out = append(out, filepath.Join(p, en.Name()))
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s: no *.yaml policy in this directory", p)
		}
		slices.Sort(out[n:])
	}
	return out, nil
}
