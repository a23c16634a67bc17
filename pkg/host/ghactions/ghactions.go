// Package ghactions is the GitHub Actions host: inputs from INPUT_*, workflow
// commands on stdout and file commands (GITHUB_OUTPUT, GITHUB_ENV,
// GITHUB_STATE, GITHUB_STEP_SUMMARY), through sethvargo/go-githubactions.
package ghactions

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sethvargo/go-githubactions"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// Name is how jobtoken's commands name GitHub Actions (demo --host).
const Name = "github"

// Host implements host.Host on a GitHub runner.
type Host struct {
	action *githubactions.Action
	out    *secret.Writer
	getenv func(string) string
	cat    *inputs.Catalog
	// Delimiter makes heredoc delimiters; tests fix it for golden files.
	Delimiter func() string
}

var _ host.Host = (*Host)(nil)

// New returns a host writing workflow commands to out (already redacting),
// reading the environment through getenv and the inputs of cat.
func New(out *secret.Writer, getenv func(string) string, cat *inputs.Catalog) *Host {
	return &Host{
		action: githubactions.New(githubactions.WithWriter(out), githubactions.WithGetenv(getenv)),
		out:    out,
		getenv: getenv,
		cat:    cat,
	}
}

// Naming implements host.Host.
func (*Host) Naming() inputs.Naming { return inputs.GitHubNames }

// Getenv implements host.Host.
func (h *Host) Getenv(k string) string { return h.getenv(k) }

// Inputs implements host.Host. The runner passes `with:` values as INPUT_ plus
// the upper-cased name, hyphens kept.
func (h *Host) Inputs() inputs.Values {
	return h.cat.ReadOn(inputs.OnGitHub, func(in inputs.Input) string { return h.action.GetInput(in.Key) })
}

// Run implements host.Host.
func (h *Host) Run() host.Run {
	repo := h.getenv("GITHUB_REPOSITORY")
	return host.Run{
		Repository: repo,
		RepoName:   repo,
		RunID:      h.getenv("GITHUB_RUN_ID"),
		Attempt:    h.getenv("GITHUB_RUN_ATTEMPT"),
		APIURL:     h.getenv("GITHUB_API_URL"),
	}
}

// Mask implements host.Host. The command must carry the value itself, so it
// bypasses redaction.
func (h *Host) Mask(v string) {
	cmd := &githubactions.Command{Name: "add-mask", Message: v}
	_ = h.out.WriteRaw(cmd.String() + "\n")
}

// fileCommand appends one entry to the file named by GITHUB_<NAME>. The
// library panics when the variable is unset or the write fails; this returns
// an error instead.
func (h *Host) fileCommand(name, msg string) (err error) {
	env := "GITHUB_" + strings.ToUpper(name)
	if h.getenv(env) == "" {
		return fmt.Errorf("%s is not set; this stage must run on a GitHub runner", env)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("failed to write %s: %v", env, r)
		}
	}()
	h.action.IssueFileCommand(&githubactions.Command{Name: name, Message: msg})
	return nil
}

// Preflight implements host.Preflighter: the output and state files must
// exist before a token is minted, and the env file when export-env is set.
func (h *Host) Preflight(exportEnv bool) error {
	need := []string{"GITHUB_OUTPUT", "GITHUB_STATE"}
	if exportEnv {
		need = append(need, "GITHUB_ENV")
	}
	for _, v := range need {
		if h.getenv(v) == "" {
			return fmt.Errorf("%s is not set; this stage must run on a GitHub runner (by hand, use jobtoken mint)", v)
		}
	}
	return nil
}

// BackgroundDir implements host.Background: RUNNER_TEMP. The container
// variant runs in a container that ends with its step, so nothing it
// starts outlives the step; the runner mounts its file commands under
// /github/file_commands there.
func (h *Host) BackgroundDir() (string, error) {
	if strings.HasPrefix(h.getenv("GITHUB_OUTPUT"), "/github/file_commands/") {
		return "", errors.New(host.NoBackgroundInContainer)
	}
	dir := h.getenv("RUNNER_TEMP")
	if dir == "" {
		return "", fmt.Errorf("RUNNER_TEMP is not set; this stage must run on a GitHub runner")
	}
	return dir, nil
}

// AddPath implements host.Background with the GITHUB_PATH file command.
func (h *Host) AddPath(dir string) error {
	if strings.ContainsAny(dir, "\r\n") {
		return fmt.Errorf("invalid path %q", dir)
	}
	return h.fileCommand("path", dir)
}

