// Package fuzzcorpus feeds the seed corpora committed under the repository's
// top-level testdata/fuzz/<FuzzName>/ to fuzz targets.
//
// `go test -fuzz` only reads seeds from the package's own
// testdata/fuzz/<FuzzName>; jobtoken keeps every fixture under the top-level
// testdata/, so each target calls Add, which reads that folder (Go's
// "go test fuzz v1" corpus file format) and adds every file with f.Add. The
// seeds then run in every `go test` and start every fuzzing session.
//
// It imports nothing from jobtoken, so a package's internal tests can use it.
package fuzzcorpus

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Dir is testdata/fuzz/<name> at the repository root.
func Dir(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "fuzz", name)
}

// Add adds every corpus file of the target f to its seeds. A target without
// committed seeds fails: the corpus is part of the target.
func Add(f *testing.F) {
	f.Helper()
	dir := Dir(f.Name())
	ents, err := os.ReadDir(dir)
	if err != nil {
		f.Fatalf("failed to read the seed corpus: %v", err)
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		f.Fatalf("no seed corpus files in %s", dir)
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			f.Fatal(err)
		}
		vals, err := Parse(string(b))
		if err != nil {
			f.Fatalf("%s: %v", filepath.Join(dir, n), err)
		}
		f.Add(vals...)
	}
}

// Parse decodes one corpus file. It reads the types jobtoken's targets take:
// string, []byte, bool, int and int64.
func Parse(data string) ([]any, error) {
	lines := strings.Split(data, "\n")
	if strings.TrimSuffix(lines[0], "\r") != "go test fuzz v1" {
		return nil, fmt.Errorf("first line must be %q", "go test fuzz v1")
	}
	var vals []any
	for i, line := range lines[1:] {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		v, err := parseValue(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+2, err)
		}
		vals = append(vals, v)
	}
	if len(vals) == 0 {
		return nil, fmt.Errorf("no values")
	}
	return vals, nil
}

func parseValue(line string) (any, error) {
	typ, rest, ok := strings.Cut(line, "(")
	if !ok || !strings.HasSuffix(rest, ")") {
		return nil, fmt.Errorf("want type(value), got %q", line)
	}
	lit := strings.TrimSuffix(rest, ")")
	switch typ {
	case "string":
		return strconv.Unquote(lit)
	case "[]byte":
		s, err := strconv.Unquote(lit)
		return []byte(s), err
	case "bool":
		return strconv.ParseBool(lit)
	case "int":
		n, err := strconv.ParseInt(lit, 0, 0)
		return int(n), err
	case "int64":
		return strconv.ParseInt(lit, 0, 64)
	}
	return nil, fmt.Errorf("unsupported type %q", typ)
}

// Marshal encodes values as a corpus file, as `go test -fuzz` writes them.
func Marshal(vals ...any) string {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch t := v.(type) {
		case string:
			fmt.Fprintf(&b, "string(%q)\n", t)
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", t)
		default:
			fmt.Fprintf(&b, "%T(%v)\n", t, t)
		}
	}
	return b.String()
}
