package ghapp

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

// permissions.json is GitHub's app-permissions schema (names and the levels
// each allows), copied from the REST OpenAPI description.
//
//go:embed permissions.json
var permissionsJSON []byte

// Catalog maps each permission name to its allowed levels.
var Catalog = provider.Embedded[struct {
	Permissions map[string][]string `json:"permissions"`
}]("ghapp permissions.json", permissionsJSON).Permissions

// Names returns every permission name, sorted.
func Names() []string { return slices.Sorted(maps.Keys(Catalog)) }

// levelRank orders levels so that grants can be compared.
var levelRank = map[string]int{"read": 1, "write": 2, "admin": 3}

// ParsePermissions turns `contents:read, pull-requests:write` into a map,
// validating names and levels against the catalog.
func ParsePermissions(raw []string) (map[string]string, inputs.Problems) {
	var ps inputs.Problems
	out := map[string]string{}
	if len(raw) == 0 {
		ps.Add(inputs.Permissions, "is required for github; list name:level pairs such as contents:read, pull-requests:write")
		return nil, ps
	}
	for i := 0; i < len(raw); i++ {
		item := raw[i]
		// YAML habit: "contents: read" splits into "contents:" and "read".
		if strings.HasSuffix(item, ":") && i+1 < len(raw) && !strings.Contains(raw[i+1], ":") {
			item += raw[i+1]
			i++
		}
		name, level, ok := strings.Cut(item, ":")
		name = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "-", "_")
		level = strings.ToLower(strings.TrimSpace(level))
		if !ok || name == "" || level == "" {
			ps.Add(inputs.Permissions, "%q is not name:level; write it like contents:read", item)
			continue
		}
		levels, known := Catalog[name]
		if !known {
			ps.Add(inputs.Permissions, "unknown GitHub App permission %q%s", name, inputs.DidYouMean(name, Names()))
			continue
		}
		if !slices.Contains(levels, level) {
			ps.Add(inputs.Permissions, "%s:%s is not a level GitHub allows for %s; use %s", name, level, name, strings.Join(levels, " or "))
			continue
		}
		if prev, dup := out[name]; dup && prev != level {
			ps.Add(inputs.Permissions, "%s is listed twice (%s and %s); keep one", name, prev, level)
			continue
		}
		out[name] = level
	}
	return out, ps
}

// FormatPermissions renders a permission map as sorted name:level pairs.
func FormatPermissions(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + m[k]
	}
	return strings.Join(parts, ", ")
}

// compareGrant reports how granted differs from asked. GitHub adds
// metadata:read to every token with a repository permission, so that one extra
// entry is expected.
func compareGrant(asked, granted map[string]string) (broader, narrower []string) {
	for name, g := range granted {
		a, ok := asked[name]
		switch {
		case !ok && name == "metadata" && g == "read":
		case !ok:
			broader = append(broader, fmt.Sprintf("%s:%s (not asked)", name, g))
		case levelRank[g] > levelRank[a]:
			broader = append(broader, fmt.Sprintf("%s:%s (asked %s)", name, g, a))
		case levelRank[g] < levelRank[a]:
			narrower = append(narrower, fmt.Sprintf("%s:%s (asked %s)", name, g, a))
		}
	}
	for name, a := range asked {
		if _, ok := granted[name]; !ok {
			narrower = append(narrower, fmt.Sprintf("%s (asked %s, not granted)", name, a))
		}
	}
	sort.Strings(broader)
	sort.Strings(narrower)
	return broader, narrower
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
