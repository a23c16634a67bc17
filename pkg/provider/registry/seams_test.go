package registry_test

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// providerNames is what names a provider in code: its name as a string, or
// its package.
var providerNames = regexp.MustCompile(`"github"|"azure-devops"|"anaconda"|ghapp\.|azdo\.|anaconda\.`)

// mayName are the places that may name providers: each provider's folder,
// this registry, the fakes (the services' stand-ins, with the demo worlds
// built on them), the host packages (where "github" is GitHub Actions), and
// the federation service with its trust policies, whose phase 1 mints
// through the github provider's host-free core (ghapp.App) and whose
// ceilings are that provider's grants: a second provider there will want a
// capability of its own (issue 17's later phases).
var mayName = []string{"pkg/provider/ghapp/", "pkg/provider/azdo/", "pkg/provider/anaconda/", "pkg/provider/registry/", "pkg/fake/", "pkg/host/", "pkg/policy/", "pkg/serve/"}

// TestNoProviderNamedOutsideItsFolder: no code outside a provider's folder
// and the registry names a provider (tests aside), so that a provider
// change touches its folder, and a new provider its folder and one line
// of the registry. Commands, plan and the job reach providers through
// their capabilities.
func TestNoProviderNamedOutsideItsFolder(t *testing.T) {
	root := testutil.Root()
	var found []string
	err := filepath.WalkDir(filepath.Join(root, "pkg"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		for _, m := range mayName {
			if strings.HasPrefix(rel, m) {
				return nil
			}
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			if providerNames.MatchString(sc.Text()) {
				found = append(found, fmt.Sprintf("%s:%d: %s", rel, n, strings.TrimSpace(sc.Text())))
			}
		}
		return sc.Err()
	})
	require.NoError(t, err)
	assert.Empty(t, found, "code outside the providers' folders and the registry names a provider:\n%s", strings.Join(found, "\n"))
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
