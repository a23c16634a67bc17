package testutil

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Fault is one way an HTTP call can go wrong.
type Fault string

// The faults a CI network sees. The edge faults answer for the service (a
// proxy, a load balancer, a dropped connection): the request never reaches
// it. The body faults pass the request on and spoil the answer, so the
// service has already acted (minted, revoked) when the client sees them.
const (
	Reset          Fault = "reset"          // connection reset before any answer
	Timeout        Fault = "timeout"        // no answer until the client gives up
	Status500      Fault = "500"            // a proxy's 500 page
	Status502      Fault = "502"            // a proxy's 502 page
	Status503      Fault = "503"            // a proxy's 503 page
	TooMany        Fault = "429+RA"         // 429 with Retry-After: 1
	TooManyNoWait  Fault = "429"            // 429 without Retry-After
	RateLimited403 Fault = "403 RL"         // GitHub's rate-limit 403 (X-RateLimit-Remaining: 0)
	Malformed      Fault = "malformed"      // the service's status, a body that is not JSON
	CutShort       Fault = "cut short"      // the service's answer, its body cut in half
	SlowBody       Fault = "slow body"      // the service's answer, its body stalls halfway
	noFault        Fault = ""               // pass through
	stallFor             = 30 * time.Second // longer than any attempt timeout a test uses
)

// Faults lists every fault, in the order a matrix shows them.
var Faults = []Fault{Reset, Timeout, Status500, Status502, Status503, TooMany, TooManyNoWait, RateLimited403, Malformed, CutShort, SlowBody}

// AfterService reports whether the service has acted on the request when
// the client sees this fault.
func (f Fault) AfterService() bool { return f == Malformed || f == CutShort || f == SlowBody }

// Rule injects Fault into requests whose method is Method and whose path
// satisfies Path, the first Times of them (every one when Times is 0).
type Rule struct {
	Name   string
	Method string
	Path   func(path string) bool
	// Match, when set, must hold too (services that share a path, such as
	// AWS's POST / APIs, are told apart by host or header).
	Match func(r *http.Request) bool
	Fault Fault
	Times int

	seen, hit int
}

// PathSuffix matches paths ending in s.
func PathSuffix(s string) func(string) bool {
	return func(p string) bool { return strings.HasSuffix(p, s) }
}

// PathContains matches paths containing s.
func PathContains(s string) func(string) bool {
	return func(p string) bool { return strings.Contains(p, s) }
}

// FaultTransport is an http.RoundTripper that injects faults at the
// transport level, under the retrying transport, so that every retry sees
// the next fault.
type FaultTransport struct {
	Base http.RoundTripper

	mu    sync.Mutex
	rules []*Rule
}

// Add adds a rule.
func (t *FaultTransport) Add(r Rule) *FaultTransport {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rules = append(t.rules, &r)
	return t
}

// Clear removes every rule (the network heals).
func (t *FaultTransport) Clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rules = nil
}

// Seen returns how many requests matched the rule named name, and how many
// of them were faulted.
func (t *FaultTransport) Seen(name string) (seen, faulted int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.rules {
		if r.Name == name {
			seen += r.seen
			faulted += r.hit
		}
	}
	return seen, faulted
}

func (t *FaultTransport) pick(req *http.Request) Fault {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.rules {
		if r.Method != req.Method || !r.Path(req.URL.Path) || (r.Match != nil && !r.Match(req)) {
			continue
		}
		r.seen++
		if r.Times == 0 || r.hit < r.Times {
			r.hit++
			return r.Fault
		}
		return noFault
	}
	return noFault
}

// RoundTrip implements http.RoundTripper.
func (t *FaultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	f := t.pick(req)
	ctx := req.Context()
	edge := func(code int, header http.Header, body string) (*http.Response, error) {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		if header == nil {
			header = http.Header{}
		}
		if header.Get("Content-Type") == "" {
			header.Set("Content-Type", "text/html")
		}
		return &http.Response{
			Status: strconv.Itoa(code) + " " + http.StatusText(code), StatusCode: code,
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: header,
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req,
		}, nil
	}
	page := func(code int) string {
		return fmt.Sprintf("<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>", code, http.StatusText(code), code, http.StatusText(code))
	}
	switch f {
	case noFault:
		return base.RoundTrip(req)
	case Reset:
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	case Timeout:
		if req.Body != nil {
			_ = req.Body.Close()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(stallFor):
			return nil, fmt.Errorf("fault %q outlived the test's patience", f)
		}
	case Status500, Status502, Status503:
		code, _ := strconv.Atoi(string(f))
		return edge(code, nil, page(code))
	case TooMany:
		return edge(http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}, "Content-Type": {"application/json"}}, `{"message":"Too many requests; retry later"}`)
	case TooManyNoWait:
		return edge(http.StatusTooManyRequests, http.Header{"Content-Type": {"application/json"}}, `{"message":"Too many requests"}`)
	case RateLimited403:
		h := http.Header{"Content-Type": {"application/json"}, "X-Ratelimit-Limit": {"5000"}, "X-Ratelimit-Remaining": {"0"},
			"X-Ratelimit-Reset": {strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10)}}
		return edge(http.StatusForbidden, h, `{"message":"API rate limit exceeded for installation.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`)
	}
	// Body faults: the service acts, then its answer is spoiled.
	resp, err := base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	data, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Header = resp.Header.Clone()
	resp.Header.Del("Content-Length")
	resp.ContentLength = -1
	switch f {
	case Malformed:
		resp.Body = io.NopCloser(strings.NewReader(`{"token": "<html>Service Unavailable`))
	case CutShort:
		resp.Body = &cutBody{r: bytes.NewReader(data[:len(data)/2])}
	case SlowBody:
		resp.Body = &slowBody{ctx: ctx, head: bytes.NewReader(data[:len(data)/2])}
	}
	return resp, nil
}

// cutBody ends early, as a dropped connection does.
type cutBody struct{ r *bytes.Reader }

func (b *cutBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
func (*cutBody) Close() error { return nil }

// slowBody gives its first half, then stalls until the request gives up.
type slowBody struct {
	ctx  context.Context
	head *bytes.Reader
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.head.Len() > 0 {
		return b.head.Read(p)
	}
	select {
	case <-b.ctx.Done():
		return 0, b.ctx.Err()
	case <-time.After(stallFor):
		return 0, io.ErrUnexpectedEOF
	}
}
func (*slowBody) Close() error { return nil }
