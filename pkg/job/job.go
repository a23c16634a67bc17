// Package job runs jobtoken's two stages on any host: main (read inputs →
// validate → mint → mask → publish → remember) and post (revoke). It also
// builds, for plan and every command, the one provider request.
package job

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/retry"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// expirySlack keeps a runner whose clock runs fast from skipping the
// revocation of a token that is still valid; revoking an expired token costs
// one request that answers "already gone".
const expirySlack = 10 * time.Minute

// Runner is what a stage runs with: the host, the providers, and what tests
// inject. Host and Providers are required.
type Runner struct {
	Host      host.Host
	Providers *provider.Registry
	// Transport is the base HTTP transport (tests inject fakes and counters).
	Transport http.RoundTripper
	// Retry overrides the retry policy (tests make it instant).
	Retry   *retry.Policy
	Now     func() time.Time
	Secrets *secret.Set
	// Dial, when set, replaces the base transport's dialer (tests route a
	// hostname to a fake). Ignored when Transport is set.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Setenv, when set, changes the process environment (value "" unsets):
	// the post stage makes SSL_CERT_FILE and SSL_CERT_DIR what the main
	// stage ran with before the first TLS handshake, because Go's system
	// roots read them from the process environment. Tests leave it nil.
	Setenv func(key, value string)
	// StartBroker, when set, replaces starting the broker process with the
	// handoff on its stdin (tests).
	StartBroker func(handoff []byte) error

	// broker is set once the main stage has started one: saved with the
	// state.
	broker *brokerInfo

	// net is the network settings calls use: captured from the host's
	// environment (main, commands), or the main stage's (post).
	net *netState

	// redactOnly holds values a provider registered through Request.Redact
	// that no mask command has carried yet: if they later turn out to be
	// handed to the job (Token.Secrets), Mask still tells the CI system.
	mu         sync.Mutex
	redactOnly map[string]bool
}

func (e *Runner) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Runner) secrets() *secret.Set {
	if e.Secrets == nil {
		e.Secrets = &secret.Set{}
	}
	return e.Secrets
}

// netState is the network settings calls are made with, and the CA
// material (as read and hashed) to trust beside the system roots.
type netState struct {
	settings network.Settings
	ca       []byte
}

// network returns the settings in use, captured from the host's
// environment the first time.
func (e *Runner) network() *netState {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.net == nil {
		s, ca := network.Capture(e.Host.Getenv)
		e.net = &netState{settings: s, ca: ca}
	}
	return e.net
}

// HTTPClient returns the client every provider call goes through (see
// package network): retries, no redirect to another host or scheme, no
// credential in clear, answers capped, HTTP/1.1 with this step's proxies
// and CA material.
func (e *Runner) HTTPClient() *http.Client {
	p := retry.Default
	if e.Retry != nil {
		p = *e.Retry
	}
	base := e.Transport
	if base == nil {
		n := e.network()
		base = network.Base(network.Options{Settings: n.settings, CA: n.ca, Dial: e.Dial})
	}
	return network.Client(base, p, func(r *http.Request, attempt int, reason string, wait time.Duration) {
		e.Host.Infof("%s %s%s: %s; retrying in %s (attempt %d)", r.Method, r.URL.Host, r.URL.Path, reason, wait.Round(time.Millisecond), attempt+1)
	})
}

// Mask registers values as secrets and asks the host to mask them. It must
// run before a value is written anywhere.
func (e *Runner) Mask(values ...string) {
	added := e.secrets().Add(values...)
	e.mu.Lock()
	for _, v := range values {
		if e.redactOnly[v] {
			delete(e.redactOnly, v)
			added = append(added, v)
		}
	}
	e.mu.Unlock()
	for _, v := range added {
		e.Host.Mask(v)
	}
}

// redact registers values with the redacting writers only (Request.Redact).
func (e *Runner) redact(values ...string) {
	added := e.secrets().Add(values...)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.redactOnly == nil {
		e.redactOnly = map[string]bool{}
	}
	for _, v := range added {
		e.redactOnly[v] = true
	}
}

// maskSecretInputs masks every credential input given: the one loop that
// does, for the main and post stages and every command.
func (e *Runner) maskSecretInputs(v inputs.Values) {
	for _, s := range e.Providers.Catalog().SecretValues(v) {
		// "$(NAME)" is an undefined variable's name, not a secret.
		if !unexpandedRE.MatchString(s) {
			e.Mask(s)
		}
	}
}

// Request builds the provider request for inputs v on the runner's host.
func (e *Runner) Request(v inputs.Values) provider.Request { return e.RequestOn(e.Host, v) }

// RequestOn builds the provider request for inputs v as if the step ran on
// src (a plan describes a CI host from a terminal): the one constructor of
// a provider.Request, for the stages, plan and every command. Every field
// is set; the host's optional capabilities (an OIDC token, service
// connections, a person at a terminal) are offered when src has them.
func (e *Runner) RequestOn(src host.Source, v inputs.Values) provider.Request {
	c, _ := ParseCommon(v, e.Providers)
	if c.Lifetime == 0 {
		c.Lifetime = time.Hour // already reported; keeps provider checks quiet
	}
	hc := e.HTTPClient()
	req := provider.Request{
		Inputs:      v,
		Naming:      src.Naming(),
		Run:         src.Run(),
		Permissions: c.Permissions,
		Lifetime:    c.Lifetime,
		AllowBroad:  c.AllowBroad,
		Getenv:      src.Getenv,
		HTTP:        hc,
		Now:         e.now,
		Log:         e.Host,
		Redact:      e.redact,
	}
	if h, ok := src.(host.OIDCHost); ok {
		req.OIDC = h.OIDC(hc)
	}
	if h, ok := src.(host.ServiceConnectionHost); ok {
		req.Connection = func(id string) (host.ServiceConnection, error) { return h.ServiceConnection(id, hc) }
	}
	if _, ok := src.(host.Terminal); ok {
		req.Terminal = true
	}
	return req
}
