package inputs

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Group is one provider's part of the catalog: the inputs it reads beyond
// the common ones (its own, and shared ones it uses too), the outputs it sets
// beyond the common ones, and how the task editor titles its group.
type Group struct {
	Name  string // the provider input's value
	Title string // the task editor's group title: "GitHub App"
	// Inputs are declared once, in the package that owns them; an input
	// several providers use (a cloud identity) is listed by each, and the
	// catalog holds it once.
	Inputs  []Input
	Outputs []Output
	// Optional names a common required input, by key, that this provider
	// needs left empty when a condition holds (permissions with
	// azure-credential: entra).
	Optional map[string]Condition
}

// Catalog is every input and output of one set of providers, in the order
// they are documented: the common ones first, then each provider's.
type Catalog struct {
	inputs  []Input
	outputs []Output
	groups  []Group
}

// NewCatalog assembles the catalog of the common inputs and outputs plus
// each group's, in order. An input or output listed by several groups must
// be the same declaration in each.
func NewCatalog(groups ...Group) (*Catalog, error) {
	c := &Catalog{groups: groups}
	var names []string
	for _, g := range groups {
		if g.Name == "" || g.Name == GroupCommon || slices.Contains(names, g.Name) {
			return nil, fmt.Errorf("provider name %q is empty, reserved or taken", g.Name)
		}
		names = append(names, g.Name)
	}
	for _, in := range Common() {
		in.Group = GroupCommon
		if in.Key == Provider.Key {
			in.Options = names
			in.Description = "Which provider's token: " + quoteList(names, "or") + "."
		}
		c.inputs = append(c.inputs, in)
	}
	c.outputs = CommonOutputs()
	for _, g := range groups {
		for _, in := range g.Inputs {
			i := c.index(in.Key)
			if i < 0 {
				in.Group = g.Name
				in.Providers = []string{g.Name}
				c.inputs = append(c.inputs, in)
				continue
			}
			have := c.inputs[i]
			if have.Group == GroupCommon || !sameDeclaration(have, in) {
				return nil, fmt.Errorf("input %s is declared twice, differently (by %s and %s)", in.Key, have.Group, g.Name)
			}
			c.inputs[i].Providers = append(c.inputs[i].Providers, g.Name)
		}
		for _, o := range g.Outputs {
			if j := c.outputIndex(o.Key); j >= 0 {
				if len(c.outputs[j].Providers) == 0 || c.outputs[j].Description != o.Description {
					return nil, fmt.Errorf("output %s is declared twice, differently", o.Key)
				}
				c.outputs[j].Providers = append(c.outputs[j].Providers, g.Name)
				continue
			}
			o.Providers = []string{g.Name}
			c.outputs = append(c.outputs, o)
		}
		for key, cond := range g.Optional {
			i := c.index(key)
			switch {
			case i < 0 || c.inputs[i].Group != GroupCommon || !c.inputs[i].Required:
				return nil, fmt.Errorf("%s: %s is not a required common input", g.Name, key)
			case c.inputs[i].RequiredUnless != nil:
				return nil, fmt.Errorf("%s: %s already has an exception", g.Name, key)
			}
			c.inputs[i].RequiredUnless = &Unless{Provider: g.Name, Key: cond.Key, Value: cond.Value}
		}
	}
	return c, nil
}

// sameDeclaration reports whether two listings of an input are one
// declaration (Group and Providers aside).
func sameDeclaration(a, b Input) bool {
	a.Group, a.Providers, b.Group, b.Providers = "", nil, "", nil
	a.Stale, b.Stale = nil, nil // funcs never compare equal
	return reflect.DeepEqual(a, b)
}

// quoteList renders `a`, `b` or `c`.
func quoteList(names []string, conj string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + n + "`"
	}
	if len(q) < 2 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " " + conj + " " + q[len(q)-1]
}

