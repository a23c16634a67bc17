package anaconda

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/testutil/fuzzcorpus"
)

// FuzzAnacondaScopes: whatever the permissions list, accepted scopes are
// distinct, lower-case catalog names, full-access ones only with allowBroad;
// a grant of exactly those scopes reads as neither broader nor narrower;
// every problem is one line naming permissions.
func FuzzAnacondaScopes(f *testing.F) {
	f.Add("api:read conda:download", false)
	f.Add("API:READ, api:read", false)
	f.Add("all", false)
	f.Add("all", true)
	f.Add("conda:downlaod", false)
	fuzzcorpus.Add(f)
	f.Fuzz(func(t *testing.T, raw string, allowBroad bool) {
		for _, n := range []inputs.Naming{inputs.GitHubNames, inputs.AzureNames} {
			out, ps := ParseScopes(inputs.List(raw), allowBroad, n)
			for _, p := range ps {
				line := p.Format(n)
				assert.Equal(t, inputs.Permissions.Key, p.Key)
				assert.NotContains(t, line, "\n")
				assert.NotContains(t, line, "\r")
			}
			for i, s := range out {
				require.NotEmpty(t, Scopes[s], "%q is not a scope", s)
				require.Equal(t, strings.ToLower(s), s)
				require.NotContains(t, out[:i], s)
				if slices.Contains(Broad, s) {
					require.True(t, allowBroad, "%s accepted without allow-broad-scopes", s)
				}
			}
			if len(ps) == 0 {
				require.NotEmpty(t, out)
				broader, narrower := compareScopes(out, slices.Clone(out))
				assert.Empty(t, broader)
				assert.Empty(t, narrower)
			}
		}
	})
}
