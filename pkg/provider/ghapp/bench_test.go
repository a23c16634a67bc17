package ghapp_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/retry"
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
		{"lookup", inputs.Values{}},
		{"installation-id", inputs.Values{inputs.InstallationID: "77"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := ghfake.New(testutil.AppKey(b), &ghfake.Installation{ID: 77, Account: "octo", Permissions: map[string]string{"contents": "write", "metadata": "read"}, Repos: []string{"app"}})
			defer f.Close()
			v := inputs.Values{inputs.ClientID: f.ClientID, inputs.PrivateKey: testutil.AppKeyPEM(b), inputs.GitHubAPIURL: f.URL, inputs.Permissions: "contents:read"}
			for k, x := range bc.in {
				v[k] = x
			}
			req := provider.Request{Inputs: v, Run: host.Run{Repository: "octo/app"}, Permissions: []string{"contents:read"}, Lifetime: time.Hour,
				HTTP: retry.Client(http.DefaultTransport, retry.Default), Now: time.Now}
			p := ghapp.New()
			ctx := context.Background()
			var mintReqs, revokeReqs int
			b.ResetTimer()
			for b.Loop() {
				m, ps := p.Prepare(req)
				if len(ps) > 0 {
					b.Fatal(ps)
				}
				before := f.Requests()
				tok, err := m.Mint(ctx)
				if err != nil {
					b.Fatal(err)
				}
				mid := f.Requests()
				if err := p.Revoke(ctx, req, provider.Saved{Token: tok.Value, State: tok.State}); err != nil {
					b.Fatal(err)
				}
				mintReqs += mid - before
				revokeReqs += f.Requests() - mid
			}
			b.ReportMetric(float64(mintReqs)/float64(b.N), "mint-requests/op")
			b.ReportMetric(float64(revokeReqs)/float64(b.N), "revoke-requests/op")
		})
	}
}
