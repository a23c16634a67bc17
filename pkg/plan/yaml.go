package plan

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Walking a YAML file that anyone may have written: aliases are followed
// once.

// walk visits every mapping that is an item of a `steps:` sequence, wherever
// it is nested (jobs, stages, deployment strategies, templates), with the
// sequence it is an item of and its index there. A node an alias names is
// walked once: the file is untrusted, and aliases of aliases would otherwise
// multiply the walk exponentially.
func walk(n *yaml.Node, path string, visit func(n *yaml.Node, path string, seq *yaml.Node, idx int)) {
	w := walker{visit: visit, seen: map[*yaml.Node]bool{}}
	w.walk(n, path)
}

func (w walker) walk(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			p := k
			if path != "" {
				p = path + "." + k
			}
			if seq := deref(v); k == "steps" && seq.Kind == yaml.SequenceNode {
				for j, c := range seq.Content {
					cp := fmt.Sprintf("%s[%d]", p, j)
					if item := deref(c); item.Kind == yaml.MappingNode {
						w.visit(item, cp, seq, j)
					}
					w.walk(c, cp)
				}
				continue
			}
			w.walk(v, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			w.walk(c, fmt.Sprintf("%s[%d]", path, i))
		}
	case yaml.AliasNode:
		if n.Alias != nil && !w.seen[n.Alias] {
			w.seen[n.Alias] = true
			w.walk(n.Alias, path)
		}
	}
}

type walker struct {
	visit func(n *yaml.Node, path string, seq *yaml.Node, idx int)
	seen  map[*yaml.Node]bool
}

// deref follows an alias (*name) to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func get(m *yaml.Node, key string) *yaml.Node {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(m *yaml.Node, key string) string {
	if n := deref(get(m, key)); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

// nodeText joins every scalar under n, for searches that need not know the
// shape of a step.
func nodeText(n *yaml.Node) string {
	var b strings.Builder
	eachScalar(n, func(s *yaml.Node) { b.WriteString(s.Value + "\n") })
	return b.String()
}

func eachScalar(n *yaml.Node, f func(*yaml.Node)) {
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		f(n)
	case yaml.AliasNode:
		// An alias repeats a node visited where it is defined.
	default:
		for _, c := range n.Content {
			eachScalar(c, f)
		}
	}
}
