package release_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// The project's workflows cannot run here, so these tests read them and
// check what they call: the scripts exist and are executable, third-party
// actions are pinned by full commit SHA with the version as a comment, every
// job states its permissions, and the steps a release needs are there.

type workflow struct {
	On          yaml.Node       `yaml:"on"`
	Permissions yaml.Node       `yaml:"permissions"`
	Jobs        map[string]*job `yaml:"jobs"`
	doc         yaml.Node
}

type job struct {
	RunsOn      any                             `yaml:"runs-on"`
	Needs       any                             `yaml:"needs"`
	Permissions yaml.Node                       `yaml:"permissions"`
	Environment any                             `yaml:"environment"`
	Strategy    struct{ Matrix map[string]any } `yaml:"strategy"`
	Steps       []step                          `yaml:"steps"`
}

type step struct {
	ID   string            `yaml:"id"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

func readWorkflow(t *testing.T, name string) *workflow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.Root(), ".github", "workflows", name))
	require.NoError(t, err)
	var w workflow
	require.NoError(t, yaml.Unmarshal(b, &w))
	require.NoError(t, yaml.Unmarshal(b, &w.doc))
	require.NotEmpty(t, w.Jobs)
	return &w
}

// runs is every run: script of the workflow, joined.
func (w *workflow) runs() string {
	var b strings.Builder
	for _, j := range w.Jobs {
		for _, s := range j.Steps {
			b.WriteString(s.Run + "\n")
		}
	}
	return b.String()
}

// usesNodes finds every `uses:` value node, with its line comment.
func usesNodes(n *yaml.Node, out *[]*yaml.Node) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "uses" && n.Content[i+1].Kind == yaml.ScalarNode {
				*out = append(*out, n.Content[i+1])
			}
		}
	}
	for _, c := range n.Content {
		usesNodes(c, out)
	}
}

var pinnedUses = regexp.MustCompile(`^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$`)

func TestWorkflowsPinActionsAndPermissions(t *testing.T) {
	for _, name := range []string{"ci.yml", "release.yml"} {
		t.Run(name, func(t *testing.T) {
			w := readWorkflow(t, name)
			// Nothing by default; each job asks for what it needs.
			require.Equal(t, yaml.MappingNode, w.Permissions.Kind, "top-level permissions must be set")
			assert.Empty(t, w.Permissions.Content, "top-level permissions: {}")
			for jn, j := range w.Jobs {
				assert.Equal(t, yaml.MappingNode, j.Permissions.Kind, "job %s states its permissions", jn)
				for _, s := range j.Steps {
					assert.False(t, s.Uses == "" && s.Run == "", "job %s has a step with neither uses nor run", jn)
				}
			}
			var uses []*yaml.Node
			usesNodes(&w.doc, &uses)
			require.NotEmpty(t, uses)
			for _, u := range uses {
				if strings.HasPrefix(u.Value, "./") {
					continue // the action under test
				}
				assert.Regexp(t, pinnedUses, u.Value, "line %d: pin third-party actions by full commit SHA", u.Line)
				assert.Regexp(t, `^# v\d+(\.\d+){0,2}$`, u.LineComment, "line %d: %s needs its version as a comment", u.Line, u.Value)
			}
		})
	}
}

// perms reads a job's permissions mapping.
func perms(t *testing.T, j *job) map[string]string {
	t.Helper()
	m := map[string]string{}
	require.NoError(t, j.Permissions.Decode(&m))
	return m
}

// id-token and write scopes only where they are used.
func TestWorkflowPermissionsAreMinimal(t *testing.T) {
	for _, name := range []string{"ci.yml", "release.yml"} {
		w := readWorkflow(t, name)
		for jn, j := range w.Jobs {
			p := perms(t, j)
			attests := false
			for _, s := range j.Steps {
				attests = attests || strings.HasPrefix(s.Uses, "actions/attest-build-provenance@")
			}
			if attests {
				assert.Equal(t, "write", p["id-token"], "%s %s attests: id-token: write", name, jn)
				assert.Equal(t, "write", p["attestations"], "%s %s attests: attestations: write", name, jn)
			} else {
				assert.NotContains(t, p, "id-token", "%s %s: no id-token without an attestation", name, jn)
				assert.NotContains(t, p, "attestations", "%s %s", name, jn)
			}
			for k, v := range p {
				if v == "write" && k != "id-token" && k != "attestations" {
					assert.Contains(t, []string{"release.yml/publish/contents", "release.yml/image/packages"}, name+"/"+jn+"/"+k, "unexpected %s: write", k)
				}
			}
		}
	}
}

