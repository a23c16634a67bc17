// Package azpipelines is the Azure Pipelines host: inputs from INPUT_*,
// logging commands (##vso[…]) on stdout, state in task variables that the agent
// hands back to the post-job step as VSTS_TASKVARIABLE_*.
package azpipelines

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// Name is how jobtoken's commands name Azure Pipelines (demo --host).
const Name = "azure"

// Host implements host.Host on an Azure Pipelines agent.
type Host struct {
	out    *secret.Writer
	set    *secret.Set
	getenv func(string) string
	cat    *inputs.Catalog
	// TempName names the summary file; tests fix it for golden files.
	TempName func() string

	mu        sync.Mutex
	failed    bool
	completed bool
}

var _ host.Host = (*Host)(nil)

// New returns a host writing logging commands to out (already redacting),
// redacting the summary file with set, reading the environment through
// getenv and the inputs of cat.
func New(out *secret.Writer, set *secret.Set, getenv func(string) string, cat *inputs.Catalog) *Host {
	if set == nil {
		set = &secret.Set{}
	}
	return &Host{out: out, set: set, getenv: getenv, cat: cat}
}

// EnvName is how the agent turns an input or variable name into an
// environment variable name (VarUtil.ConvertToEnvVariableFormat): "." and
// " " become "_", letters are upper-cased.
func EnvName(name string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", " ", "_").Replace(name))
}

// Naming implements host.Host.
func (*Host) Naming() inputs.Naming { return inputs.AzureNames }

// Getenv implements host.Host.
func (h *Host) Getenv(k string) string { return h.getenv(k) }

// Inputs implements host.Host. The agent passes each input as INPUT_ plus the
// camelCase name upper-cased; GitHub-only inputs are not part of task.json.
func (h *Host) Inputs() inputs.Values {
	return h.cat.ReadOn(inputs.OnAzure, func(in inputs.Input) string { return h.getenv("INPUT_" + EnvName(in.Azure)) })
}

// Run implements host.Host. Build.Repository.Name is owner/name for GitHub
// repositories; for Azure Repos and others it is only a name, so Repository
// (the GitHub default for owner and repositories) stays empty.
func (h *Host) Run() host.Run {
	name := h.getenv("BUILD_REPOSITORY_NAME")
	r := host.Run{
		RepoName: name,
		RunID:    h.getenv("BUILD_BUILDID"),
		Attempt:  h.getenv("SYSTEM_JOBATTEMPT"),
		// The organization the pipeline runs in.
		CollectionURI: h.getenv("SYSTEM_COLLECTIONURI"),
	}
	switch prov := h.getenv("BUILD_REPOSITORY_PROVIDER"); {
	case strings.EqualFold(prov, "GitHub"):
		r.Repository = name
	case strings.EqualFold(prov, "GitHubEnterprise"):
		r.Repository = name
		// GitHub Enterprise Server serves its REST API under /api/v3 of the
		// host the repository lives on.
		if u, err := url.Parse(h.getenv("BUILD_REPOSITORY_URI")); err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http") {
			r.APIURL = u.Scheme + "://" + u.Host + "/api/v3"
		}
	}
	return r
}

// raw writes a command that must carry a secret (setsecret, secret variables).
// The agent consumes such lines and does not print them.
func (h *Host) raw(c Command) error {
	return h.out.WriteRaw(c.String() + "\n")
}

// command writes a command through the redacting writer.
func (h *Host) command(c Command) error {
	_, err := fmt.Fprintln(h.out, c.String())
	return err
}

// Mask implements host.Host with task.setsecret.
func (h *Host) Mask(v string) {
	if strings.TrimSpace(v) == "" {
		return
	}
	_ = h.raw(Command{Name: "task.setsecret", Data: v})
}

// outputName is the Azure spelling of an output.
func (h *Host) outputName(key string) string {
	if o, ok := h.cat.Output(key); ok && o.Azure != "" {
		return o.Azure
	}
	return key
}

// SetOutput implements host.Host: an output variable, read by later steps as
// $(step.name) or dependencies.job.outputs['step.name'].
func (h *Host) SetOutput(k, v string, isSecret bool) error {
	return h.setVariable(h.outputName(k), v, isSecret, true)
}

// ExportEnv implements host.Host. A secret variable is never put into later
// steps' environment by the agent; pipelines map it with env: NAME: $(NAME).
func (h *Host) ExportEnv(k, v string, isSecret bool) error {
	return h.setVariable(k, v, isSecret, false)
}

func (h *Host) setVariable(name, v string, isSecret, isOutput bool) error {
	if !validName(name) {
		return fmt.Errorf("invalid variable name %q", name)
	}
	c := Command{Name: "task.setvariable", Props: [][2]string{{"variable", name}}}
	if isSecret {
		c.Props = append(c.Props, [2]string{"issecret", "true"})
	}
	if isOutput {
		c.Props = append(c.Props, [2]string{"isoutput", "true"})
	}
	c.Data = v
	if isSecret {
		return h.raw(c)
	}
	return h.command(c)
}

