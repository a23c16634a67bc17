package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// The action as a workflow names it, and the shim's name for the binary.
const (
	actionRef = "jobtoken/jobtoken@v1"
	binary    = "jobtoken"
)

// runner stands in for the GitHub runner around a node action's two stages:
// the shim runs the binary with "main" or "post" as its one argument and
// the step's environment, which holds the job's variables, every input of
// action.yml as INPUT_<NAME> (upper case, hyphens kept, defaults filled
// in), fresh file-command files for the step, what earlier steps wrote to
// GITHUB_ENV and, for post, main's GITHUB_STATE as STATE_<name>. It reads
// workflow commands from both streams, as the runner does.
type runner struct {
	ciJob

	exported []ghactions.Entry // GITHUB_ENV of earlier steps, in order
	state    []ghactions.Entry // main's GITHUB_STATE
	outputs  map[string]string // main's GITHUB_OUTPUT
	files    map[string]string // this stage's file commands, by variable
}

func newRunner(s Step, repo Repository, cat *inputs.Catalog) (ci, error) {
	r := &runner{outputs: map[string]string{}}
	if err := r.start(ghactions.Name, s, repo, cat, "the runner's"); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *runner) preamble() []string  { return nil }
func (r *runner) agent() string       { return "the runner" }
func (r *runner) maskCommand() string { return "::add-mask::" }

// scriptTitle is the first line of a run step, as the runner titles it.
func (r *runner) scriptTitle(script string) string { return "Run " + script }

func (r *runner) output(key string) string { return r.outputs[key] }

func (r *runner) stage(name string) ([]string, map[string]string, error) {
	ws := filepath.Join(r.dir, "work")
	env := map[string]string{
		"CI": "true", "GITHUB_ACTIONS": "true",
		"GITHUB_REPOSITORY": Owner + "/" + Repo, "GITHUB_REPOSITORY_OWNER": Owner,
		"GITHUB_RUN_ID": "1", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_RUN_NUMBER": "1",
		"GITHUB_WORKFLOW": "demo", "GITHUB_JOB": "demo", "GITHUB_ACTION": "token",
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_API_URL": "https://api.github.com",
		"GITHUB_WORKSPACE": ws, "RUNNER_TEMP": filepath.Join(r.dir, "temp"),
		"RUNNER_OS": osName("macOS", "Windows"), "HOME": filepath.Join(r.dir, "home"),
	}
	for _, e := range r.exported {
		env[e.Name] = e.Value
	}
	for _, in := range r.cat.Inputs() {
		if in.DeclaredOn(inputs.OnGitHub) {
			env["INPUT_"+strings.ToUpper(in.Key)] = r.st.value(in)
		}
	}
	// Fresh file-command files for each step.
	r.files = map[string]string{}
	for _, f := range []string{"OUTPUT", "ENV", "STATE", "STEP_SUMMARY", "PATH"} {
		p := filepath.Join(r.dir, "file_commands", name, strings.ToLower(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, nil, fmt.Errorf("failed to make the file commands: %w", err)
		}
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			return nil, nil, fmt.Errorf("failed to make the file commands: %w", err)
		}
		r.files["GITHUB_"+f] = p
		env["GITHUB_"+f] = p
	}
	if name == "post" {
		for _, e := range r.state {
			env["STATE_"+e.Name] = e.Value
		}
	}
	return []string{binary, name}, env, nil
}

func (r *runner) absorb(name string, code int, stdout, stderr string) error {
	if name == "main" {
		r.l.start("Run " + actionRef)
		r.l.print("", "with:")
		for _, in := range r.cat.Inputs() {
			if v := r.st.value(in); in.DeclaredOn(inputs.OnGitHub) && v != "" {
				r.l.print("", "  "+in.Key+": "+v)
			}
		}
	} else {
		r.l.start("Post Run " + actionRef)
	}
	for _, s := range []struct{ name, text string }{{"stdout", stdout}, {"stderr", stderr}} {
		var plain []string
		for _, line := range runnerLines(s.text) {
			if !r.line(line) {
				plain = append(plain, line)
			}
		}
		r.seen = append(r.seen, place{s.name, s.name + " of the " + name + " stage", strings.Join(plain, "\n")})
	}
	if code != 0 {
		r.l.fail()
	}
	return r.readFiles(name)
}

