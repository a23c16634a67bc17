//go:build !jobtoken_step

package demo_test

import (
	"context"
	"testing"

	"github.com/jobtoken/jobtoken/pkg/demo"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
)

// BenchmarkDemo measures a whole demo run, fakes and throwaway keys
// included, as `jobtoken demo` runs it (less printing): the budget
// is about a second.
func BenchmarkDemo(b *testing.B) {
	for _, p := range registry.Demos().Providers(registry.Default().Catalog()) {
		for _, h := range demo.Hosts() {
			b.Run(p+"/"+h, func(b *testing.B) {
				for b.Loop() {
					res, err := demo.Run(context.Background(), demo.Options{Catalog: registry.Default().Catalog(), Worlds: registry.Demos(), Provider: p, Host: h, Run: stage})
					if err != nil {
						b.Fatal(err)
					}
					if !res.Verdict.OK {
						b.Fatalf("verdict: %+v", res.Verdict.Checks)
					}
				}
			})
		}
	}
}
