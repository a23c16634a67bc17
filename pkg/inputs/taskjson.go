package inputs

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Azure Pipelines task identity. The ID must never change: the agent and the
// Marketplace know the task by it.
const (
	TaskID   = "f7621ccb-ad98-4d41-9ef3-c27db4fea34e"
	TaskName = "JobToken" // - task: JobToken@1
	// TaskMajor is the major version pipelines pin (@1).
	TaskMajor = 1
	// MinimumAgentVersion is the first agent with the Node20_1 handler (the
	// documented floor in azure-pipelines-tasks' migrateNode20.md). An agent
	// without Node24 runs the Node20_1 entry of the same task.
	MinimumAgentVersion = "3.232.1"
	// TaskMainTarget and TaskPostTarget are the Node shim's entry points,
	// relative to the task folder: the same files, at the same place, as the
	// GitHub action's main and post.
	TaskMainTarget = ShimMain
	TaskPostTarget = ShimPost
)

// TaskHandlers are the execution handlers task.json declares. The Process
// handler is Windows-only and gets no inputs, hence Node shims.
var TaskHandlers = []string{"Node20_1", "Node24"}

type taskVersion struct {
	Major int `json:"Major"`
	Minor int `json:"Minor"`
	Patch int `json:"Patch"`
}

type taskGroup struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	IsExpanded  bool   `json:"isExpanded"`
	VisibleRule string `json:"visibleRule,omitempty"`
}

type taskInput struct {
	Name         string            `json:"name"`
	Type         string            `json:"type"`
	Label        string            `json:"label"`
	DefaultValue string            `json:"defaultValue,omitempty"`
	Required     bool              `json:"required"`
	HelpMarkDown string            `json:"helpMarkDown"`
	GroupName    string            `json:"groupName,omitempty"`
	VisibleRule  string            `json:"visibleRule,omitempty"`
	Options      *orderedOptions   `json:"options,omitempty"`
	Properties   map[string]string `json:"properties,omitempty"`
}

type taskOutput struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type taskTarget struct {
	Target string `json:"target"`
}

type taskDoc struct {
	Schema              string                `json:"$schema"`
	ID                  string                `json:"id"`
	Name                string                `json:"name"`
	FriendlyName        string                `json:"friendlyName"`
	Description         string                `json:"description"`
	HelpMarkDown        string                `json:"helpMarkDown"`
	Category            string                `json:"category"`
	Author              string                `json:"author"`
	Visibility          []string              `json:"visibility"`
	RunsOn              []string              `json:"runsOn"`
	Version             taskVersion           `json:"version"`
	MinimumAgentVersion string                `json:"minimumAgentVersion"`
	InstanceNameFormat  string                `json:"instanceNameFormat"`
	Groups              []taskGroup           `json:"groups"`
	Inputs              []taskInput           `json:"inputs"`
	OutputVariables     []taskOutput          `json:"outputVariables"`
	Execution           map[string]taskTarget `json:"execution"`
	PostJobExecution    map[string]taskTarget `json:"postjobexecution"`
}

// orderedOptions keeps pick-list options in catalog order (a Go map would
// sort them).
type orderedOptions []string

func (o orderedOptions) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, v := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(v)
		b.Write(k)
		b.WriteByte(':')
		b.Write(k)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// GroupAdvanced is task.json's collapsed group of inputs that rarely need a
// value (Input.Advanced).
const GroupAdvanced = "advanced"

var groupNames = map[string]string{
	GroupGitHub:      "GitHub App",
	GroupAzureDevOps: "Azure DevOps",
	GroupAnaconda:    "Anaconda",
	GroupAdvanced:    "Advanced",
}

// extraVisibility narrows inputs that only one azureCredential uses.
var extraVisibility = map[string]string{
	AzureAccessToken:       "azureCredential = pat",
	AzureServiceConnection: "azureCredential = entra",
}

// labelWords spells words of an input key in a label.
var labelWords = map[string]string{
	"id": "ID", "api": "API", "url": "URL", "github": "GitHub", "devops": "DevOps",
	"azure": "Azure", "anaconda": "Anaconda", "env": "environment variable",
}

