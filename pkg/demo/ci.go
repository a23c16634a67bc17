package demo

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// ci stands in for one CI system around the real stages: it gives each
// stage the environment that system gives a step, reads what the stage
// leaves (its output, file commands or logging commands) the way that
// system does, hands outputs and state on to later steps and to the post
// step, and keeps the job log as the system shows it.
type ci interface {
	// title is the CI system's name ("GitHub Actions").
	title() string
	// agent is what runs a job's steps ("the runner").
	agent() string
	// maskCommand is the command that asks it to mask a value.
	maskCommand() string
	// scriptTitle is how its log titles a step that runs script.
	scriptTitle(script string) string
	// preamble is what the transcript shows before the log: the step as a
	// pipeline file holds it, where the log does not show the inputs.
	preamble() []string
	// stage returns the argv and the environment the CI system starts a
	// stage ("main" or "post") with.
	stage(name string) (args []string, env map[string]string, err error)
	// absorb reads what a stage left, as the CI system does, and logs it.
	absorb(name string, code int, stdout, stderr string) error
	// later returns the variable a later step reads the token from, and
	// its value as that step sees it.
	later() (name, value string)
	// output returns a step output of the jobtoken step.
	output(key string) string
	// summary is the step summary the main stage attached (markdown).
	summary() string
	// places are the texts the CI system received in which no secret may
	// appear (outside the values that must carry the token).
	places() []place
	// log is the job log so far; show adds a step to it.
	log() *jobLog
	close()
}

// ciJob is what each CI stand-in keeps alike: the job's temp folder, the
// step, the repository, the catalog, the job log, the summary main attached
// and the places no secret may reach.
type ciJob struct {
	host string // the CI system's name in hosts
	dir  string
	st   Step
	repo Repository
	cat  *inputs.Catalog
	l    jobLog
	md   string
	seen []place
}

// start makes the job's temp folder and masks the step's secret inputs
// from the start, as both CI systems do with secrets (${{ secrets.X }},
// secret variables); agent names whose folder failed in an error.
func (j *ciJob) start(host string, s Step, repo Repository, cat *inputs.Catalog, agent string) error {
	dir, err := os.MkdirTemp("", "jobtoken-demo-")
	if err != nil {
		return fmt.Errorf("failed to make %s temp folder: %w", agent, err)
	}
	j.host, j.dir, j.st, j.repo, j.cat = host, dir, s, repo, cat
	for _, in := range s.Inputs {
		if in.Secret {
			j.l.secret(in.Value)
		}
	}
	return nil
}

func (j *ciJob) title() string   { return HostTitle(j.host) }
func (j *ciJob) log() *jobLog    { return &j.l }
func (j *ciJob) close()          { _ = os.RemoveAll(j.dir) }
func (j *ciJob) summary() string { return j.md }
func (j *ciJob) places() []place { return j.seen }

// readSummary reads the summary file a stage left, as the CI system does:
// main's is what the run's page shows, and every stage's is a place no
// secret may reach. what names the file in an error, where as a place.
func (j *ciJob) readSummary(stage, path, what, where string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", what, err)
	}
	if stage == "main" {
		j.md = string(b)
	}
	j.seen = append(j.seen, place{"summary", where, string(b)})
	return nil
}

// osName is the machine's OS as a CI system tells a step (RUNNER_OS,
// AGENT_OS): each names macOS and Windows its own way, and Linux "Linux".
func osName(macOS, windows string) string {
	switch runtime.GOOS {
	case "darwin":
		return macOS
	case "windows":
		return windows
	}
	return "Linux"
}

// place is text a secret must never reach: its kind (stdout, stderr,
// outputs, env, summary, transcript), where exactly it came from, and the
// text.
type place struct{ kind, name, text string }

// hosts builds each CI system, by the name its host package gives it, in
// one table.
var hosts = map[string]struct {
	title string
	start func(s Step, repo Repository, cat *inputs.Catalog) (ci, error)
}{
	ghactions.Name:   {"GitHub Actions", newRunner},
	azpipelines.Name: {"Azure Pipelines", newAzureAgent},
}

// HostTitle is the name people know the CI system named name by.
func HostTitle(name string) string { return hosts[name].title }

// Hosts returns the CI systems the demo runs on, GitHub Actions first.
func Hosts() []string {
	out := sortedNames(hosts)
	sort.SliceStable(out, func(i, j int) bool { return out[i] == ghactions.Name })
	return out
}

// jobLog is the job log as the CI system shows it: steps of lines, each
// line masked with what the CI system was told to mask when it printed it.
type jobLog struct {
	masks secret.Set
	// fromJob are the values jobtoken asked the CI system to mask.
	fromJob map[string]bool
	steps   []logStep
}

// logStep is one step of the job log.
type logStep struct {
	title  string
	lines  []logLine
	failed bool
	// hidden counts the commands the CI system ran instead of printing
	// them, by name, in the order first seen.
	hidden []hiddenCommand
}

type hiddenCommand struct {
	name string
	n    int
}

// Kinds of log line, as the CI system marks them.
const (
	lineNotice  = "notice"
	lineWarning = "warning"
	lineError   = "error"
)

type logLine struct {
	kind, text string
}

// secret registers values the CI system masks from the start (the
// workflow's or pipeline's secrets).
func (l *jobLog) secret(values ...string) { l.masks.Add(values...) }

// mask registers a value jobtoken asked the CI system to mask.
func (l *jobLog) mask(v string) {
	if l.fromJob == nil {
		l.fromJob = map[string]bool{}
	}
	l.fromJob[v] = true
	l.masks.Add(v)
}

// masked reports whether jobtoken asked the CI system to mask v.
func (l *jobLog) masked(v string) bool { return l.fromJob[v] }

// start begins a step.
func (l *jobLog) start(title string) { l.steps = append(l.steps, logStep{title: title}) }

// print adds a line to the current step, masked as the CI system prints it.
func (l *jobLog) print(kind, text string) {
	s := &l.steps[len(l.steps)-1]
	// Whole values first: a multi-line secret is masked as one.
	text = l.masks.Redact(strings.ReplaceAll(text, "\r\n", "\n"))
	for _, line := range strings.Split(text, "\n") {
		s.lines = append(s.lines, logLine{kind: kind, text: l.masks.Redact(line)})
	}
}

// hide counts a command the CI system ran instead of printing.
func (l *jobLog) hide(name string) {
	s := &l.steps[len(l.steps)-1]
	for i := range s.hidden {
		if s.hidden[i].name == name {
			s.hidden[i].n++
			return
		}
	}
	s.hidden = append(s.hidden, hiddenCommand{name, 1})
}

// fail marks the current step failed.
func (l *jobLog) fail() { l.steps[len(l.steps)-1].failed = true }
