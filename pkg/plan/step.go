package plan

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// A recognised step's inputs, as the file gives them.

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
			if in.DeclaredOn(inputs.OnAzure) && strings.EqualFold(in.Azure, name) {
				return in, true
			}
		default:
			if in.DeclaredOn(inputs.OnGitHub) && strings.EqualFold(in.Key, name) {
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
		case kind == Pipeline && !in.DeclaredOn(inputs.OnAzure) && (strings.EqualFold(in.Azure, name) || strings.EqualFold(in.Key, name)):
			return fmt.Sprintf("input %q is for GitHub workflows only%s", name, r.instead(in, "Azure Pipelines", inputs.AzureNames))
		case kind == Workflow && !in.DeclaredOn(inputs.OnGitHub) && (strings.EqualFold(in.Azure, name) || strings.EqualFold(in.Key, name)):
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
		case kind == Pipeline && in.DeclaredOn(inputs.OnAzure):
			names = append(names, in.Azure)
		case kind != Pipeline && in.DeclaredOn(inputs.OnGitHub):
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
