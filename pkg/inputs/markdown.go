package inputs

import (
	"fmt"
	"strings"
)

// Markers around the generated tables in README.md.
const (
	ReadmeInputsBegin  = "<!-- generated:inputs begin (go generate ./pkg/inputs) -->"
	ReadmeInputsEnd    = "<!-- generated:inputs end -->"
	ReadmeOutputsBegin = "<!-- generated:outputs begin (go generate ./pkg/inputs) -->"
	ReadmeOutputsEnd   = "<!-- generated:outputs end -->"
)

func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// InputsMarkdown renders the inputs table of the README.
func (c *Catalog) InputsMarkdown() string {
	var b strings.Builder
	b.WriteString("| GitHub input | Azure input | provider | default | description |\n|---|---|---|---|---|\n")
	for _, in := range c.inputs {
		gh, az := "`"+in.Key+"`", "`"+in.Azure+"`"
		if !in.DeclaredOn(OnGitHub) {
			gh = "—"
		}
		if !in.DeclaredOn(OnAzure) {
			az = "—"
		}
		def := "—"
		switch {
		case in.RequiredUnless != nil:
			def = "required (empty with `" + in.RequiredUnless.Key + ": " + in.RequiredUnless.Value + "`)"
		case in.Required:
			def = "required"
		case in.Default != "":
			def = "`" + in.Default + "`"
		}
		desc := c.Description(in, OnGitHub)
		if in.Secret {
			desc += " **Secret**: pass it from a secret; it is masked."
		}
		group := in.Group
		if len(in.Providers) > 0 {
			group = strings.Join(in.Providers, ", ")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", gh, az, group, def, cell(desc))
	}
	return b.String()
}

// OutputsMarkdown renders the outputs table of the README.
func (c *Catalog) OutputsMarkdown() string {
	var b strings.Builder
	b.WriteString("| GitHub output | Azure output variable | description |\n|---|---|---|\n")
	for _, o := range c.outputs {
		desc := o.Description
		if o.Secret {
			desc += " Azure: a secret output variable (`issecret=true;isoutput=true`)."
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", o.Key, o.Azure, cell(desc))
	}
	return b.String()
}

// UpdateReadme replaces the generated tables in readme.
func (c *Catalog) UpdateReadme(readme string) (string, error) {
	var err error
	readme, err = replaceBetween(readme, ReadmeInputsBegin, ReadmeInputsEnd, c.InputsMarkdown())
	if err != nil {
		return "", err
	}
	return replaceBetween(readme, ReadmeOutputsBegin, ReadmeOutputsEnd, c.OutputsMarkdown())
}

func replaceBetween(s, begin, end, body string) (string, error) {
	i := strings.Index(s, begin)
	j := strings.Index(s, end)
	if i < 0 || j < i {
		return "", fmt.Errorf("README.md lacks the markers %q … %q", begin, end)
	}
	return s[:i+len(begin)] + "\n" + body + s[j:], nil
}
