package azpipelines_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agenttest"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/azdo"
	"github.com/jobtoken/jobtoken/pkg/provider/cloudid"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// strictEnv is a getenv that fails the test when the host reads a variable
// the test did not expect it to read.
func strictEnv(t *testing.T, env map[string]string, allowed ...string) func(string) string {
	t.Helper()
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	return func(k string) string {
		if _, set := env[k]; !set && !ok[k] && !strings.HasPrefix(k, "INPUT_") {
			t.Errorf("unexpected read of %s", k)
		}
		return env[k]
	}
}

func newHost(t *testing.T, env map[string]string) (*azpipelines.Host, *bytes.Buffer, *secret.Writer) {
	t.Helper()
	var buf bytes.Buffer
	set := &secret.Set{}
	w := secret.NewWriter(&buf, set)
	return azpipelines.New(w, set, func(k string) string { return env[k] }, registry.Default().Catalog()), &buf, w
}

// hostile values: each tries to end its command, start a new one, add a
// property, or smuggle an escape sequence through.
var hostile = []string{
	"plain",
	"##vso[task.setvariable variable=evil]1",
	"a;issecret=false;isoutput=false",
	"]##vso[task.complete result=Succeeded;done=true]",
	"x]y",
	"100%3B%0A%0D%5D%AZP25%",
	"%AZP25",
	"line1\n##vso[task.setvariable variable=evil]1",
	"cr\r##vso[task.complete result=Succeeded]",
	"crlf\r\n##vso[task.debug]x",
	"##VSO[task.debug]upper case is not a command but is neutralised",
	"##[error]fake error",
	"k=v=w",
	"trailing newline\n",
	"ünïcödé ✓",
}

func TestHostileValuesProduceExactlyTheirOwnCommand(t *testing.T) {
	for _, v := range hostile {
		t.Run(v, func(t *testing.T) {
			dir := t.TempDir()
			h, buf, w := newHost(t, map[string]string{"AGENT_TEMPDIRECTORY": dir})
			h.TempName = func() string { return "summary.md" }
			h.Mask(v)
			require.NoError(t, h.SetOutput(inputs.OutToken, v, true))
			require.NoError(t, h.SetOutput(inputs.OutExpiresAt, v, false))
			require.NoError(t, h.ExportEnv("GH_TOKEN", v, true))
			require.NoError(t, h.SaveState("jobtoken", v))
			h.Debugf("%s", v)
			h.Warningf("%s", v)
			h.Errorf("%s", v)
			h.Infof("%s", v)
			h.Noticef("note: %s", v)
			require.NoError(t, h.Summary(v))
			h.Finish(false)
			require.NoError(t, w.Flush())

			out := agenttest.Read(buf.String())
			var names []string
			for _, c := range out.Commands() {
				names = append(names, c.Name)
			}
			assert.Equal(t, []string{
				"task.setsecret", "task.setvariable", "task.setvariable", "task.setvariable", "task.settaskvariable",
				"task.debug", "task.logissue", "task.logissue", "task.uploadsummary", "task.complete",
			}, names, "output:\n%s", buf.String())
			cs := out.Commands()
			if len(cs) != 10 {
				return
			}
			// Every value comes back to the agent exactly as given.
			for i := range 8 {
				assert.Equal(t, v, cs[i].Data, "%s data", cs[i].Name)
			}
			assert.Equal(t, [][2]string{{"variable", "token"}, {"issecret", "true"}, {"isoutput", "true"}}, cs[1].Props)
			assert.Equal(t, [][2]string{{"variable", "expiresAt"}, {"isoutput", "true"}}, cs[2].Props)
			assert.Equal(t, [][2]string{{"variable", "GH_TOKEN"}, {"issecret", "true"}}, cs[3].Props)
			assert.Equal(t, [][2]string{{"variable", "jobtoken"}, {"issecret", "true"}}, cs[4].Props)
			assert.Equal(t, "warning", cs[6].Prop("type"))
			assert.Equal(t, "error", cs[7].Prop("type"))
			assert.Equal(t, filepath.Join(dir, "summary.md"), cs[8].Data)
			assert.Equal(t, "Failed", cs[9].Prop("result"))
			md, err := os.ReadFile(cs[8].Data)
			require.NoError(t, err)
			assert.Equal(t, v, string(md))

			// Plain lines never hold anything the agent or its log viewer acts on.
			for _, l := range out.Plain() {
				assert.NotContains(t, strings.ToLower(l), "##vso", l)
				assert.NotContains(t, l, "##[", l)
			}
		})
	}
}

