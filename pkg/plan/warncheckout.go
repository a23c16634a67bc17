package plan

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// Warnings about the checkout a job does, and the runner it runs on.

// isCheckout reports whether a workflow step runs actions/checkout.
func isCheckout(m *yaml.Node) bool {
	name, _, _ := strings.Cut(strings.TrimSpace(scalar(m, "uses")), "@")
	return strings.EqualFold(name, "actions/checkout")
}

var gitRemoteRE = regexp.MustCompile(`\bgit\b[^\n;&|]*?\s(push|fetch|pull|ls-remote)\b`)

// checkoutCredential: actions/checkout persists its own credential (an
// http.extraheader in .git/config) unless persist-credentials is false, and
// git sends that header however another token is offered (GH_TOKEN, gh
// auth setup-git, a token in the URL): a later git push meant to use this
// step's token uses checkout's.
func checkoutCredential(sc scope, s Step) []Warning {
	if p, ok := literal(s, inputs.Provider); !ok || !sc.r.gitCredential(p) {
		return nil
	}
	exported, _ := literal(s, inputs.ExportEnv)
	ref := tokenRef(s.ID)
	var ws []Warning
	steps := sc.seq.Content
	for i := sc.idx + 1; i < len(steps); i++ {
		m := deref(steps[i])
		run := scalar(m, "run")
		verb := gitRemoteRE.FindStringSubmatch(run)
		if verb == nil || strings.Contains(run, "--unset-all") {
			continue
		}
		text := run + " " + nodeText(get(m, "env"))
		if exported == "" && (ref == nil || !ref.MatchString(text)) {
			// Not meant to use this step's token.
			continue
		}
		co := persistedCheckout(steps[:i], ref)
		if co == nil {
			continue
		}
		ws = append(ws, newWarning(WarnCheckoutCredential, m.Line,
			fmt.Sprintf("git %s runs with the credential actions/checkout (line %d) persisted in .git/config, not with this step's token (git sends checkout's header whatever else it is given)", verb[1], co.Line),
			"set persist-credentials: false on actions/checkout, then hand git this token (for example gh auth setup-git with GH_TOKEN set)"))
	}
	return ws
}

// gitCredentialsCheckout: with git-credentials, git asks jobtoken for a
// token only when no header answers first, and the header actions/checkout
// persists in the checked-out repository's .git/config does (its token also
// dies with the job's GITHUB_TOKEN, not with jobtoken's refreshes).
func gitCredentialsCheckout(sc scope, s Step) []Warning {
	if v, ok := literal(s, inputs.GitCredentials); !ok || !isTrue(v) {
		return nil
	}
	co := persistedCheckout(sc.seq.Content, nil)
	if co == nil {
		return nil
	}
	return []Warning{newWarning(WarnGitCredentialsHdr, co.Line,
		"actions/checkout persists its own token in .git/config, and git sends it before asking jobtoken (git-credentials) in the checked-out repository",
		"set persist-credentials: false on actions/checkout")}
}

func isTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "1", "on":
		return true
	}
	return false
}

// tokenRef matches an expression that reads step id's token output (not
// token-id), or is nil for a step without an id, whose outputs cannot be read.
func tokenRef(id string) *regexp.Regexp {
	if id == "" {
		return nil
	}
	return regexp.MustCompile(`steps\.` + regexp.QuoteMeta(id) + `\.outputs\.token(?:[^\w-]|$)`)
}

// persistedCheckout returns the last actions/checkout step among steps that
// leaves a credential other than this step's token in .git/config.
func persistedCheckout(steps []*yaml.Node, ref *regexp.Regexp) *yaml.Node {
	var found *yaml.Node
	for _, c := range steps {
		m := deref(c)
		if !isCheckout(m) {
			continue
		}
		with := get(m, "with")
		if strings.EqualFold(strings.TrimSpace(scalar(with, "persist-credentials")), "false") {
			continue
		}
		if ref != nil && ref.MatchString(scalar(with, "token")) {
			continue
		}
		found = m
	}
	return found
}

// checkoutWithoutContents: a job whose permissions name neither contents
// nor a blanket level gives GITHUB_TOKEN no contents access, and
// actions/checkout then cannot fetch a private repository.
func checkoutWithoutContents(sc scope, s Step) []Warning {
	// One warning per job: on its first jobtoken step.
	for _, m := range sc.earlier() {
		if _, ok := sc.r.recognize(m, Workflow); ok {
			return nil
		}
	}
	perms, where := get(sc.job, "permissions"), "job "+sc.jobName
	if perms == nil {
		perms, where = get(sc.root, "permissions"), "the workflow"
	}
	perms = deref(perms)
	if perms == nil || perms.Kind != yaml.MappingNode {
		return nil // absent (the default), write-all, read-all or an expression
	}
	if c := strings.TrimSpace(scalar(perms, "contents")); c != "" && c != "none" {
		return nil
	}
	for _, c := range sc.seq.Content {
		m := deref(c)
		if !isCheckout(m) || scalar(get(m, "with"), "token") != "" {
			continue
		}
		return []Warning{newWarning(WarnCheckoutNoContents, m.Line,
			fmt.Sprintf("actions/checkout runs with GITHUB_TOKEN, and the permissions of %s (line %d) give it no contents access, which a private repository needs", where, perms.Line),
			"add contents: read to those permissions")}
	}
	return nil
}

// containerNotLinux: the container variant is a docker action, which runs on
// Linux runners only.
func containerNotLinux(sc scope, s Step) []Warning {
	runsOn := get(sc.job, "runs-on")
	if !IsContainerVariant(s.Uses) || runsOnLinux(runsOn) {
		return nil
	}
	return []Warning{newWarning(WarnContainerNotLinux, deref(runsOn).Line,
		fmt.Sprintf("%s is the container variant, which runs only on Linux runners, and job %s runs on %s", s.Uses, sc.jobName, describeRunsOn(runsOn)),
		fmt.Sprintf("use the native action (%s), which runs on Linux, macOS and Windows runners", nativeOf(s.Uses)))}
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
