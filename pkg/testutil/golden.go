package testutil

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Update is the -update flag every test binary that uses testutil takes:
// golden tests write their files from what they produce instead of
// comparing (and the docs' example blocks are rewritten from their files).
var Update = flag.Bool("update", false, "rewrite golden files (and the docs' example blocks) from what the tests produce")

// Golden compares got with the golden file at path (Testdata(…), or a path
// relative to the package); with -update it writes got there instead.
func Golden(t testing.TB, path, got string) {
	t.Helper()
	if *Update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file %s; run %s -update", path, rerun())
	assert.Equal(t, string(want), got, "golden file %s differs; if the change is intended, run %s -update and review the diff", path, rerun())
}

// rerun is the command that runs the calling package's tests.
func rerun() string {
	wd, err := os.Getwd()
	if err != nil {
		return "go test"
	}
	rel, err := filepath.Rel(Root(), wd)
	if err != nil {
		return "go test"
	}
	return "go test ./" + filepath.ToSlash(rel)
}
