package plan

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/jobtoken/jobtoken/pkg/inputs"
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

// Host is the host the step will run on.
func (k Kind) Host() string {
	switch k {
	case Workflow:
		return "github"
	case Pipeline:
		return "azure"
	}
	return "local"
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
	// Warnings are things that work against the user but do not make the
	// inputs invalid (the container variant on a job that is not Linux).
	Warnings []string
	// IDToken says whether a workflow job may request an OIDC token
	// (`permissions: id-token: write`): "write", "none", or "" when only the
	// run can tell (a reusable workflow inherits its caller's).
	IDToken string
	// FromCommandLine are the inputs whose values came from the command
	// line (flags, --*-file, INPUT_* variables) rather than the file.
	FromCommandLine map[string]bool
}

var (
	// A GitHub expression: ${{ secrets.X }}, ${{ vars.X }}, ${{ inputs.x }}…
	githubExpr = regexp.MustCompile(`\$\{\{.*?\}\}`)
	// Azure macro $(X), template ${{ x }} and runtime $[ x ] expressions.
	azureExpr = regexp.MustCompile(`\$\(([^)]*)\)|\$\{\{.*?\}\}|\$\[.*?\]`)
)

// ErrNoStep means a file holds no jobtoken step.
var ErrNoStep = errors.New("no jobtoken step found")

// ParseWorkflow finds the jobtoken steps (`uses: <owner>/jobtoken@<ref>`) of a
// GitHub Actions workflow.
func ParseWorkflow(data []byte) ([]Step, error) {
	return parse(data, Workflow)
}

// ParsePipeline finds the jobtoken steps (`task: JobToken@<n>`) of an Azure
// Pipelines file.
func ParsePipeline(data []byte) ([]Step, error) {
	return parse(data, Pipeline)
}