// Every script a workflow runs is in the repository and executable.
func TestWorkflowScriptsExist(t *testing.T) {
	re := regexp.MustCompile(`\.ci/[\w.-]+`)
	for _, name := range []string{"ci.yml", "release.yml"} {
		w := readWorkflow(t, name)
		scripts := re.FindAllString(w.runs(), -1)
		require.NotEmpty(t, scripts)
		for _, s := range scripts {
			st, err := os.Stat(filepath.Join(testutil.Root(), s))
			require.NoError(t, err, "%s runs %s", name, s)
			assert.NotZero(t, st.Mode()&0o111, "%s must be executable", s)
			if out, err := exec.Command("git", "-C", testutil.Root(), "ls-files", "-s", s).Output(); err == nil && len(out) > 0 {
				assert.True(t, strings.HasPrefix(string(out), "100755"), "%s must be committed executable: %s", s, out)
			}
		}
	}
}

func TestCIWorkflow(t *testing.T) {
	w := readWorkflow(t, "ci.yml")
	assert.Contains(t, w.runs(), "bash .ci/run")
	assert.Contains(t, w.runs(), ".ci/release ")

	// The action, built by .ci/release, runs in dry-run mode on each
	// runner OS, and a tampered tree fails.
	var found bool
	for jn, j := range w.Jobs {
		var dry, tampered bool
		for _, s := range j.Steps {
			dry = dry || strings.HasPrefix(s.Uses, "./") && s.With["dry-run"] == "true"
			tampered = tampered || strings.Contains(s.Run, "tampered/dist/main.js") && strings.Contains(s.Run, "does not match its SHA-256")
		}
		if !dry {
			continue
		}
		found = true
		assert.True(t, tampered, "job %s also runs a tampered tree", jn)
		assert.Equal(t, "${{ matrix.os }}", j.RunsOn)
		assert.ElementsMatch(t, []any{"ubuntu-latest", "macos-latest", "windows-latest"}, j.Strategy.Matrix["os"])
		assert.NotEmpty(t, j.Needs, "job %s runs the tree another job built", jn)
	}
	assert.True(t, found, "a job runs the action from the release tree with dry-run: true")
}

func TestReleaseWorkflow(t *testing.T) {
	w := readWorkflow(t, "release.yml")
	var on struct {
		Push struct{ Tags []string } `yaml:"push"`
	}
	require.NoError(t, w.On.Decode(&on))
	require.NotEmpty(t, on.Push.Tags)
	for _, tag := range on.Push.Tags {
		assert.True(t, strings.HasPrefix(tag, "v"), "released on version tags: %s", tag)
	}
	runs := w.runs()
	for _, want := range []string{
		"bash .ci/release build/release \"$GITHUB_REF_NAME\"", // everything from the one script
		"docker push", // the image
		".ci/release-ref --pin-image \"$DIGEST\"", // its digest into container/action.yml
		".ci/release-ref build/release/action",    // the release commit
		"refs/heads/releases/",                    // on the release branch
		"refs/tags/$major",                        // the major tag moves
		"gh release create",
		"build/release/cli/SHA256SUMS", // the checksums are uploaded
		"build/release/cli/jobtoken-",  // with the binaries
		"build/release/*.vsix",
		"extension publish --vsix",
	} {
		assert.Contains(t, runs, want)
	}

	// Provenance for the CLI binaries (by their SHA256SUMS, which covers
	// the action tree's identical bytes), the .vsix and the image.
	var subjects []string
	for _, j := range w.Jobs {
		for _, s := range j.Steps {
			if strings.HasPrefix(s.Uses, "actions/attest-build-provenance@") {
				subjects = append(subjects, s.With["subject-checksums"]+s.With["subject-path"]+s.With["subject-name"])
			}
		}
	}
	assert.Contains(t, subjects, "build/release/cli/SHA256SUMS")
	assert.Contains(t, subjects, "build/release/*.vsix")
	assert.Contains(t, subjects, "ghcr.io/${{ github.repository }}")

	// The Marketplace token is a secret of a protected environment, used
	// by one job that has no repository permissions.
	mp := w.Jobs["marketplace"]
	require.NotNil(t, mp)
	assert.Equal(t, "marketplace", mp.Environment)
	assert.Empty(t, perms(t, mp))
	assert.Contains(t, strings.Join(func() []string {
		var out []string
		for _, s := range mp.Steps {
			for _, v := range s.Env {
				out = append(out, v)
			}
		}
		return out
	}(), " "), "secrets.MARKETPLACE_TOKEN")
}