// Label turns an input key into the label shown in the task editor:
// "github-api-url" → "GitHub API URL".
func Label(key string) string {
	words := strings.Split(key, "-")
	for i, w := range words {
		if s, ok := labelWords[w]; ok {
			words[i] = s
		} else if i == 0 {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// AzureText rewrites input names quoted in a description (`client-id`,
// `azure-credential: entra`) into their Azure spelling.
func AzureText(s string) string {
	var pairs []string
	for _, in := range Catalog {
		if in.Key != in.Azure {
			pairs = append(pairs, "`"+in.Key+"`", "`"+in.Azure+"`", "`"+in.Key+":", "`"+in.Azure+":")
		}
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// TaskJSON renders task.json from the catalog: camelCase names, one group per
// provider shown only when that provider is chosen, every output as an output
// variable, and Node shims for the main and post-job stages.
func TaskJSON() ([]byte, error) {
	doc := taskDoc{
		Schema:              "https://raw.githubusercontent.com/Microsoft/azure-pipelines-task-lib/master/tasks.schema.json",
		ID:                  TaskID,
		Name:                TaskName,
		FriendlyName:        "jobtoken: short-lived token",
		Description:         ActionDescription,
		HelpMarkDown:        "Mints one narrow token, publishes it as the secret output variable `token`, and revokes it in the post-job step. [Azure Pipelines](https://github.com/jobtoken/jobtoken#azure-pipelines)",
		Category:            "Utility",
		Author:              "jobtoken",
		Visibility:          []string{"Build", "Release"},
		RunsOn:              []string{"Agent"},
		Version:             taskVersion{Major: TaskMajor},
		MinimumAgentVersion: MinimumAgentVersion,
		InstanceNameFormat:  "jobtoken: $(provider) token",
		Execution:           map[string]taskTarget{},
		PostJobExecution:    map[string]taskTarget{},
	}
	for _, g := range []string{GroupGitHub, GroupAzureDevOps, GroupAnaconda} {
		doc.Groups = append(doc.Groups, taskGroup{Name: g, DisplayName: groupNames[g], IsExpanded: true, VisibleRule: "provider = " + g})
	}
	doc.Groups = append(doc.Groups, taskGroup{Name: GroupAdvanced, DisplayName: groupNames[GroupAdvanced], IsExpanded: false})
	for _, in := range Catalog {
		if in.GitHubOnly {
			continue
		}
		ti := taskInput{
			Name:         in.Azure,
			Type:         in.Kind,
			Label:        Label(in.Key),
			DefaultValue: in.Default,
			Required:     RequiredOn(in, HostAzure),
			HelpMarkDown: DescriptionFor(in, HostAzure),
		}
		if in.Group != GroupCommon {
			ti.GroupName = in.Group
			ti.VisibleRule = "provider = " + in.Group
			if extra := extraVisibility[in.Key]; extra != "" {
				ti.VisibleRule += " && " + extra
			}
		}
		if u := in.RequiredUnless; u != nil {
			// Hidden in its exception, so that the editor does not demand
			// it there (the editor checks only the inputs it shows).
			uin, _ := Lookup(u.Key)
			ti.VisibleRule = "provider != " + u.Provider + " || " + uin.Azure + " != " + u.Value
		}
		if in.Advanced {
			ti.GroupName = GroupAdvanced
		}
		if in.Kind == KindPickList {
			o := orderedOptions(in.Options)
			ti.Options = &o
			ti.Properties = map[string]string{"EditableOptions": "False"}
		}
		doc.Inputs = append(doc.Inputs, ti)
	}
	for _, o := range Outputs {
		doc.OutputVariables = append(doc.OutputVariables, taskOutput{Name: o.Azure, Description: o.Description})
	}
	for _, h := range TaskHandlers {
		doc.Execution[h] = taskTarget{Target: TaskMainTarget}
		doc.PostJobExecution[h] = taskTarget{Target: TaskPostTarget}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
