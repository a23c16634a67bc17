package testutil

import (
	"context"
	"testing"

	"github.com/jobtoken/jobtoken/pkg/provider"
)

// BenchMintRevoke prepares, mints and revokes with p in a loop and reports
// the HTTP requests each of mint and revoke takes, as counted by count.
func BenchMintRevoke(b *testing.B, p provider.Provider, req provider.Request, count func() int64) {
	ctx := context.Background()
	var mintReqs, revokeReqs int64
	// The job saves where the token was minted; revoke goes there.
	dests, ps := p.Destinations(req)
	if len(ps) > 0 {
		b.Fatal(ps)
	}
	for b.Loop() {
		m, ps := p.Prepare(req)
		if len(ps) > 0 {
			b.Fatal(ps)
		}
		before := count()
		tok, err := m.Mint(ctx)
		if err != nil {
			b.Fatal(err)
		}
		mid := count()
		saved := provider.Saved{Provider: p.Name(), Token: tok.Value, ID: tok.ID, ExpiresAt: tok.ExpiresAt, Revoke: true, Revocable: tok.Revocable, Destinations: provider.DestinationMap(dests), State: tok.State, Authenticated: true}
		if err := p.Revoke(ctx, req, saved); err != nil {
			b.Fatal(err)
		}
		mintReqs += mid - before
		revokeReqs += count() - mid
	}
	b.ReportMetric(float64(mintReqs)/float64(b.N), "mint-requests/op")
	b.ReportMetric(float64(revokeReqs)/float64(b.N), "revoke-requests/op")
}
