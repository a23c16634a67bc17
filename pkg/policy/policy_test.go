package policy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/policy"
	"github.com/jobtoken/jobtoken/pkg/testutil"
	"github.com/jobtoken/jobtoken/pkg/testutil/fuzzcorpus"
)

const head = `apiVersion: jobtoken.dev/v1
kind: TrustPolicy
name: p
who:
  issuer: https://token.actions.githubusercontent.com
`

const good = head + `  claims:
    repository_owner_id: "65"
    job_workflow_ref: {pattern: 'octo-org/app/\.github/workflows/release\.yml@refs/tags/v.*'}
    event_name: {not: [pull_request_target]}
    environment: {one_of: [production]}
grants:
  - {provider: github, owner: octo-org, repositories: [app, docs], permissions: {contents: write, issues: read}}
  - {provider: github, owner: octo-org, repositories: ["*"], permissions: {metadata: read}}
`

func TestParseErrors(t *testing.T) {
	grant := "grants:\n  - {provider: github, owner: octo-org, repositories: [app], permissions: {contents: read}}\n"
	owner := "  claims:\n    repository_owner_id: \"65\"\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown top-level field", head + owner + grant + "extra: 1\n", "field extra not found"},
		{"unknown grant field", head + owner + "grants:\n  - {provider: github, owner: o, repositories: [a], permissions: {contents: read}, ttl: 1h}\n", "field ttl not found"},
		{"unknown permission", head + owner + "grants:\n  - {provider: github, owner: o, repositories: [a], permissions: {content: read}}\n", `unknown GitHub App permission "content"; did you mean "contents"?`},
		{"bad level", head + owner + "grants:\n  - {provider: github, owner: o, repositories: [a], permissions: {contents: admin}}\n", `contents: "admin" is not a level`},
		{"owner id missing", head + "  claims:\n    repository: octo-org/app\n" + grant, "repository_owner_id is required for a GitHub issuer"},
		{"owner id as pattern", head + "  claims:\n    repository_owner_id: {pattern: '6.*'}\n" + grant, "must be an exact value or one_of"},
		{"unknown matcher", head + owner + "    ref: {regex: x}\n" + grant, `unknown matcher "regex"`},
		{"bad pattern", head + owner + "    ref: {pattern: '('}\n" + grant, "is not RE2"},
		{"empty matcher", head + owner + "    ref:\n" + grant, "empty matcher"},
		{"list matcher", head + owner + "    ref: [a]\n" + grant, "is a string or a mapping"},
		{"no grants", head + owner, "grants is empty"},
		{"wrong apiVersion", strings.Replace(head, "jobtoken.dev/v1", "jobtoken.dev/v2", 1) + owner + grant, `apiVersion is "jobtoken.dev/v2"`},
		{"wrong kind", strings.Replace(head, "TrustPolicy", "Policy", 1) + owner + grant, `kind is "Policy"`},
		{"name not the file", strings.Replace(head, "name: p", "name: q", 1) + owner + grant, "name the file q.yaml"},
		{"plain http issuer", strings.Replace(head, "https://token.actions.githubusercontent.com", "http://x", 1) + owner + grant, "must be an https URL"},
		{"owner/repo in grant", head + owner + "grants:\n  - {provider: github, owner: o, repositories: [o/a], permissions: {contents: read}}\n", "no owner/ prefix"},
		{"no repositories", head + owner + "grants:\n  - {provider: github, owner: o, permissions: {contents: read}}\n", "repositories is required"},
		{"other provider", head + owner + "grants:\n  - {provider: anaconda, owner: o, repositories: [a], permissions: {contents: read}}\n", `provider "anaconda" is not one this version grants`},
		{"test without allow", head + owner + grant + "tests:\n  - claims: {a: b}\n", "allow is required"},
		{"two documents", head + owner + grant + "---\n" + head, "one policy per file"},
		{"empty", "", "empty file"},
		{"oversized", head + owner + grant + "#" + strings.Repeat("x", policy.MaxSize), "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.Parse("p.yaml", []byte(tc.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "p.yaml: "), err.Error())
		})
	}
}

