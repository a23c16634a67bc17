package demo

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// width is where the transcript wraps prose; log lines are never wrapped,
// as a CI system's log viewer does not wrap them either.
const width = 100

// style colours the transcript on a terminal; the zero value is plain text.
type style struct{ color bool }

func (s style) wrap(code, text string) string {
	if !s.color || text == "" {
		return text
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

func (s style) bold(t string) string   { return s.wrap("1", t) }
func (s style) dim(t string) string    { return s.wrap("2", t) }
func (s style) green(t string) string  { return s.wrap("32", t) }
func (s style) red(t string) string    { return s.wrap("31", t) }
func (s style) yellow(t string) string { return s.wrap("33", t) }

func (s style) mark(ok bool) string {
	if ok {
		return s.green("✓")
	}
	return s.red("✗")
}

// transcript renders a run for a terminal.
type transcript struct {
	svc      Service
	c        ci
	provider string
}

// body is the transcript before the verdict, plain.
func (t transcript) body() string {
	var b strings.Builder
	t.writeBody(&b, style{})
	return b.String()
}

func (t transcript) writeBody(b *strings.Builder, s style) {
	fmt.Fprintf(b, "%s\n\n", s.bold(fmt.Sprintf("jobtoken demo: the %s provider on %s", t.provider, t.c.title())))
	facts := append(t.svc.About(),
		Fact{"job", "jobtoken's own main and post stages, run as " + t.c.title() + " runs them, and between them " + laterScript + " in place of your next step"},
	)
	for _, f := range facts {
		b.WriteString(hanging("  "+pad(f.Label, 8)+"  ", f.Text, s.dim))
		b.WriteString("\n")
	}
	if pre := t.c.preamble(); len(pre) > 0 {
		fmt.Fprintf(b, "\n%s\n", s.bold("The pipeline's steps"))
		for _, l := range pre {
			fmt.Fprintf(b, "  %s\n", l)
		}
	}
	fmt.Fprintf(b, "\n%s\n", s.bold("Job log, as "+t.c.title()+" shows it"))
	for _, st := range t.c.log().steps {
		fmt.Fprintf(b, "  %s %s\n", s.mark(!st.failed), s.bold(st.title))
		for _, l := range st.lines {
			fmt.Fprintf(b, "      %s\n", annotate(s, l))
		}
		if len(st.hidden) > 0 {
			var parts []string
			for _, h := range st.hidden {
				if h.n > 1 {
					parts = append(parts, fmt.Sprintf("%s ×%d", h.name, h.n))
				} else {
					parts = append(parts, h.name)
				}
			}
			fmt.Fprintf(b, "      %s\n", s.dim("(run by "+t.c.agent()+", not shown: "+strings.Join(parts, ", ")+")"))
		}
	}
	fmt.Fprintf(b, "\n%s\n", s.bold("Step summary"))
	md := t.c.summary()
	if strings.TrimSpace(md) == "" {
		md = "(none: the step published nothing)"
	}
	for _, l := range markdownText(md) {
		fmt.Fprintf(b, "  %s\n", l)
	}
}

// annotate renders a log line as the CI system marks it.
func annotate(s style, l logLine) string {
	switch l.kind {
	case lineNotice:
		return s.bold("Notice: ") + l.text
	case lineWarning:
		return s.yellow("Warning: " + l.text)
	case lineError:
		return s.red("Error: " + l.text)
	}
	return l.text
}

// checkLabels are the checks as the transcript names them.
var checkLabels = map[string]string{
	CheckMinted: "minted", CheckMasked: "masked", CheckUsed: "used", CheckRefused: "refused",
	CheckRevoked: "revoked", CheckNothingLive: "nothing live", CheckNeverPrinted: "never printed",
	CheckOffline: "offline",
}

// verdict writes the verdict.
func (t transcript) verdict(w io.Writer, v Verdict, s style) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n", s.bold("Verdict, from the records of the fake "+t.svc.Name()))
	failed := 0
	for _, c := range v.Checks {
		if !c.OK {
			failed++
		}
		// One line per part: a check about several calls names each.
		head := "  " + s.mark(c.OK) + " " + pad(checkLabels[c.Name], 14) + " "
		for _, part := range strings.Split(c.Detail, "; ") {
			b.WriteString(hanging(head, part, nil))
			b.WriteString("\n")
			head = strings.Repeat(" ", utf8.RuneCountInString(visible(head)))
		}
	}
	b.WriteString("\n")
	secs := fmt.Sprintf("%.2fs", v.Facts.Seconds)
	if failed == 0 {
		fmt.Fprintf(&b, "%s in %s: minted, used, refused and revoked, with no credentials and nothing beyond this machine.\n", s.green("All good"), secs)
		b.WriteString(s.dim("Try the others: jobtoken demo --provider github|azure-devops|anaconda --host github|azure") + "\n")
	} else {
		fmt.Fprintf(&b, "%s, in %s. The job log above shows what went wrong.\n", s.red(fmt.Sprintf("%d of %d checks failed", failed, len(v.Checks))), secs)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// pad pads s to n columns.
func pad(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

// hanging writes text after head, wrapped at width with the continuation
// lines indented under the text's start. color, if given, colours head.
func hanging(head, text string, color func(string) string) string {
	indent := utf8.RuneCountInString(visible(head))
	shown := head
	if color != nil {
		shown = color(head)
	}
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && indent+utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	lines = append(lines, line)
	return shown + strings.Join(lines, "\n"+strings.Repeat(" ", indent))
}

// visible drops ANSI colour codes, to measure what a terminal shows.
func visible(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
