package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/provider/registry"
	"github.com/jobtoken/jobtoken/pkg/testutil/fuzzcorpus"
)

func codes(ws []Warning) []string {
	out := []string{}
	for _, w := range ws {
		out = append(out, w.Code)
	}
	return out
}

// warningsOf parses one file and returns the warnings of each jobtoken step.
func warningsOf(t *testing.T, kind Kind, src string) [][]Warning {
	t.Helper()
	steps, err := Parse(registry.Default(), []byte(src), kind, Recognizer{})
	require.NoError(t, err)
	var out [][]Warning
	for _, s := range steps {
		out = append(out, s.Warnings)
	}
	return out
}

// Each warning is raised where its mistake is, and not where the file does
// what the warning's fix says.
func TestWorkflowWarnings(t *testing.T) {
	const token = `
      - id: tok
        uses: jobtoken/jobtoken@v1
        with:
          provider: github
          client-id: ${{ vars.APP_CLIENT_ID }}
          private-key: ${{ secrets.APP_PRIVATE_KEY }}
          permissions: contents:write
          export-env: GH_TOKEN`
	// checkout is a job that starts with a checkout, which persists its
	// credential in .git/config unless told not to.
	const checkout = `
on: push
jobs:
  a:
    steps:
      - uses: actions/checkout@v4`
	for _, c := range []struct {
		name, src string
		want      []string
	}{
		{"permissions {} and checkout", `
on: push
permissions: {}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with: {persist-credentials: false}` + token, []string{WarnCheckoutNoContents}},
		{"job permissions without contents", `
on: push
jobs:
  a:
    permissions: {id-token: write}
    steps:
      - uses: actions/checkout@v4
        with: {persist-credentials: false}` + token, []string{WarnCheckoutNoContents}},
		{"contents: read", `
on: push
permissions: {}
jobs:
  a:
    permissions: {contents: read}
    steps:
      - uses: actions/checkout@v4
        with: {persist-credentials: false}` + token, []string{}},
		{"checkout given a token needs no contents permission", `
on: push
permissions: {}
jobs:
  a:
    steps:` + token + `
      - uses: actions/checkout@v4
        with: {token: "${{ steps.tok.outputs.token }}"}`, []string{}},
		{"read-all and the default are fine", `
on: push
permissions: read-all
jobs:
  a:
    steps:
      - uses: actions/checkout@v4
        with: {persist-credentials: false}` + token, []string{}},
		{"git push after a checkout that persisted its credential", checkout + token + `
      - run: git commit -am x && git push origin HEAD`, []string{WarnCheckoutCredential}},
		{"git-credentials after a checkout that persisted its credential", checkout + token + `
          git-credentials: true
          refresh: true`, []string{WarnGitCredentialsHdr}},
		{"git-credentials with persist-credentials: false", checkout + `
        with: {persist-credentials: false}` + token + `
          git-credentials: true`, []string{}},
		{"git fetch with -c options", checkout + token + `
      - run: git -c protocol.version=2 fetch origin main`, []string{WarnCheckoutCredential}},
		{"persist-credentials: false", checkout + `
        with: {persist-credentials: false}` + token + `
      - run: gh auth setup-git && git push`, []string{}},
		{"checkout after the token, with it", `
on: push
jobs:
  a:
    steps:` + token + `
      - uses: actions/checkout@v4
        with: {token: "${{ steps.tok.outputs.token }}"}
      - run: git push`, []string{}},
		{"the script removes checkout's header", checkout + token + `
      - run: |
          git config --local --unset-all http.https://github.com/.extraheader
          gh auth setup-git && git push`, []string{}},
		{"a git clone does not read the checkout's config", checkout + token + `
      - run: git clone https://github.com/octo/other`, []string{}},
		{"token passed to another job", `
on: push
jobs:
  a:
    outputs:
      token: ${{ steps.tok.outputs.token }}
      id: ${{ steps.tok.outputs.token-id }}
    steps:` + token + `
  b:
    needs: a
    steps:
      - run: gh repo view
        env: {GH_TOKEN: "${{ needs.a.outputs.token }}"}`, []string{WarnOtherJob}},
		{"token passed on with revoke: false", `
on: push
jobs:
  a:
    outputs:
      token: ${{ steps.tok.outputs.token }}
    steps:` + token + `
          revoke: false`, []string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := warningsOf(t, Workflow, c.src)
			require.Len(t, ws, 1)
			assert.Equal(t, c.want, codes(ws[0]))
			for _, w := range ws[0] {
				assert.NotEmpty(t, w.Fix, "every warning names its fix")
				assert.True(t, strings.HasSuffix(w.Text(), w.Fix), w.Text())
				assert.Positive(t, w.Line, "%s points to a line", w.Code)
			}
		})
	}
}

