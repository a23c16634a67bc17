package providertest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// Scopes is a provider's scope parser, with what checking its promises
// takes.
type Scopes struct {
	Parse func(list []string, allowBroad bool, n inputs.Naming) ([]string, inputs.Problems)
	Names []string // every scope of the catalog
	Broad func(scope string) bool
	// Exact compares the scopes asked with a grant of exactly those.
	Exact func(asked []string) (broader, narrower []string)
}

// Check parses raw as each host names inputs and checks what every scope
// parser promises, whatever the list: each problem is one line naming
// permissions; the scopes accepted are distinct lower-case catalog names,
// broad ones only with allowBroad; a list without problems gives scopes
// that, granted exactly, read as neither broader nor narrower than asked.
// It returns what parsing gave, for the provider's own checks.
func (s Scopes) Check(t *testing.T, raw string, allowBroad bool) ([]string, inputs.Problems) {
	t.Helper()
	var out []string
	var ps inputs.Problems
	for _, n := range []inputs.Naming{inputs.GitHubNames, inputs.AzureNames} {
		out, ps = s.Parse(inputs.List(raw), allowBroad, n)
		for _, p := range ps {
			line := p.Format(n)
			assert.Equal(t, inputs.Permissions.Key, p.Key)
			assert.NotContains(t, line, "\n")
			assert.NotContains(t, line, "\r")
		}
		for i, scope := range out {
			require.Contains(t, s.Names, scope, "%q is not a scope", scope)
			require.Equal(t, strings.ToLower(scope), scope)
			require.NotContains(t, out[:i], scope, "%s twice", scope)
			if s.Broad(scope) {
				require.True(t, allowBroad, "%s accepted without allow-broad-scopes", scope)
			}
		}
		if len(ps) == 0 {
			require.NotEmpty(t, out)
			broader, narrower := s.Exact(out)
			assert.Empty(t, broader)
			assert.Empty(t, narrower)
		}
	}
	return out, ps
}