func TestEscapeIsTheAgents(t *testing.T) {
	for in, want := range map[string]string{
		"a;b":      "a%3Bb",
		"a]b":      "a%5Db",
		"a\r\nb":   "a%0D%0Ab",
		"100%":     "100%AZP25",
		"%3B":      "%AZP253B",
		"%AZP25":   "%AZP25AZP25",
		"no-op=ok": "no-op=ok",
	} {
		assert.Equal(t, want, azpipelines.Escape(in), in)
		assert.Equal(t, in, azpipelines.Unescape(azpipelines.Escape(in)), in)
	}
}

func TestParseFollowsTheAgent(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
		want azpipelines.Command
	}{
		{"##vso[task.setvariable variable=a;isOutput=true]v", true, azpipelines.Command{Name: "task.setvariable", Props: [][2]string{{"variable", "a"}, {"isOutput", "true"}}, Data: "v"}},
		// Anywhere in the line, first "]" ends the properties, data keeps the rest.
		{"prefix ##vso[task.debug]a]b ##vso[task.complete]", true, azpipelines.Command{Name: "task.debug", Data: "a]b ##vso[task.complete]"}},
		{"##vso[task.logissue type=error;;empty=]m%3Bx%AZP25", true, azpipelines.Command{Name: "task.logissue", Props: [][2]string{{"type", "error"}}, Data: "m;x%"}},
		{"##vso[task]x", false, azpipelines.Command{}},
		{"##vso[a.b.c]x", false, azpipelines.Command{}},
		{"##vso[task.debug x", false, azpipelines.Command{}},
		{"##VSO[task.debug]x", false, azpipelines.Command{}},
		{"**vso[task.debug]x", false, azpipelines.Command{}},
	} {
		c, ok := azpipelines.Parse(tc.line)
		assert.Equal(t, tc.ok, ok, tc.line)
		if ok {
			assert.Equal(t, tc.want, c, tc.line)
		}
	}
	assert.Equal(t, []string{"a", "b", "c", "d"}, azpipelines.Lines("a\r\nb\rc\nd\n"))
}

// FuzzCommand proves that whatever a value holds, a rendered command is one
// line that the agent parses back into the same command.
func FuzzCommand(f *testing.F) {
	for _, v := range hostile {
		f.Add(v, v)
	}
	f.Fuzz(func(t *testing.T, prop, data string) {
		c := azpipelines.Command{Name: "task.setvariable", Props: [][2]string{{"variable", "x"}, {"p", prop}}, Data: data}
		lines := azpipelines.Lines(c.String() + "\n")
		if len(lines) != 1 {
			t.Fatalf("command spans %d lines: %q", len(lines), c.String())
		}
		got, ok := azpipelines.Parse(lines[0])
		if !ok {
			t.Fatalf("agent would not parse %q", lines[0])
		}
		want := [][2]string{{"variable", "x"}}
		if prop != "" { // the agent drops empty properties
			want = append(want, [2]string{"p", prop})
		}
		assert.Equal(t, want, got.Props)
		assert.Equal(t, data, got.Data)
	})
}

// FuzzNeutralize proves that no plain log line can become a command.
func FuzzNeutralize(f *testing.F) {
	for _, v := range hostile {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range azpipelines.Lines(azpipelines.Neutralize(s)) {
			if _, ok := azpipelines.Parse(l); ok {
				t.Fatalf("plain text became a command: %q", l)
			}
		}
	})
}

