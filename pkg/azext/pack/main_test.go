package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
