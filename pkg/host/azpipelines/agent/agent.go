// Package agent reads a task's output the way the Azure Pipelines agent
// does: every line is either one logging command (consumed by the agent, not
// printed) or a plain log line (printed, after masking). Tests and the demo
// use it to see what the agent would do with jobtoken's output.
package agent

import (
	"strings"

	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
)

// Line is one line of output as the agent sees it.
type Line struct {
	Text    string
	Command *azpipelines.Command // nil for a plain line
}

// Output is a stage's output, split and parsed.
type Output []Line

// Read splits and parses output with the agent's rules.
func Read(stdout string) Output {
	var out Output
	for _, l := range azpipelines.Lines(stdout) {
		line := Line{Text: l}
		if c, ok := azpipelines.Parse(l); ok {
			line.Command = &c
		}
		out = append(out, line)
	}
	return out
}

// Commands returns the logging commands in order.
func (o Output) Commands() []azpipelines.Command {
	var cs []azpipelines.Command
	for _, l := range o {
		if l.Command != nil {
			cs = append(cs, *l.Command)
		}
	}
	return cs
}

// Named returns the commands called name (area.event, case-insensitive, as
// the agent matches them).
func (o Output) Named(name string) []azpipelines.Command {
	var cs []azpipelines.Command
	for _, c := range o.Commands() {
		if strings.EqualFold(c.Name, name) {
			cs = append(cs, c)
		}
	}
	return cs
}

// Plain returns the lines the agent prints.
func (o Output) Plain() []string {
	var ls []string
	for _, l := range o {
		if l.Command == nil {
			ls = append(ls, l.Text)
		}
	}
	return ls
}

// Variable returns the last task.setvariable for name.
func (o Output) Variable(name string) (azpipelines.Command, bool) {
	var found azpipelines.Command
	ok := false
	for _, c := range o.Named("task.setvariable") {
		if c.Prop("variable") == name {
			found, ok = c, true
		}
	}
	return found, ok
}

// TaskVariable returns the data of the last task.settaskvariable for name.
func (o Output) TaskVariable(name string) (string, bool) {
	v, ok := "", false
	for _, c := range o.Named("task.settaskvariable") {
		if c.Prop("variable") == name {
			v, ok = c.Data, true
		}
	}
	return v, ok
}

// Masked reports whether value was registered with task.setsecret.
func (o Output) Masked(value string) bool {
	for _, c := range o.Named("task.setsecret") {
		if c.Data == value {
			return true
		}
	}
	return false
}

// CarriesSecret reports whether the agent consumes c without printing it and
// keeps its data secret: setsecret itself and secret variables. No other line
// may hold a secret.
func CarriesSecret(c *azpipelines.Command) bool {
	if c == nil {
		return false
	}
	switch strings.ToLower(c.Name) {
	case "task.setsecret":
		return true
	case "task.setvariable", "task.settaskvariable":
		return strings.EqualFold(c.Prop("issecret"), "true")
	}
	return false
}
