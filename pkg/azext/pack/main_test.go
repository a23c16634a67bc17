package main

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/release"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

func TestParseVersion(t *testing.T) {
	v, err := parseVersion("1.4.12")
	require.NoError(t, err)
	assert.Equal(t, version{1, 4, 12}, v)
	for _, bad := range []string{"1.4", "v1.0.0", "1.0.x", "2.0.0", "1.-1.0"} {
		_, err := parseVersion(bad)
		assert.Error(t, err, bad)
	}
}

func TestStampedTask(t *testing.T) {
	b, err := stampedTask(testutil.Root(), version{1, 7, 3})
	require.NoError(t, err)
	var doc struct {
		ID      string `json:"id"`
		Version struct{ Major, Minor, Patch int }
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	assert.Equal(t, 1, doc.Version.Major)
	assert.Equal(t, 7, doc.Version.Minor)
	assert.Equal(t, 3, doc.Version.Patch)
	assert.NotEmpty(t, doc.ID)
}

func TestWarnings(t *testing.T) {
	// tfx prints trace.warn lines as "warning: …" (lib/trace.js).
	log := "TFS Cross Platform Command Line Interface v0.23.1\nwarning: File /x/bin/linux-x64 does not have an extension, and its content-type is not declared.\n=== Completed operation: create extension ===\n"
	assert.Equal(t, []string{"warning: File /x/bin/linux-x64 does not have an extension, and its content-type is not declared."}, warnings(log))
	assert.Empty(t, warnings("=== Completed operation: create extension ===\n - VSIX: x.vsix\n"))
}

// verifyVSIX accepts a .vsix that holds every staged file as staged, and
// names each file that is missing or differs.
func TestVerifyVSIX(t *testing.T) {
	stage := t.TempDir()
	files := map[string]string{
		"vss-extension.json":                "{}",
		"JobTokenV1/task.json":              "{}",
		"JobTokenV1/dist/shim.js":           "shim",
		"JobTokenV1/bin/linux-x64/jobtoken": "binary",
	}
	for name, data := range files {
		p := filepath.Join(stage, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	write := func(entries map[string]string) string {
		p := filepath.Join(t.TempDir(), "x.vsix")
		f, err := os.Create(p)
		require.NoError(t, err)
		zw := zip.NewWriter(f)
		for name, data := range entries {
			w, err := zw.Create(name)
			require.NoError(t, err)
			_, err = w.Write([]byte(data))
			require.NoError(t, err)
		}
		require.NoError(t, zw.Close())
		require.NoError(t, f.Close())
		return p
	}
	good := map[string]string{"extension.vsixmanifest": "<x/>", "JobTokenV1/task.json": "{}", "JobTokenV1/dist/shim.js": "shim", "JobTokenV1/bin/linux-x64/jobtoken": "binary"}
	require.NoError(t, verifyVSIX(write(good), stage))

	bad := map[string]string{"JobTokenV1/task.json": "{}", "JobTokenV1/dist/shim.js": "shim!"}
	err := verifyVSIX(write(bad), stage)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "JobTokenV1/bin/linux-x64/jobtoken is missing")
	assert.Contains(t, err.Error(), "JobTokenV1/dist/shim.js differs from the staged file")
}

func TestMissingPlatforms(t *testing.T) {
	var all []release.Sum
	for _, p := range release.Platforms {
		all = append(all, release.Sum{Path: p.BinPath()})
	}
	assert.Empty(t, missingPlatforms(all))
	assert.Equal(t, []string{"linux-x64", "windows-arm64"}, missingPlatforms(all[1:5]))
}
