package plan

import (
	"errors"
	"fmt"
	"regexp"

	"gopkg.in/yaml.v3"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

// Kind is where a step's inputs were written.
type Kind int

const (
	// Flags are command-line flags and INPUT_* variables.
	Flags Kind = iota
	// Workflow is a GitHub Actions workflow file.
	Workflow
	// Pipeline is an Azure Pipelines YAML file.
	Pipeline
)

// Naming is how problems name inputs for this kind of source: as the user
// wrote them.
func (k Kind) Naming() inputs.Naming {
	switch k {
	case Workflow:
		return inputs.GitHubNames
	case Pipeline:
		return inputs.AzureNames
	}
	return inputs.FlagNames
}

func (k Kind) String() string {
	switch k {
	case Workflow:
		return "workflow"
	case Pipeline:
		return "pipeline"
	}
	return "flags"
}

// Step is one jobtoken step found in a file (or given on the command line).
type Step struct {
	Label string // where it is: jobs.build.steps[1]
	ID    string // workflow `id`, pipeline `name`
	Name  string // workflow `name`, pipeline `displayName`
	Line  int
	// Values are the literal inputs.
	Values inputs.Values
	// RunTime are inputs whose value only exists at run time, keyed by input
	// key, holding the expression as written.
	RunTime map[string]string
	// Problems found while reading the step (unknown inputs, literal secrets).
	Problems inputs.Problems
	// IDToken says whether a workflow job may request an OIDC token
	// (`permissions: id-token: write`): "write", "none", or "" when only the
	// run can tell (a reusable workflow inherits its caller's).
	IDToken string
	// FromCommandLine are the inputs whose values came from the command
	// line (flags, --*-file, INPUT_* variables) rather than the file.
	FromCommandLine map[string]bool
	// Uses is the step's `uses:` (workflow) or `task:` (pipeline).
	Uses string
	// Recognized says why a step that does not name jobtoken was taken for
	// it ("" when it names the action or task).
	Recognized string
	// Warnings are what works against the user in the step's job without
	// making its inputs invalid (the container variant on a job that is not
	// Linux, a checkout whose credential git would use…); each names the fix.
	Warnings []Warning
}

var (
	// A GitHub expression: ${{ secrets.X }}, ${{ vars.X }}, ${{ inputs.x }}…
	githubExpr = regexp.MustCompile(`\$\{\{.*?\}\}`)
	// Azure macro $(X), template ${{ x }} and runtime $[ x ] expressions.
	azureExpr = regexp.MustCompile(`\$\(([^)]*)\)|\$\{\{.*?\}\}|\$\[.*?\]`)
)

// ErrNoStep means a file holds no jobtoken step.
var ErrNoStep = errors.New("no jobtoken step found")

// ParseWorkflow finds the jobtoken steps of a GitHub Actions workflow,
// whose inputs are those of reg's providers.
func ParseWorkflow(reg *provider.Registry, data []byte) ([]Step, error) {
	return Parse(reg, data, Workflow, Recognizer{})
}

// ParsePipeline finds the jobtoken steps (`task: JobToken@<n>`) of an Azure
// Pipelines file, whose inputs are those of reg's providers.
func ParsePipeline(reg *provider.Registry, data []byte) ([]Step, error) {
	return Parse(reg, data, Pipeline, Recognizer{})
}

// Parse finds the jobtoken steps of a workflow or pipeline file, with what
// their inputs (those of reg's providers) are and the warnings their job
// earns them.
func Parse(reg *provider.Registry, data []byte, kind Kind, r Recognizer) ([]Step, error) {
	r.reg = reg
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("failed to read the %s file: %w", kind, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("failed to read the %s file: it is empty", kind)
	}
	root := doc.Content[0]
	var steps []Step
	if kind == Pipeline || root.Kind != yaml.MappingNode {
		walk(root, "", func(n *yaml.Node, path string, seq *yaml.Node, idx int) {
			if s, ok := readStep(n, path, kind, r); ok {
				s.Warnings = warnings(scope{kind: kind, root: root, seq: seq, idx: idx, r: r}, s)
				steps = append(steps, s)
			}
		})
		return steps, nil
	}
	// A workflow: one job at a time, for the job's token permissions.
	jobs := get(root, "jobs")
	if jobs == nil || jobs.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		name, job := jobs.Content[i].Value, jobs.Content[i+1]
		if job.Kind != yaml.MappingNode {
			continue
		}
		idToken := idTokenOf(get(job, "permissions"))
		if idToken == "?" {
			idToken = idTokenOf(get(root, "permissions"))
		}
		if idToken == "?" {
			// GitHub's default token permissions never include id-token;
			// a reusable workflow gets its caller's.
			idToken = "none"
			if triggers(get(root, "on"))["workflow_call"] {
				idToken = ""
			}
		}
		walk(job, "jobs."+name, func(n *yaml.Node, path string, seq *yaml.Node, idx int) {
			if s, ok := readStep(n, path, kind, r); ok {
				s.IDToken = idToken
				s.Warnings = warnings(scope{kind: kind, root: root, job: job, jobName: name, seq: seq, idx: idx, r: r}, s)
				steps = append(steps, s)
			}
		})
	}
	return steps, nil
}

// idTokenOf reads id-token from a `permissions:` node: "write", "none", ""
// for an expression, or "?" when the node is absent.
func idTokenOf(n *yaml.Node) string {
	switch {
	case n == nil:
		return "?"
	case n.Kind == yaml.ScalarNode && githubExpr.MatchString(n.Value):
		return ""
	case n.Kind == yaml.ScalarNode && n.Value == "write-all":
		return "write"
	case n.Kind == yaml.MappingNode:
		// Naming any permission sets every other one to none.
		v := scalar(n, "id-token")
		if githubExpr.MatchString(v) {
			return ""
		}
		if v == "write" {
			return "write"
		}
	}
	return "none"
}

// triggers lists the events of an `on:` node, in any of its three forms.
func triggers(n *yaml.Node) map[string]bool {
	out := map[string]bool{}
	if n == nil {
		return out
	}
	switch n.Kind {
	case yaml.ScalarNode:
		out[n.Value] = true
	case yaml.SequenceNode:
		for _, c := range n.Content {
			out[c.Value] = true
		}
	case yaml.MappingNode:
		for i := 0; i < len(n.Content); i += 2 {
			out[n.Content[i].Value] = true
		}
	}
	return out
}
