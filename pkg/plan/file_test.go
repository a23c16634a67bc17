package plan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/azdo"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
)

// The recognizers of a jobtoken step: the uses: values that name the action
// or its container variant, and the task: values that name the task.
func TestRecognizers(t *testing.T) {
	for name, c := range map[string]struct {
		is    func(string) bool
		cases map[string]bool
	}{
		"IsAction": {IsAction, map[string]bool{
			"jobtoken/jobtoken@v1":            true,
			"my-fork/JobToken@0123abc":        true,
			"jobtoken/jobtoken/sub/path@main": true,
			"jobtoken/jobtoken":               false, // GitHub requires a ref
			"actions/checkout@v4":             false,
			"jobtoken/jobtoken-extra@v1":      false,
			"./":                              false,
			"docker://jobtoken/jobtoken:v1":   false,
		}},
		"IsTask": {IsTask, map[string]bool{
			"JobToken@1":                        true,
			"jobtoken@2":                        true,
			"publisher.extension.JobToken@1":    true,
			"JobToken":                          false,
			"JobTokenPlus@1":                    false,
			"PowerShell@2":                      false,
			"publisher.extension.NotJobToken@1": false,
		}},
		"IsContainerVariant": {IsContainerVariant, map[string]bool{
			"jobtoken/jobtoken/container@v1":           true,
			"my-fork/JobToken/Container@0123abc":       true,
			"jobtoken/jobtoken@v1":                     false,
			"jobtoken/jobtoken/container/extra@v1":     false,
			"jobtoken/jobtoken/container":              false,
			"docker://ghcr.io/jobtoken/jobtoken:v1":    false,
			"someone/other/container@v1":               false,
			"jobtoken/jobtoken/containerized@v1":       false,
			"jobtoken/jobtoken/container@refs/tags/v1": true,
		}},
	} {
		for s, want := range c.cases {
			assert.Equal(t, want, c.is(s), "%s(%q)", name, s)
		}
	}
}

func TestParseWorkflow(t *testing.T) {
	steps, err := ParseWorkflow(registry.Default(), []byte(`
on: push
jobs:
  a:
    steps:
      - uses: actions/checkout@v4
      - id: one
        name: First
        uses: jobtoken/jobtoken@v1
        with:
          Provider: github
          permissions: contents:read
          revoke: false
          lifetime: 30m
          private-key: ${{ secrets.KEY }}
          repositories: "${{ inputs.repo }}, docs"
          azure-service-connection: not-on-github
          permisions: typo
          clientId: azure-spelling
          owner: [not, a, string]
          export-env: ""
  b:
    uses: jobtoken/jobtoken/.github/workflows/reusable.yml@v1
  c:
    steps:
      - uses: jobtoken/jobtoken@v1
`))
	require.NoError(t, err)
	require.Len(t, steps, 2, "a job-level uses: is a reusable workflow, not a step")

	s := steps[0]
	assert.Equal(t, "jobs.a.steps[1]", s.Label)
	assert.Equal(t, "one", s.ID)
	assert.Equal(t, "First", s.Name)
	assert.Equal(t, 7, s.Line)
	assert.Equal(t, inputs.ValuesOf(map[string]string{"provider": "github", "permissions": "contents:read", "revoke": "false", "lifetime": "30m"}), s.Values,
		"names match without regard to case; YAML booleans read as the runner passes them; empty values are not given")
	assert.Equal(t, map[string]string{"private-key": "${{ secrets.KEY }}", "repositories": "${{ inputs.repo }}, docs"}, s.RunTime,
		"a value holding any expression is only known at run time")
	assert.Equal(t, []string{
		`input "azure-service-connection" is for Azure Pipelines only; on GitHub use azure-client-id and azure-tenant-id`,
		`unknown input "permisions"; did you mean "permissions"?`,
		`unknown input "clientId"; GitHub names inputs in kebab-case: client-id`,
		`input owner: must be a string, not a YAML list`,
	}, texts(s.Problems, inputs.GitHubNames))

	assert.Equal(t, "jobs.c.steps[0]", steps[1].Label)
	assert.Empty(t, steps[1].Values)
}

