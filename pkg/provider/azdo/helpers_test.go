package azdo_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
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
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
)

// noNetwork fails the test on any request: Prepare must stay offline.
type noNetwork struct{ t testing.TB }

func (n noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	n.t.Errorf("unexpected request %s %s during offline validation", r.Method, r.URL)
	return nil, fmt.Errorf("no network")
}

// instant retries without waits, three times.
var instant = providertest.Instant

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
	req.Log = &providertest.Log{}
	return req
}

func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(s)
}
