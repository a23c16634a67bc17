package inputs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// TestGeneratedFilesInSync fails when a file generated from the catalog
// (the actions' action.yml, task.json) was edited by hand or the catalog
// changed without `go generate ./pkg/inputs`.
func TestGeneratedFilesInSync(t *testing.T) {
	for name, render := range map[string]func() ([]byte, error){
		"action.yml":               cat().ActionYAML,
		inputs.ContainerActionFile: cat().ContainerActionYAML,
		"task.json":                cat().TaskJSON,
	} {
		t.Run(name, func(t *testing.T) {
			want, err := render()
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(name)))
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got), name+" is stale: run go generate ./pkg/inputs")
		})
	}
}

type actionDoc struct {
	Inputs map[string]struct {
		Description string `yaml:"description"`
		Required    string `yaml:"required"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]any    `yaml:"outputs"`
	Runs    map[string]string `yaml:"runs"`
}

func readAction(t *testing.T, render func() ([]byte, error)) actionDoc {
	t.Helper()
	b, err := render()
	require.NoError(t, err)
	var doc actionDoc
	require.NoError(t, yaml.Unmarshal(b, &doc))
	return doc
}

// The native action runs the shim on Node 24, main and post, and never
// builds an image.
func TestActionYAMLRunsTheShim(t *testing.T) {
	doc := readAction(t, cat().ActionYAML)
	assert.Equal(t, map[string]string{"using": "node24", "main": "dist/main.js", "post": "dist/post.js", "post-if": "always()"}, doc.Runs)
	for _, f := range []string{doc.Runs["main"], doc.Runs["post"]} {
		_, err := os.Stat(filepath.Join("..", "..", filepath.FromSlash(f)))
		assert.NoError(t, err, "action.yml names %s", f)
	}
}

// The container variant runs a prebuilt image (a docker:// reference, never
// a Dockerfile the runner would build on every job) with the post stage's
// own entrypoint, and takes exactly the native action's inputs and outputs.
func TestContainerActionYAMLShape(t *testing.T) {
	doc := readAction(t, cat().ContainerActionYAML)
	assert.Equal(t, "docker", doc.Runs["using"])
	assert.True(t, strings.HasPrefix(doc.Runs["image"], "docker://ghcr.io/jobtoken/jobtoken"), doc.Runs["image"])
	assert.NotContains(t, strings.ToLower(doc.Runs["image"]), "dockerfile")
	assert.Equal(t, "/jobtoken", doc.Runs["entrypoint"])
	assert.Equal(t, "/jobtoken-post", doc.Runs["post-entrypoint"])
	assert.Equal(t, "always()", doc.Runs["post-if"])

	native := readAction(t, cat().ActionYAML)
	assert.Equal(t, native.Inputs, doc.Inputs)
	assert.Equal(t, native.Outputs, doc.Outputs)
}

func TestActionYAMLShape(t *testing.T) {
	doc := readAction(t, cat().ActionYAML)
	assert.Equal(t, "true", doc.Inputs["provider"].Required)
	assert.Equal(t, "1h", doc.Inputs["lifetime"].Default)
	assert.NotContains(t, doc.Inputs, "azure-service-connection", "Azure-only input leaked into action.yml")
	for _, name := range []string{"token", "expires-at", "token-id", "permissions", "installation-id", "app-slug"} {
		assert.Contains(t, doc.Outputs, name)
	}
	for _, in := range cat().Inputs() {
		if !in.AzureOnly {
			assert.Contains(t, doc.Inputs, in.Key)
		}
	}
}

// TestReadmeTablesInSync keeps the README's inputs and outputs tables equal to
// the catalog.
func TestReadmeTablesInSync(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	want, err := cat().UpdateReadme(string(b))
	require.NoError(t, err)
	assert.Equal(t, want, string(b), "README.md tables are stale: run go generate ./pkg/inputs")
}

// TestActionYAMLDescriptions: action.yml describes inputs as a GitHub user
// meets them, and does not mark permissions required, which
// azure-credential: entra must leave empty (the runner does not enforce
// required today; were it to, entra steps would break).
func TestActionYAMLDescriptions(t *testing.T) {
	b, err := cat().ActionYAML()
	require.NoError(t, err)
	var doc struct {
		Inputs map[string]struct {
			Description string `yaml:"description"`
			Required    string `yaml:"required"`
		} `yaml:"inputs"`
	}
	require.NoError(t, yaml.Unmarshal(b, &doc))
	assert.Equal(t, "false", doc.Inputs["permissions"].Required)
	assert.Contains(t, doc.Inputs["permissions"].Description, "Required")
	assert.Contains(t, doc.Inputs["permissions"].Description, "`azure-credential: entra`")
	assert.Contains(t, doc.Inputs["github-api-url"].Description, "GITHUB_API_URL")
	assert.NotContains(t, doc.Inputs["lifetime"].Description, "2h", "no example github refuses")
	assert.NotContains(t, doc.Inputs["export-env"].Description, "$(", "no Azure macro on GitHub")
	for key, in := range doc.Inputs {
		for _, c := range cat().Inputs() {
			if c.Key != c.Azure {
				assert.NotContains(t, in.Description, "`"+c.Azure+"`", "%s names %s in Azure spelling", key, c.Azure)
			}
		}
	}
}