// BackgroundDir implements host.Background: Agent.TempDirectory.
func (h *Host) BackgroundDir() (string, error) {
	dir := h.getenv("AGENT_TEMPDIRECTORY")
	if dir == "" {
		return "", fmt.Errorf("AGENT_TEMPDIRECTORY is not set; this stage must run on an Azure Pipelines agent")
	}
	return dir, nil
}

// AddPath implements host.Background with task.prependpath.
func (h *Host) AddPath(dir string) error {
	return h.command(Command{Name: "task.prependpath", Data: dir})
}

func validName(n string) bool {
	return n != "" && !strings.ContainsAny(n, "\r\n;]=% ") && strings.TrimSpace(n) == n
}

// SaveState implements host.Host. A secret task variable lives only as long as
// the job and comes back to this task's post-job step as
// VSTS_TASKVARIABLE_<NAME>; it is not masked by itself, so job masks the token
// with task.setsecret first.
func (h *Host) SaveState(k, v string) error {
	if !validName(k) {
		return fmt.Errorf("invalid state name %q", k)
	}
	return h.raw(Command{Name: "task.settaskvariable", Props: [][2]string{{"variable", k}, {"issecret", "true"}}, Data: v})
}

// StateVariable implements host.StateVariable: the agent hands a task
// variable back to the post-job step as VSTS_TASKVARIABLE_<NAME>.
func (*Host) StateVariable(name string) string { return "VSTS_TASKVARIABLE_" + EnvName(name) }

// State implements host.Host.
func (h *Host) State(k string) (string, bool) {
	v := h.getenv(h.StateVariable(k))
	return v, v != ""
}

// Summary implements host.Host: the markdown goes to a file in the agent's
// temp directory (kept until the job ends, as the agent uploads it later) and
// task.uploadsummary attaches it to the run's Extensions tab.
//
// The agent gives a task no sign that its step runs with
// `target: { commands: restricted }`; there the agent drops uploadsummary with
// its own warning. job writes the summary after the outputs and state, so
// nothing else is lost.
func (h *Host) Summary(md string) error {
	dir := h.getenv("AGENT_TEMPDIRECTORY")
	if dir == "" {
		h.Noticef("Skipping the summary: AGENT_TEMPDIRECTORY is not set")
		return nil
	}
	name := "jobtoken-summary-" + randomHex() + ".md"
	if h.TempName != nil {
		name = h.TempName()
	}
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("failed to write the summary: %w", err)
	}
	w := secret.NewWriter(f, h.set)
	_, err = w.Write([]byte(md))
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("failed to write the summary: %w", err)
	}
	return h.command(Command{Name: "task.uploadsummary", Data: path})
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Debugf implements host.Host; the agent shows it when system.debug is true.
func (h *Host) Debugf(f string, a ...any) {
	_ = h.command(Command{Name: "task.debug", Data: fmt.Sprintf(f, a...)})
}

// Infof implements host.Host. Plain lines are neutralised so that no value
// can be read by the agent as a logging command.
func (h *Host) Infof(f string, a ...any) {
	_, _ = fmt.Fprintln(h.out, Neutralize(fmt.Sprintf(f, a...)))
}

// Noticef implements host.Host. Azure Pipelines has no notice annotation, so
// it is a plain log line.
func (h *Host) Noticef(f string, a ...any) { h.Infof(f, a...) }

// Warningf implements host.Host.
func (h *Host) Warningf(f string, a ...any) {
	_ = h.command(Command{Name: "task.logissue", Props: [][2]string{{"type", "warning"}}, Data: fmt.Sprintf(f, a...)})
}

// Errorf implements host.Host. The step's result is set once, by Finish, so
// several errors give several issues but one task.complete.
func (h *Host) Errorf(f string, a ...any) {
	h.mu.Lock()
	h.failed = true
	h.mu.Unlock()
	_ = h.command(Command{Name: "task.logissue", Props: [][2]string{{"type", "error"}}, Data: fmt.Sprintf(f, a...)})
}

// Finish reports the step's result at the end of a stage: task.complete
// result=Failed when the stage failed or logged an error, at most once. A
// successful step needs no command: the agent counts exit code 0 as success.
func (h *Host) Finish(failed bool) {
	h.mu.Lock()
	failed = failed || h.failed
	done := h.completed
	if failed {
		h.completed = true
	}
	h.mu.Unlock()
	if failed && !done {
		_ = h.command(Command{Name: "task.complete", Props: [][2]string{{"result", "Failed"}}, Data: "jobtoken failed; see the errors above"})
	}
}
