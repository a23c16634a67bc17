package azdo

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/testutil/fuzzcorpus"
)

// FuzzAzureDevOpsScopes: whatever the permissions list, accepted scopes are
// distinct, lower-case catalog names; full access only with allowBroad and
// then alone; a grant of exactly those scopes reads as neither broader nor
// narrower; every problem is one line naming permissions.
func FuzzAzureDevOpsScopes(f *testing.F) {
	f.Add("vso.code vso.packaging_write", false)
	f.Add("VSO.Code, vso.code", false)
	f.Add("app_token", false)
	f.Add("app_token vso.code", true)
	f.Add("vso.cod", false)
	fuzzcorpus.Add(f)
	names := ScopeNames()
	f.Fuzz(func(t *testing.T, raw string, allowBroad bool) {
		out, ps := ParseScopes(inputs.List(raw), allowBroad, inputs.GitHubNames)
		for _, p := range ps {
			line := p.Format(inputs.GitHubNames)
			assert.Equal(t, inputs.Permissions.Key, p.Key)
			assert.NotContains(t, line, "\n")
			assert.NotContains(t, line, "\r")
		}
		seen := map[string]bool{}
		for _, s := range out {
			require.Contains(t, names, s)
			require.Equal(t, strings.ToLower(s), s)
			require.False(t, seen[s], "%s twice", s)
			seen[s] = true
			if isFullAccess(s) {
				require.True(t, allowBroad, "%s accepted without allow-broad-scopes", s)
			}
		}
		if len(ps) == 0 {
			require.NotEmpty(t, out)
			if slices.ContainsFunc(out, isFullAccess) {
				assert.Len(t, out, 1)
			}
			broader, narrower := compareScopes(out, strings.Join(out, " "))
			assert.Empty(t, broader)
			assert.Empty(t, narrower)
		}
	})
}
