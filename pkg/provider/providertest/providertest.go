// Package providertest builds provider requests for tests the way the job
// builds them (job.Runner.Request), so that a provider under test sees every
// field set, and records what a provider logs.
package providertest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobtoken/jobtoken/pkg/host/local"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/retry"
)

// NoSleep is the policy every provider uses (retry.Default), without its
// waits.
var NoSleep = func() retry.Policy {
	p := retry.Default
	p.Sleep = func(context.Context, time.Duration) error { return nil }
	return p
}()

// Instant is a short policy, three tries without waits, for tests that
// count them.
var Instant = retry.Policy{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond, Deadline: 10 * time.Second,
	Sleep: func(context.Context, time.Duration) error { return nil }}

// Client is the client the job builds over base with policy p.
func Client(base http.RoundTripper, p retry.Policy) *http.Client {
	return network.Client(base, p, nil)
}

// Request is the request the job builds for p's inputs v at a terminal,
// with p registered alone, calling through base (nil: the real transport,
// for fakes on loopback) with NoSleep retries, logging to a *Log. Tests set
// what their case needs on top: Run, Naming, OIDC, Terminal…
func Request(t testing.TB, p provider.Provider, v inputs.Values, base http.RoundTripper) provider.Request {
	t.Helper()
	reg, err := provider.NewRegistry(p)
	if err != nil {
		t.Fatal(err)
	}
	policy := NoSleep
	r := &job.Runner{Host: local.New(local.Options{Values: v}), Providers: reg, Transport: base, Retry: &policy, Now: time.Now}
	req := r.Request(v)
	req.Log = &Log{}
	return req
}

// Log records what a provider logs.
type Log struct {
	mu    sync.Mutex
	lines []string
}

func (l *Log) add(kind, f string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, kind+": "+fmt.Sprintf(f, a...))
}

// Infof implements provider.Logger.
func (l *Log) Infof(f string, a ...any) { l.add("info", f, a...) }

// Warningf implements provider.Logger.
func (l *Log) Warningf(f string, a ...any) { l.add("warning", f, a...) }

// Debugf implements provider.Logger.
func (l *Log) Debugf(f string, a ...any) { l.add("debug", f, a...) }

// String is every line logged, one a line.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// Lines are the lines logged.
func (l *Log) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}