func claims(over map[string]any) map[string]any {
	c := map[string]any{
		"repository_owner_id": "65", "event_name": "push", "environment": "production",
		"job_workflow_ref": "octo-org/app/.github/workflows/release.yml@refs/tags/v1.2.0",
	}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestMatch(t *testing.T) {
	p, err := policy.Parse("p.yaml", []byte(good))
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		issuer string
		claims map[string]any
		want   []string
	}{
		{"all match", "", claims(nil), nil},
		{"owner id as a number", "", claims(map[string]any{"repository_owner_id": 65.0}), nil},
		{"wrong owner id", "", claims(map[string]any{"repository_owner_id": "66"}), []string{`repository_owner_id: wanted "65", got "66"`}},
		{"missing claim fails", "", claims(map[string]any{"environment": nil}), []string{`environment: wanted one of ["production"], got (missing)`}},
		{"missing claim fails a not", "", claims(map[string]any{"event_name": nil}), []string{`event_name: wanted not ["pull_request_target"], got (missing)`}},
		{"not", "", claims(map[string]any{"event_name": "pull_request_target"}), []string{`event_name: wanted not ["pull_request_target"], got "pull_request_target"`}},
		{"pattern is anchored at the end", "", claims(map[string]any{"job_workflow_ref": "octo-org/app/.github/workflows/release.yml@refs/tags/v1.2.0x/../evil"}), nil},
		{"pattern is anchored at the start", "", claims(map[string]any{"job_workflow_ref": "evil/octo-org/app/.github/workflows/release.yml@refs/tags/v1"}), []string{"job_workflow_ref: wanted pattern"}},
		{"pattern on a branch", "", claims(map[string]any{"job_workflow_ref": "octo-org/app/.github/workflows/release.yml@refs/heads/main"}), []string{"job_workflow_ref: wanted pattern"}},
		{"list claim", "", claims(map[string]any{"environment": []any{"production"}}), []string{"environment: wanted one of [\"production\"], got (not a string)"}},
		{"other issuer", "https://evil.example", claims(nil), []string{`iss: wanted "https://token.actions.githubusercontent.com", got "https://evil.example"`}},
		{"two failures, both named", "", claims(map[string]any{"repository_owner_id": "1", "environment": "staging"}), []string{`environment: wanted one of ["production"], got "staging"`, `repository_owner_id: wanted "65", got "1"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iss := tc.issuer
			if iss == "" {
				iss = p.Who.Issuer
			}
			got := p.Match(iss, tc.claims)
			require.Len(t, got, len(tc.want), "%v", got)
			for i, w := range tc.want {
				assert.Contains(t, got[i].String(), w)
			}
		})
	}
}

func TestAuthorize(t *testing.T) {
	p, err := policy.Parse("p.yaml", []byte(good))
	require.NoError(t, err)
	for _, tc := range []struct {
		name      string
		req       policy.Request
		wantRepos []string
		above     []string
	}{
		{"exact ceiling", policy.Request{Owner: "octo-org", Repositories: []string{"app"}, Permissions: map[string]string{"contents": "write"}}, []string{"app"}, nil},
		{"narrower level", policy.Request{Owner: "octo-org", Repositories: []string{"docs"}, Permissions: map[string]string{"contents": "read"}}, []string{"docs"}, nil},
		{"owner case", policy.Request{Owner: "Octo-Org", Repositories: []string{"App"}, Permissions: map[string]string{"issues": "read"}}, []string{"App"}, nil},
		{"no repositories: the ceiling's", policy.Request{Owner: "octo-org", Permissions: map[string]string{"contents": "read"}}, []string{"app", "docs"}, nil},
		{"second grant", policy.Request{Owner: "octo-org", Repositories: []string{"*"}, Permissions: map[string]string{"metadata": "read"}}, []string{"*"}, nil},
		{"level above", policy.Request{Owner: "octo-org", Repositories: []string{"app"}, Permissions: map[string]string{"issues": "write"}}, nil, []string{"issues:write: above the ceiling issues:read"}},
		{"permission absent", policy.Request{Owner: "octo-org", Repositories: []string{"app"}, Permissions: map[string]string{"actions": "read", "contents": "read"}}, nil, []string{"actions:read: the ceiling has no actions"}},
		{"repository outside", policy.Request{Owner: "octo-org", Repositories: []string{"app", "infra"}, Permissions: map[string]string{"contents": "read"}}, nil, []string{"repository infra: not in the ceiling (app, docs)"}},
		{"every repository", policy.Request{Owner: "octo-org", Repositories: []string{"*"}, Permissions: map[string]string{"contents": "read"}}, nil, []string{"repositories: asked every repository"}},
		{"other owner", policy.Request{Owner: "evil-org", Repositories: []string{"app"}, Permissions: map[string]string{"contents": "read"}}, nil, []string{`grants nothing for github on owner "evil-org"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, above := p.Authorize(tc.req)
			if tc.above != nil {
				require.Nil(t, g)
				require.Len(t, above, len(tc.above), "%v", above)
				for i, w := range tc.above {
					assert.Contains(t, above[i], w)
				}
				return
			}
			require.Empty(t, above)
			assert.Equal(t, tc.wantRepos, g.Repositories)
			assert.Equal(t, tc.req.Permissions, g.Permissions, "the grant is exactly the ask")
		})
	}
}

