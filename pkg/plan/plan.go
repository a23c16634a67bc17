// Package plan answers, offline and in a second, what a jobtoken step will
// mint and why it would fail: it reads the step's inputs from a workflow or
// pipeline file (or flags), validates them with the same code the CI hosts
// run (job.ParseCommon and each provider's Prepare), and renders the plan as
// text for a person or JSON for a script.
package plan

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// The current repository of a workflow is only known at run time. Providers
// need one to apply their defaults, so the plan hands them a placeholder that
// passes their name checks and renders it back in words.
const (
	placeholderOwner = "current-owner-at-run-time"
	placeholderRepo  = "current-repository-at-run-time"
	// PlaceholderRepository is the stand-in for the current repository.
	PlaceholderRepository = placeholderOwner + "/" + placeholderRepo
)

// Options say how to validate steps.
type Options struct {
	Providers map[string]provider.Provider
	Kind      Kind
	// Run is the run the step will be part of. An empty Repository on a
	// workflow (or on the command line) means "the current repository, at run
	// time".
	Run host.Run
	// Request builds a provider request (HTTP client, clock, getenv, log) for
	// the given values; job.Env.Request does.
	Request func(inputs.Values) provider.Request
	// Secrets receives every credential seen, so that the redacting writers
	// hide it whatever prints it.
	Secrets *secret.Set
	// CommandLine are the inputs given on the command line (flags,
	// --*-file, INPUT_* variables), when a file is planned.
	CommandLine inputs.Values
}

// Report is the plan of every step of one source.
type Report struct {
	Source   string       `json:"source"`
	Kind     string       `json:"kind"`
	Valid    bool         `json:"valid"`
	Problems []Problem    `json:"problems,omitempty"` // about the source, not one step
	Steps    []StepReport `json:"steps"`
	naming   inputs.Naming
}

// Problem is one thing that would make a step fail.
type Problem struct {
	Input   string `json:"input,omitempty"` // as named in the source
	Message string `json:"message"`
	Text    string `json:"text"` // one line: input name and message
}

// Publish says how later steps get the token.
type Publish struct {
	Outputs []string `json:"outputs"`
	// Reference is how a later step reads the token output.
	Reference string   `json:"reference,omitempty"`
	Env       []string `json:"env,omitempty"`
}

