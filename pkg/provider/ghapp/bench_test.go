package ghapp_test

import (
	"testing"
	"time"

	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// BenchmarkMintRevoke mints and revokes against the in-process fake and
// reports the HTTP requests each takes: 2 to mint with the installation
// lookup, 1 with installation-id, 1 to revoke.
func BenchmarkMintRevoke(b *testing.B) {
	for _, bc := range []struct {
		name string
		in   inputs.Values
	}{
		{"lookup", inputs.ValuesOf(map[string]string{})},
		{"installation-id", inputs.ValuesOf(map[string]string{ghapp.InstallationID.Key: "77"})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := ghfake.New(testutil.AppKey(b), &ghfake.Installation{ID: 77, Account: "octo", Permissions: map[string]string{"contents": "write", "metadata": "read"}, Repos: []string{"app"}})
			defer f.Close()
			v := inputs.ValuesOf(map[string]string{ghapp.ClientID.Key: f.ClientID, ghapp.PrivateKey.Key: testutil.AppKeyPEM(b), ghapp.APIURL.Key: f.URL, inputs.Permissions.Key: "contents:read"})
			v.Update(bc.in)
			count := &testutil.Counter{}
			req := func() provider.Request {
				r := providertest.Request(b, ghapp.New(), v, count)
				r.Naming, r.Terminal = inputs.GitHubNames, false
				r.Run = host.Run{Repository: "octo/app"}
				r.Permissions = []string{"contents:read"}
				r.Lifetime = time.Hour
				r.Now = time.Now
				return r
			}()
			testutil.BenchMintRevoke(b, ghapp.New(), req, count.N)
		})
	}
}
