package azdo

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
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
	scopes := providertest.Scopes{
		Parse: ParseScopes,
		Names: ScopeNames(),
		Broad: isFullAccess,
		Exact: func(asked []string) ([]string, []string) { return compareScopes(asked, strings.Join(asked, " ")) },
	}
	f.Fuzz(func(t *testing.T, raw string, allowBroad bool) {
		out, ps := scopes.Check(t, raw, allowBroad)
		if len(ps) == 0 && slices.ContainsFunc(out, isFullAccess) {
			assert.Len(t, out, 1, "full access stands alone")
		}
	})
}
