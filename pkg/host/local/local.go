// Package local is the terminal host: inputs come from command-line flags and
// INPUT_* environment variables, the token goes to stdout and everything else
// to stderr. There is no CI system to mask values or keep state, so Mask only
// registers the value with the redacting writers and state lives in memory for
// the one process.
package local

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// Host implements host.Host for a terminal.
type Host struct {
	values inputs.Values
	run    host.Run
	getenv func(string) string
	// stdout must be the raw side of a redacting writer: the token is
	// registered as a secret before it is printed, and printing it is the
	// point of `jobtoken mint`.
	stdout  *secret.Writer
	stderr  io.Writer
	secrets *secret.Set
	ciMask  func(string)

	mu    sync.Mutex
	state map[string]string
}

var _ host.Host = (*Host)(nil)

// Options configure a Host.
type Options struct {
	Values  inputs.Values
	Run     host.Run
	Getenv  func(string) string
	Stdout  *secret.Writer // the token, and nothing else
	Stderr  io.Writer      // everything else; should redact
	Secrets *secret.Set
	// CIMask, when jobtoken runs by hand inside a CI job (a `run:` or
	// `script:` step), also asks that CI system to mask a value, so that
	// a token printed on stdout does not reach the job log in clear.
	CIMask func(string)
}

// New returns a terminal host.
func New(o Options) *Host {
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	if o.Secrets == nil {
		o.Secrets = &secret.Set{}
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	return &Host{values: o.Values, run: o.Run, getenv: o.Getenv, stdout: o.Stdout, stderr: o.Stderr, secrets: o.Secrets, ciMask: o.CIMask, state: map[string]string{}}
}

// EnvNames are the environment variables that can carry input in, first
// match wins: the runner's spelling (INPUT_CLIENT-ID, which a shell cannot
// export), the one a shell can (INPUT_CLIENT_ID), and the agent's
// (INPUT_CLIENTID).
func EnvNames(in inputs.Input) []string {
	up := strings.ToUpper(in.Key)
	names := []string{"INPUT_" + up}
	if u := strings.ReplaceAll(up, "-", "_"); u != up {
		names = append(names, "INPUT_"+u)
	}
	if a := "INPUT_" + strings.ToUpper(in.Azure); a != names[0] {
		names = append(names, a)
	}
	return names
}

// FromEnv reads every input of cat given as an INPUT_* variable.
func FromEnv(cat *inputs.Catalog, getenv func(string) string) inputs.Values {
	return cat.Read(func(in inputs.Input) (string, bool) {
		for _, n := range EnvNames(in) {
			if v := getenv(n); v != "" {
				return v, true
			}
		}
		return "", false
	})
}

var _ host.Terminal = (*Host)(nil)

// AtTerminal implements host.Terminal: a person runs jobtoken here, and
// their own CLI sign-ins may stand in for a parent credential.
func (*Host) AtTerminal() {}

// Naming implements host.Host: errors name the flag.
func (*Host) Naming() inputs.Naming { return inputs.FlagNames }

// Inputs implements host.Host.
func (h *Host) Inputs() inputs.Values { return h.values }

// Run implements host.Host.
func (h *Host) Run() host.Run { return h.run }

// Getenv implements host.Host.
func (h *Host) Getenv(k string) string { return h.getenv(k) }

// Mask implements host.Host: it registers v with the redacting writers, and
// tells the CI system only when there is one (Options.CIMask).
func (h *Host) Mask(v string) {
	h.secrets.Add(v)
	if h.ciMask != nil {
		h.ciMask(v)
	}
}

// SetOutput implements host.Host. The token is the only thing on stdout, so
// that `TOKEN=$(jobtoken mint …)` works; other outputs go to stderr.
func (h *Host) SetOutput(k, v string, secretValue bool) error {
	if k == inputs.OutToken {
		if h.stdout == nil {
			return fmt.Errorf("no stdout to print the token to")
		}
		return h.stdout.WriteRaw(v + "\n")
	}
	if v == "" {
		return nil
	}
	if secretValue {
		// Printed, it would only read ***: the token is on stdout.
		h.Mask(v)
		return nil
	}
	_, err := fmt.Fprintf(h.stderr, "%s: %s\n", k, v)
	return err
}

// ExportEnv implements host.Host. A process cannot set variables in the shell
// that started it, so it says how to do it instead.
func (h *Host) ExportEnv(name, _ string, _ bool) error {
	h.Infof("export-env %s: a command cannot set variables in its parent shell; use %s=\"$(jobtoken mint …)\"", name, name)
	return nil
}

// SaveState implements host.Host: kept in memory, for the caller to read back
// (for example to print how to revoke the token).
func (h *Host) SaveState(name, value string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state[name] = value
	return nil
}

// State implements host.Host.
func (h *Host) State(name string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.state[name]
	return v, ok
}

// Summary implements host.Host: a terminal has no step summary, and the
// minted line on stderr already says the same.
func (*Host) Summary(string) error { return nil }

func (h *Host) line(prefix, f string, a ...any) {
	_, _ = fmt.Fprintln(h.stderr, prefix+fmt.Sprintf(f, a...))
}

// Debugf implements host.Host; shown when JOBTOKEN_DEBUG or RUNNER_DEBUG is set.
func (h *Host) Debugf(f string, a ...any) {
	if h.getenv("JOBTOKEN_DEBUG") != "" || h.getenv("RUNNER_DEBUG") == "1" {
		h.line("debug: ", f, a...)
	}
}

// Infof implements host.Host.
func (h *Host) Infof(f string, a ...any) { h.line("", f, a...) }

// Noticef implements host.Host.
func (h *Host) Noticef(f string, a ...any) { h.line("notice: ", f, a...) }

// Warningf implements host.Host.
func (h *Host) Warningf(f string, a ...any) { h.line("warning: ", f, a...) }

// Errorf implements host.Host.
func (h *Host) Errorf(f string, a ...any) { h.line("error: ", f, a...) }
