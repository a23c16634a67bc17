package job

import (
	"regexp"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

// Common holds the provider-independent inputs.
type Common struct {
	Provider    string
	Permissions []string
	Lifetime    time.Duration
	Revoke      bool
	ExportEnv   string
	AllowBroad  bool
	DryRun      bool
	// Refresh and GitCredentials leave a broker running (refresh.go).
	Refresh        bool
	RefreshUntil   time.Duration
	GitCredentials bool
}

// maxRefreshUntil bounds refresh-until: a self-hosted runner's job may run
// up to five days.
const maxRefreshUntil = 5 * 24 * time.Hour

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseCommon validates the provider-independent inputs offline.
func ParseCommon(v inputs.Values, providers *provider.Registry) (Common, inputs.Problems) {
	var c Common
	var ps inputs.Problems
	c.Provider = strings.ToLower(v.Get(inputs.Provider))
	// Name the providers the documentation names, in its order.
	names := providers.Names()
	_, known := providers.Lookup(c.Provider)
	switch {
	case !v.Known(inputs.Provider):
		// Only the run will tell.
	case c.Provider == "":
		ps.Add(inputs.Provider, "is required; set it to one of %s", strings.Join(names, ", "))
	case !known:
		ps.Add(inputs.Provider, "unknown provider %q (valid: %s)%s", c.Provider, strings.Join(names, ", "), inputs.DidYouMean(c.Provider, names))
	}
	if v.Known(inputs.Permissions) {
		c.Permissions = inputs.List(v.Get(inputs.Permissions))
	}
	lt := v.Get(inputs.Lifetime)
	if !v.Known(inputs.Lifetime) {
		lt = inputs.Lifetime.Default
	}
	d, err := time.ParseDuration(lt)
	switch {
	case err != nil:
		ps.Add(inputs.Lifetime, "%q is not a duration; write it like 30m or 1h", lt)
	case d <= 0:
		ps.Add(inputs.Lifetime, "%q must be positive; write it like 30m or 1h", lt)
	default:
		c.Lifetime = d
	}
	// A value only the run will tell is taken as the one that keeps the
	// provider's checks meaningful: revoked, broad scopes allowed, no dry
	// run.
	c.Revoke, c.AllowBroad = true, true
	for _, b := range []struct {
		in  inputs.Input
		dst *bool
	}{
		{inputs.Revoke, &c.Revoke},
		{inputs.AllowBroadScopes, &c.AllowBroad},
		{inputs.DryRun, &c.DryRun},
		{inputs.Refresh, &c.Refresh},
		{inputs.GitCredentials, &c.GitCredentials},
	} {
		if v.Known(b.in) {
			var p *inputs.Problem
			*b.dst, p = v.Bool(b.in)
			ps.AddP(p)
		}
	}
	ru := v.Get(inputs.RefreshUntil)
	if !v.Known(inputs.RefreshUntil) || ru == "" {
		ru = inputs.RefreshUntil.Default
	}
	switch d, err := time.ParseDuration(ru); {
	case err != nil:
		ps.Add(inputs.RefreshUntil, "%q is not a duration; write it like 6h or 90m", ru)
	case d < time.Minute || d > maxRefreshUntil:
		ps.Add(inputs.RefreshUntil, "%q is out of range; use between 1m and %s (a job's longest life on a self-hosted runner)", ru, inputs.FormatDuration(maxRefreshUntil))
	default:
		c.RefreshUntil = d
	}
	c.ExportEnv = v.Get(inputs.ExportEnv)
	if c.ExportEnv != "" && v.Known(inputs.ExportEnv) {
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
