package cli

import (
	"strings"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// commands is every subcommand, one line each: the one place a command is
// named (help and version are Run's own). A function, not a variable: demo
// runs stages through Run, which looks commands up.
func commands() map[string]command {
	return map[string]command{
		"broker":     {"(internal) the broker a step with refresh: true leaves running; started by the main stage", runBroker},
		"credential": {"git's credential helper for the repositories a step with git-credentials: true named", runCredential},
		"token":      {"print the current token of the job's broker (refresh: true), e.g. GH_TOKEN=$(jobtoken token)", runToken},
		"demo":       demoCommand(),
		"mint":       {"mint a token from a terminal and print it on stdout", runMint},
		"policy":     policyCommand(),
		"serve":      serveCommand(),
		"plan":       {"validate a step offline and print what it would mint (mints nothing)", runPlan},
		"revoke":     {"revoke a token minted earlier (--token-stdin or --token-id)", runRevoke},
		"sweep":      {"list (and with --revoke, revoke) tokens left live by runs that ended without their post step", runSweep},
	}
}

// ciHost builds the host of the CI system jobtoken runs in, writing its
// commands to out, or returns nil outside CI: the one place that tells the
// CI systems apart.
func (e *Env) ciHost(out *secret.Writer) host.Host {
	switch {
	case e.Getenv("GITHUB_ACTIONS") == "true":
		return ghactions.New(out, e.Getenv, e.providers().Catalog())
	case strings.EqualFold(e.Getenv("TF_BUILD"), "true"):
		return azpipelines.New(out, e.Secrets, e.Getenv, e.providers().Catalog())
	}
	return nil
}
