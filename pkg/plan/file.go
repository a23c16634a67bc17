package plan

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

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

// Recognizer says which steps of a file are jobtoken's. Whatever it is
// told, a step is jobtoken's when it names the action (`uses:
// <owner>/jobtoken@<ref>`, its container variant) or the task (`task:
// JobToken@1`, or the task's ID); a workflow step is also jobtoken's when
// its inputs are jobtoken's (see IsJobTokenWith), which finds vendored
// copies (`uses: ./path`) and forks under another name.
type Recognizer struct {
	// Actions are what --action named: OWNER/NAME[/PATH] or ./PATH in a
	// workflow (any ref), a task name or ID in a pipeline.
	Actions []string

	reg *provider.Registry // the providers (and their inputs), set by Parse
}

// gitCredential reports whether the token of the provider named name is
// a git credential (provider.GitCredential).
func (r Recognizer) gitCredential(name string) bool {
	p, ok := r.reg.Lookup(name)
	if !ok {
		return false
	}
	_, ok = p.(provider.GitCredential)
	return ok
}

// CheckAction reports what is wrong with an --action value for kind, or "".
func CheckAction(kind Kind, a string) string {
	switch {
	case kind == Pipeline && taskNameRE.MatchString(a):
		return ""
	case kind == Pipeline:
		return fmt.Sprintf("--action %q is not a task name; name the task as the pipeline writes it before the @, e.g. --action MyJobToken", a)
	case strings.HasPrefix(a, "./"):
		return ""
	case strings.Contains(a, "@") || strings.Contains(a, "://"):
		return fmt.Sprintf("--action %q: name the action without a ref, as OWNER/NAME or ./PATH (every ref matches)", a)
	case len(strings.Split(a, "/")) < 2 || strings.Contains(a, " "):
		return fmt.Sprintf("--action %q is neither OWNER/NAME nor ./PATH", a)
	}
	return ""
}

var taskNameRE = regexp.MustCompile(`^[\w.-]+$`)

// names reports whether --action names this uses:/task: value.
func (r Recognizer) names(kind Kind, ref string) bool {
	name, _, _ := strings.Cut(strings.TrimSpace(ref), "@")
	for _, a := range r.Actions {
		switch {
		case kind == Pipeline && strings.EqualFold(name, a):
			return true
		case strings.HasPrefix(a, "./") && path.Clean(name) == path.Clean(a):
			return true
		case !strings.HasPrefix(a, "./") && strings.EqualFold(name, strings.TrimSuffix(a, "/")):
			return true
		}
	}
	return false
}

// How a step was recognised, for the plan to say.
const (
	byName   = ""
	byFlag   = "--action"
	byInputs = "inputs"
)

// recognize says whether step m is jobtoken's, and how.
func (r Recognizer) recognize(m *yaml.Node, kind Kind) (how string, ok bool) {
	if kind == Pipeline {
		task := scalar(m, "task")
		switch {
		case IsTask(task):
			return byName, true
		case task != "" && r.names(kind, task):
			return byFlag, true
		}
		return "", false
	}
	uses := strings.TrimSpace(scalar(m, "uses"))
	switch {
	case uses == "":
		return "", false
	case IsAction(uses):
		return byName, true
	case r.names(kind, uses):
		return byFlag, true
	case (strings.HasPrefix(uses, "./") || isRepoAction(uses)) && r.isJobTokenWith(get(m, "with")):
		return byInputs, true
	}
	return "", false
}

// isRepoAction reports whether uses names an action in a repository:
// owner/name[/path]@ref (not docker://, not a local path).
func isRepoAction(uses string) bool {
	ref, at, ok := strings.Cut(uses, "@")
	return ok && at != "" && !strings.Contains(ref, "://") && len(strings.Split(ref, "/")) >= 2
}

// isJobTokenWith reports whether a step's `with:` is jobtoken's: it sets
// provider and at least one other input of the catalog, and nothing the
// catalog does not know. A renamed or vendored copy of the action is found
// this way; another action that happens to take a provider input is not,
// unless every other input it is given is jobtoken's too.
func (r Recognizer) isJobTokenWith(with *yaml.Node) bool {
	if with == nil || with.Kind != yaml.MappingNode || len(with.Content) < 4 {
		return false
	}
	provider := false
	for i := 0; i+1 < len(with.Content); i += 2 {
		in, ok := r.lookupName(with.Content[i].Value, Workflow)
		if !ok {
			return false
		}
		if in.Key == inputs.Provider.Key {
			provider = true
		}
	}
	return provider
}

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

// walk visits every mapping that is an item of a `steps:` sequence, wherever
// it is nested (jobs, stages, deployment strategies, templates), with the
// sequence it is an item of and its index there. A node an alias names is
// walked once: the file is untrusted, and aliases of aliases would otherwise
// multiply the walk exponentially.
func walk(n *yaml.Node, path string, visit func(n *yaml.Node, path string, seq *yaml.Node, idx int)) {
	w := walker{visit: visit, seen: map[*yaml.Node]bool{}}
	w.walk(n, path)
}

type walker struct {
	visit func(n *yaml.Node, path string, seq *yaml.Node, idx int)
	seen  map[*yaml.Node]bool
}

