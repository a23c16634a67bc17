package job

import (
	"context"
	"errors"
	"maps"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/seal"
)

// Post runs the post stage: revoke what the main stage minted. Failures to
// revoke are warnings; the job is not failed for them.
//
// The state is trusted only when it verifies against this step's own
// parent-credential inputs (see package seal); where credentials go is
// decided by the post step's own inputs, resolved with the main stage's code
// and checks, and by what the main stage recorded, never by state alone.
func Post(ctx context.Context, e *Runner) error {
	h := e.Host
	raw, ok := h.State(StateName)
	if !ok || strings.TrimSpace(raw) == "" {
		h.Infof("Skipping revocation: the main step minted no token (it failed, was skipped, or was a dry run)")
		return nil
	}
	v := h.Inputs()
	e.maskSecretInputs(v)
	var st sealed
	auth, err := seal.Open(stateKey(e.Providers.Catalog(), v), raw, &st)
	where := "the saved state"
	if sv, ok := h.(host.StateVariable); ok {
		where = sv.StateVariable(StateName)
	}
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
		if st.Broker != nil {
			e.stopBroker(*st.Broker)
		}
		return nil
	case st.Broker == nil && !saved.ExpiresAt.IsZero() && e.now().After(saved.ExpiresAt.Add(expirySlack)):
		h.Infof("Skipping revocation of token %s: it already expired at %s", saved.ID, exp)
		return nil
	}
	prov, ok := e.Providers.Lookup(saved.Provider)
	if !ok {
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
	if st.Broker != nil {
		if auth {
			e.postBroker(ctx, prov, req, saved, st)
		} else if info, ok := e.brokerFolder(*st.Broker); ok {
			// A step without a parent-credential input (signing-key,
			// federation-url) still stops its broker and revokes what it
			// minted: its record is not authenticated either, but revoking
			// sends each token only to this step's own API URL.
			st.Broker = &info
			e.postBroker(ctx, prov, req, saved, st)
		}
		if !saved.ExpiresAt.IsZero() && e.now().After(saved.ExpiresAt.Add(expirySlack)) {
			h.Infof("Skipping revocation of token %s: it already expired at %s", saved.ID, exp)
			return nil
		}
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
func (e *Runner) decideDestinations(saved *provider.Saved, prov provider.Provider, req provider.Request) bool {
	h := e.Host
	dests, ps := prov.Destinations(req)
	bad := map[string]string{}
	for _, p := range ps {
		bad[p.Key] = p.Msg
	}
	decided := maps.Clone(saved.Destinations)
	if decided == nil {
		decided = map[string]string{}
	}
	for _, d := range dests {
		name := h.Naming().Name(d.Input)
		msg, isBad := bad[d.Input.Key]
		if saved.Authenticated {
			main := decided[d.Input.Key]
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
		decided[d.Input.Key] = d.Value
	}
	saved.Destinations = decided
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
func (e *Runner) useRecorded(rec network.Settings) {
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