func TestStoredUserToken(t *testing.T) {
	wf := func(token string) string {
		return `
on: push
jobs:
  a:
    steps:
      - id: user
        run: echo "token=$(az account get-access-token --query accessToken -o tsv)" >> "$GITHUB_OUTPUT"
      - uses: jobtoken/jobtoken@v1
        with:
          provider: azure-devops
          azure-devops-organization: contoso
          permissions: vso.code
          azure-access-token: ` + token
	}
	assert.Equal(t, []string{WarnStoredUserToken}, codes(warningsOf(t, Workflow, wf("${{ secrets.ADO_USER_TOKEN }}"))[0]))
	assert.Equal(t, []string{WarnStoredUserToken}, codes(warningsOf(t, Workflow, wf("${{ vars.T }}"))[0]))
	assert.Empty(t, warningsOf(t, Workflow, wf("${{ steps.user.outputs.token }}"))[0], "a token an earlier step fetched is fresh")
	assert.Empty(t, warningsOf(t, Workflow, wf("${{ secrets.T }}\n          azure-credential: entra"))[0], "entra has no user-token parent")

	pl := func(first, token string) string {
		return `
steps:
  - bash: ` + first + `
  - task: JobToken@1
    inputs:
      provider: azure-devops
      permissions: vso.code
      azureAccessToken: ` + token
	}
	assert.Equal(t, []string{WarnStoredUserToken}, codes(warningsOf(t, Pipeline, pl("echo hi", "$(ADO_USER_TOKEN)"))[0]))
	assert.Empty(t, warningsOf(t, Pipeline, pl(`echo "##vso[task.setvariable variable=userToken;issecret=true]$t"`, "$(userToken)"))[0])
	assert.Equal(t, []string{WarnStoredUserToken}, codes(warningsOf(t, Pipeline, pl(`echo "##vso[task.setvariable variable=other;issecret=true]$t"`, "$(userToken)"))[0]),
		"another variable set earlier does not make this one fresh")
	w := warningsOf(t, Pipeline, pl("echo hi", "$(T)"))[0][0]
	assert.Contains(t, w.Text(), "azureAccessToken comes from $(T)", "named as the pipeline spells it")
	assert.Contains(t, w.Fix, "azureCredential: entra")
}

func TestPipelineWarnings(t *testing.T) {
	const token = `
  - task: JobToken@1
    name: pat
    inputs:
      provider: azure-devops
      azureAccessToken: $(userToken)
      permissions: vso.packaging_write
      exportEnv: AZURE_DEVOPS_EXT_PAT`
	const user = `
steps:
  - bash: echo "##vso[task.setvariable variable=userToken;issecret=true]$t"`
	for _, c := range []struct {
		name, src string
		want      []string
	}{
		{"az artifacts without env", user + token + `
  - script: az artifacts universal publish --feed tools --name cli --version 1.0.0 --path dist`, []string{WarnEnvNotMapped}},
		{"the variable read by name", user + token + `
  - bash: curl -u ":$AZURE_DEVOPS_EXT_PAT" https://dev.azure.com/contoso/_apis/projects`, []string{WarnEnvNotMapped}},
		{"PowerShell's $env:", user + token + `
  - task: PowerShell@2
    inputs:
      targetType: inline
      script: Write-Host $env:AZURE_DEVOPS_EXT_PAT.Length`, []string{WarnEnvNotMapped}},
		{"mapped in env", user + token + `
  - script: az artifacts universal publish --feed tools --name cli --version 1.0.0 --path dist
    env:
      AZURE_DEVOPS_EXT_PAT: $(AZURE_DEVOPS_EXT_PAT)`, []string{}},
		{"a macro in the script needs no env", user + token + `
  - script: curl -u ":$(AZURE_DEVOPS_EXT_PAT)" https://dev.azure.com/contoso/_apis/projects`, []string{}},
		{"a step that does not read it", user + token + `
  - script: make build`, []string{}},
		{"another job reads the token", `
jobs:
  - job: a
    steps:` + strings.ReplaceAll(user+token, "\n", "\n    ") + `
  - job: b
    dependsOn: a
    variables:
      pat: $[ dependencies.a.outputs['pat.token'] ]
    steps:
      - script: echo ok`, []string{WarnOtherJob}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := warningsOf(t, Pipeline, c.src)
			require.Len(t, ws, 1)
			assert.Equal(t, c.want, codes(ws[0]))
		})
	}
}

