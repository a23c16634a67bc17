package plan

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

// The current repository of a workflow is only known at run time; the plan
// describes it in words, which the providers show and do not check
// (host.Run.Known).
const currentRepository = "{current owner}/{current repository}"

func build(o Options, s Step) (StepReport, inputs.Problems) {
	sr := StepReport{Step: s.Label, ID: s.ID, Name: s.Name, Line: s.Line}
	naming := o.Kind.Naming()
	cat := o.Runner.Providers.Catalog()
	if s.Recognized != "" {
		sr.Recognized = "as jobtoken " + s.Recognized
	}

	// Every literal credential is a secret from here on, whatever the
	// source, so that no writer can print it.
	if o.Secrets != nil {
		o.Secrets.Add(cat.SecretValues(s.Values)...)
	}

	// A value only the run will tell reaches the providers as such: they
	// show it as its expression and judge nothing of it.
	v := s.Values.Clone()
	for k, expr := range s.RunTime {
		sr.addRunTime(cat.Name(naming, k), expr)
		v.SetLater(k, expr)
	}

	common, ps := job.ParseCommon(v, o.Runner.Providers)
	sr.Provider = common.Provider
	if !v.Known(inputs.Provider) {
		sr.Provider = ""
		sr.Notes = append(sr.Notes, "the provider is chosen at run time, so its inputs cannot be checked offline")
		return sr, ps
	}
	prov, ok := o.Runner.Providers.Lookup(common.Provider)
	if !ok {
		return sr, ps
	}

	req := o.Runner.RequestOn(o.standIn(s), v)
	m, pps := prov.Prepare(req)
	ps = append(ps, pps...)
	ps = append(ps, job.BrokerProblems(common, prov, req)...)
	if (common.Refresh || common.GitCredentials) && IsContainerVariant(s.Uses) {
		ps.Add(job.BrokerInput(common), "%s", host.NoBackgroundInContainer)
	}
	if m == nil {
		return sr, ps
	}
	pl := m.Plan()
	if o.Secrets != nil {
		for _, sec := range pl.Secrets {
			if !isExpression(sec, s.RunTime) {
				o.Secrets.Add(sec)
			}
		}
	}
	sr.minter = m
	sr.fill(cat, pl, common, s, o.Kind)
	switch {
	case len(s.RunTime) > 0:
		names := make([]string, 0, len(s.RunTime))
		for _, k := range sortedKeys(s.RunTime) {
			names = append(names, cat.Name(inputs.FlagNames, k))
		}
		sr.checkable = "not checked: " + strings.Join(names, ", ") + " only exist at run time; give them on the command line (or as INPUT_* variables) to check"
	case pl.UsesRunRepository:
		sr.checkable = "not checked: the current repository is only known at run time; give it with --repository owner/name"
	}
	sr.refused = foreignDestination(o, prov, req, s, naming)
	return sr, ps
}

// standIn is the host the step will run on, as far as a plan knows it: how
// its users spell inputs, its run (what only the run will tell described in
// words), and what its CI system will provide, stood in for by the host's
// own package. A workflow or pipeline gets none of this machine's
// environment; flags describe a run at this terminal.
func (o Options) standIn(s Step) host.Source {
	run := o.Run
	if o.Kind != Flags && run.RunID == "" {
		// Providers name tokens after the run (display names, notes).
		run.RunID, run.Attempt = "{run id}", "{attempt}"
	}
	if o.Kind == Pipeline && run.RepoName == "" {
		run.RepoName = "{repository}"
	}
	if run.Repository == "" && o.Kind != Pipeline {
		run.Repository = currentRepository
		run.Unknown |= host.RunRepository
		if run.RepoName == "" {
			run.RepoName = run.Repository
		}
	}
	base := planned{Source: o.Runner.Host, naming: o.Kind.Naming(), run: run, getenv: func(string) string { return "" }}
	switch o.Kind {
	case Workflow:
		// The job may ask for an OIDC token when its permissions say
		// id-token: write, or when only the run can tell.
		return workflowHost{base, s.IDToken != "none"}
	case Pipeline:
		base.run.CollectionURI = azpipelines.PlannedCollection
		base.run.Unknown |= host.RunCollection
		return pipelineHost{base}
	}
	base.getenv = o.Runner.Host.Getenv
	return terminalHost{base}
}

// planned is a stand-in host's common part.
type planned struct {
	host.Source
	naming inputs.Naming
	run    host.Run
	getenv func(string) string
}

func (p planned) Naming() inputs.Naming  { return p.naming }
func (p planned) Run() host.Run          { return p.run }
func (p planned) Getenv(k string) string { return p.getenv(k) }

// workflowHost stands in for a GitHub runner: the job's OIDC token, when
// the job may ask for one.
type workflowHost struct {
	planned
	idToken bool
}

