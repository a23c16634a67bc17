// Package network builds the one HTTP client every jobtoken call goes
// through, and records the network settings a step ran with so that the post
// step can use the same ones.
//
// The client speaks HTTP/1.1 only, so that no HTTP/2 debug switch
// (GODEBUG=http2debug) can print its headers; follows no redirect to another
// host or scheme; refuses to send a credential over plain http to anything
// but this machine; and caps every answer (retry.MaxAnswer).
package network

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/net/http/httpproxy"

	"github.com/jobtoken/jobtoken/pkg/retry"
)

// ProxyVars are the proxy variables Go and most tools read, in the order
// httpproxy.FromEnvironment prefers them.
var ProxyVars = []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"}

// CAVars are the variables that replace Go's system roots on Unix.
var CAVars = []string{"SSL_CERT_FILE", "SSL_CERT_DIR"}

// maxCA bounds how much CA material is read (a bundle is well under 1 MiB).
const maxCA = 16 << 20

// Settings are the network settings a step ran with: its proxy variables and
// the CA material that replaces the system roots, with a hash of that
// material so that a later change to the files is noticed.
type Settings struct {
	Proxy  map[string]string `json:"proxy,omitempty"`
	CAFile string            `json:"ssl_cert_file,omitempty"`
	CADir  string            `json:"ssl_cert_dir,omitempty"`
	// CASum is the SHA-256 of the CA material, empty when neither CA
	// variable is set.
	CASum string `json:"ca_sha256,omitempty"`
}

// Capture reads the settings through getenv and the CA material they name.
// It returns the material too, to be trusted beside the system roots.
func Capture(getenv func(string) string) (Settings, []byte) {
	s := Read(getenv)
	if s.CAFile == "" && s.CADir == "" {
		return s, nil
	}
	sum, pem := readCA(s.CAFile, s.CADir)
	s.CASum = sum
	return s, pem
}

// Read reads the settings' variables through getenv, without reading the
// files they name (CASum stays empty): enough to tell what changed.
func Read(getenv func(string) string) Settings {
	var s Settings
	for _, k := range ProxyVars {
		if v := getenv(k); v != "" {
			if s.Proxy == nil {
				s.Proxy = map[string]string{}
			}
			s.Proxy[k] = v
		}
	}
	s.CAFile, s.CADir = getenv("SSL_CERT_FILE"), getenv("SSL_CERT_DIR")
	return s
}

// Material reads the CA material s names again; ok is false when it is no
// longer what s.CASum says (a file was changed or replaced).
func (s Settings) Material() (pem []byte, ok bool) {
	if s.CAFile == "" && s.CADir == "" {
		return nil, true
	}
	sum, pem := readCA(s.CAFile, s.CADir)
	if sum != s.CASum {
		return nil, false
	}
	return pem, true
}