func TestParsePipeline(t *testing.T) {
	steps, err := ParsePipeline(registry.Default(), []byte(`
stages:
  - stage: s
    jobs:
      - job: j
        steps:
          - task: JobToken@1
            name: tok
            displayName: Token
            inputs:
              provider: azure-devops
              azureDevOpsOrganization: contoso
              azureaccesstoken: $(AZ_TOKEN)
              permissions: ${{ parameters.scopes }}
              lifetime: $[ variables.life ]
              exportEnv: AZURE_DEVOPS_EXT_PAT
              azure-client-id: github-name
              azureClientId: github-only
              client-id: kebab
      - deployment: d
        strategy:
          runOnce:
            deploy:
              steps:
                - task: JobToken@1
                  inputs:
                    anacondaCredential: literal-value-here
                    azureServiceConnection: my-connection
`))
	require.NoError(t, err)
	require.Len(t, steps, 2)
	s := steps[0]
	assert.Equal(t, "stages[0].jobs[0].steps[0]", s.Label)
	assert.Equal(t, "tok", s.ID)
	assert.Equal(t, "Token", s.Name)
	assert.Equal(t, inputs.ValuesOf(map[string]string{"provider": "azure-devops", "azure-devops-organization": "contoso", "export-env": "AZURE_DEVOPS_EXT_PAT"}), s.Values)
	assert.Equal(t, map[string]string{"azure-access-token": "$(AZ_TOKEN)", "permissions": "${{ parameters.scopes }}", "lifetime": "$[ variables.life ]"}, s.RunTime)
	assert.Equal(t, []string{
		`input "azure-client-id" is for GitHub workflows only; on Azure Pipelines use azureServiceConnection`,
		`input "azureClientId" is for GitHub workflows only; on Azure Pipelines use azureServiceConnection`,
		`unknown input "client-id"; Azure Pipelines names inputs in camelCase: clientId`,
	}, texts(s.Problems, inputs.AzureNames), "GitHub names and GitHub-only inputs are unknown to the task")

	s = steps[1]
	assert.Equal(t, "stages[0].jobs[1].strategy.runOnce.deploy.steps[0]", s.Label)
	assert.Equal(t, "my-connection", s.Values.Get(azdo.ServiceConnection))
	assert.Equal(t, []string{
		"input anacondaCredential: is a credential written literally in the pipeline file; store it as a secret variable (or in a variable group) and pass it as $(NAME)",
	}, texts(s.Problems, inputs.AzureNames))
}

func TestRunTimeSyntaxIsPerSystem(t *testing.T) {
	// $(VAR) means nothing to GitHub: it is passed literally.
	steps, err := ParseWorkflow(registry.Default(), []byte("jobs: {a: {steps: [{uses: x/jobtoken@v1, with: {permissions: $(PERMS)}}]}}"))
	require.NoError(t, err)
	assert.Equal(t, "$(PERMS)", steps[0].Values.Get(inputs.Permissions))
}

func TestParseErrors(t *testing.T) {
	_, err := ParseWorkflow(registry.Default(), []byte("jobs: [\n"))
	assert.ErrorContains(t, err, "failed to read the workflow file: yaml: line")
	_, err = ParsePipeline(registry.Default(), []byte(""))
	assert.EqualError(t, err, "failed to read the pipeline file: it is empty")
	steps, err := ParseWorkflow(registry.Default(), []byte("jobs: {a: {steps: [{uses: x/jobtoken@v1, with: [a]}]}}"))
	require.NoError(t, err)
	assert.Equal(t, []string{"jobs.a.steps[0]: `with:` must be a mapping of input names to values"}, texts(steps[0].Problems, inputs.GitHubNames))
}

func TestSelect(t *testing.T) {
	steps := []Step{{ID: "a", Name: "First"}, {Name: "Second"}, {}}
	got, err := Select(steps, "")
	require.NoError(t, err)
	assert.Len(t, got, 3)
	got, err = Select(steps, "Second")
	require.NoError(t, err)
	assert.Equal(t, "Second", got[0].Name)
	got, err = Select(steps, "a")
	require.NoError(t, err)
	assert.Equal(t, "First", got[0].Name)
	_, err = Select(steps, "Secnd")
	assert.EqualError(t, err, `no jobtoken step is named "Secnd" (the file's are a, Second); did you mean "Second"?`)
	_, err = Select([]Step{{}}, "x")
	assert.EqualError(t, err, `no jobtoken step is named "x"; the file's jobtoken steps have no id or name`)
}

