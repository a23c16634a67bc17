package fuzzcorpus

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	for _, vals := range [][]any{
		{"plain"},
		{"a\nb\r\x00\u00a0::add-mask::x", []byte("\xff\xfe"), true, 7, int64(-3)},
		{""},
	} {
		got, err := Parse(Marshal(vals...))
		require.NoError(t, err)
		assert.Equal(t, vals, got)
	}
}

func TestParseRejects(t *testing.T) {
	for _, data := range []string{
		"",
		"go test fuzz v2\nstring(\"x\")\n",
		"go test fuzz v1\n",
		"go test fuzz v1\nfloat64(1)\n",
		"go test fuzz v1\nstring(unquoted)\n",
		"go test fuzz v1\nstring(\"x\"\n",
	} {
		_, err := Parse(data)
		assert.Error(t, err, "%q", data)
	}
}

// Every committed corpus file decodes, so no seed is silently dropped.
func TestCommittedCorpusParses(t *testing.T) {
	dirs, err := filepath.Glob(Dir("*"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, d := range dirs {
		files, err := filepath.Glob(d + "/*")
		require.NoError(t, err)
		assert.NotEmpty(t, files, d)
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			_, err = Parse(string(b))
			assert.NoError(t, err, f)
		}
	}
}
