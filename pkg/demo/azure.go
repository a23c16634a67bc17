package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agent"
	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// The task as a pipeline names it, and the step's name (for output
// variables).
const (
	taskRef  = "JobToken@1"
	taskName = "JobToken"
	stepName = "token"
)

// azureAgent stands in for the Azure Pipelines agent around the task's
// execution and post-job execution: the shim runs the binary with "main" or
// "post" and the step's environment, which holds the job's variables, every
// input of task.json as INPUT_<NAME> (upper case, defaults filled in),
// the non-secret variables earlier steps set and, for post, the task's own
// task variables as VSTS_TASKVARIABLE_<NAME>. It runs the logging commands
// (##vso[…]) found in both streams, as the agent does: they are not
// printed; setsecret and secret variables mask their value from then on.
type azureAgent struct {
	ciJob

	vars     []variable        // set with task.setvariable, in order
	taskVars map[string]string // task.settaskvariable, for the post-job step
}

// variable is one pipeline variable a step set.
type variable struct {
	name, value      string
	secret, isOutput bool
}

func newAzureAgent(s Step, repo Repository, cat *inputs.Catalog) (ci, error) {
	a := &azureAgent{taskVars: map[string]string{}}
	if err := a.start(azpipelines.Name, s, repo, cat, "the agent's"); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *azureAgent) agent() string       { return "the agent" }
func (a *azureAgent) maskCommand() string { return "task.setsecret" }

// scriptTitle is the display name the agent gives a script step that has
// none: the task's name (the script shorthand runs CmdLine).
func (a *azureAgent) scriptTitle(script string) string { return "CmdLine (" + script + ")" }

// preamble is the pipeline's two steps: the agent's log does not show a
// task's inputs.
func (a *azureAgent) preamble() []string {
	out := []string{"- task: " + taskRef, "  name: " + stepName, "  inputs:"}
	for _, in := range a.st.Inputs {
		az, _ := a.cat.Lookup(in.Key)
		v := in.Value
		if in.Secret {
			v = "$(" + in.Ref + ")   # a secret variable"
		}
		out = append(out, "    "+az.Azure+": "+v)
	}
	return append(out,
		"- script: ./later-step.sh",
		"  env:",
		"    "+a.st.ExportEnv+": $("+a.st.ExportEnv+")   # secret variables reach a script only when mapped",
	)
}

func (a *azureAgent) stage(name string) ([]string, map[string]string, error) {
	temp := filepath.Join(a.dir, "_temp")
	if err := os.MkdirAll(temp, 0o700); err != nil {
		return nil, nil, fmt.Errorf("failed to make the agent's temp folder: %w", err)
	}
	collection := "https://dev.azure.com/" + Org + "/"
	env := map[string]string{
		"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": temp, "AGENT_OS": osName("Darwin", "Windows_NT"),
		"BUILD_BUILDID": "1", "SYSTEM_JOBATTEMPT": "1", "SYSTEM_TEAMPROJECT": Project,
		"BUILD_REPOSITORY_NAME": a.repo.Name, "BUILD_REPOSITORY_PROVIDER": a.repo.Provider, "BUILD_REPOSITORY_URI": a.repo.URI,
		"SYSTEM_COLLECTIONURI": collection, "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI": collection,
		"SYSTEM_DEFAULTWORKINGDIRECTORY": filepath.Join(a.dir, "s"),
	}
	for _, v := range a.vars {
		// Secret variables reach a step's environment only when mapped.
		if !v.secret {
			n := v.name
			if v.isOutput {
				n = stepName + "." + n
			}
			env[azpipelines.EnvName(n)] = v.value
		}
	}
	for _, in := range a.cat.Inputs() {
		if in.DeclaredOn(inputs.OnAzure) {
			env["INPUT_"+azpipelines.EnvName(in.Azure)] = a.st.value(in)
		}
	}
	if name == "post" {
		for k, v := range a.taskVars {
			env["VSTS_TASKVARIABLE_"+azpipelines.EnvName(k)] = v
		}
	}
	return []string{binary, name}, env, nil
}

func (a *azureAgent) absorb(name string, code int, stdout, stderr string) error {
	if name == "main" {
		a.l.start(taskName)
	} else {
		a.l.start("Post-job: " + taskName)
	}
	failed := code != 0
	var summaryPath string
	for _, s := range []struct{ name, text string }{{"stdout", stdout}, {"stderr", stderr}} {
		var plain []string
		for _, line := range agent.Read(s.text) {
			if !agent.CarriesSecret(line.Command) {
				plain = append(plain, line.Text)
			}
			c := line.Command
			if c == nil {
				a.l.print("", line.Text)
				continue
			}
			switch strings.ToLower(c.Name) {
			case "task.setsecret":
				a.l.mask(c.Data)
			case "task.setvariable":
				v := variable{name: c.Prop("variable"), value: c.Data, secret: isTrue(c.Prop("issecret")), isOutput: isTrue(c.Prop("isoutput"))}
				if v.secret {
					// The agent masks a secret variable's value too; the
					// verdict's "masked" counts only setsecret.
					a.l.secret(v.value)
				}
				a.vars = append(a.vars, v)
			case "task.settaskvariable":
				if isTrue(c.Prop("issecret")) {
					a.l.secret(c.Data)
				}
				a.taskVars[c.Prop("variable")] = c.Data
			case "task.uploadsummary":
				summaryPath = c.Data
			case "task.logissue":
				kind := lineWarning
				if strings.EqualFold(c.Prop("type"), "error") {
					kind = lineError
				}
				a.l.print(kind, c.Data)
			case "task.complete":
				if r := c.Prop("result"); strings.EqualFold(r, "Failed") {
					failed = true
				}
			}
			if !strings.EqualFold(c.Name, "task.logissue") {
				a.l.hide(c.Name)
			}
		}
		a.seen = append(a.seen, place{s.name, s.name + " of the " + name + " stage", strings.Join(plain, "\n")})
	}
	if failed {
		a.l.fail()
	}
	var outs, vars []string
	for _, v := range a.vars {
		switch {
		case v.isOutput && !v.secret:
			// Secret output variables (token, tokens) carry the token on
			// purpose; the agent never prints them.
			outs = append(outs, v.name+"="+v.value)
		case !v.isOutput && v.value != a.output(inputs.OutToken):
			// A variable that is the token whole is exportEnv's doing.
			vars = append(vars, v.name+"="+v.value)
		}
	}
	a.seen = append(a.seen,
		place{"outputs", "output variables after the " + name + " stage, but for token", strings.Join(outs, "\n")},
		place{"env", "variables after the " + name + " stage, but for the token's exports", strings.Join(vars, "\n")})
	if summaryPath == "" {
		return nil
	}
	return a.readSummary(name, summaryPath, "the uploaded summary", "the summary the "+name+" stage uploaded")
}

func isTrue(s string) bool { return strings.EqualFold(s, "true") }

// outputName is an output's Azure spelling.
func (a *azureAgent) outputName(key string) string {
	if o, ok := a.cat.Output(key); ok && o.Azure != "" {
		return o.Azure
	}
	return key
}

func (a *azureAgent) output(key string) string {
	want := a.outputName(key)
	v := ""
	for _, x := range a.vars {
		if x.isOutput && x.name == want {
			v = x.value
		}
	}
	return v
}

// later is the exported secret variable, which the pipeline maps into the
// later step's environment.
func (a *azureAgent) later() (string, string) {
	v := ""
	for _, x := range a.vars {
		if !x.isOutput && x.name == a.st.ExportEnv {
			v = x.value
		}
	}
	return a.st.ExportEnv, v
}
