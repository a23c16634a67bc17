// Package plan answers, offline and in a second, what a jobtoken step will
// mint and why it would fail: it reads the step's inputs from a workflow or
// pipeline file (or flags), validates them with the same code the CI hosts
// run (job.ParseCommon and each provider's Prepare), and renders the plan as
// text for a person or JSON for a script. Values only known at run time
// (${{ secrets.X }}, $(VAR)) reach the providers as such (inputs.Values.Known),
// and what the CI system will provide (an OIDC token, a service connection,
// the current repository) is stood in for by its host package.
package plan

import (
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// Options say how to validate steps.
type Options struct {
	// Runner builds provider requests on this machine (HTTP client, clock,
	// log) and knows the providers.
	Runner *job.Runner
	Kind   Kind
	// Run is the run the step will be part of. An empty Repository on a
	// workflow (or on the command line) means "the current repository, at run
	// time".
	Run host.Run
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
	Tokens     []string          `json:"tokens,omitempty"` // one line per token when a step mints several
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
	return Problem{Input: p.Name(r.naming), Message: p.Msg, Text: p.Format(r.naming)}
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
