package main_test

// Trust boundaries (issue #11) that only the built binary shows: what the
// process environment does (GODEBUG and the Azure SDK's logging, read before
// main runs; proxies and CA files that Go reads from it). Every test here
// failed on the code before that issue.

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// selfSigned makes a certificate for names (a CA and its own leaf) and
// writes its PEM to a file.
func selfSigned(t *testing.T, names ...string) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: names, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path
}

func writePEM(t *testing.T, c *x509.Certificate) string {
	path := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o600))
	return path
}

func stateEnv(t *testing.T, r *runner) []string {
	var st []string
	for k, v := range entries(t, r.read("STATE")) {
		st = append(st, "STATE_"+k+"="+v)
	}
	return st
}

// TestDebugSwitchesPrintNothing: GODEBUG=http2debug=2 makes net/http's
// HTTP/2 logger (set up before main runs) print request headers and answer
// data to stderr; AZURE_SDK_GO_LOGGING=all makes azcore print requests to
// os.Stderr. Against TLS fakes that speak HTTP/2, nothing of either may
// appear, and no secret either.
func TestDebugSwitchesPrintNothing(t *testing.T) {
	bin, post := binary(t)
	debug := []string{"GODEBUG=http2debug=2", "AZURE_SDK_GO_LOGGING=all"}

	t.Run("github", func(t *testing.T) {
		fake := ghfake.New(testutil.AppKey(t), &ghfake.Installation{ID: 5, Account: "octo", Permissions: map[string]string{"contents": "write", "metadata": "read"}, Repos: []string{"app"}})
		defer fake.Close()
		api := httptest.NewUnstartedServer(fake.Config.Handler)
		api.EnableHTTP2 = true
		api.StartTLS()
		defer api.Close()
		key := testutil.AppKeyPEM(t)
		r := newRunner(t, map[string]string{"provider": "github", "client-id": fake.ClientID, "private-key": key,
			"permissions": "contents:read", "github-api-url": api.URL})
		env := append([]string{"SSL_CERT_FILE=" + writePEM(t, api.Certificate())}, debug...)
		stdout, stderr, code := r.run(bin, env...)
		require.Equal(t, 0, code, stdout+stderr)
		require.Len(t, fake.Minted(), 1)
		tok := fake.Minted()[0].Value
		stdout2, stderr2, code := r.run(post, append(env, stateEnv(t, r)...)...)
		require.Equal(t, 0, code, stdout2+stderr2)
		assert.Empty(t, fake.Live())
		all := testutil.WithoutGitHubMasks(stdout+stdout2) + stderr + stderr2
		testutil.AssertNoSecret(t, "output", all, key, tok)
		assert.NotContains(t, all, "http2:", "the HTTP/2 debug logger printed")
		assert.NotContains(t, all, "eyJ", "an App JWT was printed")
		assert.NotContains(t, strings.ToLower(all), "authorization")
	})

	t.Run("azure-devops entra", func(t *testing.T) {
		tenant := azfake.NewTenant()
		entra := azfake.NewEntra(tenant)
		defer entra.Close()
		gh := azfake.NewGitHubOIDC("octo/app")
		defer gh.Close()
		const clientID = "6f1c2a0e-7b4d-4c8e-9a51-3d2e1f0a9b8c"
		entra.Trust(clientID, gh.Federated())
		r := newRunner(t, map[string]string{"provider": "azure-devops", "azure-credential": "entra", "azure-client-id": clientID,
			"azure-tenant-id": tenant.ID})
		stdout, stderr, code := r.run(bin, append([]string{"SSL_CERT_FILE=" + writePEM(t, entra.Certificate()),
			"ACTIONS_ID_TOKEN_REQUEST_URL=" + gh.RequestURL(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + gh.RequestToken,
			"AZURE_AUTHORITY_HOST=" + entra.AuthorityHost()}, debug...)...)
		require.Equal(t, 0, code, stdout+stderr)
		require.Len(t, entra.Issued(), 1)
		all := testutil.WithoutGitHubMasks(stdout) + stderr
		testutil.AssertNoSecret(t, "output", all, append(entra.Issued(), gh.Issued()...)...)
		for _, ev := range []string{"] Request: ", "] Response: ", "] Authentication: ", "] Retry: "} {
			assert.NotContains(t, all, ev, "azcore's logger printed")
		}
		assert.NotContains(t, all, "http2:")
	})
}

// connectProxy is an HTTPS proxy: it records each CONNECT and, when
// tunnel is set, connects it to that address whatever host was asked
// (standing in for DNS), else refuses it.
type connectProxy struct {
	*httptest.Server
	tunnel string
	mu     sync.Mutex
	seen   []string
}

func newConnectProxy(t *testing.T, tunnel string) *connectProxy {
	p := &connectProxy{tunnel: tunnel}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.Method+" "+r.Host)
		p.mu.Unlock()
		if r.Method != http.MethodConnect || p.tunnel == "" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		up, err := net.Dial("tcp", p.tunnel)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			up.Close()
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() { _, _ = io.Copy(up, bufio.NewReader(buf)); up.Close() }()
		go func() { _, _ = io.Copy(conn, up); conn.Close() }()
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *connectProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// TestPostUsesMainNetworkSettings: the job runs behind a corporate proxy
// with its own CA. A later step exports another proxy and another CA file
// through $GITHUB_ENV; post runs after it. Post must use the settings main
// ran with (the corporate proxy keeps working), and tell.
func TestPostUsesMainNetworkSettings(t *testing.T) {
	bin, post := binary(t)
	fake := ghfake.New(testutil.AppKey(t), &ghfake.Installation{ID: 5, Account: "octo", Permissions: map[string]string{"contents": "write", "metadata": "read"}, Repos: []string{"app"}})
	defer fake.Close()
	cert, ca := selfSigned(t, "api.example.test")
	api := httptest.NewUnstartedServer(fake.Config.Handler)
	api.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	api.StartTLS()
	defer api.Close()
	corp := newConnectProxy(t, api.Listener.Addr().String())
	attacker := newConnectProxy(t, "")
	_, attackerCA := selfSigned(t, "api.example.test")

	r := newRunner(t, map[string]string{"provider": "github", "client-id": fake.ClientID, "private-key": testutil.AppKeyPEM(t),
		"permissions": "contents:read", "github-api-url": "https://api.example.test"})
	job := []string{"HTTPS_PROXY=" + corp.URL, "SSL_CERT_FILE=" + ca}
	stdout, stderr, code := r.run(bin, job...)
	require.Equal(t, 0, code, stdout+stderr)
	require.Len(t, fake.Live(), 1)
	require.NotEmpty(t, corp.requests(), "main went through the job's proxy")

	later := []string{"HTTPS_PROXY=" + attacker.URL, "https_proxy=" + attacker.URL, "SSL_CERT_FILE=" + attackerCA}
	stdout, stderr, code = r.run(post, append(append(stateEnv(t, r), job...), later...)...)
	assert.Equal(t, 0, code)
	assert.Empty(t, attacker.requests(), "post went through a proxy a later step set")
	assert.Empty(t, fake.Live(), "post revoked the token through the job's proxy:\n"+stdout+stderr)
	assert.Contains(t, stdout, "::notice::Using the network settings the main step ran with: HTTPS_PROXY, https_proxy, SSL_CERT_FILE changed since")
}
