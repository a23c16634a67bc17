package plan

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// Warning is something in a step's job that works against the user without
// making the step's inputs invalid: the step would mint, but a later step
// would not get (or keep) the token the way the file expects. Each names the
// fix. Warnings never change plan's exit status.
type Warning struct {
	// Code names the kind of warning, for scripts and for docs that explain
	// the warnings of an example.
	Code string `json:"code"`
	// Line is the line of what the warning is about (a later step, a job's
	// outputs), or 0.
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

// Text is the warning on one line, as the text plan prints it.
func (w Warning) Text() string {
	if w.Line > 0 {
		return fmt.Sprintf("line %d: %s; %s", w.Line, w.Message, w.Fix)
	}
	return w.Message + "; " + w.Fix
}

// MarshalJSON writes the warning with its text, for scripts.
func (w Warning) MarshalJSON() ([]byte, error) {
	type fields Warning
	return json.Marshal(struct {
		fields
		Text string `json:"text"`
	}{fields(w), w.Text()})
}

// Warning codes.
const (
	WarnEnvNotMapped       = "env-not-mapped"
	WarnCheckoutCredential = "checkout-credential"
	WarnStoredUserToken    = "stored-user-token"
	WarnOtherJob           = "token-in-other-job"
	WarnCheckoutNoContents = "checkout-without-contents"
	WarnContainerNotLinux  = "container-on-non-linux"
	WarnGitCredentialsHdr  = "git-credentials-checkout"
)

func newWarning(code string, line int, msg, fix string) Warning {
	return Warning{Code: code, Line: line, Message: msg, Fix: fix}
}

// scope is where a jobtoken step sits: the file, its job (workflows) and the
// steps sequence it is an item of.
type scope struct {
	kind    Kind
	root    *yaml.Node
	job     *yaml.Node // the workflow job; nil in a pipeline
	jobName string
	seq     *yaml.Node
	idx     int
	r       Recognizer
}

// later returns the steps after the jobtoken step, in order.
func (sc scope) later() []*yaml.Node {
	var out []*yaml.Node
	for _, c := range sc.seq.Content[sc.idx+1:] {
		if c = deref(c); c.Kind == yaml.MappingNode {
			out = append(out, c)
		}
	}
	return out
}

// earlier returns the steps before the jobtoken step, in order.
func (sc scope) earlier() []*yaml.Node {
	var out []*yaml.Node
	for _, c := range sc.seq.Content[:sc.idx] {
		if c = deref(c); c.Kind == yaml.MappingNode {
			out = append(out, c)
		}
	}
	return out
}

// warnings runs every check that applies to the step's kind of file.
func warnings(sc scope, s Step) []Warning {
	var ws []Warning
	switch sc.kind {
	case Pipeline:
		ws = append(ws, envNotMapped(sc, s)...)
		ws = append(ws, storedUserToken(sc, s)...)
		ws = append(ws, pipelineOtherJob(sc, s)...)
	case Workflow:
		ws = append(ws, containerNotLinux(sc, s)...)
		ws = append(ws, checkoutWithoutContents(sc, s)...)
		ws = append(ws, checkoutCredential(sc, s)...)
		ws = append(ws, gitCredentialsCheckout(sc, s)...)
		ws = append(ws, storedUserToken(sc, s)...)
		ws = append(ws, workflowOtherJob(sc, s)...)
	}
	return ws
}

// literal is an input's value when the file states it, and whether it does;
// the catalog default counts as stated.
func literal(s Step, in inputs.Input) (string, bool) {
	if _, rt := s.RunTime[in.Key]; rt {
		return "", false
	}
	return s.Values.Get(in), true
}

// envReaders are tools that read a token from an environment variable by
// themselves: a script that runs them needs the variable without naming it.
var envReaders = map[string]*regexp.Regexp{
	"AZURE_DEVOPS_EXT_PAT": regexp.MustCompile(`\baz\s+(devops|repos|boards|pipelines|artifacts)\b`),
	"GH_TOKEN":             regexp.MustCompile(`(^|[\s;&|(])gh\s+\w`),
	"GITHUB_TOKEN":         regexp.MustCompile(`(^|[\s;&|(])gh\s+\w`),
	"ANACONDA_API_TOKEN":   regexp.MustCompile(`(^|[\s;&|(])anaconda\s+\w`),
	"BINSTAR_API_TOKEN":    regexp.MustCompile(`(^|[\s;&|(])anaconda\s+\w`),
}

// scriptKeys hold a pipeline step's script; scriptTasks take one as an input.
var (
	scriptKeys  = []string{"script", "bash", "pwsh", "powershell"}
	scriptTasks = regexp.MustCompile(`(?i)^(Bash|CmdLine|PowerShell|AzureCLI|AzurePowerShell)@\d+$`)
)

// pipelineScript returns a pipeline step's script text and the line it is
// on, or "" when the step runs no script.
func pipelineScript(m *yaml.Node) (string, int) {
	for _, k := range scriptKeys {
		if n := deref(get(m, k)); n != nil && n.Kind == yaml.ScalarNode {
			return n.Value, m.Line
		}
	}
	if scriptTasks.MatchString(strings.TrimSpace(scalar(m, "task"))) {
		in := get(m, "inputs")
		for _, k := range []string{"script", "inlineScript", "Inline"} {
			if v := scalar(in, k); v != "" {
				return v, m.Line
			}
		}
	}
	return "", 0
}

// readsEnv reports whether script reads variable name from its environment,
// itself ($NAME, ${NAME}, $env:NAME, %NAME%) or through a tool that does.
func readsEnv(script, name string) bool {
	q := regexp.QuoteMeta(name)
	if regexp.MustCompile(`\$\{?` + q + `\b|(?i:\$env:)` + q + `\b|%` + q + `%`).MatchString(script) {
		return true
	}
	if re := envReaders[strings.ToUpper(name)]; re != nil {
		return re.MatchString(script)
	}
	return false
}

// mapsEnv reports whether a step's env: sets name.
func mapsEnv(m *yaml.Node, name string) bool {
	env := deref(get(m, "env"))
	if env == nil || env.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(env.Content); i += 2 {
		if strings.EqualFold(env.Content[i].Value, name) {
			return true
		}
	}
	return false
}

// envNotMapped: on Azure Pipelines, exportEnv makes a secret variable, and
// the agent puts no secret variable into a script's environment unless the
// step maps it in env:.
func envNotMapped(sc scope, s Step) []Warning {
	name, ok := literal(s, inputs.ExportEnv)
	if !ok || name == "" {
		return nil
	}
	var ws []Warning
	for _, m := range sc.later() {
		script, line := pipelineScript(m)
		if script == "" || !readsEnv(script, name) || mapsEnv(m, name) {
			continue
		}
		ws = append(ws, newWarning(WarnEnvNotMapped, line,
			fmt.Sprintf("the script step reads %s from its environment, but %s makes it a secret variable, and the agent puts a secret variable into a script's environment only when the step maps it", name, inputs.AzureNames.Name(inputs.ExportEnv)),
			fmt.Sprintf("add env: { %s: $(%s) } to that step", name, name)))
	}
	return ws
}

// staticExpr matches a value stored before the run: secrets, variables,
// inputs, the env context.
var staticExpr = regexp.MustCompile(`\$\{\{\s*(secrets|vars|inputs|env|github\.event)\.`)

// macroRE is an Azure macro $(NAME).
var macroRE = regexp.MustCompile(`^\$\(([\w.-]+)\)$`)

// storedUserToken: some parent credentials expire soon after they are made
// (a PAT's parent, a Microsoft Entra user token, lives 60 to 90 minutes);
// one kept in a secret or variable has expired by the time a run reads it.
// The catalog marks such inputs (Input.Stale).
func storedUserToken(sc scope, s Step) []Warning {
	prov, ok := literal(s, inputs.Provider)
	if !ok {
		return nil
	}
	var ws []Warning
	for _, in := range sc.r.reg.Catalog().Inputs() {
		if in.Stale == nil || !slices.Contains(in.Providers, prov) || !sc.r.applies(s, in) {
			continue
		}
		if expr, ok := s.RunTime[in.Key]; ok && stored(sc, expr) {
			naming := sc.kind.Naming()
			ws = append(ws, newWarning(WarnStoredUserToken, 0,
				fmt.Sprintf("%s comes from %s, a stored value: %s, so a stored one has expired when the run reads it", naming.Name(in), expr, in.Stale.Why),
				in.Stale.Fix(naming)))
		}
	}
	return ws
}

// applies reports whether the file says in is used: its condition
// (Input.When) holds as the file states it, the default included.
func (r Recognizer) applies(s Step, in inputs.Input) bool {
	if in.When == nil {
		return true
	}
	other, _ := r.reg.Catalog().Lookup(in.When.Key)
	v, ok := literal(s, other)
	return ok && strings.EqualFold(v, in.When.Value)
}

// stored reports whether expr reads a value stored before the run, rather
// than one an earlier step of the job made.
func stored(sc scope, expr string) bool {
	switch sc.kind {
	case Workflow:
		// steps.x.outputs…: made by an earlier step of the job.
		return staticExpr.MatchString(expr)
	case Pipeline:
		m := macroRE.FindStringSubmatch(strings.TrimSpace(expr))
		return m == nil || !setByEarlierStep(sc, m[1])
	}
	return true
}

// setByEarlierStep reports whether an earlier step of the job sets variable
// name with task.setvariable.
func setByEarlierStep(sc scope, name string) bool {
	re := regexp.MustCompile(`(?i)task\.setvariable\s+variable=` + regexp.QuoteMeta(name) + `[;\]]`)
	for _, m := range sc.earlier() {
		if re.MatchString(nodeText(m)) {
			return true
		}
	}
	return false
}

// revokes reports whether the step's post stage revokes the token: revoke
// is true (the default) in the file.
func revokes(s Step) bool {
	v, ok := literal(s, inputs.Revoke)
	return ok && !strings.EqualFold(v, "false")
}

// workflowOtherJob: a job output that carries the token reaches other jobs
// after this job's post step revoked it, if at all: the runner does not send
// an output that holds a masked value.
func workflowOtherJob(sc scope, s Step) []Warning {
	if s.ID == "" || !revokes(s) {
		return nil
	}
	outs := deref(get(sc.job, "outputs"))
	if outs == nil || outs.Kind != yaml.MappingNode {
		return nil
	}
	ref := tokenRef(s.ID)
	var ws []Warning
	for i := 0; i+1 < len(outs.Content); i += 2 {
		k, v := outs.Content[i], deref(outs.Content[i+1])
		if v.Kind != yaml.ScalarNode || !ref.MatchString(v.Value) {
			continue
		}
		ws = append(ws, newWarning(WarnOtherJob, k.Line,
			fmt.Sprintf("job %s passes the token to other jobs as output %s, but the post step revokes it when job %s ends, and the runner skips an output that holds a masked value (\"Skip output %s since it may contain secret\")", sc.jobName, k.Value, sc.jobName, k.Value),
			"add a jobtoken step to each job that needs a token"))
	}
	return ws
}

// pipelineOtherJob: another job reads the token through
// dependencies.<job>.outputs['<step>.token'] after this job's post-job step
// revoked it.
func pipelineOtherJob(sc scope, s Step) []Warning {
	if s.ID == "" || !revokes(s) {
		return nil
	}
	ref := regexp.MustCompile(`outputs\[\s*['"]` + regexp.QuoteMeta(s.ID) + `\.token['"]\s*\]`)
	var ws []Warning
	eachScalar(sc.root, func(n *yaml.Node) {
		if ref.MatchString(n.Value) {
			ws = append(ws, newWarning(WarnOtherJob, n.Line,
				fmt.Sprintf("another job reads the token (outputs['%s.token']), but the post-job step revokes it when this step's job ends", s.ID),
				"add a JobToken@1 step to the job that needs the token, or set revoke: false with a short lifetime"))
		}
	})
	return ws
}
