package inputs

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// labelWords spells words of an input key in a label.
var labelWords = map[string]string{"id": "ID", "api": "API", "url": "URL", "env": "environment variable"}

// Label is the label the task editor shows for in: its own, or one made of
// its key: "client-id" → "Client ID".
func Label(in Input) string {
	if in.Label != "" {
		return in.Label
	}
	words := strings.Split(in.Key, "-")
	for i, w := range words {
		if s, ok := labelWords[w]; ok {
			words[i] = s
		} else if i == 0 {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// TaskJSON renders task.json from the catalog: camelCase names, one group per
// provider shown only when that provider is chosen, every output as an output
// variable, and Node shims for the main and post-job stages.
func (c *Catalog) TaskJSON() ([]byte, error) {
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
	for _, g := range c.groups {
		doc.Groups = append(doc.Groups, taskGroup{Name: g.Name, DisplayName: g.Title, IsExpanded: true, VisibleRule: "provider = " + g.Name})
	}
	doc.Groups = append(doc.Groups, taskGroup{Name: GroupAdvanced, DisplayName: "Advanced", IsExpanded: false})
	for _, in := range c.inputs {
		if !in.DeclaredOn(OnAzure) {
			continue
		}
		ti := taskInput{
			Name:         in.Azure,
			Type:         string(in.Type),
			Label:        Label(in),
			DefaultValue: in.Default,
			Required:     in.RequiredOn(OnAzure),
			HelpMarkDown: c.Description(in, OnAzure),
		}
		if in.Group != GroupCommon {
			// A visibleRule cannot mix && and ||: an input several
			// providers use cannot also depend on another input.
			var rules []string
			for _, p := range in.Providers {
				rules = append(rules, "provider = "+p)
			}
			ti.GroupName = in.Group
			ti.VisibleRule = strings.Join(rules, " || ")
			if w := in.When; w != nil {
				if len(rules) > 1 {
					return nil, fmt.Errorf("input %s: task.json cannot show an input of several providers only when %s is %s", in.Key, w.Key, w.Value)
				}
				win, _ := c.Lookup(w.Key)
				ti.VisibleRule += " && " + win.Azure + " = " + w.Value
			}
		}
		if u := in.RequiredUnless; u != nil {
			// Hidden in its exception, so that the editor does not demand
			// it there (the editor checks only the inputs it shows).
			uin, _ := c.Lookup(u.Key)
			ti.VisibleRule = "provider != " + u.Provider + " || " + uin.Azure + " != " + u.Value
		}
		if in.Advanced {
			ti.GroupName = GroupAdvanced
		}
		if in.Type == TypePickList {
			o := orderedOptions(in.Options)
			ti.Options = &o
			ti.Properties = map[string]string{"EditableOptions": "False"}
		}
		doc.Inputs = append(doc.Inputs, ti)
	}
	for _, o := range c.outputs {
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