func texts(ps inputs.Problems, n inputs.Naming) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Format(n))
	}
	return out
}

// TestIDToken: a workflow job may ask for an OIDC token only with
// `permissions: id-token: write` (job level, else workflow level); GitHub's
// default token permissions never include it; a reusable workflow gets its
// caller's.
func TestIDToken(t *testing.T) {
	step := "steps: [{uses: x/jobtoken@v1}]"
	for _, c := range []struct {
		name, yaml, want string
	}{
		{"no permissions anywhere", "on: push\njobs: {a: {" + step + "}}", "none"},
		{"workflow grants it", "on: push\npermissions: {id-token: write}\njobs: {a: {" + step + "}}", "write"},
		{"job narrows what the workflow grants", "on: push\npermissions: write-all\njobs: {a: {permissions: {contents: read}, " + step + "}}", "none"},
		{"job grants it", "on: push\npermissions: {}\njobs: {a: {permissions: {id-token: write}, " + step + "}}", "write"},
		{"read-all does not grant it", "on: push\njobs: {a: {permissions: read-all, " + step + "}}", "none"},
		{"write-all grants it", "on: push\njobs: {a: {permissions: write-all, " + step + "}}", "write"},
		{"reusable workflow: the caller decides", "on: [workflow_call]\njobs: {a: {" + step + "}}", ""},
		{"expression: the run decides", "on: push\njobs: {a: {permissions: {id-token: '${{ inputs.oidc }}'}, " + step + "}}", ""},
	} {
		steps, err := ParseWorkflow(registry.Default(), []byte(c.yaml))
		require.NoError(t, err, c.name)
		require.Len(t, steps, 1, c.name)
		assert.Equal(t, c.want, steps[0].IDToken, c.name)
	}
}

// The container variant in a job that runs on something other than Linux
// gets a warning naming the native action; an expression, a runner group
// or a Linux label gets none.
func TestContainerVariantOutsideLinuxWarns(t *testing.T) {
	for runsOn, warn := range map[string]bool{
		"ubuntu-latest":                      false,
		"ubuntu-24.04-arm":                   false,
		"[self-hosted, Linux, ARM64]":        false,
		"${{ matrix.os }}":                   false,
		"[self-hosted, '${{ inputs.os }}']":  false,
		"{group: big-runners}":               false,
		"{group: big, labels: [linux-x64]}":  false,
		"windows-latest":                     true,
		"windows-11-arm":                     true,
		"macos-15":                           true,
		"[self-hosted, macOS]":               true,
		"self-hosted":                        true,
		"{group: big, labels: windows-2022}": true,
	} {
		wf := "jobs:\n  build:\n    runs-on: " + runsOn + "\n    steps:\n      - uses: jobtoken/jobtoken/container@v1\n      - uses: jobtoken/jobtoken@v1\n"
		steps, err := ParseWorkflow(registry.Default(), []byte(wf))
		require.NoError(t, err, runsOn)
		require.Len(t, steps, 2)
		assert.Empty(t, steps[1].Warnings, "the native action runs anywhere")
		if !warn {
			assert.Empty(t, steps[0].Warnings, runsOn)
			continue
		}
		require.Len(t, steps[0].Warnings, 1, runsOn)
		assert.Equal(t, WarnContainerNotLinux, steps[0].Warnings[0].Code)
		assert.Contains(t, steps[0].Warnings[0].Message, "runs only on Linux runners")
		assert.Equal(t, "use the native action (jobtoken/jobtoken@v1), which runs on Linux, macOS and Windows runners", steps[0].Warnings[0].Fix)
		assert.Equal(t, 3, steps[0].Warnings[0].Line, "the line of runs-on")
	}
	// No runs-on at all (a reusable workflow's call): nothing to judge.
	steps, err := ParseWorkflow(registry.Default(), []byte("jobs:\n  call:\n    steps:\n      - uses: jobtoken/jobtoken/container@v1\n"))
	require.NoError(t, err)
	assert.Empty(t, steps[0].Warnings)
}
