package plan

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

// Which steps of a file are jobtoken's: the action, the task, a renamed or
// vendored copy, and what --action names.

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

var taskRE = regexp.MustCompile(`(?i)^(?:(?:[\w-]+\.)*jobtoken|` + inputs.TaskID + `)@\d+$`)

// IsTask reports whether a `task:` value names the jobtoken task: JobToken@1,
// its fully qualified publisher.extension.JobToken@1 form, or the task's ID
// (f7621ccb-…@1), which the agent accepts too.
func IsTask(task string) bool { return taskRE.MatchString(strings.TrimSpace(task)) }
