// Package job runs jobtoken's two stages on any host: main (read inputs →
// validate → mint → mask → publish → remember) and post (revoke).
package job

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/retry"
	"github.com/jobtoken/jobtoken/pkg/seal"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// expirySlack keeps a runner whose clock runs fast from skipping the
// revocation of a token that is still valid; revoking an expired token costs
// one request that answers "already gone".
const expirySlack = 10 * time.Minute

// StateName is the one state entry the main stage leaves for the post stage.
const StateName = "jobtoken"

// Env is what a stage runs with; every field but Host is optional.
type Env struct {
	Host      host.Host
	Providers map[string]provider.Provider
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

	// net is the network settings calls use: captured from the host's
	// environment (main, commands), or the main stage's (post).
	net *netState

	// redactOnly holds values a provider registered through Request.Redact
	// that no mask command has carried yet: if they later turn out to be
	// handed to the job (Token.Secrets), Mask still tells the CI system.
	mu         sync.Mutex
	redactOnly map[string]bool
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Env) secrets() *secret.Set {
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
func (e *Env) network() *netState {
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
func (e *Env) HTTPClient() *http.Client {
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
func (e *Env) Mask(values ...string) {
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
func (e *Env) redact(values ...string) {
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

// Common holds the provider-independent inputs.
type Common struct {
	Provider    string
	Permissions []string
	Lifetime    time.Duration
	Revoke      bool
	ExportEnv   string
	AllowBroad  bool
	DryRun      bool
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseCommon validates the provider-independent inputs offline.
func ParseCommon(v inputs.Values, providers map[string]provider.Provider) (Common, inputs.Problems) {
	var c Common
	var ps inputs.Problems
	c.Provider = strings.ToLower(v.Get(inputs.Provider))
	// Name the providers the documentation names, in its order.
	pin, _ := inputs.Lookup(inputs.Provider)
	names := pin.Options
	switch {
	case c.Provider == "":
		ps.Add(inputs.Provider, "is required; set it to one of %s", strings.Join(names, ", "))
	case providers[c.Provider] == nil:
		ps.Add(inputs.Provider, "unknown provider %q (valid: %s)%s", c.Provider, strings.Join(names, ", "), inputs.DidYouMean(c.Provider, names))
	}
	c.Permissions = inputs.List(v.Get(inputs.Permissions))
	lt := v.Get(inputs.Lifetime)
	d, err := time.ParseDuration(lt)
	switch {
	case err != nil:
		ps.Add(inputs.Lifetime, "%q is not a duration; write it like 30m or 1h", lt)
	case d <= 0:
		ps.Add(inputs.Lifetime, "%q must be positive; write it like 30m or 1h", lt)
	default:
		c.Lifetime = d
	}
	var p *inputs.Problem
	c.Revoke, p = v.Bool(inputs.Revoke)
	ps.AddP(p)
	c.AllowBroad, p = v.Bool(inputs.AllowBroadScopes)
	ps.AddP(p)
	c.DryRun, p = v.Bool(inputs.DryRun)
	ps.AddP(p)
	c.ExportEnv = v.Get(inputs.ExportEnv)
	if c.ExportEnv != "" {
		up := strings.ToUpper(c.ExportEnv)
		switch {
		case !envNameRE.MatchString(c.ExportEnv):
			ps.Add(inputs.ExportEnv, "%q is not an environment variable name; use letters, digits and _ such as GH_TOKEN", c.ExportEnv)
		case reservedEnv(up):
			ps.Add(inputs.ExportEnv, "%q is reserved by the runner or agent; choose another name such as GH_TOKEN", c.ExportEnv)
		}
	}
	return c, ps
}

// reservedEnv lists names the GitHub runner refuses or the Azure agent owns;
// exporting the token under them would break the job or leak it to the agent.
func reservedEnv(up string) bool {
	for _, p := range []string{"GITHUB_", "RUNNER_", "ACTIONS_", "SYSTEM_", "AGENT_", "BUILD_", "ENDPOINT_", "INPUT_", "SECRET_", "VSTS_", "STATE_"} {
		if strings.HasPrefix(up, p) {
			return true
		}
	}
	switch up {
	case "NODE_OPTIONS", "PATH", "TF_BUILD", "HOME":
		return true
	}
	return false
}

// unexpandedRE matches a pipeline variable reference the agent left as is
// because the variable is not defined (or is a secret not mapped).
var unexpandedRE = regexp.MustCompile(`^\$\(([A-Za-z0-9_.\-]+)\)$`)

// Prepared is a validated request ready to mint.
type Prepared struct {
	Common   Common
	Provider provider.Provider
	Minter   provider.Minter
	Request  provider.Request
}

// Prepare reads and validates every input offline. Parent credentials are
// masked before anything else happens.
func (e *Env) Prepare() (*Prepared, inputs.Problems) {
	v := e.Host.Inputs()
	for _, in := range inputs.Catalog {
		// "$(NAME)" is an undefined variable's name, not a secret.
		if in.Secret && v.Given(in.Key) && !unexpandedRE.MatchString(v[in.Key]) {
			e.Mask(v.Get(in.Key))
		}
	}
	c, ps := ParseCommon(v, e.Providers)
	// An undefined pipeline variable reaches us as "$(NAME)"; say that rather
	// than "not a PEM key", and drop the other problems of that input.
	var unexpanded inputs.Problems
	undefined := map[string]bool{}
	for _, in := range inputs.Catalog {
		if m := unexpandedRE.FindStringSubmatch(v[in.Key]); m != nil {
			undefined[in.Key] = true
			unexpanded.Add(in.Key, "is the literal text $(%s): the pipeline variable %s is not defined here; define it (for a secret, in a variable group or as a secret variable mapped to this job)", m[1], m[1])
		}
	}
	if len(ps) > 0 && (c.Provider == "" || e.Providers[c.Provider] == nil) {
		return nil, append(unexpanded, ps...)
	}
	prov := e.Providers[c.Provider]
	req := e.Request(v)
	req.Permissions, req.Lifetime, req.AllowBroad = c.Permissions, c.Lifetime, c.AllowBroad
	if c.Lifetime == 0 {
		req.Lifetime = time.Hour // already reported; keeps provider checks quiet
	}
	m, pps := prov.Prepare(req)
	ps = append(ps, pps...)
	if len(unexpanded) > 0 {
		kept := unexpanded
		for _, p := range ps {
			if !undefined[p.Key] {
				kept = append(kept, p)
			}
		}
		ps = kept
	}
	if len(ps) > 0 {
		return nil, ps
	}
	e.Mask(m.Plan().Secrets...)
	return &Prepared{Common: c, Provider: prov, Minter: m, Request: req}, nil
}

// Request builds a provider request for this host.
func (e *Env) Request(v inputs.Values) provider.Request {
	return provider.Request{
		Inputs: v,
		Run:    e.Host.Run(),
		Host:   e.Host.Name(),
		Getenv: e.Host.Getenv,
		HTTP:   e.HTTPClient(),
		Now:    e.now,
		Log:    e.Host,
		Redact: e.redact,
	}
}

// ErrReported means the failure was already reported through the host.
var ErrReported = errors.New("failed")

// ErrInputs means the inputs were refused before any call (and reported
// through the host); it is an ErrReported.
var ErrInputs = fmt.Errorf("invalid inputs: %w", ErrReported)

// Main runs the main stage. It returns ErrReported (already logged) or nil.
func Main(ctx context.Context, e *Env) error {
	p, ps := e.Prepare()
	if len(ps) > 0 {
		for _, pr := range ps {
			e.Host.Errorf("%s", pr.Format(e.Host.Naming()))
		}
		return ErrInputs
	}
	if p.Common.DryRun {
		PrintPlan(e.Host, p)
		return nil
	}
	if pf, ok := e.Host.(host.Preflighter); ok {
		if err := pf.Preflight(p.Common.ExportEnv != ""); err != nil {
			e.Host.Errorf("%s", err)
			return ErrReported
		}
	}
	// Before the create, record what the post step needs to find a token
	// whose answer is lost (the step cancelled mid-create, a proxy dropping
	// the answer): the main stage may not live to clean up.
	pending := false
	if lf, ok := p.Minter.(provider.LostFinder); ok {
		s := provider.Saved{Provider: p.Provider.Name(), Revoke: true, Revocable: true, Pending: true, State: lf.LostState()}
		if err := e.saveState(p, s); err != nil {
			e.Host.Errorf("failed to save state: %s", err)
			return ErrReported
		}
		pending = true
	}
	tok, err := p.Minter.Mint(ctx)
	if tok != nil {
		// Mask before anything else can print the token, then record it
		// for the post step at once.
		e.Mask(append([]string{tok.Value}, tok.Secrets...)...)
		saved := savedFrom(p, tok)
		if err != nil {
			// A token that must not be kept is revoked in the post step
			// should revoking it here fail, whatever revoke says.
			saved.Revoke = true
		}
		if serr := e.saveState(p, saved); serr != nil && err == nil {
			err = fmt.Errorf("failed to publish the token: failed to save state: %w", serr)
		}
	}
	if err != nil {
		msg := err.Error()
		switch {
		case tok != nil:
			// The provider said what it found; what happened to the
			// token is said here, where it is revoked.
			if e.revokeNow(ctx, p, tok) {
				e.clearState()
				msg += ". The token was revoked"
			} else {
				msg += ". Revoking the token failed (see the warning above); the post step tries again"
			}
		case pending && !errors.Is(err, provider.ErrMaybeLost) && ctx.Err() == nil:
			// Nothing was minted, or what a lost answer left is gone.
			e.clearState()
		}
		e.Host.Errorf("%s", msg)
		return ErrReported
	}
	if err := e.publishOrRevoke(ctx, p, tok); err != nil {
		e.Host.Errorf("failed to publish the token: %s", err)
		return ErrReported
	}
	return nil
}

// publishOrRevoke publishes tok; if publishing fails, or panics, the token is
// revoked before the stage ends, because nothing would hand it to the post
// step.
func (e *Env) publishOrRevoke(ctx context.Context, p *Prepared, tok *provider.Token) (err error) {
	done := false
	defer func() {
		switch {
		case done:
		case e.revokeNow(ctx, p, tok):
			e.clearState()
		default:
			// Nobody got the token: the post step revokes it, whatever
			// revoke says.
			s := savedFrom(p, tok)
			s.Revoke = true
			_ = e.saveState(p, s)
		}
	}()
	err = e.publish(p, tok)
	done = err == nil
	return err
}

// revokeNow revokes a token the main stage minted but cannot hand over, and
// reports whether it is gone.
func (e *Env) revokeNow(ctx context.Context, p *Prepared, tok *provider.Token) bool {
	if !tok.Revocable {
		e.Host.Warningf("token %s cannot be revoked; it expires at %s", tok.ID, tok.ExpiresAt.Format(time.RFC3339))
		return false
	}
	saved := savedFrom(p, tok)
	saved.Authenticated = true
	// The step may be failing because it was cancelled; the token must
	// still die, so revoke outside that cancellation, within a bound.
	ctx, cancel := provider.CleanupContext(ctx)
	defer cancel()
	switch err := p.Provider.Revoke(ctx, p.Request, saved); {
	case err == nil || errors.Is(err, provider.ErrAlreadyRevoked):
		e.Host.Infof("revoked token %s before exiting", tok.ID)
		return true
	default:
		e.Host.Warningf("failed to revoke token %s: %s; it stays valid until %s", tok.ID, err, tok.ExpiresAt.Format(time.RFC3339))
		return false
	}
}

func savedFrom(p *Prepared, tok *provider.Token) provider.Saved {
	return provider.Saved{
		Provider:  p.Provider.Name(),
		Token:     tok.Value,
		ID:        tok.ID,
		ExpiresAt: tok.ExpiresAt,
		Revoke:    p.Common.Revoke,
		Revocable: tok.Revocable,
		State:     tok.State,
	}
}

func (e *Env) publish(p *Prepared, tok *provider.Token) error {
	h := e.Host
	outs := []struct{ k, v string }{
		{inputs.OutToken, tok.Value},
		{inputs.OutExpiresAt, tok.ExpiresAt.UTC().Format(time.RFC3339)},
		{inputs.OutTokenID, tok.ID},
		{inputs.OutPermissions, tok.Granted},
	}
	keys := make([]string, 0, len(tok.Outputs))
	for k := range tok.Outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		outs = append(outs, struct{ k, v string }{k, tok.Outputs[k]})
	}
	for _, o := range outs {
		if err := h.SetOutput(o.k, o.v, o.k == inputs.OutToken); err != nil {
			return fmt.Errorf("failed to set output %s: %w", o.k, err)
		}
	}
	if name := p.Common.ExportEnv; name != "" {
		names := []string{name}
		if tok.Env != nil {
			names = tok.Env(name)
		}
		for _, n := range names {
			if err := h.ExportEnv(n, tok.Value, true); err != nil {
				return fmt.Errorf("failed to export %s: %w", n, err)
			}
		}
	}
	if err := h.Summary(summary(p, tok)); err != nil {
		h.Warningf("failed to write the step summary: %s", err)
	}
	h.Infof("minted %s token %s (%s), expires %s", p.Provider.Name(), tok.ID, tok.Granted, tok.ExpiresAt.UTC().Format(time.RFC3339))
	if !p.Common.Revoke {
		h.Noticef("revoke is false: token %s stays valid until %s", tok.ID, tok.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

func summary(p *Prepared, tok *provider.Token) string {
	var b strings.Builder
	b.WriteString("### jobtoken\n\n| | |\n|---|---|\n")
	row := func(k, v string) {
		v = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(v)
		fmt.Fprintf(&b, "| %s | %s |\n", k, v)
	}
	row("Provider", p.Provider.Name())
	row("Token ID", "`"+tok.ID+"`")
	row("Permissions", tok.Granted)
	for _, r := range tok.Summary {
		row(r[0], r[1])
	}
	row("Expires", tok.ExpiresAt.UTC().Format(time.RFC3339))
	switch {
	case !tok.Revocable:
		row("Revocation", "cannot be revoked; it expires at "+tok.ExpiresAt.UTC().Format(time.RFC3339))
	case p.Common.Revoke:
		row("Revocation", "in the post step")
	default:
		row("Revocation", "disabled (revoke: false)")
	}
	return b.String()
}

// Post runs the post stage: revoke what the main stage minted. Failures to
// revoke are warnings; the job is not failed for them.
//
// The state is trusted only when it verifies against this step's own
// parent-credential inputs (see package seal); where credentials go is
// decided by the post step's own inputs, resolved with the main stage's code
// and checks, and by what the main stage recorded, never by state alone.
func Post(ctx context.Context, e *Env) error {
	h := e.Host
	raw, ok := h.State(StateName)
	if !ok || strings.TrimSpace(raw) == "" {
		h.Infof("Skipping revocation: the main step minted no token (it failed, was skipped, or was a dry run)")
		return nil
	}
	v := h.Inputs()
	for _, in := range inputs.Catalog {
		if in.Secret && v.Given(in.Key) && !unexpandedRE.MatchString(v[in.Key]) {
			e.Mask(v.Get(in.Key))
		}
	}
	var st sealed
	auth, err := seal.Open(stateKey(v), raw, &st)
	where := stateName(h.Name())
	switch {
	case errors.Is(err, seal.ErrForged):
		h.Noticef("Skipping revocation: the state this post step received (%s) %s, so this step's main stage did not write it (a later step can set it) or the credential input changed since; nothing was revoked", where, err)
		return nil
	case err != nil:
		h.Noticef("Skipping revocation: the state this post step received (%s) is %s; nothing was revoked", where, err)
		return nil
	}
	saved := st.Saved
	saved.Authenticated = auth
	if saved.Token != "" {
		e.Mask(saved.Token)
	}
	own := strings.ToLower(v.Get(inputs.Provider))
	if saved.Provider != own {
		h.Noticef("Skipping revocation: the state this post step received (%s) names provider %q, but this step's provider is %q; nothing was revoked", where, saved.Provider, own)
		return nil
	}
	if run := h.Run().Label(); st.Run != run {
		h.Noticef("Skipping revocation: the state this post step received (%s) was written for %q, not this run (%q); nothing was revoked", where, st.Run, run)
		return nil
	}
	exp := saved.ExpiresAt.UTC().Format(time.RFC3339)
	switch {
	case !saved.Revoke:
		h.Noticef("Skipping revocation of token %s: revoke is false; it stays valid until %s", saved.ID, exp)
		return nil
	case !saved.Revocable:
		h.Noticef("Token %s cannot be revoked; expires at %s", saved.ID, exp)
		return nil
	case !saved.ExpiresAt.IsZero() && e.now().After(saved.ExpiresAt.Add(expirySlack)):
		h.Infof("Skipping revocation of token %s: it already expired at %s", saved.ID, exp)
		return nil
	}
	prov := e.Providers[saved.Provider]
	if prov == nil {
		h.Warningf("Skipping revocation of token %s: unknown provider %q in state", saved.ID, saved.Provider)
		return nil
	}
	if auth {
		e.useRecorded(st.Network)
	} else {
		h.Noticef("The state left by the main step cannot be authenticated: this step has no parent-credential input to check it with. Only what needs no parent credential is done, with this step's own inputs and network settings")
	}
	req := e.Request(v)
	if !e.decideDestinations(&saved, prov, req) {
		return nil
	}
	if saved.Pending {
		h.Infof("The main step did not learn the %s token it asked for (it was cancelled, or the answer was lost); looking for one it may have left", saved.Provider)
	}
	err = prov.Revoke(ctx, req, saved)
	switch {
	case err == nil && saved.Pending:
		h.Infof("Revoked the %s token the main step's lost answer left", saved.Provider)
	case errors.Is(err, provider.ErrAlreadyRevoked) && saved.Pending:
		h.Infof("The main step left no %s token behind", saved.Provider)
	case err == nil:
		h.Infof("Revoked %s token %s", saved.Provider, saved.ID)
	case errors.Is(err, provider.ErrAlreadyRevoked):
		h.Noticef("Token %s was already revoked or expired", saved.ID)
	case saved.Pending:
		h.Warningf("Failed to look for a %s token the main step's lost answer may have left: %s", saved.Provider, err)
	default:
		h.Warningf("Failed to revoke token %s: %s; it stays valid until %s", saved.ID, err, exp)
	}
	return nil
}

// decideDestinations sets where Revoke sends credentials. With authenticated
// state, the main stage's destinations stand, and a different resolution
// here (a later step changed GITHUB_API_URL, say) is only reported; without
// it, they come from this step's own inputs alone. It reports whether
// revocation may go on.
func (e *Env) decideDestinations(saved *provider.Saved, prov provider.Provider, req provider.Request) bool {
	h := e.Host
	dests, ps := prov.Destinations(req)
	bad := map[string]string{}
	for _, p := range ps {
		bad[p.Key] = p.Msg
	}
	state := map[string]string{}
	for k, v := range saved.State {
		state[k] = v
	}
	for _, d := range dests {
		name := h.Naming().Name(d.Input)
		msg, isBad := bad[d.Input]
		if saved.Authenticated {
			main := state[d.Key]
			switch {
			case isBad:
				h.Noticef("%s %s here; using the main step's %s", name, msg, orNone(main))
			case !sameDestination(d, main):
				h.Noticef("%s resolves to %s here but was %s in the main step; using the main step's", name, orNone(d.Value), orNone(main))
			}
			continue
		}
		if isBad {
			h.Warningf("Skipping revocation: %s %s", name, msg)
			return false
		}
		state[d.Key] = d.Value
	}
	saved.State = state
	return true
}

func sameDestination(d provider.Destination, main string) bool {
	if d.URL {
		return network.Same(d.Value, main)
	}
	return strings.EqualFold(d.Value, main)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// useRecorded makes calls use the network settings the main stage ran
// with, not ones a later step added, and says what it ignores. CA material
// that changed since is not trusted: the system roots are used instead.
func (e *Env) useRecorded(rec network.Settings) {
	h := e.Host
	// Only the variables: the files a later step names are not read.
	if changed := rec.Changed(network.Read(h.Getenv)); len(changed) > 0 {
		h.Noticef("Using the network settings the main step ran with: %s changed since (a later step can set them) and are ignored here", strings.Join(changed, ", "))
	}
	pem, ok := rec.Material()
	if !ok {
		h.Noticef("The CA material named by SSL_CERT_FILE/SSL_CERT_DIR changed since the main step; it is not trusted here, and the system roots are used")
		rec.CAFile, rec.CADir, rec.CASum = "", "", ""
	}
	if e.Setenv != nil {
		// Go's system roots read these once, from the process
		// environment, at the first TLS handshake: make them the main
		// step's before it.
		for k, v := range map[string]string{"SSL_CERT_FILE": rec.CAFile, "SSL_CERT_DIR": rec.CADir} {
			if h.Getenv(k) != v {
				e.Setenv(k, v)
			}
		}
	}
	e.mu.Lock()
	e.net = &netState{settings: rec, ca: pem}
	e.mu.Unlock()
}

// sealed is what the main stage seals for the post stage: the token and
// what revoking it needs (destinations included), the run it belongs to,
// and the network settings the main stage ran with.
type sealed struct {
	provider.Saved
	Run     string           `json:"run"`
	Network network.Settings `json:"network"`
}

// stateKey derives the state's MAC key from the step's parent-credential
// inputs as it received them (the same raw values reach main and post).
func stateKey(v inputs.Values) []byte {
	var pairs [][2]string
	for _, in := range inputs.Catalog {
		if in.Secret {
			pairs = append(pairs, [2]string{in.Key, v[in.Key]})
		}
	}
	return seal.Key(pairs...)
}

// stateName says where the post stage read its state, for notices.
func stateName(hostName string) string {
	switch hostName {
	case "github":
		return "STATE_" + StateName
	case "azure":
		return "VSTS_TASKVARIABLE_" + strings.ToUpper(StateName)
	}
	return "the saved state"
}

// saveState seals saved with this step's key, run and network settings.
func (e *Env) saveState(p *Prepared, saved provider.Saved) error {
	raw, err := seal.Seal(stateKey(p.Request.Inputs), sealed{Saved: saved, Run: e.Host.Run().Label(), Network: e.network().settings})
	if err != nil {
		return err
	}
	return e.Host.SaveState(StateName, raw)
}

// clearState tells the post stage there is nothing left to do.
func (e *Env) clearState() {
	if err := e.Host.SaveState(StateName, ""); err != nil {
		e.Host.Debugf("failed to clear the state: %s", err)
	}
}

// SealState seals saved as the main stage of a step with inputs v, run and
// network settings ns would: tests and tools that stand in for a main stage
// use it.
func SealState(v inputs.Values, run host.Run, ns network.Settings, saved provider.Saved) (string, error) {
	return seal.Seal(stateKey(v), sealed{Saved: saved, Run: run.Label(), Network: ns})
}

// OpenState reads state saved by Main with the inputs v (jobtoken mint
// reads back what it minted).
func OpenState(v inputs.Values, raw string) (provider.Saved, error) {
	var st sealed
	auth, err := seal.Open(stateKey(v), raw, &st)
	st.Saved.Authenticated = auth
	return st.Saved, err
}

// PrintPlan logs the plan of a prepared step, for dry runs.
func PrintPlan(h host.Host, p *Prepared) {
	pl := p.Minter.Plan()
	h.Infof("dry run: would mint one %s token", pl.Provider)
	h.Infof("  parent:      %s", pl.Parent)
	h.Infof("  scopes:      %s", strings.Join(pl.Scopes, ", "))
	if len(pl.Resources) > 0 {
		h.Infof("  resources:   %s", strings.Join(pl.Resources, ", "))
	}
	h.Infof("  lifetime:    %s", FormatDuration(pl.Lifetime))
	if p.Common.ExportEnv != "" {
		h.Infof("  publish:     output token, env %s", p.Common.ExportEnv)
	} else {
		h.Infof("  publish:     output token")
	}
	rev := pl.Revocation
	if !p.Common.Revoke && pl.Revocable {
		rev = "not revoked (revoke: false)"
	}
	h.Infof("  revocation:  %s", rev)
	for _, n := range pl.Notes {
		h.Infof("  note:        %s", n)
	}
}

// FormatDuration prints 1h rather than 1h0m0s.
func FormatDuration(d time.Duration) string { return inputs.FormatDuration(d) }
