// Package job runs jobtoken's two stages on any host: main (read inputs →
// validate → mint → mask → publish → remember) and post (revoke).
package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/retry"
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

// HTTPClient returns the retrying client every provider call goes through.
func (e *Env) HTTPClient() *http.Client {
	p := retry.Default
	if e.Retry != nil {
		p = *e.Retry
	}
	t := &retry.Transport{Base: e.Transport, Policy: p}
	t.OnRetry = func(r *http.Request, attempt int, reason string, wait time.Duration) {
		e.Host.Infof("%s %s%s: %s; retrying in %s (attempt %d)", r.Method, r.URL.Host, r.URL.Path, reason, wait.Round(time.Millisecond), attempt+1)
	}
	return &http.Client{Transport: t, Timeout: 2 * time.Minute}
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

// Main runs the main stage. It returns ErrReported (already logged) or nil.
func Main(ctx context.Context, e *Env) error {
	p, ps := e.Prepare()
	if len(ps) > 0 {
		for _, pr := range ps {
			e.Host.Errorf("%s", pr.Format(e.Host.Naming()))
		}
		return ErrReported
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
	tok, err := p.Minter.Mint(ctx)
	if tok != nil {
		// Mask before anything else can print the token.
		e.Mask(append([]string{tok.Value}, tok.Secrets...)...)
	}
	if err != nil {
		if tok != nil {
			e.revokeNow(ctx, p, tok)
		}
		e.Host.Errorf("%s", err)
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
		if !done {
			e.revokeNow(ctx, p, tok)
		}
	}()
	err = e.publish(p, tok)
	done = err == nil
	return err
}

// revokeNow revokes a token the main stage minted but cannot hand over.
func (e *Env) revokeNow(ctx context.Context, p *Prepared, tok *provider.Token) {
	if !tok.Revocable {
		e.Host.Warningf("token %s cannot be revoked; it expires at %s", tok.ID, tok.ExpiresAt.Format(time.RFC3339))
		return
	}
	saved := savedFrom(p, tok)
	// The step may be failing because it was cancelled; the token must
	// still die, so revoke outside that cancellation, within a bound.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	switch err := p.Provider.Revoke(ctx, p.Request, saved); {
	case err == nil || errors.Is(err, provider.ErrAlreadyRevoked):
		e.Host.Infof("revoked token %s before exiting", tok.ID)
	default:
		e.Host.Warningf("failed to revoke token %s: %s; it stays valid until %s", tok.ID, err, tok.ExpiresAt.Format(time.RFC3339))
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
	// State first: if anything below fails, the post stage can still revoke.
	st, err := json.Marshal(savedFrom(p, tok))
	if err != nil {
		return err
	}
	if err := h.SaveState(StateName, string(st)); err != nil {
		return fmt.Errorf("failed to save state: %w", err)
	}
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
func Post(ctx context.Context, e *Env) error {
	h := e.Host
	raw, ok := h.State(StateName)
	if !ok || strings.TrimSpace(raw) == "" {
		h.Infof("Skipping revocation: the main step minted no token (it failed, was skipped, or was a dry run)")
		return nil
	}
	var saved provider.Saved
	if err := json.Unmarshal([]byte(raw), &saved); err != nil || saved.Token == "" {
		h.Warningf("Skipping revocation: the state left by the main step is unreadable")
		return nil
	}
	e.Mask(saved.Token)
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
	v := h.Inputs()
	for _, in := range inputs.Catalog {
		if in.Secret && v.Given(in.Key) && !unexpandedRE.MatchString(v[in.Key]) {
			e.Mask(v.Get(in.Key))
		}
	}
	err := prov.Revoke(ctx, e.Request(v), saved)
	switch {
	case err == nil:
		h.Infof("Revoked %s token %s", saved.Provider, saved.ID)
	case errors.Is(err, provider.ErrAlreadyRevoked):
		h.Noticef("Token %s was already revoked or expired", saved.ID)
	default:
		h.Warningf("Failed to revoke token %s: %s; it stays valid until %s", saved.ID, err, exp)
	}
	return nil
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
