package anaconda

import (
	"testing"
	"time"

	"github.com/jobtoken/jobtoken/pkg/fake/anacondafake"
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// BenchmarkMintRevoke mints and revokes an anaconda.org token against the
// in-process fake and reports the HTTP requests each takes.
func BenchmarkMintRevoke(b *testing.B) {
	f := anacondafake.New(&anacondafake.Account{Login: "ana"})
	defer f.Close()
	count := &testutil.Counter{}
	in := inputs.ValuesOf(map[string]string{inputs.Provider.Key: Name, inputs.Permissions.Key: "api:read conda:download", APIURL.Key: f.URL,
		Credential.Key: f.AddAPIKey("ana", time.Now().Add(24*time.Hour))})
	req := providertest.Request(b, New(), in, count)
	req.Run = host.Run{Repository: "octo/app", RunID: "9", Attempt: "1"}
	req.Naming, req.Terminal = inputs.GitHubNames, false
	testutil.BenchMintRevoke(b, New(), req, count.N)
}
