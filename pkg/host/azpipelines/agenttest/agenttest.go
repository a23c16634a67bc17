// Package agenttest holds the test assertions on jobtoken's output as the
// Azure Pipelines agent reads it (package agent), and the environment the
// agent gives a step.
package agenttest

import (
	"encoding/json"
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

// StepEnv is the environment the agent gives a task step of a job on a
// GitHub repository: the job's variables and every task.json input
// (InputEnv).
func StepEnv(t testing.TB, given map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{
		"TF_BUILD":                                 "True",
		"AGENT_TEMPDIRECTORY":                      t.TempDir(),
		"AGENT_OS":                                 "Linux",
		"AGENT_JOBSTATUS":                          "Succeeded",
		"BUILD_BUILDID":                            "812",
		"BUILD_REPOSITORY_NAME":                    "octo/app",
		"BUILD_REPOSITORY_PROVIDER":                "GitHub",
		"BUILD_REPOSITORY_URI":                     "https://github.com/octo/app",
		"SYSTEM_JOBATTEMPT":                        "1",
		"SYSTEM_TEAMFOUNDATIONCOLLECTIONURI":       "https://dev.azure.com/octo/",
		"SYSTEM_COLLECTIONURI":                     "https://dev.azure.com/octo/",
		"SYSTEM_DEFAULTWORKINGDIRECTORY":           t.TempDir(),
		"ENDPOINT_URL_SYSTEMVSSCONNECTION":         "https://dev.azure.com/octo/",
		"ENDPOINT_AUTH_SCHEME_SYSTEMVSSCONNECTION": "OAuth",
		"VSTS_PUBLIC_VARIABLES":                    "[]",
		"VSTS_SECRET_VARIABLES":                    "[]",
	}
	for k, v := range InputEnv(t, given) {
		env[k] = v
	}
	return env
}

// InputEnv maps the committed task.json's inputs to INPUT_* variables the way
// the agent does for a step: the value given in the pipeline (keyed by the
// Azure input name), else the input's default, else "".
func InputEnv(t testing.TB, given map[string]string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.Root(), "task.json"))
	if err != nil {
		t.Fatal(err)
	}
	var task struct {
		Inputs []struct {
			Name         string `json:"name"`
			DefaultValue string `json:"defaultValue"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(b, &task); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
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
			t.Fatalf("input %s is not in task.json", name)
		}
	}
	return env
}
