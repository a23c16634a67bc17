// Package host defines what jobtoken needs from the system it runs in — a
// GitHub runner, an Azure Pipelines agent or a terminal — so that the flow
// input → plan → mint → publish → revoke is written once. A host offers
// capabilities, not a name: a few small interfaces, and optional ones (an
// OIDC token, service connections) that only some hosts have.
package host

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
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
	// CollectionURI is the Azure DevOps organization the pipeline runs in
	// (System.CollectionUri), on Azure Pipelines.
	CollectionURI string
	// Unknown, in a run a plan describes before it exists, lists the fields
	// that hold a description of what the run will tell ("{current
	// owner}/{current repository}") rather than a value: shown, never
	// checked or sent anywhere.
	Unknown RunFields
}

// RunFields names fields of a Run.
type RunFields uint8

// The fields of a Run that a plan may not know.
const (
	RunRepository RunFields = 1 << iota // Repository (and RepoName)
	RunCollection                       // CollectionURI
)

// Known reports whether the fields f hold values (not descriptions).
func (r Run) Known(f RunFields) bool { return r.Unknown&f == 0 }

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

// Source is where a step's inputs come from: the inputs, how its users spell
// them, the run, and the environment.
type Source interface {
	// Inputs reads the step's inputs.
	Inputs() inputs.Values
	// Naming is how users spell input names here.
	Naming() inputs.Naming
	// Run describes the current run.
	Run() Run
	// Getenv reads the environment (injected for tests).
	Getenv(key string) string
}

// Publisher hands what a stage makes to the CI system.
type Publisher interface {
	// Mask asks the CI system to hide value in logs. It must be called
	// before the value is written anywhere.
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
}

// Logger writes the step's log.
type Logger interface {
	Debugf(format string, args ...any)
	Infof(format string, args ...any)
	Noticef(format string, args ...any)
	Warningf(format string, args ...any)
	// Errorf reports the failure of the step; the caller then exits non-zero.
	Errorf(format string, args ...any)
}

// Host is what a stage runs on: a CI system, or the terminal.
type Host interface {
	Source
	Publisher
	Logger
}

// OIDC is a CI system's OpenID Connect token for the running job, which
// workload identity federation trusts instead of a stored secret.
type OIDC interface {
	// Available says, without a call, why the job cannot get a token (it
	// lacks a permission), or nil.
	Available() error
	// IDToken fetches a token for audience.
	IDToken(ctx context.Context, audience string) (string, error)
	// Credentials are what the host authenticates the request with (a
	// request token): masked before anything is minted.
	Credentials() []string
}

// PlannedOIDC stands in, in a plan, for the OIDC token a job will have:
// Unavailable says why the job will not get one, nil when it will. It
// fetches nothing.
type PlannedOIDC struct{ Unavailable error }

// Available implements OIDC.
func (p PlannedOIDC) Available() error { return p.Unavailable }

// IDToken implements OIDC: a plan fetches no token.
func (PlannedOIDC) IDToken(context.Context, string) (string, error) {
	return "", errors.New("a plan fetches no OIDC token")
}

// Credentials implements OIDC: a plan holds none.
func (PlannedOIDC) Credentials() []string { return nil }

// OIDCHost is a host whose jobs can get an OIDC token (GitHub Actions).
type OIDCHost interface {
	// OIDC returns the job's token source, calling through hc.
	OIDC(hc *http.Client) OIDC
}

// ServiceConnection is a cloud identity the CI system holds for the job
// under a name (an Azure Resource Manager service connection): whom it
// names, and the OIDC token that proves the job may act as it.
type ServiceConnection struct {
	ID       string // as the step names it
	ClientID string // the service principal's application (client) ID
	TenantID string
	OIDC
}

// OIDCHandoff is a host that says which of its variables another process
// of the job (the broker) needs to request OIDC tokens again: for the job,
// or for the service connection whose ID is connection. Secrets lists the
// values that are credentials (the request token, the job's access token).
// They reach that process over an inherited pipe, never its environment.
type OIDCHandoff interface {
	OIDCVariables(connection string) (vars map[string]string, secrets []string)
}

// ServiceConnectionHost is a host whose jobs reach cloud identities through
// service connections (Azure Pipelines).
type ServiceConnectionHost interface {
	// ServiceConnection returns the connection the step names as id,
	// calling through hc; the error says, in one line, why the job cannot
	// use it.
	ServiceConnection(id string, hc *http.Client) (ServiceConnection, error)
}

// Terminal is a host where a person runs jobtoken by hand: their own CLI
// sign-ins (az login) may stand in for a parent credential.
type Terminal interface {
	AtTerminal()
}

// StateVariable is a host that can say where the post stage reads the state
// named name (STATE_jobtoken), for messages.
type StateVariable interface {
	StateVariable(name string) string
}

// Preflighter is a host that can tell, before anything is minted, that it
// will not be able to publish (a missing file-command variable), so the
// failure comes before a token exists rather than after.
type Preflighter interface {
	Preflight(exportEnv bool) error
}

// NoBackgroundInContainer is why the container variant refuses refresh.
const NoBackgroundInContainer = "the container variant cannot leave a process running after its step; use the native action (uses: jobtoken/jobtoken@v1)"

// Background is a host where the main stage may leave a process running for
// the rest of the job (the refresh broker): the native GitHub action and
// the Azure Pipelines task.
type Background interface {
	// BackgroundDir is the job's temporary folder (RUNNER_TEMP,
	// Agent.TempDirectory), emptied when the job ends; the error says why
	// no process can outlive the step here (the container variant).
	BackgroundDir() (string, error)
	// AddPath puts dir on PATH for later steps.
	AddPath(dir string) error
}

// Finisher is a host that reports the end of a stage itself (Azure
// Pipelines sets the step result once with task.complete, however many
// errors it logged).
type Finisher interface {
	Finish(failed bool)
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

// NewSuffix returns the random part of a token's name, which keeps names
// unique when one run mints several tokens (matrix jobs, several steps):
// six hex digits, as ParseLabel reads them.
func NewSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
