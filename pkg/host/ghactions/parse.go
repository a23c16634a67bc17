package ghactions

import (
	"fmt"
	"strings"
)

// Entry is one name/value from a file command file.
type Entry struct{ Name, Value string }

// ParseFileCommand reads a GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STATE file the
// way the runner does: `name=value` lines, or `name<<DELIM` then lines up to a
// line that is exactly DELIM. Tests and fuzzing use it to prove that no value
// can add an entry.
func ParseFileCommand(data string) ([]Entry, error) {
	data = strings.ReplaceAll(data, "\r\n", "\n")
	lines := strings.Split(data, "\n")
	var out []Entry
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		eq := strings.Index(line, "=")
		hd := strings.Index(line, "<<")
		switch {
		case hd >= 0 && (eq < 0 || hd < eq):
			name, delim := line[:hd], line[hd+2:]
			if name == "" || delim == "" {
				return nil, fmt.Errorf("line %d: invalid heredoc %q", i+1, line)
			}
			var val []string
			j := i + 1
			for ; j < len(lines) && lines[j] != delim; j++ {
				val = append(val, lines[j])
			}
			if j >= len(lines) {
				return nil, fmt.Errorf("line %d: delimiter %q not found", i+1, delim)
			}
			out = append(out, Entry{name, strings.Join(val, "\n")})
			i = j
		case eq > 0:
			out = append(out, Entry{line[:eq], line[eq+1:]})
		default:
			return nil, fmt.Errorf("line %d: invalid format", i+1)
		}
	}
	return out, nil
}

// Command is one workflow command found in a log.
type Command struct {
	Name, Props, Message string
}

// ParseCommands finds the workflow commands in stdout the way the runner
// does: a line whose text after leading spaces starts with "::name", or that
// holds a "##[name" command.
func ParseCommands(stdout string) []Command {
	var out []Command
	for _, line := range strings.Split(strings.ReplaceAll(stdout, "\r\n", "\n"), "\n") {
		t := strings.TrimLeft(line, " \t")
		if rest, ok := strings.CutPrefix(t, "::"); ok {
			head, msg, found := strings.Cut(rest, "::")
			if !found {
				continue
			}
			name, props, _ := strings.Cut(head, " ")
			if name != "" {
				out = append(out, Command{name, props, msg})
			}
			continue
		}
		if i := strings.Index(line, "##["); i >= 0 {
			head, msg, found := strings.Cut(line[i+3:], "]")
			if found {
				name, props, _ := strings.Cut(head, " ")
				out = append(out, Command{name, props, msg})
			}
		}
	}
	return out
}

// UnescapeData reverses the escaping of a command's message.
func UnescapeData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(s)
}