// StepReport is the plan of one step.
type StepReport struct {
	Step string `json:"step"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	Line int    `json:"line,omitempty"`
	// Recognized says why a step that does not name jobtoken was planned.
	Recognized string            `json:"recognized,omitempty"`
	Valid      bool              `json:"valid"`
	Provider   string            `json:"provider,omitempty"`
	Parent     string            `json:"parent,omitempty"`
	Scopes     []string          `json:"scopes,omitempty"`
	Resources  []string          `json:"resources,omitempty"`
	Lifetime   string            `json:"lifetime,omitempty"`
	Publish    *Publish          `json:"publish,omitempty"`
	Revocation string            `json:"revocation,omitempty"`
	Revocable  *bool             `json:"revocable,omitempty"`            // unset when the step is invalid
	RunTime    map[string]string `json:"provided_at_run_time,omitempty"` // input name → expression
	Details    map[string]string `json:"details,omitempty"`
	Notes      []string          `json:"notes,omitempty"`
	Checks     []string          `json:"checks,omitempty"`
	// Warnings do not make the step invalid; each names its fix.
	Warnings []Warning `json:"warnings,omitempty"`
	Problems []Problem `json:"problems,omitempty"`

	minter    provider.Minter
	checkable string // why --check cannot run, or ""
	// refused is why --check must not run: a problem when it is asked.
	refused string
}

// NewReport starts a report for source.
func NewReport(source string, kind Kind) *Report {
	return &Report{Source: source, Kind: kind.String(), Valid: true, naming: kind.Naming(), Steps: []StepReport{}}
}

// AddProblem records a problem with the source itself.
func (r *Report) AddProblem(p inputs.Problem) {
	r.Problems = append(r.Problems, r.problem(p))
	r.Valid = false
}

func (r *Report) problem(p inputs.Problem) Problem {
	out := Problem{Message: p.Msg, Text: p.Format(r.naming)}
	if p.Key != "" {
		out.Input = r.naming.Name(p.Key)
	}
	return out
}

// Build validates each step and adds its plan to a new report.
func Build(o Options, source string, steps []Step) *Report {
	r := NewReport(source, o.Kind)
	if len(steps) == 0 {
		r.AddProblem(inputs.Problem{Msg: noStepMessage(o.Kind)})
	}
	for _, s := range steps {
		sr, ps := build(o, s)
		sr.Warnings = s.Warnings
		for _, p := range append(append(inputs.Problems{}, s.Problems...), ps...) {
			sr.Problems = append(sr.Problems, r.problem(p))
		}
		sr.Valid = len(sr.Problems) == 0
		if !sr.Valid {
			// A plan built from invalid inputs would describe a token
			// nobody gets; the problems are the plan now.
			sr.clear()
			r.Valid = false
		}
		r.Steps = append(r.Steps, sr)
	}
	return r
}

func noStepMessage(k Kind) string {
	switch k {
	case Workflow:
		return "no jobtoken step found: no step has uses: <owner>/jobtoken@<ref>, nor a with: of jobtoken's inputs (provider and others); name a renamed copy with --action OWNER/NAME or --action ./PATH"
	case Pipeline:
		return "no jobtoken step found: no step has task: JobToken@1; name a renamed task with --action NAME"
	}
	return "no jobtoken step found"
}

// stand-ins for run-time values where validation cannot judge them: the
// most permissive value that keeps the provider's checks meaningful.
var runTimeStandIn = map[string]string{
	inputs.AllowBroadScopes: "true",
	inputs.Revoke:           "true",
	inputs.DryRun:           "false",
	inputs.Lifetime:         "", // catalog default
	inputs.Provider:         "",
}

func build(o Options, s Step) (StepReport, inputs.Problems) {
	sr := StepReport{Step: s.Label, ID: s.ID, Name: s.Name, Line: s.Line}
	naming := o.Kind.Naming()
	if s.Recognized != "" {
		sr.Recognized = "as jobtoken " + s.Recognized
	}

	// Every literal credential is a secret from here on, whatever the
	// source, so that no writer can print it.
	for _, in := range inputs.Catalog {
		if in.Secret && s.Values.Given(in.Key) && o.Secrets != nil {
			o.Secrets.Add(s.Values.Get(in.Key))
		}
	}

	// A run-time value is replaced by a stand-in that passes the providers'
	// syntax checks, so that the plan reads through; the words() replacer
	// turns each stand-in back into the expression it stands for.
	v := inputs.Values{}
	maps.Copy(v, s.Values)
	standIns := map[string]string{}
	for k, expr := range s.RunTime {
		sr.addRunTime(naming, k, expr)
		if stand, ok := runTimeStandIn[k]; ok {
			if stand != "" {
				v[k] = stand
			}
			continue
		}
		st := k + atRunTime
		v[k] = st
		standIns[st] = expr
	}
	drop := func(ps inputs.Problems) inputs.Problems { return dropRunTime(ps, s.RunTime, standIns) }

	common, ps := job.ParseCommon(v, o.Providers)
	ps = drop(ps)
	sr.Provider = common.Provider
	prov := o.Providers[common.Provider]
	if _, rt := s.RunTime[inputs.Provider]; rt {
		sr.Provider = ""
		sr.Notes = append(sr.Notes, "the provider is chosen at run time, so its inputs cannot be checked offline")
		return sr, ps
	}
	if prov == nil {
		return sr, ps
	}

	run := o.Run
	run.CI = o.Kind.Host()
	if o.Kind != Flags && run.RunID == "" {
		// Providers name tokens after the run (display names, notes).
		run.RunID, run.Attempt = "{run id}", "{attempt}"
	}
	if o.Kind == Pipeline && run.RepoName == "" {
		run.RepoName = "{repository}"
	}
	placeholder := false
	if run.Repository == "" && o.Kind != Pipeline {
		run.Repository, placeholder = PlaceholderRepository, true
		if run.RepoName == "" {
			run.RepoName = run.Repository
		}
	}
	req := o.Request(v)
	req.Run, req.Host = run, o.Kind.Host()
	if o.Kind != Flags {
		// What the runner or agent will set is not this machine's
		// environment.
		req.Getenv = runnerEnv(o.Kind, s)
	}
	req.Permissions, req.Lifetime, req.AllowBroad = common.Permissions, common.Lifetime, common.AllowBroad
	if req.Lifetime == 0 {
		req.Lifetime = time.Hour // already reported; keeps provider checks quiet
	}
	m, pps := prov.Prepare(req)
	ps = append(ps, drop(pps)...)
	if m == nil {
		return sr, ps
	}
	pl := m.Plan()
	if o.Secrets != nil {
		for _, sec := range pl.Secrets {
			if !isExpression(sec, s.RunTime) && !strings.HasSuffix(sec, atRunTime) {
				o.Secrets.Add(sec)
			}
		}
	}
	sr.minter = m
	sr.fill(pl, common, s, o.Kind, placeholder, standIns)
	switch {
	case len(s.RunTime) > 0:
		names := make([]string, 0, len(s.RunTime))
		for _, k := range sortedKeys(s.RunTime) {
			names = append(names, inputs.FlagNames.Name(k))
		}
		sr.checkable = "not checked: " + strings.Join(names, ", ") + " only exist at run time; give them on the command line (or as INPUT_* variables) to check"
	case placeholder && usesCurrentRepository(pl):
		sr.checkable = "not checked: the current repository is only known at run time; give it with --repository owner/name"
	}
	sr.refused = foreignDestination(o, prov, req, s, naming)
	return sr, ps
}

// foreignDestination says why --check must not send a credential given on
// the command line to where the file points: a workflow or pipeline file
// (perhaps a pull request's) must not choose where a local credential goes.
// Such a credential goes only to the default API URL or to one the command
// line names too. It returns "" when --check may run.
func foreignDestination(o Options, prov provider.Provider, req provider.Request, s Step, naming inputs.Naming) string {
	var creds []string
	for _, in := range inputs.Catalog {
		if in.Secret && s.FromCommandLine[in.Key] {
			creds = append(creds, inputs.FlagNames.Name(in.Key))
		}
	}
	if len(creds) == 0 {
		return ""
	}
	dests, _ := prov.Destinations(req)
	for _, d := range dests {
		file := s.Values.Get(d.Input)
		if !d.URL || file == "" || s.FromCommandLine[d.Input] || !s.Values.Given(d.Input) {
			continue
		}
		if cli := o.CommandLine.Get(d.Input); cli != "" && network.Same(file, cli) {
			continue
		}
		flag := inputs.FlagNames.Name(d.Input)
		return fmt.Sprintf("check refused: the %s sets %s to %s, and %s comes from the command line; a credential from the command line goes only to the default API URL or to one the command line names too: to check against it, pass the same %s %s on the command line",
			o.Kind, naming.Name(d.Input), file, strings.Join(creds, ", "), flag, file)
	}
	return ""
}

// atRunTime ends every stand-in value.
const atRunTime = "-at-run-time"

// Stand-ins for what the runner or agent provides.
const (
	runnerOrganization     = "current-organization" + atRunTime
	runnerServicePrincipal = "service-principal" + atRunTime
	runnerTenant           = "tenant" + atRunTime
)

// runnerWords render the runner's stand-ins for a reader.
var runnerWords = []string{
	runnerOrganization, "{the pipeline's organization}",
	runnerServicePrincipal, "{the connection's service principal}",
	runnerTenant, "{its tenant}",
}

// runnerEnv is the environment the step will see, as far as it is known
// offline: the CI contract says which variables the runner or agent sets.
// Workflows get the OIDC request variables only when the job may ask for an
// OIDC token (`permissions: id-token: write`), as on GitHub.
func runnerEnv(kind Kind, s Step) func(string) string {
	env := map[string]string{}
	switch kind {
	case Workflow:
		if s.IDToken != "none" {
			env["ACTIONS_ID_TOKEN_REQUEST_URL"] = "https://oidc-request-url" + atRunTime
			env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "oidc-request-token" + atRunTime
		}
	case Pipeline:
		env["SYSTEM_COLLECTIONURI"] = "https://dev.azure.com/" + runnerOrganization + "/"
		env["SYSTEM_OIDCREQUESTURI"] = "https://oidc-request-uri" + atRunTime
		env["ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN"] = "job-access-token" + atRunTime
	}
	return func(k string) string {
		if kind == Pipeline {
			// Whatever service connection the step names, the agent
			// describes it; a plan assumes it is the kind jobtoken needs.
			switch {
			case strings.HasPrefix(k, "ENDPOINT_AUTH_SCHEME_"):
				return "WorkloadIdentityFederation"
			case strings.HasPrefix(k, "ENDPOINT_AUTH_PARAMETER_") && strings.HasSuffix(k, "_SERVICEPRINCIPALID"):
				return runnerServicePrincipal
			case strings.HasPrefix(k, "ENDPOINT_AUTH_PARAMETER_") && strings.HasSuffix(k, "_TENANTID"):
				return runnerTenant
			}
		}
		return env[k]
	}
}

func usesCurrentRepository(pl provider.Plan) bool {
	for _, s := range append([]string{pl.Parent}, pl.Resources...) {
		if strings.Contains(s, placeholderOwner) {
			return true
		}
	}
	return false
}

func isExpression(v string, rt map[string]string) bool {
	for _, e := range rt {
		if e == v {
			return true
		}
	}
	return false
}

// dropRunTime removes the problems about values that only exist at run
// time: offline, nothing can be said about them. A problem is about one when
// it names such an input, or quotes one's stand-in.
func dropRunTime(ps inputs.Problems, rt, standIns map[string]string) inputs.Problems {
	var out inputs.Problems
next:
	for _, p := range ps {
		if _, ok := rt[p.Key]; ok && p.Key != "" {
			continue
		}
		for st := range standIns {
			if strings.Contains(p.Msg, st) {
				continue next
			}
		}
		out = append(out, p)
	}
	return out
}

func (sr *StepReport) clear() {
	sr.Parent, sr.Scopes, sr.Resources, sr.Lifetime = "", nil, nil, ""
	sr.Publish, sr.Revocation, sr.Revocable, sr.Details, sr.Notes = nil, "", nil, nil, nil
	sr.minter = nil
}

func (sr *StepReport) addRunTime(n inputs.Naming, key, expr string) {
	if sr.RunTime == nil {
		sr.RunTime = map[string]string{}
	}
	sr.RunTime[n.Name(key)] = expr
}

// providerOutputs are the outputs only some providers set.
var providerOutputs = map[string][]string{
	"github": {inputs.OutInstallationID, inputs.OutAppSlug},
}

func (sr *StepReport) fill(pl provider.Plan, c job.Common, s Step, kind Kind, placeholder bool, standIns map[string]string) {
	pairs := append([]string{}, runnerWords...)
	if placeholder {
		pairs = append(pairs, PlaceholderRepository, "{current owner}/{current repository}",
			// anaconda notes write the repository's "/" as ":".
			placeholderOwner+":"+placeholderRepo, "{current owner}:{current repository}",
			placeholderOwner, "{current owner}")
	}
	// Longest first, so that no stand-in is cut by a shorter one.
	for _, st := range slices.SortedFunc(maps.Keys(standIns), func(a, b string) int { return len(b) - len(a) }) {
		pairs = append(pairs, st, standIns[st])
	}
	words := strings.NewReplacer(pairs...).Replace
	sr.Provider = pl.Provider
	sr.Parent = words(pl.Parent)
	if _, rt := s.RunTime[inputs.Permissions]; !rt {
		sr.Scopes = pl.Scopes
	}
	for _, r := range pl.Resources {
		if r == PlaceholderRepository {
			r = "the current repository (at run time)"
		}
		sr.Resources = append(sr.Resources, words(r))
	}
	if _, rt := s.RunTime[inputs.Lifetime]; !rt && pl.Lifetime > 0 {
		sr.Lifetime = job.FormatDuration(pl.Lifetime)
	}
	sr.Revocable = &pl.Revocable
	sr.Revocation = words(pl.Revocation)
	_, rtRevoke := s.RunTime[inputs.Revoke]
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
	for _, n := range pl.Notes {
		sr.Notes = append(sr.Notes, words(n))
	}
	if placeholder && usesCurrentRepository(pl) {
		sr.Notes = append(sr.Notes, "the current repository is the one the workflow runs in; plan with --repository owner/name (or GITHUB_REPOSITORY) to name it")
	}
	if len(pl.Details) > 0 {
		sr.Details = map[string]string{}
		for k, d := range pl.Details {
			sr.Details[k] = words(d)
		}
	}
	sr.Publish = publish(pl.Provider, c, s, kind)
}

func publish(prov string, c job.Common, s Step, kind Kind) *Publish {
	p := &Publish{}
	keys := []string{inputs.OutToken, inputs.OutExpiresAt, inputs.OutTokenID, inputs.OutPermissions}
	keys = append(keys, providerOutputs[prov]...)
	for _, k := range keys {
		o, _ := inputs.OutputByKey(k)
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
	if expr, ok := s.RunTime[inputs.ExportEnv]; ok {
		p.Env = []string{"provided at run time: " + expr}
	} else if c.ExportEnv != "" {
		p.Env = []string{c.ExportEnv}
	}
	return p
}

// Check runs each valid step's read-only checks with the real parent
// credentials, and mints nothing.
func (r *Report) Check(ctx context.Context) {
	for i := range r.Steps {
		sr := &r.Steps[i]
		if !sr.Valid || sr.minter == nil {
			continue
		}
		if sr.refused != "" {
			sr.Problems = append(sr.Problems, Problem{Message: sr.refused, Text: sr.refused})
			sr.Valid, r.Valid = false, false
			continue
		}
		if sr.checkable != "" {
			sr.Checks = append(sr.Checks, sr.checkable)
			continue
		}
		c, ok := sr.minter.(provider.Checker)
		if !ok {
			sr.Checks = append(sr.Checks, fmt.Sprintf("not checked: the %s provider has no read-only check", sr.Provider))
			continue
		}
		lines, err := c.Check(ctx)
		sr.Checks = append(sr.Checks, lines...)
		if err != nil {
			sr.Problems = append(sr.Problems, Problem{Message: "check failed: " + err.Error(), Text: "check failed: " + err.Error()})
			sr.Valid = false
			r.Valid = false
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