func (c *Catalog) index(key string) int {
	return slices.IndexFunc(c.inputs, func(in Input) bool { return in.Key == key })
}

func (c *Catalog) outputIndex(key string) int {
	return slices.IndexFunc(c.outputs, func(o Output) bool { return o.Key == key })
}

// Inputs lists every input in documented order.
func (c *Catalog) Inputs() []Input { return slices.Clone(c.inputs) }

// Lookup returns the input whose key is key.
func (c *Catalog) Lookup(key string) (Input, bool) {
	if i := c.index(key); i >= 0 {
		return c.inputs[i], true
	}
	return Input{}, false
}

// Name spells the input whose key is key in naming n (key itself when the
// catalog does not hold it).
func (c *Catalog) Name(n Naming, key string) string {
	in, ok := c.Lookup(key)
	if !ok {
		in = Input{Key: key}
	}
	return n.Name(in)
}

// Outputs lists every output in documented order.
func (c *Catalog) Outputs() []Output { return slices.Clone(c.outputs) }

// OutputsOf lists the outputs a provider sets: the common ones and its own.
func (c *Catalog) OutputsOf(provider string) []Output {
	var out []Output
	for _, o := range c.outputs {
		if len(o.Providers) == 0 || slices.Contains(o.Providers, provider) {
			out = append(out, o)
		}
	}
	return out
}

// Output returns the output whose key is key.
func (c *Catalog) Output(key string) (Output, bool) {
	if j := c.outputIndex(key); j >= 0 {
		return c.outputs[j], true
	}
	return Output{}, false
}

// Groups lists the providers' groups in order.
func (c *Catalog) Groups() []Group { return slices.Clone(c.groups) }

// Secrets lists the inputs that hold credentials.
func (c *Catalog) Secrets() []Input {
	var out []Input
	for _, in := range c.inputs {
		if in.Secret {
			out = append(out, in)
		}
	}
	return out
}

// SecretValues lists the credentials v gives (not those only known at run
// time): what is masked before anything else happens.
func (c *Catalog) SecretValues(v Values) []string {
	var out []string
	for _, in := range c.inputs {
		if raw, ok := v.Raw(in.Key); ok && in.Secret && raw != "" {
			out = append(out, raw)
		}
	}
	return out
}

// Read reads every input of the catalog through get, which receives the
// input and returns its raw value and whether it was set. Values are
// trimmed; an empty one counts as not given.
func (c *Catalog) Read(get func(in Input) (string, bool)) Values {
	v := Values{}
	for _, in := range c.inputs {
		if s, ok := get(in); ok {
			if s = strings.TrimSpace(s); s != "" {
				v.Set(in.Key, s)
			}
		}
	}
	return v
}

// ReadOn reads through get the inputs the host where declares: the
// others are another host's (action.yml has no Azure-only input, task.json
// no GitHub-only one). Values are trimmed; an empty one counts as not given.
func (c *Catalog) ReadOn(where Where, get func(in Input) string) Values {
	return c.Read(func(in Input) (string, bool) {
		if !in.DeclaredOn(where) {
			return "", false
		}
		return get(in), true
	})
}

// Description returns in's description as where shows it: its variant for
// where, if any; on Azure, with input names spelt the Azure way.
func (c *Catalog) Description(in Input, where Where) string {
	d := in.Description
	if v, ok := in.On[where]; ok {
		d = v
	}
	if where == OnAzure {
		d = c.AzureText(d)
	}
	return d
}

// AzureText rewrites input names quoted in a description (`client-id`,
// `azure-credential: entra`) into their Azure spelling.
func (c *Catalog) AzureText(s string) string {
	var pairs []string
	for _, in := range c.inputs {
		if in.Key != in.Azure {
			pairs = append(pairs, "`"+in.Key+"`", "`"+in.Azure+"`", "`"+in.Key+":", "`"+in.Azure+":")
		}
	}
	return strings.NewReplacer(pairs...).Replace(s)
}
