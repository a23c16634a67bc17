package job_test

// Trust boundaries (issue #11): what a later step of the job or a hostile
// API endpoint can make the stages do. Every test here failed on the code
// before that issue.

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// TestPostIgnoresPlantedState: when the main step saved nothing (a dry run
// here; a failure before minting alike), a later step can plant
// STATE_jobtoken through $GITHUB_ENV. Post must not act on it: not on the
// old plain form, nor on an envelope without a valid MAC.
func TestPostIgnoresPlantedState(t *testing.T) {
	plainSaved := func(api string) string {
		b, _ := json.Marshal(map[string]any{"provider": "github", "token": "ghs_plantedByALaterStep0123456789", "id": "sha256:0123456789ab",
			"revoke": true, "revocable": true, "expires_at": fixedNow.Add(time.Hour), "state": map[string]string{"api_url": api}})
		return string(b)
	}
	for name, plant := range map[string]func(api string) string{
		"plain state": plainSaved,
		"envelope without a MAC": func(api string) string {
			return `{"v":1,"payload":` + plainSaved(api) + `}`
		},
		"envelope with a wrong MAC": func(api string) string {
			return `{"v":1,"payload":` + plainSaved(api) + `,"mac":"` + strings.Repeat("ab", 32) + `"}`
		},
	} {
		t.Run(name, func(t *testing.T) {
			attacker := testutil.NewSpy(t, false)
			r := newGHRun(t, map[string]string{"permissions": "contents:read", "dry-run": "true"})
			_, ok := r.stage("main")
			require.True(t, ok)
			r.env["STATE_jobtoken"] = plant(attacker.URL)
			out := r.post()
			assert.Empty(t, attacker.Requests(), "post sent a request where planted state pointed")
			assert.Contains(t, out, "::notice::Skipping revocation: the state this post step received (STATE_jobtoken)")
			assert.Contains(t, out, "nothing was revoked")
		})
	}
}

// TestPostKeepsMainDestination: a later step changes GITHUB_API_URL (which
// decides github-api-url's default). Post resolves the destination from its
// own inputs, sees it differ from the one main used (authenticated in the
// state), keeps main's and says so.
func TestPostKeepsMainDestination(t *testing.T) {
	attacker := testutil.NewSpy(t, false)
	r := newGHRun(t, map[string]string{"permissions": "contents:read"})
	delete(r.env, "INPUT_GITHUB-API-URL")
	r.env["GITHUB_API_URL"] = r.fake.URL
	r.mainDone()
	r.env["GITHUB_API_URL"] = attacker.URL
	out := r.post()
	assert.Empty(t, attacker.Requests())
	assert.Empty(t, r.fake.Live(), "revoked where main minted it")
	assert.Contains(t, out, "::notice::github-api-url resolves to "+attacker.URL+" here but was "+r.fake.URL+" in the main step; using the main step's")
}