func parse(data []byte, kind Kind) ([]Step, error) {
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
		walk(root, "", false, func(n *yaml.Node, path string) {
			if s, ok := readStep(n, path, kind); ok {
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
		runsOn := get(job, "runs-on")
		walk(job, "jobs."+name, false, func(n *yaml.Node, path string) {
			if s, ok := readStep(n, path, kind); ok {
				s.IDToken = idToken
				if uses := scalar(n, "uses"); IsContainerVariant(uses) && !runsOnLinux(runsOn) {
					s.Warnings = append(s.Warnings, fmt.Sprintf("%s is the container variant, which runs only on Linux runners, and job %s runs on %s; use the native action (%s), which runs on Linux, macOS and Windows runners",
						uses, name, describeRunsOn(runsOn), nativeOf(uses)))
				}
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

// walk visits every mapping that is an item of a `steps:` sequence, wherever
// it is nested (jobs, stages, deployment strategies, templates).
func walk(n *yaml.Node, path string, inSteps bool, visit func(*yaml.Node, string)) {
	switch n.Kind {
	case yaml.MappingNode:
		if inSteps {
			visit(n, path)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			p := k
			if path != "" {
				p = path + "." + k
			}
			walk(v, p, k == "steps", visit)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			walk(c, fmt.Sprintf("%s[%d]", path, i), inSteps, visit)
		}
	case yaml.AliasNode:
		if n.Alias != nil {
			walk(n.Alias, path, inSteps, visit)
		}
	}
}

func get(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(m *yaml.Node, key string) string {
	if n := get(m, key); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

// IsAction reports whether a `uses:` value names the jobtoken action:
// owner/jobtoken@ref or owner/jobtoken/path@ref.
func IsAction(uses string) bool {
	ref, _, ok := strings.Cut(uses, "@")
	if !ok {
		return false
	}
	parts := strings.Split(ref, "/")
	return len(parts) >= 2 && strings.EqualFold(parts[1], "jobtoken")
}

// IsContainerVariant reports whether a `uses:` value names the container
// variant of the action: owner/jobtoken/container@ref.
func IsContainerVariant(uses string) bool {
	ref, _, ok := strings.Cut(uses, "@")
	parts := strings.Split(ref, "/")
	return ok && IsAction(uses) && len(parts) == 3 && strings.EqualFold(parts[2], "container")
}

// nativeOf turns owner/jobtoken/container@ref into owner/jobtoken@ref.
func nativeOf(uses string) string {
	ref, at, _ := strings.Cut(uses, "@")
	parts := strings.Split(ref, "/")
	return parts[0] + "/" + parts[1] + "@" + at
}

// runsOnLinux reports whether a job's runs-on may be a Linux runner: true
// when it has no runs-on, holds an expression (only the run knows), names
// only a runner group, or has a label with "linux" or starting with
// "ubuntu"; false for anything else (windows-*, macos-*, or labels that
// name no Linux system).
func runsOnLinux(n *yaml.Node) bool {
	labels, ok := runsOnLabels(n)
	if !ok {
		return true
	}
	for _, l := range labels {
		l = strings.ToLower(strings.TrimSpace(l))
		if githubExpr.MatchString(l) || strings.Contains(l, "linux") || strings.HasPrefix(l, "ubuntu") {
			return true
		}
	}
	return false
}

// runsOnLabels lists the labels of a runs-on node (a label, a list of them,
// or a mapping with labels); ok is false when there is none to judge.
func runsOnLabels(n *yaml.Node) (labels []string, ok bool) {
	if n == nil {
		return nil, false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return []string{n.Value}, n.Value != ""
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, false
			}
			labels = append(labels, c.Value)
		}
		return labels, len(labels) > 0
	case yaml.MappingNode:
		if l := get(n, "labels"); l != nil {
			return runsOnLabels(l)
		}
	case yaml.AliasNode:
		return runsOnLabels(n.Alias)
	}
	return nil, false
}

func describeRunsOn(n *yaml.Node) string {
	labels, _ := runsOnLabels(n)
	return strings.Join(labels, ", ")
}

var taskRE = regexp.MustCompile(`(?i)^(?:[\w-]+\.)*jobtoken@\d+$`)

// IsTask reports whether a `task:` value names the jobtoken task: JobToken@1,
// or its fully qualified publisher.extension.JobToken@1 form.
func IsTask(task string) bool { return taskRE.MatchString(strings.TrimSpace(task)) }

func readStep(m *yaml.Node, path string, kind Kind) (Step, bool) {
	s := Step{Label: path, Line: m.Line, Values: inputs.Values{}, RunTime: map[string]string{}}
	var withKey string
	switch kind {
	case Workflow:
		if !IsAction(scalar(m, "uses")) {
			return s, false
		}
		s.ID, s.Name, withKey = scalar(m, "id"), scalar(m, "name"), "with"
	case Pipeline:
		if !IsTask(scalar(m, "task")) {
			return s, false
		}
		s.ID, s.Name, withKey = scalar(m, "name"), scalar(m, "displayName"), "inputs"
	}
	with := get(m, withKey)
	if with == nil {
		return s, true
	}
	if with.Kind != yaml.MappingNode {
		s.Problems.Add("", "%s: `%s:` must be a mapping of input names to values", s.Label, withKey)
		return s, true
	}
	for i := 0; i+1 < len(with.Content); i += 2 {
		name, vn := with.Content[i].Value, with.Content[i+1]
		in, ok := lookupName(name, kind)
		if !ok {
			s.Problems.Add("", "%s", unknownInput(name, kind))
			continue
		}
		if vn.Kind != yaml.ScalarNode {
			s.Problems.Add(in.Key, "must be a string, not a YAML %s", kindName(vn.Kind))
			continue
		}
		v := strings.TrimSpace(vn.Value)
		if v == "" {
			continue
		}
		if isRunTime(v, kind) {
			s.RunTime[in.Key] = v
			continue
		}
		s.Values[in.Key] = v
		if in.Secret {
			s.Problems.Add(in.Key, "%s", literalSecret(kind))
		}
	}
	return s, true
}

func literalSecret(kind Kind) string {
	if kind == Pipeline {
		return "is a credential written literally in the pipeline file; store it as a secret variable (or in a variable group) and pass it as $(NAME)"
	}
	return "is a credential written literally in the workflow file; store it as a repository or environment secret and pass it as ${{ secrets.NAME }}"
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

func isRunTime(v string, kind Kind) bool {
	if kind == Pipeline {
		return azureExpr.MatchString(v)
	}
	return githubExpr.MatchString(v)
}

// lookupName finds an input by the name used in kind's files. Both CI
// systems compare input names without regard to case.
func lookupName(name string, kind Kind) (inputs.Input, bool) {
	for _, in := range inputs.Catalog {
		switch kind {
		case Pipeline:
			if !in.GitHubOnly && strings.EqualFold(in.Azure, name) {
				return in, true
			}
		default:
			if !in.AzureOnly && strings.EqualFold(in.Key, name) {
				return in, true
			}
		}
	}
	return inputs.Input{}, false
}

// unknownInput explains a name the step's system does not know: the other
// system's spelling, an input of the other system only, or a typo.
func unknownInput(name string, kind Kind) string {
	for _, in := range inputs.Catalog {
		switch {
		case kind == Pipeline && in.GitHubOnly && (strings.EqualFold(in.Azure, name) || strings.EqualFold(in.Key, name)):
			return fmt.Sprintf("input %q is for GitHub workflows only; on Azure Pipelines use %s", name, inputs.AzureNames.Name(inputs.AzureServiceConnection))
		case kind == Workflow && in.AzureOnly && (strings.EqualFold(in.Azure, name) || strings.EqualFold(in.Key, name)):
			return fmt.Sprintf("input %q is for Azure Pipelines only; on GitHub use %s and %s", name, inputs.AzureClientID, inputs.AzureTenantID)
		case kind == Pipeline && strings.EqualFold(in.Key, name):
			return fmt.Sprintf("unknown input %q; Azure Pipelines names inputs in camelCase: %s", name, in.Azure)
		case kind == Workflow && strings.EqualFold(in.Azure, name):
			return fmt.Sprintf("unknown input %q; GitHub names inputs in kebab-case: %s", name, in.Key)
		}
	}
	return fmt.Sprintf("unknown input %q%s", name, inputs.DidYouMean(name, knownNames(kind)))
}

func knownNames(kind Kind) []string {
	var names []string
	for _, in := range inputs.Catalog {
		switch {
		case kind == Pipeline && !in.GitHubOnly:
			names = append(names, in.Azure)
		case kind != Pipeline && !in.AzureOnly:
			names = append(names, in.Key)
		}
	}
	sort.Strings(names)
	return names
}

// Select keeps the step whose id or name is want; every step when want is "".
func Select(steps []Step, want string) ([]Step, error) {
	if want == "" {
		return steps, nil
	}
	var names []string
	for _, s := range steps {
		if s.ID == want || s.Name == want {
			return []Step{s}, nil
		}
		switch {
		case s.ID != "":
			names = append(names, s.ID)
		case s.Name != "":
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no jobtoken step is named %q; the file's jobtoken steps have no id or name", want)
	}
	return nil, fmt.Errorf("no jobtoken step is named %q (the file's are %s)%s", want, strings.Join(names, ", "), inputs.DidYouMean(want, names))
}