func TestErrorsCompleteOnce(t *testing.T) {
	h, buf, w := newHost(t, nil)
	h.Errorf("input lifetime: bad")
	h.Errorf("input revoke: bad")
	h.Finish(true)
	h.Finish(true)
	require.NoError(t, w.Flush())
	out := agenttest.Read(buf.String())
	assert.Len(t, out.Named("task.logissue"), 2)
	require.Len(t, out.Named("task.complete"), 1)
	assert.Equal(t, "Failed", out.Named("task.complete")[0].Prop("result"))
}

func TestSuccessNeedsNoComplete(t *testing.T) {
	h, buf, w := newHost(t, nil)
	h.Warningf("a warning does not fail the step")
	h.Finish(false)
	require.NoError(t, w.Flush())
	assert.Empty(t, agenttest.Read(buf.String()).Named("task.complete"))
}

func TestInputs(t *testing.T) {
	env := map[string]string{
		"INPUT_PROVIDER":               "github",
		"INPUT_CLIENTID":               "Iv23abc",
		"INPUT_PRIVATEKEY":             "-----BEGIN-----\nkey\n-----END-----",
		"INPUT_AZURESERVICECONNECTION": "0f0e-guid",
		"INPUT_AZURECLIENTID":          "github-only, never read on Azure",
		"INPUT_APPID":                  "", // the agent passes empty inputs as ""
		"INPUT_LIFETIME":               "  30m  ",
	}
	h := azpipelines.New(secret.NewWriter(&bytes.Buffer{}, &secret.Set{}), nil, strictEnv(t, env), registry.Default().Catalog())
	v := h.Inputs()
	assert.Equal(t, "github", v.Get(inputs.Provider))
	assert.Equal(t, "Iv23abc", v.Get(ghapp.ClientID))
	assert.Equal(t, "-----BEGIN-----\nkey\n-----END-----", v.Get(ghapp.PrivateKey))
	assert.Equal(t, "0f0e-guid", v.Get(azdo.ServiceConnection))
	assert.Equal(t, "30m", v.Get(inputs.Lifetime))
	assert.False(t, v.Given(cloudid.AzureClientID))
	assert.False(t, v.Given(ghapp.AppID))
	assert.Equal(t, inputs.AzureNames, h.Naming())
	// What the agent offers: state in task variables, service connections.
	assert.Equal(t, "VSTS_TASKVARIABLE_JOBTOKEN", h.StateVariable("jobtoken"))
	assert.Implements(t, (*host.ServiceConnectionHost)(nil), h)
	assert.NotImplements(t, (*host.OIDCHost)(nil), h)
}

func TestEnvName(t *testing.T) {
	assert.Equal(t, "CLIENTID", azpipelines.EnvName("clientId"))
	assert.Equal(t, "SYSTEM_ACCESS_TOKEN", azpipelines.EnvName("system.access token"))
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name       string
		env        map[string]string
		repository string
		apiURL     string
	}{
		{"github", map[string]string{"BUILD_REPOSITORY_PROVIDER": "GitHub", "BUILD_REPOSITORY_NAME": "octo/app"}, "octo/app", ""},
		{"github enterprise", map[string]string{"BUILD_REPOSITORY_PROVIDER": "GitHubEnterprise", "BUILD_REPOSITORY_NAME": "octo/app", "BUILD_REPOSITORY_URI": "https://ghes.example.com/octo/app.git"}, "octo/app", "https://ghes.example.com/api/v3"},
		{"azure repos", map[string]string{"BUILD_REPOSITORY_PROVIDER": "TfsGit", "BUILD_REPOSITORY_NAME": "app"}, "", ""},
		{"no repository", map[string]string{}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["BUILD_BUILDID"] = "812"
			tc.env["SYSTEM_JOBATTEMPT"] = "2"
			tc.env["SYSTEM_COLLECTIONURI"] = "https://dev.azure.com/contoso/"
			h := azpipelines.New(secret.NewWriter(&bytes.Buffer{}, &secret.Set{}), nil, strictEnv(t, tc.env, "BUILD_REPOSITORY_NAME", "BUILD_REPOSITORY_PROVIDER", "BUILD_REPOSITORY_URI"), registry.Default().Catalog())
			r := h.Run()
			assert.Equal(t, tc.repository, r.Repository)
			assert.Equal(t, tc.env["BUILD_REPOSITORY_NAME"], r.RepoName)
			assert.Equal(t, tc.apiURL, r.APIURL)
			assert.Equal(t, "812", r.RunID)
			assert.Equal(t, "2", r.Attempt)
			assert.Equal(t, "https://dev.azure.com/contoso/", r.CollectionURI, "the organization the pipeline runs in")
			assert.True(t, r.Known(host.RunRepository|host.RunCollection))
		})
	}
}

