package anaconda

import (
	"context"
	"testing"
	"time"

	"github.com/jobtoken/jobtoken/pkg/fake/anacondafake"
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/retry"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// BenchmarkMintRevoke mints and revokes an anaconda.org token against the
// in-process fake and reports the HTTP requests each takes.
func BenchmarkMintRevoke(b *testing.B) {
	f := anacondafake.New(&anacondafake.Account{Login: "ana"})
	defer f.Close()
	count := &testutil.Counter{}
	in := inputs.Values{inputs.Provider: Name, inputs.Permissions: "api:read conda:download", inputs.AnacondaAPIURL: f.URL,
		inputs.AnacondaCredential: f.AddAPIKey("ana", time.Now().Add(24*time.Hour))}
	req := provider.Request{
		Inputs: in, Run: host.Run{Repository: "octo/app", RunID: "9", Attempt: "1", CI: "github"}, Host: "github",
		Permissions: inputs.List(in.Get(inputs.Permissions)), Lifetime: time.Hour,
		HTTP: retry.Client(count, retry.Default), Now: time.Now,
	}
	p := New()
	ctx := context.Background()
	var mintReqs, revokeReqs int64
	for b.Loop() {
		m, ps := p.Prepare(req)
		if len(ps) > 0 {
			b.Fatal(ps)
		}
		before := count.N()
		tok, err := m.Mint(ctx)
		if err != nil {
			b.Fatal(err)
		}
		mid := count.N()
		err = p.Revoke(ctx, req, provider.Saved{Provider: Name, Token: tok.Value, ID: tok.ID, State: tok.State})
		if err != nil {
			b.Fatal(err)
		}
		mintReqs += mid - before
		revokeReqs += count.N() - mid
	}
	b.ReportMetric(float64(mintReqs)/float64(b.N), "mint-requests/op")
	b.ReportMetric(float64(revokeReqs)/float64(b.N), "revoke-requests/op")
}
