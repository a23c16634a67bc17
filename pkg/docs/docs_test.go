// Package docs_test keeps the documentation honest: every workflow and
// pipeline README.md and docs/ show is a file under testdata/ that jobtoken
// plans without problems, every troubleshooting heading is text jobtoken (or
// the CI system it names) really prints, and the README stays short.
//
//	go test ./pkg/docs            check
//	go test ./pkg/docs -update    rewrite each example block from its file
package docs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/cli"
	"github.com/jobtoken/jobtoken/pkg/policy"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/serve"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// MaxReadme is the README's budget: a newcomer reads it in ten minutes.
const MaxReadme = 20 * 1024

// pages are the documents whose blocks are checked, relative to the root.
func pages(t *testing.T) []string {
	t.Helper()
	out := []string{"README.md", "CONTRIBUTING.md", "SECURITY.md", "pkg/azext/overview.md"}
	docs, err := filepath.Glob(filepath.Join(testutil.Root(), "docs", "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, docs, "docs/ holds the guides")
	for _, d := range docs {
		out = append(out, filepath.Join("docs", filepath.Base(d)))
	}
	return out
}

// A marker before a fenced block names the file the block shows:
//
//	<!-- example: testdata/workflows/examples/push-as-bot.yml -->       the whole file
//	<!-- example: testdata/pipelines/warnings.yml warns: env-not-mapped --> and the plan warnings the page explains
//	<!-- excerpt: testdata/workflows/examples/release.yml -->           consecutive lines of it
var markerRE = regexp.MustCompile(`^<!-- (example|excerpt): (\S+)(?: warns: ([a-z, -]+))? -->$`)

type block struct {
	page       string
	line       int // of the opening fence, 1-based
	lang       string
	body       string
	kind, path string
	warns      []string
	start, end int // byte offsets of body in the page
}

var fenceRE = regexp.MustCompile("^(`{3,})\\s*([\\w-]*)")

func blocks(t *testing.T, page string, text string) []block {
	t.Helper()
	var out []block
	lines := strings.SplitAfter(text, "\n")
	off := 0
	lastText := "" // the last non-blank line before a fence
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		m := fenceRE.FindStringSubmatch(strings.TrimRight(l, "\n"))
		if m == nil {
			if strings.TrimSpace(l) != "" {
				lastText = strings.TrimSpace(l)
			}
			off += len(l)
			continue
		}
		b := block{page: page, line: i + 1, lang: m[2], start: off + len(l)}
		if mm := markerRE.FindStringSubmatch(lastText); mm != nil {
			b.kind, b.path = mm[1], mm[2]
			if mm[3] != "" {
				for _, w := range strings.Split(mm[3], ",") {
					b.warns = append(b.warns, strings.TrimSpace(w))
				}
			}
		}
		off += len(l)
		j := i + 1
		for ; j < len(lines); j++ {
			if strings.HasPrefix(strings.TrimRight(lines[j], "\n"), m[1]) && strings.TrimSpace(strings.TrimLeft(lines[j], "`")) == "" {
				break
			}
		}
		require.Less(t, j, len(lines), "%s:%d: the block is not closed", page, i+1)
		b.body = strings.Join(lines[i+1:j], "")
		b.end = b.start + len(b.body)
		out = append(out, b)
		for _, x := range lines[i+1 : j+1] {
			off += len(x)
		}
		i = j
		lastText = ""
	}
	return out
}

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.Root(), filepath.FromSlash(rel)))
	require.NoError(t, err, rel)
	return string(b)
}

// TestExamplesAreTheirFiles: each marked block shows its file (all of it, or
// consecutive lines of it), and no YAML block goes unmarked.
func TestExamplesAreTheirFiles(t *testing.T) {
	for _, page := range pages(t) {
		text := read(t, page)
		bs := blocks(t, page, text)
		var rewritten strings.Builder
		last := 0
		for _, b := range bs {
			if b.kind == "" {
				assert.NotContains(t, []string{"yaml", "yml"}, strings.ToLower(b.lang),
					"%s:%d: a YAML block must show a tested file: put <!-- example: testdata/… --> (or excerpt:) before it", page, b.line)
				continue
			}
			file := read(t, b.path)
			switch b.kind {
			case "example":
				if *testutil.Update {
					rewritten.WriteString(text[last:b.start] + file)
					last = b.end
					continue
				}
				assert.Equal(t, file, b.body, "%s:%d shows %s differently: run go test ./pkg/docs -update", page, b.line, b.path)
			case "excerpt":
				assert.True(t, strings.Contains(file, b.body), "%s:%d: these lines are not in %s:\n%s", page, b.line, b.path, b.body)
			}
		}
		if *testutil.Update && last > 0 {
			rewritten.WriteString(text[last:])
			require.NoError(t, os.WriteFile(filepath.Join(testutil.Root(), page), []byte(rewritten.String()), 0o644))
		}
	}
}

