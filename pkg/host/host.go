// Package host defines what jobtoken needs from the system it runs in — a
// GitHub runner, an Azure Pipelines agent or a terminal — so that the flow
// input → plan → mint → publish → revoke is written once.
package host

import (
	"regexp"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// Run describes the CI run jobtoken is part of, for defaults and for naming
// tokens so that an administrator can trace them.
type Run struct {
	Repository string // owner/name of the current repository, if known and on GitHub
	RepoName   string // name of the repository as the CI system calls it (any provider)
	RunID      string
	Attempt    string
	APIURL     string // GitHub API URL from the runner, if any
	CI         string // "github", "azure" or "local"
}

// Label names the run for token display names and notes.
func (r Run) Label() string {
	repo := r.Repository
	if repo == "" {
		repo = r.RepoName
	}
	if repo == "" {
		repo = "local"
	}
	id := r.RunID
	if id == "" {
		id = "0"
	}
	att := r.Attempt
	if att == "" {
		att = "1"
	}
	return "jobtoken " + repo + " run " + id + "." + att
}

// Host is one CI system (or the local terminal).
type Host interface {
	// Name is "github", "azure" or "local".
	Name() string
	// Naming is how this host spells input names.
	Naming() inputs.Naming
	// Inputs reads the step's inputs.
	Inputs() inputs.Values
	// Run describes the current run.
	Run() Run
	// Getenv reads the environment (injected for tests).
	Getenv(key string) string

	// Mask asks the CI system to hide value in logs. It must be called before
	// the value is written anywhere.
	Mask(value string)
	// SetOutput publishes an output; secret marks the token.
	SetOutput(key, value string, secret bool) error
	// ExportEnv makes name=value visible to later steps.
	ExportEnv(name, value string, secret bool) error
	// SaveState remembers value for the post stage (always secret).
	SaveState(name, value string) error
	// State reads what the main stage saved; ok is false when nothing was.
	State(name string) (value string, ok bool)
	// Summary appends markdown to the step summary (never a secret).
	Summary(markdown string) error

	Debugf(format string, args ...any)
	Infof(format string, args ...any)
	Noticef(format string, args ...any)
	Warningf(format string, args ...any)
	// Errorf reports the failure of the step; the caller then exits non-zero.
	Errorf(format string, args ...any)
}

// RunLabel is what a token's name says of the run that minted it.
type RunLabel struct {
	Repo    string
	RunID   string
	Attempt string
	Suffix  string // the random suffix that makes the name unique per step
}

var labelRE = regexp.MustCompile(`^jobtoken (.+) run ([^ .]+)\.([^ .]+) ([0-9a-f]{6})$`)

// ParseLabel reads a token name made from Run.Label plus a random suffix (how
// the azure-devops and anaconda providers name tokens); ok is false for any
// other name, so that tokens jobtoken did not mint are never touched.
// Anaconda notes write the repository's "/" as ":" (a note is one URL path
// segment); both spellings read as owner/name, so that notes made before
// and after that change are recognised alike.
func ParseLabel(name string) (RunLabel, bool) {
	m := labelRE.FindStringSubmatch(name)
	if m == nil {
		return RunLabel{}, false
	}
	return RunLabel{Repo: strings.ReplaceAll(m[1], ":", "/"), RunID: m[2], Attempt: m[3], Suffix: m[4]}, true
}

// Preflighter is a host that can tell, before anything is minted, that it
// will not be able to publish (a missing file-command variable), so the
// failure comes before a token exists rather than after.
type Preflighter interface {
	Preflight(exportEnv bool) error
}
