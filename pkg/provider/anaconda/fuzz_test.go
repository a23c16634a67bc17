package anaconda

import (
	"slices"
	"testing"

	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
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
	scopes := providertest.Scopes{
		Parse: ParseScopes,
		Names: ScopeNames(),
		Broad: func(s string) bool { return slices.Contains(Broad, s) },
		Exact: func(asked []string) ([]string, []string) { return compareScopes(asked, slices.Clone(asked)) },
	}
	f.Fuzz(func(t *testing.T, raw string, allowBroad bool) {
		scopes.Check(t, raw, allowBroad)
	})
}
