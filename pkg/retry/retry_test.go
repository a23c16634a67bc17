package retry_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/retry"
)

// instant records the waits instead of sleeping.
func instant(waits *[]time.Duration) retry.Policy {
	p := retry.Default
	p.Sleep = func(_ context.Context, d time.Duration) error { *waits = append(*waits, d); return nil }
	return p
}

func TestRetryTable(t *testing.T) {
	tests := []struct {
		name      string
		responses []func(w http.ResponseWriter)
		wantCode  int
		wantCalls int32
	}{
		{"ok", nil, 200, 1},
		{"502 twice then ok", []func(http.ResponseWriter){status(502), status(502)}, 200, 3},
		{"429 with Retry-After", []func(http.ResponseWriter){header(429, "Retry-After", "2")}, 200, 2},
		{"429 without Retry-After", []func(http.ResponseWriter){status(429)}, 200, 2},
		{"403 rate limit", []func(http.ResponseWriter){header(403, "X-RateLimit-Remaining", "0")}, 200, 2},
		{"403 other is an answer", []func(http.ResponseWriter){status(403)}, 403, 1},
		{"404 is an answer", []func(http.ResponseWriter){status(404)}, 404, 1},
		{"422 is an answer", []func(http.ResponseWriter){status(422)}, 422, 1},
		{"500 forever gives up", []func(http.ResponseWriter){status(500), status(500), status(500), status(500), status(500), status(500)}, 500, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				assert.Equal(t, "body", string(b), "the body is replayed on every try")
				n := int(calls.Add(1))
				if n <= len(tc.responses) {
					tc.responses[n-1](w)
					return
				}
				w.WriteHeader(200)
			}))
			defer srv.Close()
			var waits []time.Duration
			c := retry.Client(nil, instant(&waits))
			resp, err := c.Post(srv.URL, "text/plain", strings.NewReader("body"))
			require.NoError(t, err)
			assert.Equal(t, tc.wantCode, resp.StatusCode)
			assert.Equal(t, tc.wantCalls, calls.Load())
			assert.Len(t, waits, int(tc.wantCalls)-1)
		})
	}
}

func status(code int) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { w.WriteHeader(code) }
}

func header(code int, k, v string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { w.Header().Set(k, v); w.WriteHeader(code) }
}

func TestRetryAfterIsHonoured(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(503)
			return
		}
	}))
	defer srv.Close()
	var waits []time.Duration
	_, err := retry.Client(nil, instant(&waits)).Get(srv.URL)
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{7 * time.Second}, waits)
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	var waits []time.Duration
	_, _ = retry.Client(nil, instant(&waits)).Get(srv.URL)
	require.Len(t, waits, 4)
	for i, w := range waits {
		full := retry.Default.Base << i
		assert.GreaterOrEqual(t, w, full/2, "attempt %d", i)
		assert.LessOrEqual(t, w, full, "attempt %d", i)
	}
}

func TestNetworkErrorsAreRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if n.Add(1) <= 2 {
				c.Close() // connection reset before any answer
				continue
			}
			go http.Serve(&oneConn{c: c}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		}
	}()
	defer ln.Close()
	var waits []time.Duration
	resp, err := retry.Client(nil, instant(&waits)).Get("http://" + ln.Addr().String())
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Len(t, waits, 2)
}

type oneConn struct {
	c    net.Conn
	done atomic.Bool
}

func (l *oneConn) Accept() (net.Conn, error) {
	if l.done.Swap(true) {
		select {}
	}
	return l.c, nil
}
func (l *oneConn) Close() error   { return nil }
func (l *oneConn) Addr() net.Addr { return l.c.LocalAddr() }

func TestDeadlineBoundsTheTotal(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1); w.WriteHeader(503) }))
	defer srv.Close()
	p := retry.Default
	p.Attempts = 1000
	p.Base = 20 * time.Millisecond
	p.Max = 20 * time.Millisecond
	p.Deadline = 500 * time.Millisecond
	resp, err := retry.Client(nil, p).Get(srv.URL)
	if err == nil {
		assert.Equal(t, 503, resp.StatusCode, "the last answer is returned when the budget runs out")
	}
	// At most 50 waits of 10–20ms fit in 500ms: far fewer than the 1000
	// attempts the policy would allow without a deadline.
	assert.LessOrEqual(t, calls.Load(), int32(60))
	assert.Greater(t, calls.Load(), int32(1))
}

func TestCanceledContextStops(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1); w.WriteHeader(503) }))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	p := retry.Default
	p.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := retry.Client(nil, p).Do(req)
	if err == nil {
		assert.Equal(t, 503, resp.StatusCode)
	} else {
		assert.True(t, errors.Is(err, context.Canceled))
	}
	assert.Equal(t, int32(1), calls.Load(), "no try after the caller gave up")
}

func TestTrackCountsTries(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(502)
		}
	}))
	defer srv.Close()
	var waits []time.Duration
	ctx, tries := retry.Track(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL, strings.NewReader("x"))
	_, err := retry.Client(nil, instant(&waits)).Do(req)
	require.NoError(t, err)
	assert.Equal(t, int32(2), tries.Load())
}

// endlessBody never ends; it counts what is read from it.
type endlessBody struct{ read *atomic.Int64 }

func (b endlessBody) Read(p []byte) (int, error) {
	b.read.Add(int64(len(p)))
	return len(p), nil
}
func (endlessBody) Close() error { return nil }

// TestEndlessAnswerIsCappedAndNotRetried: the transport stops reading an
// answer past MaxAnswer (memory stays bounded) and does not ask again.
func TestEndlessAnswerIsCappedAndNotRetried(t *testing.T) {
	var read atomic.Int64
	calls := 0
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		return &http.Response{StatusCode: 200, Body: endlessBody{&read}, Header: http.Header{}, Request: r}, nil
	})
	var waits []time.Duration
	_, err := retry.Client(base, instant(&waits)).Get("http://127.0.0.1:1/")
	var tl *retry.TooLargeError
	require.ErrorAs(t, err, &tl)
	assert.Contains(t, err.Error(), "answer larger than 1 MiB")
	assert.Equal(t, 1, calls)
	assert.LessOrEqual(t, read.Load(), int64(retry.MaxAnswer+1))
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
