package cli_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/anaconda"
	"github.com/jobtoken/jobtoken/pkg/provider/azdo"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// goldenHelp compares got with testdata/golden/help/name, or rewrites it.
func goldenHelp(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, testutil.Testdata("golden", "help", name), got)
}

// helpInputs are the catalog inputs each command's help must list, and only
// those: what the command reads.
var helpInputs = map[string][]string{
	"plan": keysExcept(),
	"mint": keysExcept(inputs.Revoke, azdo.ServiceConnection),
	"revoke": keys(inputs.Provider, ghapp.APIURL, azdo.Organization, azdo.APIURL, azdo.AccessToken,
		anaconda.APIURL, anaconda.Credential, anaconda.Organization),
	"sweep": keys(inputs.Provider, azdo.Organization, azdo.APIURL, azdo.AccessToken,
		anaconda.APIURL, anaconda.Credential, anaconda.Organization),
}

func keysExcept(skip ...inputs.Input) []string {
	var out []string
	for _, in := range registry.Default().Catalog().Inputs() {
		if !slices.ContainsFunc(skip, func(s inputs.Input) bool { return s.Key == in.Key }) {
			out = append(out, in.Key)
		}
	}
	return out
}

func keys(ins ...inputs.Input) []string {
	out := make([]string, len(ins))
	for i, in := range ins {
		out[i] = in.Key
	}
	return out
}

var flagLine = regexp.MustCompile(`(?m)^  --([a-z-]+)`)

// TestHelp: each command's help is its golden file, reached as
// `jobtoken COMMAND --help` and `jobtoken help COMMAND`; it lists each flag
// once, every input the command uses with its catalog description, and no
// input it does not use.
func TestHelp(t *testing.T) {
	for cmd, want := range helpInputs {
		t.Run(cmd, func(t *testing.T) {
			stdout, stderr, code := runCLI(map[string]string{}, "", cmd, "--help")
			require.Equal(t, 0, code, stderr)
			goldenHelp(t, cmd+".txt", stdout)
			again, _, code := runCLI(map[string]string{}, "", "help", cmd)
			assert.Equal(t, 0, code)
			assert.Equal(t, stdout, again)

			all := map[string]int{}
			for _, m := range flagLine.FindAllStringSubmatch(stdout, -1) {
				all[m[1]]++
			}
			for f, n := range all {
				assert.Equal(t, 1, n, "%s help lists --%s %d times", cmd, f, n)
			}
			// The inputs section: a command's own flag may share an
			// input's name (sweep --revoke) without being that input.
			_, section, ok := strings.Cut(stdout, "\ninputs (")
			require.True(t, ok, "%s help has an inputs section", cmd)
			seen := map[string]int{}
			for _, m := range flagLine.FindAllStringSubmatch(section, -1) {
				seen[m[1]]++
			}
			flat := strings.Join(strings.Fields(stdout), " ")
			for _, in := range registry.Default().Catalog().Inputs() {
				if !slices.Contains(want, in.Key) {
					assert.Zero(t, seen[in.Key], "%s help lists --%s, which it does not use", cmd, in.Key)
					continue
				}
				assert.Equal(t, 1, seen[in.Key], "%s help lacks --%s", cmd, in.Key)
				words := strings.Fields(strings.NewReplacer("`", "", "**", "").Replace(registry.Default().Catalog().Description(in, inputs.OnCLI)))
				assert.Contains(t, flat, strings.Join(words[:min(6, len(words))], " "), "%s help lacks the description of %s", cmd, in.Key)
				if in.Secret {
					assert.Equal(t, 1, seen[in.Key+"-file"], "%s help lacks --%s-file", cmd, in.Key)
				}
			}
		})
	}
	stdout, _, code := runCLI(map[string]string{}, "", "help")
	assert.Equal(t, 0, code)
	if stepBuild {
		goldenHelp(t, "usage-step.txt", stdout)
	} else {
		goldenHelp(t, "usage.txt", stdout)
	}
}

// A flag the help does not list is refused, as a usage error.
func TestUnlistedInputsAreRefused(t *testing.T) {
	for _, c := range [][]string{
		{"sweep", "--provider", "anaconda", "--client-id", "x"},
		{"revoke", "--provider", "github", "--permissions", "contents:read"},
		{"mint", "--provider", "github", "--revoke", "false"},
	} {
		_, stderr, code := runCLI(map[string]string{}, "", c...)
		assert.Equal(t, 2, code, c)
		assert.Contains(t, stderr, "flag provided but not defined", c)
	}
}
