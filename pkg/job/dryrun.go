package job

import (
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// PrintPlan logs the plan of a prepared step, for dry runs.
func PrintPlan(h host.Host, p *Prepared) {
	pl := p.Minter.Plan()
	if n := len(pl.Tokens); n > 1 {
		h.Infof("dry run: would mint %d %s tokens, one per account", n, pl.Provider)
	} else {
		h.Infof("dry run: would mint one %s token", pl.Provider)
	}
	h.Infof("  parent:      %s", pl.Parent)
	h.Infof("  scopes:      %s", strings.Join(pl.Scopes, ", "))
	if len(pl.Resources) > 0 {
		h.Infof("  resources:   %s", strings.Join(pl.Resources, ", "))
	}
	for _, t := range pl.Tokens {
		h.Infof("  token:       %s", t)
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
	if p.Common.Refresh {
		h.Infof("  refresh:     a broker re-mints the tokens before they expire, for %s (refresh-until)", FormatDuration(p.Common.RefreshUntil))
	}
	if p.Common.GitCredentials {
		h.Infof("  git:         later steps' git gets each account's current token (git-credentials)")
	}
	for _, n := range pl.Notes {
		h.Infof("  note:        %s", n)
	}
}

// FormatDuration prints 1h rather than 1h0m0s.
func FormatDuration(d time.Duration) string { return inputs.FormatDuration(d) }
