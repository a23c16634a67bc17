package azdo_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/host/local"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/azdo"
	"github.com/jobtoken/jobtoken/pkg/retry"
)

// logger records what a provider logs.
type logger struct {
	mu    sync.Mutex
	lines []string
}

func (l *logger) add(kind, f string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, kind+": "+fmt.Sprintf(f, a...))
}
func (l *logger) Infof(f string, a ...any)    { l.add("info", f, a...) }
func (l *logger) Warningf(f string, a ...any) { l.add("warning", f, a...) }
func (l *logger) Debugf(f string, a ...any)   { l.add("debug", f, a...) }
func (l *logger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// instant retries without sleeping.
var instant = retry.Policy{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond, Deadline: 10 * time.Second,
	Sleep: func(context.Context, time.Duration) error { return nil }}

// noNetwork fails the test on any request: Prepare must stay offline.
type noNetwork struct{ t testing.TB }

func (n noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	n.t.Errorf("unexpected request %s %s during offline validation", r.Method, r.URL)
	return nil, fmt.Errorf("no network")
}

// request builds the provider request the job builds on hostName
// ("github", "azure" or "local"), whose environment is env, calling through
// base with instant retries.
func request(hostName string, in inputs.Values, env map[string]string, base http.RoundTripper) provider.Request {
	v := inputs.ValuesOf(map[string]string{})
	v.Update(in)
	reg, err := provider.NewRegistry(azdo.New())
	if err != nil {
		panic(err)
	}
	getenv := func(k string) string { return env[k] }
	term := local.New(local.Options{Values: v, Getenv: getenv})
	var src host.Source = term
	switch hostName {
	case "github":
		src = ghactions.New(nil, getenv, reg.Catalog())
	case "azure":
		src = azpipelines.New(nil, nil, getenv, reg.Catalog())
	}
	r := &job.Runner{Host: term, Providers: reg, Transport: base, Retry: &instant, Now: time.Now}
	req := r.RequestOn(src, v)
	req.Run = host.Run{Repository: "octo/app", RepoName: "octo/app", RunID: "9", Attempt: "1", CollectionURI: env["SYSTEM_COLLECTIONURI"]}
	req.Log = &logger{}
	return req
}

func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(s)
}