// readCA hashes the file and every file of the directories (a
// colon-separated list, as Go reads SSL_CERT_DIR) by name and content, a
// missing one included, and returns the hash and the concatenated PEM.
func readCA(file, dirs string) (string, []byte) {
	h := sha256.New()
	var pem []byte
	add := func(path string) {
		fmt.Fprintf(h, "%s\x00", path)
		// Only regular files: a FIFO or a device a later step put in the
		// CA file's place would block or never end.
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			fmt.Fprintf(h, "not a regular file\x00")
			return
		}
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintf(h, "missing\x00")
			return
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxCA-int64(len(pem))))
		if err != nil {
			fmt.Fprintf(h, "unreadable\x00")
			return
		}
		fmt.Fprintf(h, "%d\x00", len(b))
		h.Write(b)
		pem = append(append(pem, b...), '\n')
	}
	if file != "" {
		add(file)
	}
	for _, d := range filepath.SplitList(dirs) {
		if d == "" {
			continue
		}
		entries, err := os.ReadDir(d)
		if err != nil {
			fmt.Fprintf(h, "%s\x00missing dir\x00", d)
			continue
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, n := range names {
			p := filepath.Join(d, n)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				add(p)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), pem
}

// Changed names the variables whose values differ between s and o, sorted.
func (s Settings) Changed(o Settings) []string {
	var out []string
	for _, k := range ProxyVars {
		if s.Proxy[k] != o.Proxy[k] {
			out = append(out, k)
		}
	}
	if s.CAFile != o.CAFile {
		out = append(out, "SSL_CERT_FILE")
	}
	if s.CADir != o.CADir {
		out = append(out, "SSL_CERT_DIR")
	}
	return out
}

// proxyFunc is the proxy choice of these settings, as Go makes it from the
// environment (upper case first; loopback never proxied), but from values
// that can be injected rather than the process environment, which
// http.ProxyFromEnvironment reads once.
func (s Settings) proxyFunc() func(*url.URL) (*url.URL, error) {
	first := func(a, b string) string {
		if v := s.Proxy[a]; v != "" {
			return v
		}
		return s.Proxy[b]
	}
	c := &httpproxy.Config{
		HTTPSProxy: first("HTTPS_PROXY", "https_proxy"),
		HTTPProxy:  first("HTTP_PROXY", "http_proxy"),
		NoProxy:    first("NO_PROXY", "no_proxy"),
	}
	return c.ProxyFunc()
}

// Options say how to build the base transport.
type Options struct {
	Settings Settings
	// CA is PEM material to trust beside the system roots (what
	// SSL_CERT_FILE and SSL_CERT_DIR named, as read and hashed).
	CA []byte
	// Dial replaces the dialer (tests route a hostname to a fake).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Base returns the transport under every call: HTTP/1.1 only, the proxies
// of o.Settings, and the system roots plus o.CA.
func Base(o Options) http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// HTTP/2 would let GODEBUG=http2debug=2, which net/http reads before
	// main runs, print request headers (Authorization) and answers
	// (new tokens) straight to stderr. HTTP/1.1 has no such switch.
	t.ForceAttemptHTTP2 = false
	t.Protocols = new(http.Protocols)
	t.Protocols.SetHTTP1(true)
	t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	pf := o.Settings.proxyFunc()
	t.Proxy = func(r *http.Request) (*url.URL, error) { return pf(r.URL) }
	if len(o.CA) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		pool.AppendCertsFromPEM(o.CA)
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if o.Dial != nil {
		t.DialContext = o.Dial
	}
	return t
}

// Client returns the client every provider call goes through: retries per
// p over base, with the credential guard and the redirect rule.
func Client(base http.RoundTripper, p retry.Policy, onRetry func(*http.Request, int, string, time.Duration)) *http.Client {
	if base == nil {
		base = Base(Options{})
	}
	return &http.Client{
		Transport:     &retry.Transport{Base: guard{base}, Policy: p, OnRetry: onRetry},
		CheckRedirect: CheckRedirect,
		Timeout:       2 * time.Minute,
	}
}

// guard refuses, below every library's own authentication (go-github sets
// Authorization under net/http's redirect handling), to send a credential
// in clear to another machine or in a URL.
type guard struct{ base http.RoundTripper }

func (g guard) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := CheckURL(r); err != nil {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, err
	}
	return g.base.RoundTrip(r)
}

// ErrCleartext is a credentialed request over plain http to another machine.
var ErrCleartext = errors.New("refused to send a credential over plain http to another machine; use https")

// CheckURL says whether r may be sent: no user:password in its URL, and no
// credential (Authorization) over plain http except to this machine.
func CheckURL(r *http.Request) error {
	if r.URL.User != nil {
		return errors.New("refused a URL that holds credentials (user:password@host)")
	}
	if r.URL.Scheme == "https" {
		return nil
	}
	if r.Header.Get("Authorization") != "" && !Loopback(r.URL.Hostname()) {
		return ErrCleartext
	}
	return nil
}

// RedirectError is a redirect that a credentialed call does not follow.
type RedirectError struct{ From, To string }

func (e *RedirectError) Error() string {
	return fmt.Sprintf("refused a redirect from %s to %s: jobtoken follows no redirect to another host or scheme, because its calls carry credentials", e.From, e.To)
}

// CheckRedirect allows a redirect only to the scheme and host of the
// original request: every jobtoken call carries a credential (in a header
// or, for token exchanges, in the body a 307 would replay).
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		return &RedirectError{From: first.Scheme + "://" + first.Host, To: req.URL.Scheme + "://" + req.URL.Host}
	}
	return nil
}

// Loopback reports whether host is this machine.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Summary turns a transport error into one line without the request URL
// (which url.Error repeats and which may carry a query worth keeping out of
// logs).
func Summary(err error) string {
	var tl *retry.TooLargeError
	if errors.As(err, &tl) {
		return tl.Error()
	}
	var re *RedirectError
	if errors.As(err, &re) {
		return re.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return "network error: " + ue.Err.Error()
	}
	return err.Error()
}

// Same reports whether two API URLs name the same place, ignoring a
// trailing slash and the case of scheme and host.
func Same(a, b string) bool {
	norm := func(s string) string {
		s = strings.TrimRight(s, "/")
		u, err := url.Parse(s)
		if err != nil {
			return s
		}
		u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		return u.String()
	}
	return norm(a) == norm(b)
}