// TestExamplesPlan: every example file is shown on some page, and jobtoken
// plan finds its steps valid; it may warn only where the page declares (and
// explains) the warnings.
func TestExamplesPlan(t *testing.T) {
	shown := map[string][][]string{} // file → the warns: of each example marker
	for _, page := range pages(t) {
		for _, b := range blocks(t, page, read(t, page)) {
			if b.kind == "example" {
				shown[b.path] = append(shown[b.path], b.warns)
			}
		}
	}
	var files []string
	for _, dir := range []string{"testdata/workflows/examples", "testdata/pipelines/examples"} {
		m, err := filepath.Glob(filepath.Join(testutil.Root(), dir, "*.yml"))
		require.NoError(t, err)
		require.NotEmpty(t, m, dir)
		for _, f := range m {
			files = append(files, dir+"/"+filepath.Base(f))
		}
	}
	for f := range shown {
		// Policies and the service's config are checked by
		// TestFederationExamplesLoad; plan reads workflows and pipelines.
		if !slices.Contains(files, f) && (strings.HasPrefix(f, "testdata/workflows/") || strings.HasPrefix(f, "testdata/pipelines/")) {
			files = append(files, f)
		}
	}
	sort.Strings(files)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			if strings.Contains(f, "/examples/") {
				assert.NotEmpty(t, shown[f], "%s is shown on no page: show it with <!-- example: %s --> or remove it", f, f)
			}
			kind := "--workflow"
			if strings.HasPrefix(f, "testdata/pipelines/") {
				kind = "--pipeline"
			}
			out, stderr, code := plan(kind, filepath.Join(testutil.Root(), filepath.FromSlash(f)))
			require.Equal(t, 0, code, "jobtoken plan %s %s:\n%s%s", kind, f, out, stderr)
			var report struct {
				Steps []struct {
					Warnings []struct {
						Code string `json:"code"`
						Text string `json:"text"`
					} `json:"warnings"`
				} `json:"steps"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &report))
			got := []string{}
			for _, s := range report.Steps {
				for _, w := range s.Warnings {
					if !slices.Contains(got, w.Code) {
						got = append(got, w.Code)
					}
				}
			}
			sort.Strings(got)
			for _, warns := range shown[f] {
				want := append([]string{}, warns...)
				sort.Strings(want)
				if want == nil {
					want = []string{}
				}
				assert.Equal(t, want, got, "the warnings of %s must be the ones its page declares with warns: and explains", f)
			}
		})
	}
}

// TestFederationExamplesLoad: every policy a page shows loads and its tests
// hold, every service config a page shows is accepted (but for the key
// file, which is the reader's), and every policy example is shown.
func TestFederationExamplesLoad(t *testing.T) {
	shown := map[string]bool{}
	for _, page := range pages(t) {
		for _, b := range blocks(t, page, read(t, page)) {
			if b.kind == "example" {
				shown[b.path] = true
			}
		}
	}
	examples, err := filepath.Glob(filepath.Join(testutil.Root(), "testdata", "policies", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, examples)
	for _, f := range examples {
		rel := "testdata/policies/" + filepath.Base(f)
		assert.True(t, shown[rel], "%s is shown on no page", rel)
	}
	for f := range shown {
		switch {
		case strings.HasPrefix(f, "testdata/policies/") && strings.HasSuffix(f, ".yaml"):
			p, err := policy.Parse(filepath.Base(f), []byte(read(t, f)))
			require.NoError(t, err, f)
			for _, r := range p.RunTests() {
				assert.True(t, r.OK(), "%s test %d: %s", f, r.Index+1, r.Why())
			}
		case strings.HasPrefix(f, "testdata/serve/"):
			_, err := serve.ParseConfig([]byte(read(t, f)), testutil.Getenv(nil))
			assert.NoError(t, err, f)
		}
	}
}

func plan(kind, path string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	set := &secret.Set{}
	ow, ew := secret.NewWriter(&out, set), secret.NewWriter(&errb, set)
	e := &cli.Env{
		Args:   []string{"jobtoken", "plan", "--json", kind, path},
		Getenv: testutil.Getenv(map[string]string{}), Stdin: strings.NewReader(""),
		Stdout: ow, Stderr: ew, RawStdout: ow, RawStderr: ew, Secrets: set,
	}
	code = e.Run(context.Background())
	_ = ow.Flush()
	_ = ew.Flush()
	return out.String(), errb.String(), code
}

// TestReadmeIsShort keeps the README a ten-minute read.
func TestReadmeIsShort(t *testing.T) {
	n := len(read(t, "README.md"))
	assert.LessOrEqual(t, n, MaxReadme, "README.md is %d bytes, over %d: move detail to docs/", n, MaxReadme)
}

var linkRE = regexp.MustCompile(`\]\(([^)\s#]+)(#[^)\s]*)?\)`)

// TestLinksResolve: a relative link names a file that exists, and an anchor
// a heading of that file.
func TestLinksResolve(t *testing.T) {
	for _, page := range pages(t) {
		text := read(t, page)
		for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			rel := filepath.ToSlash(filepath.Join(filepath.Dir(page), target))
			_, err := os.Stat(filepath.Join(testutil.Root(), filepath.FromSlash(rel)))
			if !assert.NoError(t, err, "%s links to %s, which does not exist", page, target) || m[2] == "" || !strings.HasSuffix(rel, ".md") {
				continue
			}
			assert.Contains(t, anchors(read(t, rel)), strings.TrimPrefix(m[2], "#"), "%s links to %s%s: no such heading", page, target, m[2])
		}
		for _, m := range regexp.MustCompile(`\]\(#([^)\s]+)\)`).FindAllStringSubmatch(text, -1) {
			assert.Contains(t, anchors(text), m[1], "%s links to #%s: no such heading", page, m[1])
		}
	}
}

// anchors are the ids GitHub gives a page's headings: lower case, spaces to
// hyphens, punctuation (ASCII or not: "…", "—") dropped.
func anchors(text string) []string {
	var out []string
	seen := map[string]int{}
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(l, "#"))
		a := strings.Map(func(r rune) rune {
			switch {
			case r == ' ':
				return '-'
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				return r
			}
			return -1
		}, strings.ToLower(h))
		if n := seen[a]; n > 0 {
			out = append(out, a+"-"+strconv.Itoa(n))
		} else {
			out = append(out, a)
		}
		seen[a]++
	}
	return out
}