// TestBroaderGrantWhoseRevocationFails: the provider reports what it found,
// the job what happened; the log never says both "stays valid" and "was
// revoked".
func TestBroaderGrantWhoseRevocationFails(t *testing.T) {
	r := newGHRun(t, map[string]string{"permissions": "contents:read"})
	r.fake.Grant = func(tk *ghfake.Token) { tk.Permissions["pull_requests"] = "write" }
	r.fake.Before = func(w http.ResponseWriter, req *http.Request) bool {
		if req.Method == http.MethodDelete {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	out, ok := r.stage("main")
	assert.False(t, ok)
	assert.Contains(t, out, "::warning::failed to revoke token")
	assert.Contains(t, out, "stays valid until")
	assert.Contains(t, out, "::error::GitHub granted more than asked: pull_requests:write (not asked)")
	assert.NotContains(t, out, "was revoked")
	assert.NotContains(t, out, "it was revoked")
	// The post step tries again, whatever revoke says.
	r.fake.Before = nil
	r.carryState()
	out, ok = r.stage("post")
	assert.True(t, ok)
	assert.Contains(t, out, "Revoked github token")
	assert.Empty(t, r.fake.Live())
}

// TestRedirectsChangingHostOrSchemeAreRefused: go-github sets
// Authorization below net/http's redirect handling, so a 307 to another host
// would carry the App JWT there; and net/http keeps Authorization from https
// to http on the same host name.
func TestRedirectsChangingHostOrSchemeAreRefused(t *testing.T) {
	t.Run("307 to another host", func(t *testing.T) {
		elsewhere := testutil.NewSpy(t, false)
		r := newGHRun(t, map[string]string{"permissions": "contents:read"})
		r.fake.Before = func(w http.ResponseWriter, req *http.Request) bool {
			http.Redirect(w, req, elsewhere.URL+req.URL.Path, http.StatusTemporaryRedirect)
			return true
		}
		out, ok := r.run("main", http.DefaultTransport, nil)
		assert.False(t, ok)
		assert.Empty(t, elsewhere.Requests(), "a redirect to another host was followed")
		assert.Contains(t, out, "refused a redirect from http://127.0.0.1:")
	})
	t.Run("https to http on the same host", func(t *testing.T) {
		plain := testutil.NewSpy(t, false)
		api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			http.Redirect(w, req, plain.URL+req.URL.Path, http.StatusTemporaryRedirect)
		}))
		t.Cleanup(api.Close)
		r := newGHRun(t, map[string]string{"permissions": "contents:read", "github-api-url": api.URL})
		out, ok := r.run("main", api.Client().Transport, nil)
		assert.False(t, ok)
		assert.Empty(t, plain.Requests(), "a redirect from https to http was followed")
		assert.Contains(t, out, "refused a redirect from https://127.0.0.1:")
	})
}

// endless is a transport whose every answer is an endless body; it counts
// the bytes read from it. It stops at 64 MiB so that a client without a cap
// still ends.
type endless struct{ read atomic.Int64 }

func (e *endless) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: &endlessBody{e: e}, ContentLength: -1, Request: req}, nil
}

type endlessBody struct{ e *endless }

func (b *endlessBody) Read(p []byte) (int, error) {
	if b.e.read.Load() >= 64<<20 {
		return 0, io.EOF
	}
	for i := range p {
		p[i] = ' '
	}
	b.e.read.Add(int64(len(p)))
	return len(p), nil
}
func (*endlessBody) Close() error { return nil }

// TestEndlessAnswerIsCapped: a hostile endpoint answering an endless body
// costs at most retry.MaxAnswer bytes of reading, and the step says why it
// failed.
func TestEndlessAnswerIsCapped(t *testing.T) {
	r := newGHRun(t, map[string]string{"permissions": "contents:read"})
	tr := &endless{}
	out, ok := r.run("main", tr, nil)
	assert.False(t, ok)
	assert.LessOrEqual(t, tr.read.Load(), int64(1<<20+1), "bytes read from an endless answer")
	assert.Contains(t, out, "answer larger than 1 MiB")
}

// TestTLSClientCarriesNoHTTP2: the transport the job builds never
// negotiates HTTP/2, whose debug logger (GODEBUG=http2debug, read by
// net/http before main runs) prints request headers and answers. It trusts
// the CA material the step's SSL_CERT_FILE names.
func TestTLSClientCarriesNoHTTP2(t *testing.T) {
	var proto atomic.Value
	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		proto.Store(req.Proto)
		w.WriteHeader(http.StatusNotFound)
	}))
	api.EnableHTTP2 = true
	api.StartTLS()
	t.Cleanup(api.Close)
	r := newGHRun(t, map[string]string{"permissions": "contents:read", "github-api-url": api.URL})
	r.env["SSL_CERT_FILE"] = writeCert(t, api.Certificate())
	_, ok := r.run("main", nil, nil)
	assert.False(t, ok)
	assert.Equal(t, "HTTP/1.1", proto.Load())
}

func writeCert(t *testing.T, c *x509.Certificate) string {
	path := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o600))
	return path
}

