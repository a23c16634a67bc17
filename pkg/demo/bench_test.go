package demo_test

import (
	"context"
	"testing"

	"github.com/jobtoken/jobtoken/pkg/demo"
)

// BenchmarkDemo measures a whole demo run, fakes and throwaway keys
// included, as `jobtoken demo` runs it (less printing): the budget
// is about a second.
func BenchmarkDemo(b *testing.B) {
	for _, p := range demo.Providers() {
		for _, h := range demo.Hosts() {
			b.Run(p+"/"+h, func(b *testing.B) {
				for b.Loop() {
					res, err := demo.Run(context.Background(), demo.Options{Provider: p, Host: h, Run: stage})
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
