package testutil

import (
	"net/http"
	"sync/atomic"
)

// Counter is an http.RoundTripper that counts the requests it sends, for
// benchmarks that report requests per operation.
type Counter struct {
	Base http.RoundTripper
	n    atomic.Int64
}

// RoundTrip implements http.RoundTripper.
func (c *Counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	base := c.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// N returns the requests sent so far.
func (c *Counter) N() int64 { return c.n.Load() }
