package ghapp

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/testutil/fuzzcorpus"
)

// oneLine fails when a problem would not render as one line naming its input.
func oneLine(t *testing.T, ps inputs.Problems) {
	t.Helper()
	for _, p := range ps {
		line := p.Format(inputs.GitHubNames)
		assert.NotContains(t, line, "\n")
		assert.NotContains(t, line, "\r")
		assert.True(t, strings.HasPrefix(line, "input "+p.Key+": "), line)
	}
}

// FuzzParsePermissions: whatever the list, the result holds only names from
// GitHub's catalog at levels the catalog allows; a list without problems
// gives a non-empty map that survives a round trip through
// FormatPermissions; every problem is one line naming permissions.
func FuzzParsePermissions(f *testing.F) {
	f.Add("contents:read, pull-requests:write")
	f.Add("Contents : READ")
	f.Add("contents:read contents:write")
	f.Add("contens:read")
	f.Add(":")
	fuzzcorpus.Add(f)
	f.Fuzz(func(t *testing.T, raw string) {
		perms, ps := ParsePermissions(inputs.List(raw))
		for name, level := range perms {
			levels, ok := Catalog[name]
			require.True(t, ok, "%q is not in the catalog", name)
			require.Contains(t, levels, level)
		}
		oneLine(t, ps)
		for _, p := range ps {
			assert.Equal(t, inputs.Permissions.Key, p.Key)
		}
		if len(ps) == 0 {
			require.NotEmpty(t, perms)
			again, ps2 := ParsePermissions(inputs.List(FormatPermissions(perms)))
			require.Empty(t, ps2)
			assert.Equal(t, perms, again)
		}
	})
}

var keyErrors = []error{errKeyEmpty, errKeyNotPEM, errKeyParse, errKeyNotRSA, errKeyPublic, errKeyEncrypt, errKeySpaces, errKeyOpenSSH, errKeySSHPub}

// FuzzParsePrivateKey: whatever the secret holds, parsing never panics, and
// a failure is one of the fixed key errors, so no error can carry a byte of
// the key.
func FuzzParsePrivateKey(f *testing.F) {
	for _, name := range []string{"app-pkcs1.pem", "app-pkcs8.pem", "ec.pem"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "keys", name))
		require.NoError(f, err)
		pem := string(b)
		f.Add(pem)
		f.Add(strings.ReplaceAll(pem, "\n", `\n`))
		f.Add(base64.StdEncoding.EncodeToString(b))
		f.Add(pem[:len(pem)/2])
	}
	fuzzcorpus.Add(f)
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParsePrivateKey(s)
		if err == nil {
			require.NotNil(t, k)
			require.NotNil(t, k.N)
			return
		}
		require.Nil(t, k)
		i := slices.IndexFunc(keyErrors, func(e error) bool { return errors.Is(err, e) })
		require.GreaterOrEqual(t, i, 0, "unexpected error %q", err)
		assert.Equal(t, keyErrors[i].Error(), err.Error(), "a key error must not be wrapped with details")
	})
}

var currentRE = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9_.-]+$`)

// FuzzRepositories: whatever repositories, owner and current repository,
// accepted input gives an owner GitHub accepts and distinct repository names
// GitHub accepts, all owned by that owner; problems are one line each.
func FuzzRepositories(f *testing.F) {
	f.Add("app, docs", "", "octo/app")
	f.Add("*", "octo", "")
	f.Add("octo/app, other/docs", "octo", "octo/app")
	f.Add("App, app", "", "octo/x")
	f.Add("", "someone", "octo/app")
	fuzzcorpus.Add(f)
	f.Fuzz(func(t *testing.T, repos, owner, current string) {
		if current != "" && !currentRE.MatchString(current) {
			t.Skip("the CI system sets the current repository as owner/name")
		}
		cat, err := inputs.NewCatalog(New().Inputs())
		require.NoError(t, err)
		v := cat.Read(func(in inputs.Input) (string, bool) {
			switch in.Key {
			case Repositories.Key:
				return repos, true
			case Owner.Key:
				return owner, true
			}
			return "", false
		})
		mi, ps := New().Prepare(func() provider.Request {
			r := providertest.Request(t, New(), v, nil)
			r.Naming, r.Terminal = inputs.GitHubNames, false
			r.Run = host.Run{Repository: current}
			return r
		}())
		oneLine(t, ps)
		if slices.ContainsFunc(ps, func(p inputs.Problem) bool { return p.Key == Repositories.Key || p.Key == Owner.Key }) {
			return
		}
		m := mi.(*minter)
		require.Regexp(t, ownerRE, m.owner)
		list := inputs.List(v.Get(Repositories))
		if len(list) == 1 && list[0] == "*" {
			assert.Empty(t, m.repos)
			return
		}
		// Each account (one token each) has its own repositories, each
		// once, and the plan names each under its account.
		accounts := map[string]bool{}
		for _, tg := range m.targets() {
			require.Regexp(t, ownerRE, tg.owner)
			require.False(t, accounts[strings.ToLower(tg.owner)], "account %q listed twice", tg.owner)
			accounts[strings.ToLower(tg.owner)] = true
			require.NotEmpty(t, tg.repos)
			seen := map[string]bool{}
			for _, r := range tg.repos {
				require.Regexp(t, repoRE, r)
				require.False(t, seen[strings.ToLower(r)], "%q listed twice", r)
				seen[strings.ToLower(r)] = true
			}
		}
		for _, res := range m.Plan().Resources {
			owner, _, _ := strings.Cut(res, "/")
			assert.True(t, accounts[strings.ToLower(owner)], res)
		}
	})
}
