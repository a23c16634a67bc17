package inputs_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/testutil/fuzzcorpus"
)

const separators = ", \n\r\t"

// FuzzList: List splits on exactly the documented separators. Its items are
// never empty, hold no separator, and are what remains of the input once
// the separators are gone; listing the items again gives the same items.
func FuzzList(f *testing.F) {
	f.Add("contents:read, pull-requests:write")
	f.Add("vso.code vso.packaging_write")
	f.Add("app,\n\tdocs\r\n, ,,")
	f.Add("")
	fuzzcorpus.Add(f)
	f.Fuzz(func(t *testing.T, s string) {
		items := inputs.List(s)
		for _, it := range items {
			require.NotEmpty(t, it)
			require.False(t, strings.ContainsAny(it, separators), "item %q holds a separator", it)
		}
		// Byte-wise: the separators are ASCII, and invalid UTF-8 must pass
		// through untouched.
		var stripped []byte
		for i := 0; i < len(s); i++ {
			if strings.IndexByte(separators, s[i]) < 0 {
				stripped = append(stripped, s[i])
			}
		}
		assert.Equal(t, string(stripped), strings.Join(items, ""))
		assert.Equal(t, items, inputs.List(strings.Join(items, ", ")))
	})
}

// FuzzSuggest: a suggestion is one of the candidates or nothing, and
// DidYouMean renders on one line.
func FuzzSuggest(f *testing.F) {
	f.Add("contens", "contents")
	f.Add("", "")
	f.Add("\n", "a\nb")
	fuzzcorpus.Add(f)
	f.Fuzz(func(t *testing.T, s, candidate string) {
		cands := []string{"contents", "pull_requests", candidate}
		got := inputs.Suggest(s, cands)
		if got != "" {
			assert.Contains(t, cands, got)
		}
		if !strings.ContainsAny(s+candidate, "\r\n") {
			assert.NotContains(t, inputs.DidYouMean(s, cands), "\n")
		}
	})
}