func (w workflowHost) OIDC(*http.Client) host.OIDC { return ghactions.PlannedOIDC(w.idToken) }

// pipelineHost stands in for an Azure Pipelines agent: whatever service
// connection the step names, the agent will describe it.
type pipelineHost struct{ planned }

func (pipelineHost) ServiceConnection(id string, _ *http.Client) (host.ServiceConnection, error) {
	return azpipelines.PlannedConnection(id), nil
}

// terminalHost is this terminal, for flags: a person's own sign-ins count.
type terminalHost struct{ planned }

func (terminalHost) AtTerminal() {}

var (
	_ host.OIDCHost              = workflowHost{}
	_ host.ServiceConnectionHost = pipelineHost{}
	_ host.Terminal              = terminalHost{}
)

func isExpression(v string, rt map[string]string) bool {
	for _, e := range rt {
		if e == v {
			return true
		}
	}
	return false
}

func (sr *StepReport) clear() {
	sr.Parent, sr.Scopes, sr.Resources, sr.Tokens, sr.Lifetime = "", nil, nil, nil, ""
	sr.Publish, sr.Revocation, sr.Revocable, sr.Details, sr.Notes = nil, "", nil, nil, nil
	sr.minter = nil
}

func (sr *StepReport) addRunTime(name, expr string) {
	if sr.RunTime == nil {
		sr.RunTime = map[string]string{}
	}
	sr.RunTime[name] = expr
}

func (sr *StepReport) fill(cat *inputs.Catalog, pl provider.Plan, c job.Common, s Step, kind Kind) {
	sr.Provider = pl.Provider
	sr.Parent = pl.Parent
	if _, rt := s.RunTime[inputs.Permissions.Key]; !rt {
		sr.Scopes = pl.Scopes
	}
	sr.Resources = pl.Resources
	sr.Tokens = pl.Tokens
	if _, rt := s.RunTime[inputs.Lifetime.Key]; !rt && pl.Lifetime > 0 {
		sr.Lifetime = job.FormatDuration(pl.Lifetime)
	}
	sr.Revocable = &pl.Revocable
	sr.Revocation = pl.Revocation
	_, rtRevoke := s.RunTime[inputs.Revoke.Key]
	switch {
	case !pl.Revocable:
	case rtRevoke:
		sr.Revocation += " (unless revoke is false at run time)"
	case !c.Revoke:
		sr.Revocation = "not revoked (revoke: false): it stays valid until it expires"
		if sr.Lifetime != "" {
			sr.Revocation += ", " + sr.Lifetime + " after minting"
		}
	}
	sr.Notes = append(sr.Notes, pl.Notes...)
	if c.Refresh {
		after := "the post step revokes every one"
		if !pl.Revocable {
			after = "none can be revoked: each expires on its own"
		}
		sr.Notes = append(sr.Notes, "refresh: a broker re-mints the tokens before they expire for "+job.FormatDuration(c.RefreshUntil)+" (refresh-until) and serves them to jobtoken token; "+after)
	}
	if c.GitCredentials {
		sr.Notes = append(sr.Notes, "git-credentials: git in later steps gets each account's current token for the repositories named (credential helper jobtoken credential)")
	}
	if pl.UsesRunRepository {
		sr.Notes = append(sr.Notes, "the current repository is the one the workflow runs in; plan with --repository owner/name (or GITHUB_REPOSITORY) to name it")
	}
	if len(pl.Details) > 0 {
		sr.Details = maps.Clone(pl.Details)
	}
	sr.Publish = publish(cat.OutputsOf(pl.Provider), c, s, kind)
}

func publish(outs []inputs.Output, c job.Common, s Step, kind Kind) *Publish {
	p := &Publish{}
	for _, o := range outs {
		name := o.Key
		if kind == Pipeline {
			name = o.Azure
		}
		if o.Secret {
			name += " (secret)"
		}
		p.Outputs = append(p.Outputs, name)
	}
	switch {
	case kind == Workflow && s.ID != "":
		p.Reference = "${{ steps." + s.ID + ".outputs.token }}"
	case kind == Workflow:
		p.Reference = "give the step an id: to read its outputs"
	case kind == Pipeline && s.ID != "":
		p.Reference = "$(" + s.ID + ".token)"
	case kind == Pipeline:
		p.Reference = "give the step a name: to read its output variables"
	default:
		p.Reference = "the step's token output in CI; jobtoken mint prints it on stdout"
	}
	if expr, ok := s.RunTime[inputs.ExportEnv.Key]; ok {
		p.Env = []string{"provided at run time: " + expr}
	} else if c.ExportEnv != "" {
		p.Env = []string{c.ExportEnv}
	}
	return p
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
