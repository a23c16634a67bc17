// Package runnertest holds the environment the GitHub Actions runner gives a
// step of jobtoken's action, for tests: the counterpart of agenttest.
package runnertest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// FileCommands are the variables that name a step's file-command files.
var FileCommands = []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"}

// StepEnv is the environment the runner gives a step of the committed
// action.yml in a job of octo/app: the run's variables, every input (the
// value given, keyed by the action.yml input name, else its default, else
// "") and the file commands (FileCommands), empty files in t.TempDir(). An
// input action.yml does not declare fails the test.
func StepEnv(t testing.TB, given map[string]string) map[string]string {
	t.Helper()
	yml, err := ActionYML()
	if err != nil {
		t.Fatal(err)
	}
	env, err := NewStepEnv(t.TempDir(), yml, given)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// ActionYML returns the committed action.yml.
func ActionYML() ([]byte, error) {
	return os.ReadFile(filepath.Join(testutil.Root(), "action.yml"))
}

// NewStepEnv is StepEnv for the action whose action.yml is actionYML, with
// the file commands in dir. It returns an error where StepEnv fails the test,
// for code that runs outside one.
func NewStepEnv(dir string, actionYML []byte, given map[string]string) (map[string]string, error) {
	var action struct {
		Inputs map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(actionYML, &action); err != nil {
		return nil, fmt.Errorf("failed to parse action.yml: %w", err)
	}
	env := map[string]string{
		"GITHUB_ACTIONS":     "true",
		"GITHUB_REPOSITORY":  "octo/app",
		"GITHUB_RUN_ID":      "9",
		"GITHUB_RUN_ATTEMPT": "1",
	}
	// The runner passes every input the action declares (those without a
	// default as ""), as INPUT_ plus the name upper-cased, spaces to _,
	// hyphens kept.
	for name, in := range action.Inputs {
		v, ok := given[name]
		if !ok {
			v = in.Default
		}
		env["INPUT_"+strings.ToUpper(strings.ReplaceAll(name, " ", "_"))] = v
	}
	for name := range given {
		if _, ok := action.Inputs[name]; !ok {
			return nil, fmt.Errorf("input %s is not in action.yml", name)
		}
	}
	files, err := FileCommandEnv(dir)
	if err != nil {
		return nil, err
	}
	maps.Copy(env, files)
	return env, nil
}

// FileCommandEnv makes the file-command files empty in dir (again, if they
// are there) and returns the variables that name them (FileCommands).
func FileCommandEnv(dir string) (map[string]string, error) {
	env := map[string]string{}
	for _, v := range FileCommands {
		p := filepath.Join(dir, strings.ToLower(strings.TrimPrefix(v, "GITHUB_")))
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			return nil, err
		}
		env[v] = p
	}
	return env, nil
}
