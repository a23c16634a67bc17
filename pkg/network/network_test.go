package network_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/retry"
)

// once tries each request once.
var once = retry.Policy{Attempts: 1}

func req(t *testing.T, method, u string, auth bool) *http.Request {
	r, err := http.NewRequest(method, u, nil)
	require.NoError(t, err)
	if auth {
		r.Header.Set("Authorization", "Bearer x")
	}
	return r
}

func TestCheckRedirect(t *testing.T) {
	for _, c := range []struct {
		from, to string
		ok       bool
	}{
		{"https://api.github.com/a", "https://api.github.com/b", true},
		{"https://api.github.com/a", "https://API.GITHUB.COM/b", true},
		{"https://api.github.com/a", "https://evil.example/b", false},
		{"https://api.github.com/a", "http://api.github.com/b", false},
		{"https://api.github.com/a", "https://api.github.com:8443/b", false},
		{"http://127.0.0.1:1/a", "http://127.0.0.1:2/b", false},
	} {
		err := network.CheckRedirect(req(t, "GET", c.to, true), []*http.Request{req(t, "GET", c.from, true)})
		assert.Equal(t, c.ok, err == nil, "%s → %s: %v", c.from, c.to, err)
	}
	via := make([]*http.Request, 10)
	for i := range via {
		via[i] = req(t, "GET", "https://api.github.com/", true)
	}
	assert.Error(t, network.CheckRedirect(req(t, "GET", "https://api.github.com/", true), via))
}

// counting is a base transport that counts what reaches it.
type counting struct{ n int }

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n++
	return &http.Response{StatusCode: 204, Body: http.NoBody, Request: r, Header: http.Header{}}, nil
}

func TestClientRefusesCredentialsInClear(t *testing.T) {
	for _, c := range []struct {
		url  string
		auth bool
		ok   bool
	}{
		{"https://api.example.net/x", true, true},
		{"http://127.0.0.1:9/x", true, true},
		{"http://localhost:9/x", true, true},
		{"http://[::1]:9/x", true, true},
		{"http://api.example.net/x", true, false},
		{"http://api.example.net/x", false, true},
		{"https://user:pw@api.example.net/x", false, false},
	} {
		base := &counting{}
		c2 := network.Client(base, once, nil)
		resp, err := c2.Do(req(t, "GET", c.url, c.auth))
		if resp != nil {
			resp.Body.Close()
		}
		assert.Equal(t, c.ok, err == nil, "%s: %v", c.url, err)
		assert.Equal(t, c.ok, base.n == 1, "%s reached the network %d times", c.url, base.n)
		if err != nil {
			assert.NotContains(t, err.Error(), "pw@")
		}
	}
}

func TestProxyFromSettingsNotProcess(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://process-proxy.example:3128")
	s := network.Settings{Proxy: map[string]string{"HTTPS_PROXY": "http://corp.example:8080", "https_proxy": "http://lower.example:1", "NO_PROXY": "internal.example"}}
	tr := network.Base(network.Options{Settings: s}).(*http.Transport)
	proxy := func(u string) string {
		p, err := tr.Proxy(req(t, "GET", u, false))
		require.NoError(t, err)
		if p == nil {
			return ""
		}
		return p.String()
	}
	assert.Equal(t, "http://corp.example:8080", proxy("https://api.github.com/"), "upper case first, from the settings")
	assert.Equal(t, "", proxy("https://internal.example/"), "NO_PROXY")
	assert.Equal(t, "", proxy("https://127.0.0.1/"), "loopback is never proxied")
	none := network.Base(network.Options{}).(*http.Transport)
	p, err := none.Proxy(req(t, "GET", "https://api.github.com/", false))
	require.NoError(t, err)
	assert.Nil(t, p, "the process environment is not read")
}

func TestBaseNeverOffersHTTP2(t *testing.T) {
	tr := network.Base(network.Options{}).(*http.Transport)
	assert.False(t, tr.ForceAttemptHTTP2)
	assert.False(t, tr.Protocols.HTTP2())
	assert.True(t, tr.Protocols.HTTP1())
	assert.NotNil(t, tr.TLSNextProto)
}

func TestCaptureAndMaterial(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(file, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o600))
	certs := filepath.Join(dir, "certs")
	require.NoError(t, os.Mkdir(certs, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(certs, "a.pem"), []byte("a"), 0o600))
	env := map[string]string{"SSL_CERT_FILE": file, "SSL_CERT_DIR": certs, "https_proxy": "http://p:1"}
	s, pem := network.Capture(func(k string) string { return env[k] })
	assert.Len(t, s.CASum, 64)
	assert.Contains(t, string(pem), "BEGIN CERTIFICATE")
	assert.Equal(t, map[string]string{"https_proxy": "http://p:1"}, s.Proxy)
	_, ok := s.Material()
	assert.True(t, ok)

	require.NoError(t, os.WriteFile(filepath.Join(certs, "b.pem"), []byte("b"), 0o600))
	_, ok = s.Material()
	assert.False(t, ok, "a file added to SSL_CERT_DIR changes the material")
	require.NoError(t, os.Remove(filepath.Join(certs, "b.pem")))
	_, ok = s.Material()
	assert.True(t, ok)
	require.NoError(t, os.WriteFile(file, []byte("another CA"), 0o600))
	_, ok = s.Material()
	assert.False(t, ok, "a changed SSL_CERT_FILE changes the material")

	other := s
	other.Proxy = map[string]string{"HTTPS_PROXY": "http://evil:1"}
	other.CAFile = "/tmp/other.pem"
	assert.Equal(t, []string{"HTTPS_PROXY", "https_proxy", "SSL_CERT_FILE"}, s.Changed(other))
	assert.Empty(t, s.Changed(s))
}

func TestSummary(t *testing.T) {
	_, err := network.Client(&counting{}, once, nil).Get("http://api.example.net/x?secret=1")
	require.NoError(t, err) // no Authorization: plain http is not refused
	r := req(t, "GET", "http://api.example.net/x?q=secret", true)
	_, err = network.Client(&counting{}, once, nil).Do(r)
	require.Error(t, err)
	s := network.Summary(err)
	assert.NotContains(t, s, "secret")
	assert.True(t, strings.HasPrefix(s, "network error: refused to send a credential over plain http"), s)
	assert.True(t, network.Same("https://API.github.com/", "https://api.github.com"))
	assert.False(t, network.Same("https://api.github.com", "http://api.github.com"))
}

// TestCAMaterialReadsOnlyRegularFiles: a FIFO put where a CA file was would
// block the read forever; it counts as changed material instead.
func TestCAMaterialReadsOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(file, []byte("CA"), 0o600))
	s, _ := network.Capture(func(k string) string { return map[string]string{"SSL_CERT_FILE": file}[k] })
	require.NoError(t, os.Remove(file))
	if err := mkfifo(file); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	_, ok := s.Material()
	assert.False(t, ok)
}
