// Package retry makes HTTP calls survive the faults CI networks see: it retries
// network errors, 5xx, 429 and GitHub's 403 rate limits with exponential
// backoff and jitter, honours Retry-After, and gives up at a total deadline.
// Other 4xx are answers, not faults, and are never retried.
package retry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Policy bounds the retries of one logical request.
type Policy struct {
	Attempts int           // total tries, including the first
	Base     time.Duration // first backoff
	Max      time.Duration // cap of one backoff (and of an honoured Retry-After)
	Deadline time.Duration // total time budget for all tries
	// AttemptTimeout bounds one try, its answer's body included, so that a
	// server that stops answering (or stalls mid-body) costs one try, not
	// the whole Deadline. Zero means no bound of its own.
	AttemptTimeout time.Duration
	// Sleep waits for d or until ctx ends; tests replace it to run instantly.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Default is the policy used by every provider.
var Default = Policy{Attempts: 5, Base: 500 * time.Millisecond, Max: 20 * time.Second, Deadline: 90 * time.Second, AttemptTimeout: 30 * time.Second}

type triesKey struct{}

// Track returns a context whose requests record how many times the transport
// sent them. A caller whose non-idempotent request (a token creation) was sent
// more than once knows an earlier try may have taken effect.
func Track(ctx context.Context) (context.Context, *atomic.Int32) {
	n := &atomic.Int32{}
	return context.WithValue(ctx, triesKey{}, n), n
}

// Transport is an http.RoundTripper that retries per Policy.
type Transport struct {
	Base   http.RoundTripper
	Policy Policy
	// OnRetry, when set, is told of each retry (for a one-line log).
	OnRetry func(req *http.Request, attempt int, reason string, wait time.Duration)
}

// Client returns an http.Client that retries with p over base.
func Client(base http.RoundTripper, p Policy) *http.Client {
	return &http.Client{Transport: &Transport{Base: base, Policy: p}, Timeout: 0}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	p := t.Policy
	if p.Attempts <= 0 {
		p = Default
	}
	sl := p.Sleep
	if sl == nil {
		sl = sleep
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	ctx := req.Context()
	var cancel context.CancelFunc
	if p.Deadline > 0 {
		ctx, cancel = context.WithTimeout(ctx, p.Deadline)
		defer func() {
			if cancel != nil {
				cancel()
			}
		}()
	}
	// The body must be replayable to retry; buffer it once when the request
	// has no GetBody.
	var body []byte
	if req.Body != nil && req.GetBody == nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	tries, _ := req.Context().Value(triesKey{}).(*atomic.Int32)
	for attempt := 1; ; attempt++ {
		if tries != nil {
			tries.Add(1)
		}
		actx, acancel := ctx, context.CancelFunc(func() {})
		if p.AttemptTimeout > 0 {
			actx, acancel = context.WithTimeout(ctx, p.AttemptTimeout)
		}
		r := req.Clone(actx)
		switch {
		case body != nil:
			r.Body = io.NopCloser(bytes.NewReader(body))
		case req.GetBody != nil && attempt > 1:
			b, err := req.GetBody()
			if err != nil {
				acancel()
				return nil, err
			}
			r.Body = b
		}
		resp, err := base.RoundTrip(r)
		if err == nil && resp != nil {
			// Read the body now so that a body cut short is caught here,
			// where it can still be retried, and so the deadline context can
			// be released safely. No answer jobtoken reads is near
			// MaxAnswer: past it, reading stops, so that an endless body
			// cannot grow the process.
			data, rerr := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
			resp.Body.Close()
			switch {
			case rerr != nil:
				err, resp = rerr, nil
			case len(data) > MaxAnswer:
				err, resp = &TooLargeError{Limit: MaxAnswer}, nil
			default:
				resp.Body = io.NopCloser(bytes.NewReader(data))
			}
		}
		if err != nil && errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			err = &attemptTimeoutError{d: p.AttemptTimeout}
		}
		acancel()
		reason, wait := classify(resp, err)
		if reason == "" || attempt >= p.Attempts || ctx.Err() != nil {
			if err != nil && ctx.Err() != nil && req.Context().Err() == nil {
				err = errors.New("gave up after " + strconv.Itoa(attempt) + " tries: " + err.Error())
			}
			return resp, err
		}
		d := backoff(p, attempt, wait)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			// Not enough budget left for another try: return what we have.
			return resp, err
		}
		if t.OnRetry != nil {
			t.OnRetry(req, attempt, reason, d)
		}
		if serr := sl(ctx, d); serr != nil {
			return resp, err
		}
	}
}

// attemptTimeoutError is one try that got no (complete) answer in time.
type attemptTimeoutError struct{ d time.Duration }

func (e *attemptTimeoutError) Error() string {
	return "no complete answer within " + e.d.String()
}
func (e *attemptTimeoutError) Timeout() bool { return true }
func (e *attemptTimeoutError) Unwrap() error { return context.DeadlineExceeded }

// MaxAnswer bounds the body of one answer. The largest answer jobtoken reads
// (a page of 100 PATs) is a few tens of KiB.
const MaxAnswer = 1 << 20

// TooLargeError is an answer whose body passed MaxAnswer. It is not retried:
// the server would send it again.
type TooLargeError struct{ Limit int }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("answer larger than %d MiB; an API answer is never that long, so the server or a proxy is misbehaving", e.Limit>>20)
}

// classify says whether a response or error is worth retrying, and any wait the
// server asked for.
func classify(resp *http.Response, err error) (reason string, wait time.Duration) {
	if err != nil {
		var tl *TooLargeError
		if errors.Is(err, context.Canceled) || errors.As(err, &tl) {
			return "", 0
		}
		return "network error", 0
	}
	wait = retryAfter(resp.Header)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return "429 Too Many Requests", wait
	case resp.StatusCode >= 500:
		return strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode), wait
	case resp.StatusCode == http.StatusForbidden && rateLimited(resp.Header):
		if wait == 0 {
			if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
				wait = time.Until(time.Unix(reset, 0))
			}
		}
		return "403 rate limited", wait
	}
	return "", 0
}

// rateLimited recognises GitHub's primary and secondary rate-limit 403s.
func rateLimited(h http.Header) bool {
	return h.Get("X-RateLimit-Remaining") == "0" || h.Get("Retry-After") != ""
}

func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

func backoff(p Policy, attempt int, wait time.Duration) time.Duration {
	if wait > 0 {
		return min(wait, p.Max)
	}
	d := p.Base << (attempt - 1)
	if d > p.Max || d <= 0 {
		d = p.Max
	}
	// Full jitter on the upper half keeps concurrent jobs from retrying in step.
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}
