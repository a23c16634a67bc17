package azpipelines

import (
	"regexp"
	"strings"
)

// Prefix starts a logging command. The agent looks for it anywhere in a line,
// case-sensitively (Command.TryParse: message.IndexOf("##vso[")).
const Prefix = "##vso["

// Command is one logging command: ##vso[area.event k=v;k=v]data.
type Command struct {
	Name  string      // area.event, e.g. task.setvariable
	Props [][2]string // properties in the order written
	Data  string
}

// Prop returns a property's value; the agent's keys are case-insensitive.
func (c Command) Prop(k string) string {
	for _, p := range c.Props {
		if strings.EqualFold(p[0], k) {
			return p[1]
		}
	}
	return ""
}

// String renders the command with every property value and the data escaped,
// so that no value can end the command, start a new line or add a property.
func (c Command) String() string {
	var b strings.Builder
	b.WriteString(Prefix)
	b.WriteString(c.Name)
	for i, p := range c.Props {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(';')
		}
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(Escape(p[1]))
	}
	b.WriteByte(']')
	b.WriteString(Escape(c.Data))
	return b.String()
}

// escaper mirrors the agent's CommandStringConvertor.Escape with percent
// decoding on (the agent's default since 2021): `%` first, as one pass, so an
// escape sequence can never be produced from user text.
var escaper = strings.NewReplacer(
	"%", "%AZP25",
	";", "%3B",
	"\r", "%0D",
	"\n", "%0A",
	"]", "%5D",
)

// Escape escapes a property value or the data of a command.
func Escape(s string) string { return escaper.Replace(s) }

// unescapes in the agent's order: the four mappings, then %AZP25.
var unescapes = [][2]string{{"%3B", ";"}, {"%0D", "\r"}, {"%0A", "\n"}, {"%5D", "]"}}

// Unescape reverses Escape the way the agent does.
func Unescape(s string) string {
	for _, m := range unescapes {
		s = strings.ReplaceAll(s, m[0], m[1])
	}
	return strings.ReplaceAll(s, "%AZP25", "%")
}

// Parse reads a line the way the agent does (Command.TryParse): the first
// "##vso[" anywhere in the line, up to the first "]"; the name must be
// area.event; properties are split on ";" and then on the first "=", empty
// parts dropped; everything after the "]" is the data. ok is false when the
// agent would print the line instead of running it.
func Parse(line string) (Command, bool) {
	i := strings.Index(line, Prefix)
	if i < 0 {
		return Command{}, false
	}
	rb := strings.IndexByte(line[i:], ']')
	if rb < 0 {
		return Command{}, false
	}
	rb += i
	info := line[i+len(Prefix) : rb]
	name, props, _ := strings.Cut(info, " ")
	var parts []string
	for _, p := range strings.Split(name, ".") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) != 2 {
		return Command{}, false
	}
	c := Command{Name: parts[0] + "." + parts[1]}
	if strings.IndexByte(info, ' ') > 0 {
		for _, p := range strings.Split(props, ";") {
			k, v, _ := strings.Cut(p, "=")
			if k == "" || v == "" {
				// .NET Split(…, RemoveEmptyEntries) leaves one part: skipped.
				if k == "" && strings.Contains(v, "=") {
					k, v, _ = strings.Cut(v, "=")
				}
				if k == "" || v == "" {
					continue
				}
			}
			c.Props = append(c.Props, [2]string{k, Unescape(v)})
		}
	}
	c.Data = Unescape(line[rb+1:])
	return c, true
}

// Lines splits output as the agent reads it (StreamReader.ReadLine): a line
// ends at "\r\n", "\n" or a lone "\r".
func Lines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// neutral are the strings that make the agent or its log viewer act on a
// plain line: logging commands and the ##[error]-style formatting commands.
// The agent's own StringUtil neutralises "##vso" the same way.
var neutral = regexp.MustCompile(`(?i)##(vso|\[)`)

// Neutralize makes text safe to print as plain log lines: "##vso" becomes
// "**vso" and "##[" becomes "**[" in every line, and a lone CR (which the
// agent reads as a line end) becomes a line break that is then neutralised
// like any other.
func Neutralize(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return neutral.ReplaceAllStringFunc(s, func(m string) string { return "**" + m[2:] })
}