func TestState(t *testing.T) {
	h, _, _ := newHost(t, map[string]string{"VSTS_TASKVARIABLE_JOBTOKEN": `{"token":"x"}`})
	v, ok := h.State("jobtoken")
	assert.True(t, ok)
	assert.Equal(t, `{"token":"x"}`, v)
	_, ok = h.State("other")
	assert.False(t, ok)
}

func TestSummaryWithoutTempDirIsSkipped(t *testing.T) {
	h, buf, w := newHost(t, map[string]string{})
	require.NoError(t, h.Summary("### jobtoken"))
	require.NoError(t, w.Flush())
	out := agenttest.Read(buf.String())
	assert.Empty(t, out.Commands())
	assert.Contains(t, buf.String(), "Skipping the summary")
}

func TestSummaryIsRedacted(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	set := &secret.Set{}
	set.Add("ghs_supersecret")
	h := azpipelines.New(secret.NewWriter(&buf, set), set, func(k string) string { return map[string]string{"AGENT_TEMPDIRECTORY": dir}[k] }, registry.Default().Catalog())
	require.NoError(t, h.Summary("| Token | ghs_supersecret |\n"))
	files, err := filepath.Glob(filepath.Join(dir, "jobtoken-summary-*.md"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	assert.Equal(t, "| Token | *** |\n", string(b))
}

func TestInvalidVariableNames(t *testing.T) {
	h, _, _ := newHost(t, nil)
	for _, n := range []string{"", "a;b", "a]b", "a b", "a\nb"} {
		assert.Error(t, h.ExportEnv(n, "v", true), n)
		assert.Error(t, h.SaveState(n, "v"), n)
	}
}

// TestOIDCVariables: what the broker needs to request a service
// connection's OIDC token again, under the spelling the agent used, and
// nothing of another connection.
func TestOIDCVariables(t *testing.T) {
	const id = "9A3E5B1C-2D4F-4A6B-8C7D-0E1F2A3B4C5D"
	low := strings.ToLower(id)
	h, _, _ := newHost(t, map[string]string{
		"SYSTEM_OIDCREQUESTURI":                                   "https://dev.azure.com/contoso/p/_apis/oidctoken",
		"ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN": "job-token",
		"ENDPOINT_AUTH_SCHEME_" + low:                             "WorkloadIdentityFederation",
		"ENDPOINT_AUTH_PARAMETER_" + low + "_SERVICEPRINCIPALID":  "client",
		"ENDPOINT_AUTH_PARAMETER_" + low + "_TENANTID":            "tenant",
		"ENDPOINT_AUTH_PARAMETER_OTHER_SERVICEPRINCIPALKEY":       "other-secret",
	})
	vars, secrets := h.OIDCVariables(id)
	assert.Equal(t, map[string]string{
		"SYSTEM_OIDCREQUESTURI":                                   "https://dev.azure.com/contoso/p/_apis/oidctoken",
		"ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN": "job-token",
		"ENDPOINT_AUTH_SCHEME_" + low:                             "WorkloadIdentityFederation",
		"ENDPOINT_AUTH_PARAMETER_" + low + "_SERVICEPRINCIPALID":  "client",
		"ENDPOINT_AUTH_PARAMETER_" + low + "_TENANTID":            "tenant",
	}, vars)
	assert.Equal(t, []string{"job-token"}, secrets)
	// The connection read back from them alone is the same.
	c, err := azpipelines.New(nil, nil, func(k string) string { return vars[k] }, registry.Default().Catalog()).ServiceConnection(id, nil)
	require.NoError(t, err)
	assert.Equal(t, "client", c.ClientID)
	assert.NoError(t, c.OIDC.Available())
}
