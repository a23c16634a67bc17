package ghactions

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Entry is one name/value from a file command file.
type Entry struct{ Name, Value string }

// ParseFileCommand reads a GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STATE file the
// way the runner does on Linux (docker actions run nowhere else): lines end at
// "\n" only, so a "\r" stays part of a value; `name=value` when "=" comes
// before any "<<", else `name<<DELIM` and the lines up to one that is exactly
// DELIM. Tests and fuzzing use it to prove that no value can add an entry.
func ParseFileCommand(data string) ([]Entry, error) {
	lines := strings.Split(data, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
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
// reads them, erring on the side of finding more: lines end at "\n", "\r\n"
// or a lone "\r" (StreamReader.ReadLine); a line is a command when, after
// TrimStart (every Unicode space), it starts with "::name…::", or when it
// holds "##[name…]" anywhere (ActionCommand.TryParseV2, then TryParse). The
// runner's StartsWith/IndexOf are culture-aware, so characters that
// comparison may ignore (zero-width, soft hyphen, controls) are skipped while
// matching "::" and "##[". Any non-empty name counts, registered or not.
func ParseCommands(stdout string) []Command {
	var out []Command
	stdout = strings.ReplaceAll(stdout, "\r\n", "\n")
	for _, line := range strings.FieldsFunc(stdout, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if c, ok := parseV2(line); ok {
			out = append(out, c)
		} else if c, ok := parseV1(line); ok {
			out = append(out, c)
		}
	}
	return out
}

// match reports whether pat starts at s[i:] with ignorable characters allowed
// before and between its characters, and returns the index after it.
func match(s string, i int, pat string) (int, bool) {
	for _, want := range pat {
		for {
			if i >= len(s) {
				return 0, false
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			i += size
			if r == want {
				break
			}
			if !ignorable(r) {
				return 0, false
			}
		}
	}
	return i, true
}

// find returns the first index at or after from where pat matches, and the
// index after the match.
func find(s string, from int, pat string) (start, end int, ok bool) {
	for i := from; i < len(s); {
		if e, ok := match(s, i, pat); ok {
			return i, e, true
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return 0, 0, false
}

func parseV2(line string) (Command, bool) {
	t := strings.TrimLeftFunc(line, unicode.IsSpace)
	start, ok := match(t, 0, "::")
	if !ok {
		return Command{}, false
	}
	end, after, ok := find(t, start, "::")
	if !ok {
		return Command{}, false
	}
	name, props, _ := strings.Cut(t[start:end], " ")
	if name == "" {
		return Command{}, false
	}
	return Command{name, props, t[after:]}, true
}

func parseV1(line string) (Command, bool) {
	_, after, ok := find(line, 0, "##[")
	if !ok {
		return Command{}, false
	}
	rb := strings.IndexByte(line[after:], ']')
	if rb < 0 {
		return Command{}, false
	}
	name, props, _ := strings.Cut(line[after:after+rb], " ")
	if name == "" {
		return Command{}, false
	}
	return Command{name, props, line[after+rb+1:]}, true
}

// UnescapeData reverses the escaping of a command's message, in the
// runner's order.
func UnescapeData(s string) string {
	s = strings.ReplaceAll(s, "%0D", "\r")
	s = strings.ReplaceAll(s, "%0A", "\n")
	return strings.ReplaceAll(s, "%25", "%")
}
