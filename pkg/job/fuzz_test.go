package job_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/testutil/fuzzcorpus"
)

// FuzzParseCommon: whatever lifetime, export-env and revoke hold (as the
// runner passes them: trimmed, empty meaning "not given"), ParseCommon never
// panics; an accepted lifetime is positive and is the duration written; an
// accepted export-env is a name no file command or environment can misread;
// every problem is one line naming its input.
func FuzzParseCommon(f *testing.F) {
	f.Add("1h", "GH_TOKEN", "true")
	f.Add("30m", "", "false")
	f.Add("0s", "GITHUB_TOKEN", "yes")
	f.Add("-1h", "A=B", "maybe")
	f.Add("9223372036854775807ns", "x\ny", "")
	fuzzcorpus.Add(f)
	providers, err := provider.NewRegistry(ghapp.New())
	require.NoError(f, err)
	nameRE := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	f.Fuzz(func(t *testing.T, lifetime, exportEnv, revoke string) {
		v := providers.Catalog().Read(func(in inputs.Input) (string, bool) {
			switch in.Key {
			case inputs.Provider.Key:
				return "github", true
			case inputs.Permissions.Key:
				return "contents:read", true
			case inputs.Lifetime.Key:
				return lifetime, true
			case inputs.ExportEnv.Key:
				return exportEnv, true
			case inputs.Revoke.Key:
				return revoke, true
			}
			return "", false
		})
		c, ps := job.ParseCommon(v, providers)
		for _, p := range ps {
			line := p.Format(inputs.GitHubNames)
			assert.NotContains(t, line, "\n")
			assert.NotContains(t, line, "\r")
			assert.Contains(t, []string{inputs.Lifetime.Key, inputs.ExportEnv.Key, inputs.Revoke.Key}, p.Key, line)
		}
		has := func(key string) bool {
			return slices.ContainsFunc(ps, func(p inputs.Problem) bool { return p.Key == key })
		}

		want, err := time.ParseDuration(v.Get(inputs.Lifetime))
		if err != nil || want <= 0 {
			assert.True(t, has(inputs.Lifetime.Key), "lifetime %q accepted", v.Get(inputs.Lifetime))
			assert.Zero(t, c.Lifetime)
		} else {
			assert.False(t, has(inputs.Lifetime.Key))
			assert.Equal(t, want, c.Lifetime)
			assert.Positive(t, c.Lifetime)
		}

		if !has(inputs.ExportEnv.Key) && c.ExportEnv != "" {
			require.Regexp(t, nameRE, c.ExportEnv)
			up := strings.ToUpper(c.ExportEnv)
			assert.False(t, strings.HasPrefix(up, "GITHUB_") || strings.HasPrefix(up, "RUNNER_") || up == "PATH" || up == "NODE_OPTIONS", c.ExportEnv)
			_, err := ghactions.Heredoc(c.ExportEnv, "value", nil)
			assert.NoError(t, err)
		}
		if !has(inputs.Revoke.Key) {
			assert.Equal(t, slices.Contains([]string{"true", "yes", "1", "on"}, strings.ToLower(v.Get(inputs.Revoke))), c.Revoke)
		}
	})
}
