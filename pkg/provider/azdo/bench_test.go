package azdo_test

import (
	"context"
	"testing"
	"time"

	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/provider/azdo"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// BenchmarkPATMintRevoke mints and revokes a PAT against the in-process fake
// and reports the HTTP requests each takes (1 to create, 1 to revoke).
func BenchmarkPATMintRevoke(b *testing.B) {
	tenant := azfake.NewTenant()
	api := azfake.NewPATs(tenant, "contoso")
	defer api.Close()
	w := &patWorld{tenant: tenant, api: api, parent: tenant.UserToken("alice@contoso.com", time.Hour)}
	count := &testutil.Counter{}
	req := request("github", w.inputs("vso.code"), nil, count)
	testutil.BenchMintRevoke(b, azdo.New(), req, count.N)
}

// BenchmarkEntraMint reports the requests an Entra token takes on GitHub: the
// job's OIDC token, Entra's tenant metadata, the token exchange.
func BenchmarkEntraMint(b *testing.B) {
	w := newEntraWorld(b)
	w.Entra.Trust(clientID, w.GitHubOIDC.Federated())
	count := &testutil.Counter{Base: w.Entra.Client().Transport}
	req := request("github", w.githubInputs(), w.githubEnv(), count)
	p := azdo.New()
	var reqs int64
	for b.Loop() {
		m, ps := p.Prepare(req)
		if len(ps) > 0 {
			b.Fatal(ps)
		}
		before := count.N()
		if _, err := m.Mint(context.Background()); err != nil {
			b.Fatal(err)
		}
		reqs += count.N() - before
	}
	b.ReportMetric(float64(reqs)/float64(b.N), "mint-requests/op")
}
