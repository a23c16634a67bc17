package anaconda

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/anacondafake"
	"github.com/jobtoken/jobtoken/pkg/inputs"
)

func TestEmbeddedScopesMatchTheServerList(t *testing.T) {
	// The fake's list is written from anaconda.org's GET /scopes; the
	// embedded copy drives validation. They must name the same scopes.
	var server []string
	for s := range anacondafake.KnownScopes {
		server = append(server, s)
	}
	sort.Strings(server)
	assert.Equal(t, server, ScopeNames())
	assert.ElementsMatch(t, []string{"all", "api"}, Broad)
}

func TestParseScopes(t *testing.T) {
	tests := []struct {
		name    string
		items   []string
		broad   bool
		naming  inputs.Naming
		want    []string
		wantErr string
	}{
		{name: "narrow scopes", items: []string{"api:read", "conda:download"}, want: []string{"api:read", "conda:download"}},
		{name: "upper case is folded", items: []string{"PyPI:Upload"}, want: []string{"pypi:upload"}},
		{name: "duplicates kept once", items: []string{"repos", "repos", "conda"}, want: []string{"repos", "conda"}},
		{name: "empty", items: nil, wantErr: "input permissions: is required for anaconda"},
		{name: "typo gets a suggestion", items: []string{"conda:downlaod"}, wantErr: `unknown anaconda scope "conda:downlaod"; did you mean "conda:download"?`},
		{name: "unknown far from any", items: []string{"write-everything"}, wantErr: "valid scopes are all, api, api:read"},
		{name: "all refused by default", items: []string{"all"}, wantErr: "all is a full-access scope (Allow all operations); name narrower scopes (e.g. api:read, conda:download, pypi:upload) or set allow-broad-scopes to true"},
		{name: "api refused by default, azure naming", items: []string{"api"}, naming: inputs.AzureNames, wantErr: "or set allowBroadScopes to true"},
		{name: "broad allowed", items: []string{"all", "api"}, broad: true, want: []string{"all", "api"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ps := ParseScopes(tt.items, tt.broad, tt.naming)
			assertParsed(t, tt.naming, got, ps, tt.want, tt.wantErr)
		})
	}
}

func TestCheckLifetime(t *testing.T) {
	tests := []struct {
		in      time.Duration
		broad   bool
		want    int64
		wantErr string
	}{
		{in: time.Minute, want: 60},
		{in: time.Hour, want: 3600},
		{in: 90 * time.Second, want: 90},
		{in: 24 * time.Hour, want: 86400},
		{in: 59 * time.Second, wantErr: "input lifetime: 59s is shorter than a minute"},
		{in: 1500 * time.Millisecond, wantErr: "shorter than a minute"},
		{in: time.Minute + 500*time.Millisecond, wantErr: "not a whole number of seconds"},
		{in: 25 * time.Hour, wantErr: "25h is longer than a day; use 1m to 24h, or set allow-broad-scopes to true to permit up to 168h"},
		{in: 25 * time.Hour, broad: true, want: 90000},
		{in: 168 * time.Hour, broad: true, want: 604800},
		{in: 169 * time.Hour, broad: true, wantErr: "longer than 168h, jobtoken's ceiling"},
		{in: 169 * time.Hour, wantErr: "longer than 168h"},
	}
	for _, tt := range tests {
		t.Run(tt.in.String(), func(t *testing.T) {
			got, p := CheckLifetime(tt.in, tt.broad, inputs.GitHubNames)
			var ps inputs.Problems
			ps.AddP(p)
			assertParsed(t, inputs.GitHubNames, got, ps, tt.want, tt.wantErr)
		})
	}
}

// assertParsed checks what parsing an input gave: want and no problem, or,
// when wantErr is set, a problem whose text in naming n holds wantErr.
func assertParsed[T any](t *testing.T, n inputs.Naming, got T, ps inputs.Problems, want T, wantErr string) {
	t.Helper()
	if wantErr != "" {
		require.NotEmpty(t, ps)
		assert.Contains(t, ps.Format(n), wantErr)
		return
	}
	require.Empty(t, ps)
	assert.Equal(t, want, got)
}

func TestCompareScopes(t *testing.T) {
	b, n := compareScopes([]string{"api:read", "conda:download"}, []string{"api:read", "all"})
	assert.Equal(t, []string{"all (not asked)"}, b)
	assert.Equal(t, []string{"conda:download (asked, not granted)"}, n)
	b, n = compareScopes([]string{"repos"}, []string{"repos"})
	assert.Empty(t, b)
	assert.Empty(t, n)
}
