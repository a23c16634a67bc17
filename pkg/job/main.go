package job

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

// Prepared is a validated request ready to mint.
type Prepared struct {
	Common   Common
	Provider provider.Provider
	Minter   provider.Minter
	Request  provider.Request
	// Destinations are where revoking sends credentials, as the main stage
	// resolves them: saved for the post stage.
	Destinations map[string]string
}

// Prepare reads and validates every input offline. Parent credentials are
// masked before anything else happens.
func (e *Runner) Prepare() (*Prepared, inputs.Problems) {
	v := e.Host.Inputs()
	e.maskSecretInputs(v)
	c, ps := ParseCommon(v, e.Providers)
	// An undefined pipeline variable reaches us as "$(NAME)"; say that rather
	// than "not a PEM key", and drop the other problems of that input.
	var unexpanded inputs.Problems
	undefined := map[string]bool{}
	for _, in := range e.Providers.Catalog().Inputs() {
		raw, _ := v.Raw(in.Key)
		if m := unexpandedRE.FindStringSubmatch(raw); m != nil {
			undefined[in.Key] = true
			unexpanded.Add(in, "is the literal text $(%s): the pipeline variable %s is not defined here; define it (for a secret, in a variable group or as a secret variable mapped to this job)", m[1], m[1])
		}
	}
	prov, ok := e.Providers.Lookup(c.Provider)
	if len(ps) > 0 && !ok {
		return nil, append(unexpanded, ps...)
	}
	req := e.Request(v)
	m, pps := prov.Prepare(req)
	ps = append(ps, pps...)
	if brokerWanted(c) {
		ps = append(ps, e.checkBroker(c, prov, req)...)
	}
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
	dests, _ := prov.Destinations(req) // their problems are Prepare's too
	pl := m.Plan()
	e.Mask(pl.Secrets...)
	return &Prepared{Common: c, Provider: prov, Minter: m, Request: req, Destinations: provider.DestinationMap(dests)}, nil
}

// ErrReported means the failure was already reported through the host.
var ErrReported = errors.New("failed")

// ErrInputs means the inputs were refused before any call (and reported
// through the host); it is an ErrReported.
var ErrInputs = fmt.Errorf("invalid inputs: %w", ErrReported)

// Main runs the main stage. It returns ErrReported (already logged) or nil.
func Main(ctx context.Context, e *Runner) error {
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
		s := provider.Saved{Provider: p.Provider.Name(), Revoke: true, Revocable: true, Pending: true, Destinations: p.Destinations, State: lf.LostState()}
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
	if brokerWanted(p.Common) {
		// The token is published and saved: if the broker cannot start,
		// the post step revokes it.
		if err := e.startBroker(ctx, p, tok); err != nil {
			e.Host.Errorf("%s", err)
			return ErrReported
		}
	}
	return nil
}

// publishOrRevoke publishes tok; if publishing fails, or panics, the token is
// revoked before the stage ends, because nothing would hand it to the post
// step.
func (e *Runner) publishOrRevoke(ctx context.Context, p *Prepared, tok *provider.Token) (err error) {
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
func (e *Runner) revokeNow(ctx context.Context, p *Prepared, tok *provider.Token) bool {
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
		Provider:     p.Provider.Name(),
		Token:        tok.Value,
		ID:           tok.ID,
		ExpiresAt:    tok.ExpiresAt,
		Revoke:       p.Common.Revoke,
		Revocable:    tok.Revocable,
		Destinations: p.Destinations,
		State:        tok.State,
	}
}

func (e *Runner) publish(p *Prepared, tok *provider.Token) error {
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
		out, _ := e.Providers.Catalog().Output(o.k)
		if err := h.SetOutput(o.k, o.v, o.k == inputs.OutToken || out.Secret); err != nil {
			return fmt.Errorf("failed to set output %s: %w", o.k, err)
		}
	}
	if name := p.Common.ExportEnv; name != "" {
		names := []string{name}
		if tok.ExportNames != nil {
			names = tok.ExportNames(name)
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
