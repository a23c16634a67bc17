package anaconda

import (
	_ "embed"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

// scopesJSON is anaconda.org's scope list (as GET /scopes and the token docs
// give it), embedded so that validation needs no network call.
//
//go:embed scopes.json
var scopesJSON []byte

var scopeCatalog = provider.Embedded[struct {
	Broad  []string          `json:"broad"`
	Scopes map[string]string `json:"scopes"`
}]("anaconda scopes.json", scopesJSON)

var (
	// Scopes maps each scope to anaconda.org's description of it.
	Scopes = scopeCatalog.Scopes
	// Broad lists the full-access scopes that need allow-broad-scopes.
	Broad = scopeCatalog.Broad
)

// ScopeNames returns every scope, sorted.
func ScopeNames() []string { return slices.Sorted(maps.Keys(Scopes)) }

// ParseScopes validates the permissions input as anaconda.org scopes: known
// names only, no duplicates, and no full-access scope unless allowBroad.
// Messages name other inputs in naming n.
func ParseScopes(items []string, allowBroad bool, n inputs.Naming) ([]string, inputs.Problems) {
	var ps inputs.Problems
	if len(items) == 0 {
		ps.Add(inputs.Permissions, "is required for anaconda; name the scopes the job needs, e.g. conda:download or api:write (see the scopes in docs/anaconda.md)")
		return nil, ps
	}
	var out []string
	for _, item := range items {
		s := strings.ToLower(strings.TrimSpace(item))
		switch {
		case Scopes[s] == "":
			ps.Add(inputs.Permissions, "unknown anaconda scope %q%s; valid scopes are %s", item, inputs.DidYouMean(s, ScopeNames()), strings.Join(ScopeNames(), ", "))
		case slices.Contains(Broad, s) && !allowBroad:
			ps.Add(inputs.Permissions, "%s is a full-access scope (%s); name narrower scopes (e.g. api:read, conda:download, pypi:upload) or set %s to true", s, Scopes[s], n.Name(inputs.AllowBroadScopes))
		case slices.Contains(out, s):
			// A repeat asks for nothing more; keep one.
		default:
			out = append(out, s)
		}
	}
	return out, ps
}

// compareScopes reports how the granted scopes differ from the asked ones.
func compareScopes(asked, granted []string) (broader, narrower []string) {
	for _, g := range granted {
		if !slices.Contains(asked, g) {
			broader = append(broader, fmt.Sprintf("%s (not asked)", g))
		}
	}
	for _, a := range asked {
		if !slices.Contains(granted, a) {
			narrower = append(narrower, fmt.Sprintf("%s (asked, not granted)", a))
		}
	}
	sort.Strings(broader)
	sort.Strings(narrower)
	return broader, narrower
}
