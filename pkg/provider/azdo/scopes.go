package azdo

import (
	_ "embed"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

// scopes.json lists the documented PAT scope names (Azure DevOps docs,
// "Scopes"); app_token is full access.
//
//go:embed scopes.json
var scopesJSON []byte

var catalog = provider.Embedded[struct {
	FullAccess []string `json:"full_access"`
	Scopes     []string `json:"scopes"`
}]("azdo scopes.json", scopesJSON)

// ScopeNames returns every scope a PAT may ask for, full access included.
func ScopeNames() []string {
	out := append(slices.Clone(catalog.Scopes), catalog.FullAccess...)
	sort.Strings(out)
	return out
}

func isFullAccess(s string) bool { return slices.Contains(catalog.FullAccess, s) }

// ParseScopes validates the permissions input for a PAT against the catalog,
// offline, naming inputs in its problems as n spells them. Scope names are
// case-insensitive for the user; Azure DevOps spells them in lower case.
func ParseScopes(raw []string, allowBroad bool, n inputs.Naming) ([]string, inputs.Problems) {
	var ps inputs.Problems
	const required = "is required for azure-devops PATs; list vso.* scopes such as vso.code vso.packaging (see docs/azure-devops.md)"
	if len(raw) == 0 {
		ps.Add(inputs.Permissions, required)
		return nil, ps
	}
	names := ScopeNames()
	seen := map[string]bool{}
	var out []string
	for _, s := range raw {
		s = strings.ToLower(strings.TrimSpace(s))
		switch {
		case s == "":
			continue
		case !slices.Contains(names, s):
			ps.Add(inputs.Permissions, "unknown Azure DevOps PAT scope %q%s", s, inputs.DidYouMean(s, names))
			continue
		case isFullAccess(s) && !allowBroad:
			ps.Add(inputs.Permissions, "%s is full access to everything the user can reach; list the vso.* scopes the job needs, or set %s", s, n.Setting(inputs.AllowBroadScopes, "true"))
			continue
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 && len(ps) == 0 {
		// Items that are only spaces List does not split on (form feed,
		// no-break space) name no scope: still nothing asked.
		ps.Add(inputs.Permissions, required)
	}
	for _, s := range out {
		if isFullAccess(s) && len(out) > 1 {
			ps.Add(inputs.Permissions, "%s already includes every other scope; use it alone", s)
			break
		}
	}
	return out, ps
}

// implied reports whether scope e is implied by asked scope a: Azure DevOps
// names the read scope of a family vso.X and its wider levels vso.X_write,
// vso.X_manage…, so vso.code_write carries vso.code. A grant that lists such an
// implied scope beside the asked one is not broader than asked.
func implied(e, a string) bool { return strings.HasPrefix(a, e+"_") }

// compareScopes compares the granted scope string with what was asked.
func compareScopes(asked []string, granted string) (broader, narrower []string) {
	got := strings.Fields(strings.ToLower(granted))
	want := map[string]bool{}
	for _, a := range asked {
		want[a] = true
	}
	has := map[string]bool{}
	for _, g := range got {
		has[g] = true
		if want[g] {
			continue
		}
		ok := false
		for _, a := range asked {
			if implied(g, a) {
				ok = true
				break
			}
		}
		if !ok {
			broader = append(broader, g)
		}
	}
	for _, a := range asked {
		if !has[a] {
			narrower = append(narrower, a)
		}
	}
	return broader, narrower
}

func scopeMismatch(broader, narrower []string) error {
	switch {
	case len(broader) > 0:
		return fmt.Errorf("Azure DevOps granted more than asked: the PAT also carries %s. Report this: jobtoken asked for exactly the listed scopes", strings.Join(broader, " "))
	case len(narrower) > 0:
		return fmt.Errorf("Azure DevOps granted less than asked: the PAT lacks %s. Check the organization's PAT policies, or ask for less", strings.Join(narrower, " "))
	}
	return nil
}