// Heredoc renders name<<DELIM / value / DELIM with a random delimiter that the
// value cannot contain, so no value can add another entry.
func Heredoc(name, value string, delim func() string) (string, error) {
	if !validName(name) {
		return "", fmt.Errorf("invalid name %q", name)
	}
	if delim == nil {
		delim = randomDelimiter
	}
	for range 10 {
		// The runner reads the delimiter up to the line end: one with a line
		// break in it could never be matched.
		d := delim()
		if d != "" && !strings.ContainsAny(d, "\r\n") && !strings.Contains(value, d) && !strings.Contains(name, d) {
			return name + "<<" + d + "\n" + value + "\n" + d, nil
		}
	}
	return "", fmt.Errorf("could not find a delimiter for %s", name)
}

func validName(n string) bool {
	return n != "" && !strings.ContainsAny(n, "\r\n=<") && strings.TrimSpace(n) == n
}

func randomDelimiter() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "ghadelimiter_" + hex.EncodeToString(b)
}

func (h *Host) setKV(cmd, k, v string) error {
	msg, err := Heredoc(k, v, h.Delimiter)
	if err != nil {
		return err
	}
	return h.fileCommand(cmd, msg)
}

// SetOutput implements host.Host.
func (h *Host) SetOutput(k, v string, _ bool) error { return h.setKV("output", k, v) }

// ExportEnv implements host.Host.
func (h *Host) ExportEnv(k, v string, _ bool) error { return h.setKV("env", k, v) }

// SaveState implements host.Host. The runner hands it back to the post stage
// as STATE_<name>.
func (h *Host) SaveState(k, v string) error { return h.setKV("state", k, v) }

// StateVariable implements host.StateVariable: the runner hands state back
// to the post stage as STATE_<name>.
func (*Host) StateVariable(name string) string { return "STATE_" + name }

// State implements host.Host (go-githubactions has no GetState).
func (h *Host) State(k string) (string, bool) {
	v := h.getenv(h.StateVariable(k))
	return v, v != ""
}

// Summary implements host.Host; it is skipped when the runner gives no file.
func (h *Host) Summary(md string) error {
	if h.getenv("GITHUB_STEP_SUMMARY") == "" {
		return nil
	}
	return h.fileCommand("step_summary", md)
}

// Debugf implements host.Host.
func (h *Host) Debugf(f string, a ...any) { h.action.Debugf("%s", fmt.Sprintf(f, a...)) }

// Noticef implements host.Host.
func (h *Host) Noticef(f string, a ...any) { h.action.Noticef("%s", fmt.Sprintf(f, a...)) }

// Warningf implements host.Host.
func (h *Host) Warningf(f string, a ...any) { h.action.Warningf("%s", fmt.Sprintf(f, a...)) }

// Errorf implements host.Host.
func (h *Host) Errorf(f string, a ...any) { h.action.Errorf("%s", fmt.Sprintf(f, a...)) }

// Infof implements host.Host. Plain lines are neutralised so that no value can
// be read by the runner as a workflow command.
func (h *Host) Infof(f string, a ...any) {
	_, _ = fmt.Fprintln(h.out, Neutralize(fmt.Sprintf(f, a...)))
}

// Neutralize makes text safe to print as plain log lines. The runner reads
// a line as a command when, after .NET's TrimStart (every Unicode space, not
// only " " and "\t"), it starts with "::", or when it holds "##[" anywhere;
// its StartsWith/IndexOf are culture-aware and may skip zero-width
// characters, so those are skipped here too. A leading ":" becomes "%3A" and
// the "[" of "##[" becomes "%5B"; a CR (a line end to the runner) is dropped.
func Neutralize(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = neutralizeLine(l)
	}
	return strings.Join(lines, "\n")
}

func neutralizeLine(l string) string {
	var b strings.Builder
	leading := true // still in the part TrimStart and collation would skip
	hashes := 0     // '#' just before, ignorable characters skipped
	for i := 0; i < len(l); {
		r, size := utf8.DecodeRuneInString(l[i:])
		raw := l[i : i+size] // written as is, so invalid UTF-8 stays byte-exact
		i += size
		switch {
		case ignorable(r) || (leading && unicode.IsSpace(r)):
			b.WriteString(raw)
			continue
		case leading && r == ':':
			b.WriteString("%3A")
		case r == '[' && hashes >= 2:
			b.WriteString("%5B")
		default:
			b.WriteString(raw)
		}
		leading = false
		if r == '#' {
			hashes++
		} else {
			hashes = 0
		}
	}
	return b.String()
}

// ignorable reports characters that a culture-aware .NET comparison may
// treat as absent: controls that are not spaces, format characters
// (soft hyphen, zero-width space and joiners, BOM), variation selectors and
// other default-ignorable code points.
func ignorable(r rune) bool {
	return (unicode.IsControl(r) && !unicode.IsSpace(r)) ||
		unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Variation_Selector, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		r == '\u034f'
}
