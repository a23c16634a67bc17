package inputs_test

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
)

type taskInput struct {
	Name         string            `json:"name"`
	Type         string            `json:"type"`
	Label        string            `json:"label"`
	DefaultValue string            `json:"defaultValue"`
	Required     bool              `json:"required"`
	HelpMarkDown string            `json:"helpMarkDown"`
	GroupName    string            `json:"groupName"`
	VisibleRule  string            `json:"visibleRule"`
	Options      map[string]string `json:"options"`
}

type taskDoc struct {
	ID                  string `json:"id"`
	Name                string `json:"name"`
	FriendlyName        string `json:"friendlyName"`
	MinimumAgentVersion string `json:"minimumAgentVersion"`
	InstanceNameFormat  string `json:"instanceNameFormat"`
	Version             struct{ Major, Minor, Patch int }
	Groups              []struct {
		Name        string `json:"name"`
		VisibleRule string `json:"visibleRule"`
		IsExpanded  bool   `json:"isExpanded"`
	} `json:"groups"`
	Inputs          []taskInput `json:"inputs"`
	OutputVariables []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"outputVariables"`
	Execution        map[string]struct{ Target string } `json:"execution"`
	PostJobExecution map[string]struct{ Target string } `json:"postjobexecution"`
}

func loadTask(t *testing.T) taskDoc {
	t.Helper()
	b, err := cat().TaskJSON()
	require.NoError(t, err)
	var doc taskDoc
	dec := json.NewDecoder(strings.NewReader(string(b)))
	require.NoError(t, dec.Decode(&doc))
	return doc
}

// version compares dotted versions numerically.
func versionAtLeast(t *testing.T, have, want string) bool {
	t.Helper()
	h, w := strings.Split(have, "."), strings.Split(want, ".")
	for i := range w {
		a, err := strconv.Atoi(h[i])
		require.NoError(t, err)
		b, _ := strconv.Atoi(w[i])
		if a != b {
			return a > b
		}
	}
	return true
}

func TestTaskJSONShape(t *testing.T) {
	doc := loadTask(t)
	// tasks.schema.json patterns and limits.
	assert.Regexp(t, `^[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`, doc.ID)
	assert.Equal(t, "JobToken", doc.Name, "pipelines say - task: JobToken@1")
	assert.Equal(t, 1, doc.Version.Major)
	assert.LessOrEqual(t, len(doc.FriendlyName), 40)
	assert.True(t, versionAtLeast(t, doc.MinimumAgentVersion, "3.232.1"), "Node20_1 needs agent 3.232.1, got %s", doc.MinimumAgentVersion)
	assert.NotEmpty(t, doc.InstanceNameFormat)

	for _, h := range []string{"Node20_1", "Node24"} {
		// The same shim files as the GitHub action's main and post.
		assert.Equal(t, "dist/main.js", doc.Execution[h].Target, h)
		assert.Equal(t, "dist/post.js", doc.PostJobExecution[h].Target, h)
	}
	assert.Len(t, doc.Execution, 2, "only Node handlers: Process gets no inputs")

	groups := map[string]string{}
	expanded := map[string]bool{}
	for _, g := range doc.Groups {
		groups[g.Name] = g.VisibleRule
		expanded[g.Name] = g.IsExpanded
	}
	namePattern := regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
	byName := map[string]taskInput{}
	for _, in := range doc.Inputs {
		assert.Regexp(t, namePattern, in.Name)
		assert.NotEmpty(t, in.Label, in.Name)
		assert.NotEmpty(t, in.HelpMarkDown, in.Name)
		byName[in.Name] = in
	}
	for _, c := range cat().Inputs() {
		in, ok := byName[c.Azure]
		if c.GitHubOnly {
			assert.False(t, ok, "GitHub-only input %s leaked into task.json", c.Azure)
			continue
		}
		require.True(t, ok, "input %s missing", c.Azure)
		assert.Equal(t, string(c.Type), in.Type, c.Azure)
		assert.Equal(t, c.Required, in.Required, "%s: task.json marks every required input so, exceptions hidden by visibleRule", c.Azure)
		assert.Equal(t, c.Default, in.DefaultValue, c.Azure)
		// Help text names inputs as the user types them on Azure.
		for _, other := range cat().Inputs() {
			if other.Key != other.Azure {
				assert.NotContains(t, in.HelpMarkDown, "`"+other.Key+"`", "%s help names %s in GitHub spelling", c.Azure, other.Key)
			}
		}
		switch {
		case c.Advanced:
			assert.Equal(t, "advanced", in.GroupName, c.Azure)
		case c.Group == inputs.GroupCommon:
			assert.Empty(t, in.GroupName, c.Azure)
		default:
			assert.Equal(t, c.Group, in.GroupName, c.Azure)
			assert.Equal(t, "provider = "+c.Group, groups[in.GroupName])
		}
		assert.Contains(t, append(sortedKeys(groups), ""), in.GroupName, "group of %s is declared", c.Azure)
		switch {
		case c.Group != inputs.GroupCommon:
			assert.True(t, strings.HasPrefix(in.VisibleRule, "provider = "+c.Group), "%s is shown only for its provider: %q", c.Azure, in.VisibleRule)
		case c.RequiredUnless == nil:
			assert.Empty(t, in.VisibleRule, c.Azure)
		}
	}
	assert.False(t, expanded["advanced"], "the Advanced group starts collapsed")
	assert.Empty(t, groups["advanced"], "the Advanced group is shown for every provider")
	for _, name := range []string{"revoke", "dryRun", "allowBroadScopes", "githubApiUrl", "azureDevOpsApiUrl", "anacondaApiUrl"} {
		assert.Equal(t, "advanced", byName[name].GroupName, name)
	}
	// permissions is required, and hidden where it must stay empty, so
	// that the editor never demands it there.
	assert.True(t, byName["permissions"].Required)
	assert.Equal(t, "provider != azure-devops || azureCredential != entra", byName["permissions"].VisibleRule)
	assert.NotContains(t, byName["permissions"].VisibleRule, "&&", "a visibleRule cannot mix && and ||")
	// Descriptions that make sense on Azure.
	assert.NotContains(t, byName["githubApiUrl"].HelpMarkDown, "GITHUB_API_URL", "no runner variable on an Azure agent")
	assert.Contains(t, byName["exportEnv"].HelpMarkDown, "env: { GH_TOKEN: $(GH_TOKEN) }")
	assert.Contains(t, byName["repositories"].HelpMarkDown, "the pipeline builds")
	assert.Contains(t, byName["revoke"].HelpMarkDown, "post-job step")
	assert.Equal(t, "connectedService:AzureRM", byName["azureServiceConnection"].Type)
	assert.Equal(t, "provider = github || provider = azure-devops", byName["azureServiceConnection"].VisibleRule, "github signs with Key Vault through it")
	assert.Equal(t, map[string]string{"github": "github", "azure-devops": "azure-devops", "anaconda": "anaconda"}, byName["provider"].Options)

	var outs []string
	for _, o := range doc.OutputVariables {
		assert.Regexp(t, namePattern, o.Name)
		assert.NotEmpty(t, o.Description)
		outs = append(outs, o.Name)
	}
	var want []string
	for _, o := range cat().Outputs() {
		want = append(want, o.Azure)
	}
	assert.Equal(t, want, outs)
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestTaskJSONKeepsOptionOrder(t *testing.T) {
	b, err := cat().TaskJSON()
	require.NoError(t, err)
	s := string(b)
	// The picker lists providers in catalog order, not sorted.
	assert.Less(t, strings.Index(s, `"github": "github"`), strings.Index(s, `"azure-devops": "azure-devops"`))
	assert.Less(t, strings.Index(s, `"azure-devops": "azure-devops"`), strings.Index(s, `"anaconda": "anaconda"`))
}

func TestLabel(t *testing.T) {
	for key, want := range map[string]string{
		"github-api-url":            "GitHub API URL",
		"client-id":                 "Client ID",
		"azure-devops-organization": "Azure DevOps organization",
		"export-env":                "Export environment variable",
		"provider":                  "Provider",
	} {
		in, ok := cat().Lookup(key)
		require.True(t, ok, key)
		assert.Equal(t, want, inputs.Label(in), key)
	}
}

func TestAzureText(t *testing.T) {
	assert.Equal(t, "use `clientId` (or `appId`); leave empty for `azureCredential: entra`",
		cat().AzureText("use `client-id` (or `app-id`); leave empty for `azure-credential: entra`"))
}

// cat is the catalog of the providers jobtoken ships, which the generated
// files hold.
func cat() *inputs.Catalog { return registry.Default().Catalog() }