func (w walker) walk(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			p := k
			if path != "" {
				p = path + "." + k
			}
			if seq := deref(v); k == "steps" && seq.Kind == yaml.SequenceNode {
				for j, c := range seq.Content {
					cp := fmt.Sprintf("%s[%d]", p, j)
					if item := deref(c); item.Kind == yaml.MappingNode {
						w.visit(item, cp, seq, j)
					}
					w.walk(c, cp)
				}
				continue
			}
			w.walk(v, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			w.walk(c, fmt.Sprintf("%s[%d]", path, i))
		}
	case yaml.AliasNode:
		if n.Alias != nil && !w.seen[n.Alias] {
			w.seen[n.Alias] = true
			w.walk(n.Alias, path)
		}
	}
}

// deref follows an alias (*name) to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func get(m *yaml.Node, key string) *yaml.Node {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(m *yaml.Node, key string) string {
	if n := deref(get(m, key)); n != nil && n.Kind == yaml.ScalarNode {
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

var taskRE = regexp.MustCompile(`(?i)^(?:(?:[\w-]+\.)*jobtoken|` + inputs.TaskID + `)@\d+$`)

// IsTask reports whether a `task:` value names the jobtoken task: JobToken@1,
// its fully qualified publisher.extension.JobToken@1 form, or the task's ID
// (f7621ccb-…@1), which the agent accepts too.
func IsTask(task string) bool { return taskRE.MatchString(strings.TrimSpace(task)) }

func readStep(m *yaml.Node, path string, kind Kind, r Recognizer) (Step, bool) {
	s := Step{Label: path, Line: m.Line, Values: inputs.ValuesOf(map[string]string{}), RunTime: map[string]string{}}
	how, ok := r.recognize(m, kind)
	if !ok {
		return s, false
	}
	var withKey string
	switch kind {
	case Workflow:
		s.ID, s.Name, withKey = scalar(m, "id"), scalar(m, "name"), "with"
		s.Uses = strings.TrimSpace(scalar(m, "uses"))
	case Pipeline:
		s.ID, s.Name, withKey = scalar(m, "name"), scalar(m, "displayName"), "inputs"
		s.Uses = strings.TrimSpace(scalar(m, "task"))
	}
	switch how {
	case byInputs:
		s.Recognized = "by its inputs: " + s.Uses + " is given only jobtoken's, provider among them"
	case byFlag:
		s.Recognized = "by --action"
	}
	with := deref(get(m, withKey))
	if with == nil {
		return s, true
	}
	if with.Kind != yaml.MappingNode {
		s.Problems.AddGeneral("%s: `%s:` must be a mapping of input names to values", s.Label, withKey)
		return s, true
	}
	for i := 0; i+1 < len(with.Content); i += 2 {
		name, vn := with.Content[i].Value, with.Content[i+1]
		in, ok := r.lookupName(name, kind)
		if !ok {
			s.Problems.AddGeneral("%s", r.unknownInput(name, kind))
			continue
		}
		if vn.Kind != yaml.ScalarNode {
			s.Problems.Add(in, "must be a string, not a YAML %s", kindName(vn.Kind))
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
		s.Values.Set(in.Key, v)
		if in.Secret {
			s.Problems.Add(in, "%s", literalSecret(kind))
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
func (r Recognizer) lookupName(name string, kind Kind) (inputs.Input, bool) {
	for _, in := range r.reg.Catalog().Inputs() {
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
func (r Recognizer) unknownInput(name string, kind Kind) string {
	for _, in := range r.reg.Catalog().Inputs() {
		switch {
		case kind == Pipeline && in.GitHubOnly && (strings.EqualFold(in.Azure, name) || strings.EqualFold(in.Key, name)):
			return fmt.Sprintf("input %q is for GitHub workflows only%s", name, r.instead(in, "Azure Pipelines", inputs.AzureNames))
		case kind == Workflow && in.AzureOnly && (strings.EqualFold(in.Azure, name) || strings.EqualFold(in.Key, name)):
			return fmt.Sprintf("input %q is for Azure Pipelines only%s", name, r.instead(in, "GitHub", inputs.GitHubNames))
		case kind == Pipeline && strings.EqualFold(in.Key, name):
			return fmt.Sprintf("unknown input %q; Azure Pipelines names inputs in camelCase: %s", name, in.Azure)
		case kind == Workflow && strings.EqualFold(in.Azure, name):
			return fmt.Sprintf("unknown input %q; GitHub names inputs in kebab-case: %s", name, in.Key)
		}
	}
	return fmt.Sprintf("unknown input %q%s", name, inputs.DidYouMean(name, r.knownNames(kind)))
}

// instead says which inputs do in's work on the other CI system, if any:
// "; on GitHub use azure-client-id and azure-tenant-id".
func (r Recognizer) instead(in inputs.Input, system string, n inputs.Naming) string {
	var names []string
	for _, k := range in.Instead {
		if other, ok := r.reg.Catalog().Lookup(k); ok {
			names = append(names, n.Name(other))
		}
	}
	if len(names) == 0 {
		return ""
	}
	return "; on " + system + " use " + strings.Join(names, " and ")
}

func (r Recognizer) knownNames(kind Kind) []string {
	var names []string
	for _, in := range r.reg.Catalog().Inputs() {
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
