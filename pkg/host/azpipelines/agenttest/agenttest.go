// Package agenttest holds the test assertions on jobtoken's output as the
// Azure Pipelines agent reads it (package agent), and the environment the
// agent gives a step.
package agenttest

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agent"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// Output is a stage's output as the agent reads it (see package agent),
// with the assertions tests make on it.
type Output struct{ agent.Output }

// Read splits and parses output with the agent's rules.
func Read(stdout string) Output { return Output{agent.Read(stdout)} }

// AssertNoLeak fails when a secret appears anywhere but in a command that
// carries it, or appears before task.setsecret registered it (the agent masks
// only from then on, and prints a processed command in debug logs).
func (o Output) AssertNoLeak(t testing.TB, secrets ...string) {
	t.Helper()
	masked := map[string]bool{}
	for i, l := range o.Output {
		if l.Command != nil && strings.EqualFold(l.Command.Name, "task.setsecret") {
			masked[l.Command.Data] = true
			continue
		}
		if agent.CarriesSecret(l.Command) {
			for _, s := range secrets {
				if strings.Contains(l.Text, s) && !masked[s] {
					t.Errorf("line %d carries a secret before task.setsecret registered it: %.40s…", i+1, l.Text)
				}
			}
			continue
		}
		testutil.AssertNoSecret(t, "output line "+strconv.Itoa(i+1), l.Text, secrets...)
	}
}

// StepEnv is the environment the agent gives a task step of the committed
// task.json in a job of the GitHub repository octo/app, in the organization
// octo: the job's variables, its directories in t.TempDir(), and every input
// (the value given, keyed by the task.json input name, else its default,
// else ""). An input task.json does not declare fails the test. Tests that
// run in another organization or on another repository overwrite the
// variables (Organization).
func StepEnv(t testing.TB, given map[string]string) map[string]string {
	t.Helper()
	task, err := TaskJSON()
	if err != nil {
		t.Fatal(err)
	}
	env, err := NewStepEnv(t.TempDir(), task, given)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TaskJSON returns the committed task.json.
func TaskJSON() ([]byte, error) {
	return os.ReadFile(filepath.Join(testutil.Root(), "task.json"))
}

// NewStepEnv is StepEnv for the task whose task.json is taskJSON, in the
// agent's work directory dir (its temporary directory _temp and the job's
// sources 1/s, laid out as the agent lays out _work). It returns an error
// where StepEnv fails the test, for code that runs outside one.
func NewStepEnv(dir string, taskJSON []byte, given map[string]string) (map[string]string, error) {
	var task struct {
		Inputs []struct {
			Name         string `json:"name"`
			DefaultValue string `json:"defaultValue"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(taskJSON, &task); err != nil {
		return nil, fmt.Errorf("failed to parse task.json: %w", err)
	}
	temp, sources := filepath.Join(dir, "_temp"), filepath.Join(dir, "1", "s")
	for _, d := range []string{temp, sources} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	env := map[string]string{
		"TF_BUILD":                                 "True",
		"AGENT_TEMPDIRECTORY":                      temp,
		"AGENT_OS":                                 "Linux",
		"AGENT_JOBSTATUS":                          "Succeeded",
		"BUILD_BUILDID":                            "812",
		"BUILD_REPOSITORY_NAME":                    "octo/app",
		"BUILD_REPOSITORY_PROVIDER":                "GitHub",
		"BUILD_REPOSITORY_URI":                     "https://github.com/octo/app",
		"SYSTEM_JOBATTEMPT":                        "1",
		"SYSTEM_DEFAULTWORKINGDIRECTORY":           sources,
		"ENDPOINT_AUTH_SCHEME_SYSTEMVSSCONNECTION": "OAuth",
		"VSTS_PUBLIC_VARIABLES":                    "[]",
		"VSTS_SECRET_VARIABLES":                    "[]",
	}
	maps.Copy(env, Organization("octo"))
	// The agent passes every input task.json declares (those without a
	// default as ""), as INPUT_ plus the name upper-cased.
	known := map[string]bool{}
	for _, in := range task.Inputs {
		known[in.Name] = true
		v, ok := given[in.Name]
		if !ok {
			v = in.DefaultValue
		}
		env["INPUT_"+azpipelines.EnvName(in.Name)] = v
	}
	for name := range given {
		if !known[name] {
			return nil, fmt.Errorf("input %s is not in task.json", name)
		}
	}
	return env, nil
}

// Organization is the variables that name the Azure DevOps organization a
// pipeline runs in (the collection URI and the job's own connection).
func Organization(name string) map[string]string {
	u := "https://dev.azure.com/" + name + "/"
	return map[string]string{
		"SYSTEM_TEAMFOUNDATIONCOLLECTIONURI": u,
		"SYSTEM_COLLECTIONURI":               u,
		"ENDPOINT_URL_SYSTEMVSSCONNECTION":   u,
	}
}