// runnerLines splits output where the runner ends a line: "\n", "\r\n" or a
// lone "\r".
func runnerLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.TrimSuffix(strings.ReplaceAll(s, "\r", "\n"), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// line processes one line as the runner does: a workflow command it knows
// is run (::add-mask:: registers a mask, ::debug:: is hidden while step
// debug is off, annotations are shown as such), any other line is printed.
// It reports whether the line is one that must carry a secret (add-mask).
func (r *runner) line(line string) bool {
	cs := ghactions.ParseCommands(line)
	if len(cs) != 1 {
		r.l.print("", line)
		return false
	}
	c := cs[0]
	msg := ghactions.UnescapeData(c.Message)
	switch c.Name {
	case "add-mask":
		r.l.mask(msg)
		r.l.hide("::add-mask::")
		return true
	case "debug":
		r.l.hide("::debug::")
	case "notice":
		r.l.print(lineNotice, msg)
	case "warning":
		r.l.print(lineWarning, msg)
	case "error":
		r.l.print(lineError, msg)
	case "group":
		r.l.print("", "▸ "+msg)
	case "endgroup", "echo", "add-matcher", "remove-matcher":
		r.l.hide("::" + c.Name + "::")
	default:
		// Not a command the runner registers: it prints the line.
		r.l.print("", line)
	}
	return false
}

// readFiles reads the step's file commands after it ends, as the runner
// does: outputs for later steps, exported variables, state for post, the
// summary for the run's page.
func (r *runner) readFiles(stage string) error {
	read := func(v string) ([]ghactions.Entry, string, error) {
		b, err := os.ReadFile(r.files[v])
		if err != nil {
			return nil, "", fmt.Errorf("failed to read %s: %w", v, err)
		}
		es, err := ghactions.ParseFileCommand(string(b))
		if err != nil {
			return nil, "", fmt.Errorf("the runner would refuse %s of the %s stage: %w", v, stage, err)
		}
		return es, string(b), nil
	}
	outs, _, err := read("GITHUB_OUTPUT")
	if err != nil {
		return err
	}
	var other []string
	for _, e := range outs {
		if stage == "main" {
			r.outputs[e.Name] = e.Value
		}
		// The secret outputs (token, tokens) carry the token on purpose.
		if o, ok := r.cat.Output(e.Name); !ok || !o.Secret {
			other = append(other, e.Name+"="+e.Value)
		}
	}
	r.seen = append(r.seen, place{"outputs", "GITHUB_OUTPUT of the " + stage + " stage, but for the token output", strings.Join(other, "\n")})
	envs, _, err := read("GITHUB_ENV")
	if err != nil {
		return err
	}
	var notToken []string
	for _, e := range envs {
		r.exported = append(r.exported, e)
		// An entry that is the token whole is export-env doing its job.
		if e.Value != r.outputs[inputs.OutToken] {
			notToken = append(notToken, e.Name+"="+e.Value)
		}
	}
	r.seen = append(r.seen, place{"env", "GITHUB_ENV of the " + stage + " stage, but for the token's exports", strings.Join(notToken, "\n")})
	if stage == "main" {
		if r.state, _, err = read("GITHUB_STATE"); err != nil {
			return err
		}
	}
	return r.readSummary(stage, r.files["GITHUB_STEP_SUMMARY"], "the step summary", "GITHUB_STEP_SUMMARY of the "+stage+" stage")
}

func (r *runner) later() (string, string) {
	v := ""
	for _, e := range r.exported {
		if e.Name == r.st.ExportEnv {
			v = e.Value
		}
	}
	return r.st.ExportEnv, v
}