func TestExamples(t *testing.T) {
	dir := testutil.Testdata("policies")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		p, err := policy.Parse(filepath.Base(f), data)
		require.NoError(t, err)
		require.NotEmpty(t, p.Tests, "%s: an example policy carries tests", f)
		for _, r := range p.RunTests() {
			assert.True(t, r.OK(), "%s test %d (%s): %s", f, r.Index, r.Name, r.Why())
		}
	}
}

func TestFailingTestNamesTheClaim(t *testing.T) {
	data, err := os.ReadFile(testutil.Testdata("policies", "bad", "failing-test.yaml"))
	require.NoError(t, err)
	p, err := policy.Parse("failing-test.yaml", data)
	require.NoError(t, err)
	rs := p.RunTests()
	require.Len(t, rs, 1)
	assert.False(t, rs[0].OK())
	assert.Equal(t, `environment: wanted "production", got "staging"`, rs[0].Why())
}

func TestRequestValidate(t *testing.T) {
	for _, tc := range []struct {
		req  policy.Request
		want string
	}{
		{policy.Request{Owner: "o", Permissions: map[string]string{"contents": "read"}}, ""},
		{policy.Request{Owner: "o"}, "permissions is required"},
		{policy.Request{Owner: "o/x", Permissions: map[string]string{"contents": "read"}}, "not a GitHub account name"},
		{policy.Request{Owner: "o", Repositories: []string{"o/a"}, Permissions: map[string]string{"contents": "read"}}, "no owner/ prefix"},
		{policy.Request{Provider: "azure-devops", Owner: "o", Permissions: map[string]string{"contents": "read"}}, "is not served"},
		{policy.Request{Owner: "o", Permissions: map[string]string{"contents": "rw"}}, "not a level"},
	} {
		err := tc.req.Validate()
		if tc.want == "" {
			assert.NoError(t, err)
			continue
		}
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func FuzzPolicyParse(f *testing.F) {
	f.Add([]byte(good))
	for _, name := range []string{"release.yaml", "ci-read.yaml"} {
		if b, err := os.ReadFile(testutil.Testdata("policies", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(head + "  claims: {repository_owner_id: {one_of: []}}\n"))
	fuzzcorpus.Add(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := policy.Parse("p.yaml", data)
		if err != nil {
			if p != nil {
				t.Fatal("a policy and an error")
			}
			return
		}
		// A policy that loads is whole: it names its owner ID, grants
		// something, and evaluating it never panics.
		if policy.GitHubIssuer(p.Who.Issuer) {
			if _, ok := p.Who.Claims[policy.OwnerIDClaim]; !ok {
				t.Fatal("a GitHub policy loaded without repository_owner_id")
			}
		}
		if len(p.Grants) == 0 {
			t.Fatal("a policy loaded without grants")
		}
		p.RunTests()
		if f := p.Match(p.Who.Issuer, map[string]any{}); len(f) == 0 && len(p.Who.Claims) > 0 {
			t.Fatal("no claims matched a policy that names claims")
		}
	})
}
