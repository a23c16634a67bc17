package demo

import (
	"strings"
	"unicode/utf8"
)

// markdownText renders the markdown jobtoken writes to a step summary (a
// heading and a two-column table) as terminal text: headings as lines,
// tables with aligned columns, code spans bare. Anything else is kept as
// written, without blank lines. It is this small on purpose: a full renderer (goldmark) would
// need a terminal renderer written for it, for two kinds of block.
func markdownText(md string) []string {
	var out []string
	var table [][]string
	flush := func() {
		if len(table) == 0 {
			return
		}
		w := make([]int, 0)
		for _, row := range table {
			for i, c := range row {
				if i >= len(w) {
					w = append(w, 0)
				}
				w[i] = max(w[i], utf8.RuneCountInString(c))
			}
		}
		for _, row := range table {
			var cells []string
			for i, c := range row {
				if i < len(row)-1 {
					c = pad(c, w[i])
				}
				cells = append(cells, c)
			}
			out = append(out, "  "+strings.Join(cells, "   "))
		}
		table = nil
	}
	for _, line := range strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "|"):
			cells := tableCells(t)
			if isRule(cells) || isEmpty(cells) {
				continue
			}
			table = append(table, cells)
		default:
			flush()
			if t != "" {
				out = append(out, inline(strings.TrimLeft(t, "# ")))
			}
		}
	}
	flush()
	return out
}

// tableCells splits a table row on the pipes that are not escaped.
func tableCells(row string) []string {
	row = strings.TrimSuffix(strings.TrimPrefix(row, "|"), "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(row); i++ {
		switch {
		case row[i] == '\\' && i+1 < len(row) && row[i+1] == '|':
			cur.WriteByte('|')
			i++
		case row[i] == '|':
			cells = append(cells, inline(strings.TrimSpace(cur.String())))
			cur.Reset()
		default:
			cur.WriteByte(row[i])
		}
	}
	return append(cells, inline(strings.TrimSpace(cur.String())))
}

// isRule reports a header rule row (|---|:--:|).
func isRule(cells []string) bool {
	for _, c := range cells {
		if strings.Trim(c, "-: ") != "" {
			return false
		}
	}
	return true
}

func isEmpty(cells []string) bool {
	for _, c := range cells {
		if c != "" {
			return false
		}
	}
	return true
}

// inline drops code-span and emphasis markers.
func inline(s string) string {
	return strings.NewReplacer("`", "", "**", "").Replace(s)
}
