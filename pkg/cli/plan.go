package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/host/local"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/plan"
)

func runPlan(ctx context.Context, e *Env, args []string) int {
	f := newFlags("plan", "[--workflow FILE | --pipeline FILE] [--step ID] [--action OWNER/NAME]... [--json] [--check] [input flags]",
		"Validate a jobtoken step offline and print what it would mint: the provider, the parent credential, "+
			"the scopes and repositories of the child token, its lifetime, how it is published and how it is revoked. "+
			"Inputs come from a workflow or pipeline file, or from flags and INPUT_* variables. Values only known at "+
			"run time (${{ secrets.X }}, $(VAR)) are shown as such and are not errors. A warning names something in the "+
			"step's job that would keep it from getting or keeping the token, and its fix. Exit status 0 when every step "+
			"is valid (warnings or not), 1 when a step has problems, every problem listed, 2 for a wrong command line.")
	workflow := f.String("workflow", "FILE", "Plan the jobtoken steps of this GitHub Actions workflow (uses: <owner>/jobtoken@<ref>, or any action given jobtoken's inputs).")
	pipeline := f.String("pipeline", "FILE", "Plan the jobtoken steps (task: JobToken@1) of this Azure Pipelines file.")
	stepName := f.String("step", "ID", "Plan only the step with this id or name (workflow), or name or displayName (pipeline).")
	repository := f.String("repository", "OWNER/NAME", "The repository the workflow runs in (default GITHUB_REPOSITORY; else shown as the current repository, known at run time).")
	var actions []string
	f.own = append(f.own, flagHelp{"action", "OWNER/NAME|./PATH", "Plan the steps that use this action too, at any ref: a fork or vendored copy of jobtoken under another name (repeatable; in a pipeline, a task name). Steps whose with: holds only jobtoken's inputs, provider among them, are found without it."})
	f.fs.Func("action", "", func(s string) error {
		actions = append(actions, strings.TrimSpace(s))
		return nil
	})
	asJSON := f.Bool("json", "Print the plan as JSON.")
	check := f.Bool("check", "Also make read-only calls with the real parent credentials (App authentication and installation lookup, the Azure token's identity, the Anaconda parent's identity). Mints nothing.")
	in := f.Inputs(e.providers().Catalog())
	if code, done := f.parse(e, args); done {
		return code
	}
	if *workflow != "" && *pipeline != "" {
		return f.usageError(e, "give --workflow or --pipeline, not both")
	}
	if len(actions) > 0 && *workflow == "" && *pipeline == "" {
		return f.usageError(e, "--action needs --workflow or --pipeline")
	}
	for _, a := range actions {
		kind := plan.Workflow
		if *pipeline != "" {
			kind = plan.Pipeline
		}
		if msg := plan.CheckAction(kind, a); msg != "" {
			return f.usageError(e, "%s", msg)
		}
	}
	given, err := in.values(e)
	if err != nil {
		return f.usageError(e, "%s", err)
	}

	kind, source, path := plan.Flags, "inputs from flags and INPUT_* variables", ""
	switch {
	case *workflow != "":
		kind, source, path = plan.Workflow, *workflow, *workflow
	case *pipeline != "":
		kind, source, path = plan.Pipeline, *pipeline, *pipeline
	}
	run := e.localRun(*repository)
	if kind == plan.Pipeline && *repository == "" {
		// An Azure agent knows no GitHub repository to default to.
		run.Repository, run.RepoName = "", ""
	}
	h := local.New(local.Options{Values: given, Run: run, Getenv: e.Getenv, Stderr: e.Stderr, Secrets: e.Secrets})
	opts := plan.Options{Runner: e.runner(h), Kind: kind, Run: run, Secrets: e.Secrets}

	var report *plan.Report
	if path == "" {
		if *stepName != "" {
			return f.usageError(e, "--step needs --workflow or --pipeline")
		}
		report = plan.Build(opts, source, []plan.Step{{Label: "command line", Values: given}})
	} else {
		data, err := os.ReadFile(path)
		if err != nil {
			return f.usageError(e, "failed to read --%s %s: %s", kind, path, pathError(err))
		}
		report = planFile(e, opts, path, data, *stepName, given, plan.Recognizer{Actions: actions})
	}
	if *check {
		report.Check(ctx)
	}
	if *asJSON {
		err = report.JSON(e.Stdout)
	} else {
		err = report.Text(e.Stdout)
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "jobtoken plan: failed to print the plan: %s\n", err)
		return 1
	}
	if !report.Valid {
		return 1
	}
	return 0
}

// planFile plans the jobtoken steps of a workflow or pipeline file. Inputs
// given on the command line stand in for the values the file leaves to run
// time (so that --check can use real credentials); they never replace what
// the file says.
func planFile(e *Env, o plan.Options, path string, data []byte, stepName string, given inputs.Values, r plan.Recognizer) *plan.Report {
	report := plan.NewReport(path, o.Kind)
	steps, err := plan.Parse(o.Runner.Providers, data, o.Kind, r)
	if err == nil && len(steps) > 0 {
		steps, err = plan.Select(steps, stepName)
	}
	if err != nil {
		report.AddProblem(inputs.Problem{Msg: err.Error()})
		return report
	}
	used := map[string]bool{}
	for i := range steps {
		s := &steps[i]
		s.FromCommandLine = map[string]bool{}
		for k := range s.RunTime {
			if v, ok := given.Raw(k); ok {
				s.Values.Set(k, v)
				delete(s.RunTime, k)
				used[k] = true
				s.FromCommandLine[k] = true
			}
		}
	}
	o.CommandLine = given
	for _, k := range given.Keys() {
		if !used[k] {
			fmt.Fprintf(e.Stderr, "jobtoken plan: ignoring %s: the %s file sets it (or leaves it out), and the plan shows the file as it is\n", o.Runner.Providers.Catalog().Name(inputs.FlagNames, k), o.Kind)
		}
	}
	return plan.Build(o, path, steps)
}

// pathError drops the "open PATH:" prefix the path error repeats.
func pathError(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