// TestPostNetworkSettings: post uses the proxies and CA material main ran
// with, says what a later step changed, and makes the process's
// SSL_CERT_FILE/SSL_CERT_DIR main's before any TLS handshake; CA material
// that changed since main is not trusted.
func TestPostNetworkSettings(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "corp.pem")
	require.NoError(t, os.WriteFile(ca, []byte("corporate CA bundle"), 0o600))
	r := newGHRun(t, map[string]string{"permissions": "contents:read"})
	r.env["SSL_CERT_FILE"], r.env["HTTPS_PROXY"] = ca, "http://corp.example:3128"
	_, ok := r.run("main", http.DefaultTransport, func(string, string) {})
	require.True(t, ok)
	r.carryState()

	// A later step exports its own CA file and proxy.
	r.env["SSL_CERT_FILE"], r.env["HTTPS_PROXY"], r.env["NO_PROXY"] = "/tmp/evil.pem", "http://evil.example:8080", "*"
	set := map[string]string{}
	out, ok := r.run("post", http.DefaultTransport, func(k, v string) { set[k] = v })
	assert.True(t, ok)
	assert.Contains(t, out, "::notice::Using the network settings the main step ran with: HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE changed since (a later step can set them) and are ignored here")
	assert.Equal(t, map[string]string{"SSL_CERT_FILE": ca}, set, "the process's CA variables are main's again")
	assert.Contains(t, out, "Revoked github token")

	// Main's CA file itself was rewritten: not trusted, system roots.
	r2 := newGHRun(t, map[string]string{"permissions": "contents:read"})
	r2.env["SSL_CERT_FILE"] = ca
	_, ok = r2.run("main", http.DefaultTransport, func(string, string) {})
	require.True(t, ok)
	r2.carryState()
	require.NoError(t, os.WriteFile(ca, []byte("a CA a later step slipped in"), 0o600))
	set = map[string]string{}
	out, ok = r2.run("post", http.DefaultTransport, func(k, v string) { set[k] = v })
	assert.True(t, ok)
	assert.Contains(t, out, "::notice::The CA material named by SSL_CERT_FILE/SSL_CERT_DIR changed since the main step; it is not trusted here, and the system roots are used")
	assert.Equal(t, map[string]string{"SSL_CERT_FILE": ""}, set, "the system roots, without the rewritten file")
}

// TestUnauthenticatedStateUsesOwnInputs: a step with no parent-credential
// input cannot authenticate its state. Post then does only what needs no
// parent credential (revoking the token with itself), and where it sends
// it comes from its own inputs, not from the state.
func TestUnauthenticatedStateUsesOwnInputs(t *testing.T) {
	attacker := testutil.NewSpy(t, false)
	r := newGHRun(t, map[string]string{"permissions": "contents:read"})
	_, ok := r.stage("main")
	require.True(t, ok)
	live := r.fake.Live()
	require.Len(t, live, 1)
	// What a keyless step would have saved, pointed elsewhere by a later
	// step (nothing can tell the difference).
	raw, err := job.SealState(registry.Default().Catalog(), inputs.ValuesOf(map[string]string{}), host.Run{Repository: "octo/app", RunID: "9", Attempt: "1"}, network.Settings{},
		provider.Saved{Provider: "github", Token: live[0].Value, ID: "sha256:x", Revoke: true, Revocable: true,
			ExpiresAt: fixedNow.Add(time.Hour), Destinations: map[string]string{ghapp.APIURL.Key: attacker.URL}})
	require.NoError(t, err)
	delete(r.env, "INPUT_PRIVATE-KEY")
	r.env["STATE_jobtoken"] = raw
	out := r.post()
	assert.Contains(t, out, "::notice::The state left by the main step cannot be authenticated")
	assert.Empty(t, attacker.Requests())
	assert.Empty(t, r.fake.Live(), "revoked with the token itself, at this step's own github-api-url")
}

// TestStateOfAnotherRunIsIgnored: sealed state replayed from another run of
// the same parent credential does not make post revoke that run's token.
func TestStateOfAnotherRunIsIgnored(t *testing.T) {
	r := newGHRun(t, map[string]string{"permissions": "contents:read"})
	r.mainDone()
	r.env["GITHUB_RUN_ID"] = "10"
	out := r.post()
	assert.Contains(t, out, `was written for "jobtoken octo/app run 9.1", not this run ("jobtoken octo/app run 10.1"); nothing was revoked`)
	assert.Len(t, r.fake.Live(), 1)
}