// said by marks a troubleshooting heading that quotes another program (the
// runner, the agent, git) rather than jobtoken.
var saidByRE = regexp.MustCompile(`^<!-- said by: .+ -->$`)

// TestTroubleshootingHeadingsAreRealErrors: every ### heading of
// docs/troubleshooting.md is text a user sees: a piece of a message in
// jobtoken's sources, a golden file (what jobtoken printed in a test), or,
// marked <!-- said by: … -->, another program's. "…" stands for the part
// that varies.
func TestTroubleshootingHeadingsAreRealErrors(t *testing.T) {
	corpus := messageCorpus(t)
	lines := strings.Split(read(t, "docs/troubleshooting.md"), "\n")
	n := 0
	for i, l := range lines {
		if !strings.HasPrefix(l, "### ") {
			continue
		}
		n++
		h := strings.TrimSpace(strings.TrimPrefix(l, "### "))
		if i+1 < len(lines) && saidByRE.MatchString(strings.TrimSpace(lines[i+1])) {
			continue
		}
		require.True(t, strings.HasPrefix(h, "`") && strings.HasSuffix(h, "`"), "troubleshooting.md:%d: a heading quotes the error in backticks: %s", i+1, h)
		h = strings.Trim(h, "`")
		for _, part := range strings.Split(h, "…") {
			if len(strings.TrimSpace(part)) < 4 {
				continue
			}
			found := false
			for _, c := range corpus {
				if strings.Contains(c, part) {
					found = true
					break
				}
			}
			assert.True(t, found, "troubleshooting.md:%d: %q is not text jobtoken prints (heading %q); mark another program's words with <!-- said by: … -->", i+1, part, h)
		}
	}
	assert.Greater(t, n, 30, "the troubleshooting page is headed by the errors users meet")
}

var verbRE = regexp.MustCompile(`%[-+# 0-9.*\[\]]*[a-zA-Z%]`)

// messageCorpus is what jobtoken can print or quote: the string constants
// of its sources (split where a format verb goes) and of its tests (which
// assert the messages whole; the fakes answer with the services' documented
// words), the shims' JavaScript, and the golden files of its tests.
func messageCorpus(t *testing.T) []string {
	t.Helper()
	root := testutil.Root()
	var out []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch rel {
			case ".git", "testdata/fuzz", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(p, ".go"):
			f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						out = append(out, verbRE.Split(s, -1)...)
					}
				}
				return true
			})
		case strings.HasSuffix(p, ".js") || strings.HasPrefix(rel, "testdata/golden/"):
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out = append(out, string(b))
		}
		return nil
	})
	require.NoError(t, err)
	return out
}