// TestRecognition: a step is jobtoken's by the action's name, by --action,
// or by its inputs; another action is not, even with a provider input.
func TestRecognition(t *testing.T) {
	src := `
on: push
jobs:
  a:
    steps:
      - id: vendored
        uses: ./.github/actions/token
        with: {provider: github, permissions: "contents:read", client-id: x}
      - id: fork
        uses: acme/ci-token@v3
        with: {provider: anaconda, permissions: "api:read", anaconda-credential: "${{ secrets.K }}"}
      - id: other
        uses: hashicorp/vault-action@v3
        with: {provider: github, url: https://vault}
      - id: alone
        uses: acme/providers@v1
        with: {provider: github}
      - id: renamed-typo
        uses: acme/ci-token@v3
        with: {provider: github, permisions: "contents:read"}
      - id: docker
        uses: docker://acme/token:v1
        with: {provider: github, permissions: "contents:read"}
      - id: container
        uses: jobtoken/jobtoken/container@v1
`
	ids := func(r Recognizer) []string {
		steps, err := Parse(registry.Default(), []byte(src), Workflow, r)
		require.NoError(t, err)
		out := []string{}
		for _, s := range steps {
			out = append(out, s.ID)
		}
		return out
	}
	assert.Equal(t, []string{"vendored", "fork", "container"}, ids(Recognizer{}))
	assert.Equal(t, []string{"vendored", "fork", "renamed-typo", "container"}, ids(Recognizer{Actions: []string{"ACME/ci-token"}}),
		"--action names a copy whatever its inputs, at any ref")
	assert.Equal(t, []string{"vendored", "fork", "other", "container"}, ids(Recognizer{Actions: []string{"hashicorp/vault-action"}}))

	steps, err := Parse(registry.Default(), []byte(src), Workflow, Recognizer{})
	require.NoError(t, err)
	assert.Equal(t, "by its inputs: ./.github/actions/token is given only jobtoken's, provider among them", steps[0].Recognized)
	assert.Empty(t, steps[2].Recognized, "the action's own name needs no explanation")

	steps, err = Parse(registry.Default(), []byte(src), Workflow, Recognizer{Actions: []string{"./.github/actions/token/"}})
	require.NoError(t, err)
	assert.Equal(t, "by --action", steps[0].Recognized)
}

func TestPipelineRecognition(t *testing.T) {
	src := `
steps:
  - task: f7621ccb-ad98-4d41-9ef3-c27db4fea34e@1
    inputs: {provider: github}
  - task: MyToken@2
    inputs: {provider: github}
  - task: Bash@3
    inputs: {provider: github, permissions: x}
`
	steps, err := Parse(registry.Default(), []byte(src), Pipeline, Recognizer{})
	require.NoError(t, err)
	require.Len(t, steps, 1, "the task's ID names it; inputs alone do not make a task jobtoken's")
	steps, err = Parse(registry.Default(), []byte(src), Pipeline, Recognizer{Actions: []string{"mytoken"}})
	require.NoError(t, err)
	assert.Len(t, steps, 2)
}

func TestCheckAction(t *testing.T) {
	for a, want := range map[string]string{
		"acme/ci-token":         "",
		"acme/ci-token/sub":     "",
		"./.github/actions/tok": "",
		"acme/ci-token@v1":      "without a ref",
		"docker://acme/x":       "without a ref",
		"ci-token":              "neither OWNER/NAME nor ./PATH",
		"acme/ci token":         "neither OWNER/NAME nor ./PATH",
	} {
		got := CheckAction(Workflow, a)
		if want == "" {
			assert.Empty(t, got, a)
		} else {
			assert.Contains(t, got, want, a)
		}
	}
	assert.Empty(t, CheckAction(Pipeline, "MyToken"))
	assert.Contains(t, CheckAction(Pipeline, "My Token@1"), "not a task name")
}

// FuzzPlanParse: whatever a workflow or pipeline file holds (plan reads files
// from anyone), parsing ends, never panics, and every step it finds has a
// label and warnings that name their fix.
func FuzzPlanParse(f *testing.F) {
	for _, dir := range []string{"workflows", "workflows/examples", "pipelines", "pipelines/examples"} {
		files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", dir, "*.yml"))
		for _, p := range files {
			b, err := os.ReadFile(p)
			require.NoError(f, err)
			f.Add(string(b), strings.HasPrefix(dir, "pipelines"))
		}
	}
	fuzzcorpus.Add(f)
	f.Fuzz(func(t *testing.T, src string, pipeline bool) {
		kind := Workflow
		if pipeline {
			kind = Pipeline
		}
		steps, err := Parse(registry.Default(), []byte(src), kind, Recognizer{Actions: []string{"acme/token", "./vendored"}})
		if err != nil {
			return
		}
		for _, s := range steps {
			assert.NotEmpty(t, s.Label)
			for _, w := range s.Warnings {
				assert.NotEmpty(t, w.Fix)
				assert.NotContains(t, w.Code, " ")
			}
		}
	})
}

// An alias bomb is walked once per anchor, not once per path to it.
func TestParseAliasBomb(t *testing.T) {
	src := "x: &x {task: JobToken@1, inputs: {provider: github}}\n"
	prev := "x"
	for i := range 40 {
		name := fmt.Sprintf("a%d", i)
		src += fmt.Sprintf("%s: &%s {steps: [*%s, *%s]}\n", name, name, prev, prev)
		prev = name
	}
	steps, err := Parse(registry.Default(), []byte(src), Pipeline, Recognizer{})
	require.NoError(t, err)
	assert.LessOrEqual(t, len(steps), 100, "2^40 paths, walked once each anchor")
}
