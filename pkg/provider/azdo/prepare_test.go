package azdo_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/azdo"
)

// Every bad input is reported offline, naming the input and the fix.
func TestPrepareProblems(t *testing.T) {
	t.Parallel()
	tenant := azfake.NewTenant()
	user := tenant.UserToken("alice@contoso.com", time.Hour)
	pat := func(mod func(v inputs.Values)) inputs.Values {
		v := inputs.Values{inputs.Provider: "azure-devops", inputs.Permissions: "vso.code", inputs.AzureOrganization: "contoso", inputs.AzureAccessToken: user}
		if mod != nil {
			mod(v)
		}
		return v
	}
	entraIn := func(mod func(v inputs.Values)) inputs.Values {
		v := inputs.Values{inputs.Provider: "azure-devops", inputs.AzureCredential: "entra", inputs.AzureClientID: clientID, inputs.AzureTenantID: tenant.ID}
		if mod != nil {
			mod(v)
		}
		return v
	}
	ghEnv := map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": "https://example.invalid/idtoken?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "x"}
	azEnv := map[string]string{
		"ENDPOINT_AUTH_SCHEME_" + connID:                            "WorkloadIdentityFederation",
		"ENDPOINT_AUTH_PARAMETER_" + connID + "_SERVICEPRINCIPALID": clientID,
		"ENDPOINT_AUTH_PARAMETER_" + connID + "_TENANTID":           tenant.ID,
		"ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN":   "job",
		"SYSTEM_OIDCREQUESTURI":                                     "https://dev.azure.com/contoso/oidctoken",
	}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{}
		for a, b := range m {
			out[a] = b
		}
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	cases := []struct {
		name string
		host string
		in   inputs.Values
		env  map[string]string
		key  string
		want string
	}{
		{"unknown credential kind", "github", pat(func(v inputs.Values) { v[inputs.AzureCredential] = "entr" }), nil, inputs.AzureCredential, `unknown credential kind "entr"; did you mean "entra"?`},
		{"no organization", "github", pat(func(v inputs.Values) { delete(v, inputs.AzureOrganization) }), nil, inputs.AzureOrganization, "is required for azure-devops PATs"},
		{"bad organization", "github", pat(func(v inputs.Values) { v[inputs.AzureOrganization] = "https://github.com/contoso" }), nil, inputs.AzureOrganization, "is not an Azure DevOps organization URL"},
		{"no permissions", "github", pat(func(v inputs.Values) { delete(v, inputs.Permissions) }), nil, inputs.Permissions, "is required for azure-devops PATs; list vso.* scopes"},
		{"typo in scope", "github", pat(func(v inputs.Values) { v[inputs.Permissions] = "vso.cod" }), nil, inputs.Permissions, `unknown Azure DevOps PAT scope "vso.cod"; did you mean "vso.code"?`},
		{"github-style permission", "github", pat(func(v inputs.Values) { v[inputs.Permissions] = "vso.packagng_write" }), nil, inputs.Permissions, `did you mean "vso.packaging_write"?`},
		{"full access refused", "github", pat(func(v inputs.Values) { v[inputs.Permissions] = "app_token" }), nil, inputs.Permissions, "app_token is full access"},
		{"full access mixed", "github", pat(func(v inputs.Values) {
			v[inputs.Permissions] = "app_token vso.code"
			v[inputs.AllowBroadScopes] = "true"
		}), nil, inputs.Permissions, "app_token already includes every other scope; use it alone"},
		{"lifetime over a year", "github", pat(func(v inputs.Values) { v[inputs.Lifetime] = "9000h" }), nil, inputs.Lifetime, "longer than the one year"},
		{"lifetime under a minute", "github", pat(func(v inputs.Values) { v[inputs.Lifetime] = "1s" }), nil, inputs.Lifetime, "is shorter than a minute; use at least 1m"},
		{"no parent in CI", "github", pat(func(v inputs.Values) { delete(v, inputs.AzureAccessToken) }), nil, inputs.AzureAccessToken, "refuses service principals and PATs"},
		{"parent is a PAT", "github", pat(func(v inputs.Values) {
			v[inputs.AzureAccessToken] = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst"
		}), nil, inputs.AzureAccessToken, "input azure-access-token: is not a Microsoft Entra access token (a JWT); the PAT lifecycle API accepts only Entra user tokens, not PATs"},
		{"parent is a service principal", "github", pat(func(v inputs.Values) { v[inputs.AzureAccessToken] = tenant.AppToken(clientID, time.Hour, true) }), nil, inputs.AzureAccessToken, "is an app-only token (service principal or managed identity " + clientID + "); Microsoft does not let service principals or managed identities create or revoke PATs"},
		{"parent is app-only without idtyp", "github", pat(func(v inputs.Values) { v[inputs.AzureAccessToken] = tenant.AppToken(clientID, time.Hour, false) }), nil, inputs.AzureAccessToken, "is an app-only token"},
		{"parent expired", "github", pat(func(v inputs.Values) { v[inputs.AzureAccessToken] = tenant.UserToken("a@b.c", -time.Minute) }), nil, inputs.AzureAccessToken, "input azure-access-token: expired at "},
		{"parent for another audience", "github", pat(func(v inputs.Values) {
			v[inputs.AzureAccessToken] = tenant.Issuer.Sign(map[string]any{"aud": "https://management.azure.com", "scp": "user_impersonation", "upn": "a@b.c", "exp": time.Now().Add(time.Hour).Unix()})
		}), nil, inputs.AzureAccessToken, "input azure-access-token: is for audience https://management.azure.com, not Azure DevOps"},
		{"cleartext API URL", "github", pat(func(v inputs.Values) { v[inputs.AzureAPIURL] = "http://vssps.example.com" }), nil, inputs.AzureAPIURL, "unencrypted; use https"},
		{"entra input with pat", "github", pat(func(v inputs.Values) { v[inputs.AzureClientID] = clientID }), nil, inputs.AzureClientID, "is used only with azure-credential: entra"},

		{"entra with scopes", "github", entraIn(func(v inputs.Values) { v[inputs.Permissions] = "vso.code" }), ghEnv, inputs.Permissions, "must be empty with azure-credential: entra: an Entra token carries everything its identity may do in Azure DevOps and cannot be narrowed to vso.* scopes; for a narrowed, revocable token use azure-credential: pat"},
		{"entra with lifetime", "github", entraIn(func(v inputs.Values) { v[inputs.Lifetime] = "10m" }), ghEnv, inputs.Lifetime, "10m cannot be applied to Entra tokens"},
		{"entra with a parent token", "github", entraIn(func(v inputs.Values) { v[inputs.AzureAccessToken] = user }), ghEnv, inputs.AzureAccessToken, "entra needs no secret"},
		{"entra without id-token permission", "github", entraIn(nil), nil, inputs.AzureCredential, "ACTIONS_ID_TOKEN_REQUEST_URL is not set: give the job `permissions: id-token: write` (workflows run from a fork's pull request never get one)"},
		{"entra without request token", "github", entraIn(nil), with(ghEnv, "ACTIONS_ID_TOKEN_REQUEST_TOKEN", ""), inputs.AzureCredential, "ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set"},
		{"entra without client id", "github", entraIn(func(v inputs.Values) { delete(v, inputs.AzureClientID) }), ghEnv, inputs.AzureClientID, "is required for azure-credential: entra"},
		{"entra with bad client id", "github", entraIn(func(v inputs.Values) { v[inputs.AzureClientID] = "my-app" }), ghEnv, inputs.AzureClientID, "is not a client ID (a GUID)"},
		{"entra without tenant", "github", entraIn(func(v inputs.Values) { delete(v, inputs.AzureTenantID) }), ghEnv, inputs.AzureTenantID, "is required"},
		{"entra locally", "local", entraIn(nil), nil, inputs.AzureCredential, "only GitHub Actions and Azure Pipelines provide"},
		{"entra with http authority", "github", entraIn(nil), with(ghEnv, "AZURE_AUTHORITY_HOST", "http://login.example.com/"), inputs.AzureCredential, "needs an https authority"},
		{"entra on azure without connection", "azure", inputs.Values{inputs.AzureCredential: "entra"}, azEnv, inputs.AzureServiceConnection, "is required for azureCredential: entra"},
		{"entra on azure, connection not available", "azure", inputs.Values{inputs.AzureCredential: "entra", inputs.AzureServiceConnection: "99999999-9999-4999-8999-999999999999"}, azEnv, inputs.AzureServiceConnection, "is not available to this job"},
		{"entra on azure, secret-based connection", "azure", inputs.Values{inputs.AzureCredential: "entra", inputs.AzureServiceConnection: connID}, with(azEnv, "ENDPOINT_AUTH_SCHEME_"+connID, "ServicePrincipal"), inputs.AzureServiceConnection, "uses ServicePrincipal authentication; jobtoken needs workload identity federation"},
		{"entra on azure without OIDC endpoint", "azure", inputs.Values{inputs.AzureCredential: "entra", inputs.AzureServiceConnection: connID}, with(azEnv, "SYSTEM_OIDCREQUESTURI", ""), inputs.AzureServiceConnection, "SYSTEM_OIDCREQUESTURI is not set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := request(tc.host, tc.in, tc.env, noNetwork{t})
			_, ps := azdo.New().Prepare(req)
			require.NotEmpty(t, ps, "no problem reported")
			var got []string
			found := false
			for _, p := range ps {
				got = append(got, p.Format(inputs.GitHubNames))
				if p.Key == tc.key && (strings.Contains(p.Msg, tc.want) || strings.Contains(p.Format(inputs.GitHubNames), tc.want)) {
					found = true
				}
			}
			assert.True(t, found, "want %s: …%s…, got:\n%s", tc.key, tc.want, strings.Join(got, "\n"))
			for _, line := range got {
				assert.NotContains(t, line, user, "a problem echoes the parent token")
			}
		})
	}
}

func TestPrepareAcceptsAndPlans(t *testing.T) {
	t.Parallel()
	tenant := azfake.NewTenant()
	user := tenant.UserToken("alice@contoso.com", time.Hour)
	in := inputs.Values{inputs.Provider: "azure-devops", inputs.Permissions: "vso.code vso.code vso.packaging_write", inputs.AzureOrganization: "contoso.visualstudio.com",
		inputs.AzureAccessToken: user}
	in[inputs.AzureOrganization] = "https://contoso.visualstudio.com/"
	m, ps := azdo.New().Prepare(request("github", in, nil, noNetwork{t}))
	require.Empty(t, ps)
	pl := m.Plan()
	assert.Equal(t, []string{"vso.code", "vso.packaging_write"}, pl.Scopes)
	assert.Equal(t, []string{"organization contoso"}, pl.Resources)
	assert.Equal(t, []string{user}, pl.Secrets, "the parent is masked before any call")
	assert.Contains(t, pl.Parent, "alice@contoso.com")
	assert.Contains(t, pl.Revocation, "https://vssps.dev.azure.com/contoso/_apis/tokens/pats?authorizationId=")
	assert.True(t, pl.Revocable)
	assert.Contains(t, strings.Join(pl.Notes, "\n"), "the post step cannot revoke the PAT")

	// Locally, without azure-access-token, the Azure CLI login is the parent.
	delete(in, inputs.AzureAccessToken)
	m, ps = azdo.New().Prepare(request("local", in, nil, noNetwork{t}))
	require.Empty(t, ps)
	assert.Contains(t, m.Plan().Parent, "Azure CLI login")

	// On Azure Pipelines the organization defaults to the pipeline's.
	in = inputs.Values{inputs.Permissions: "vso.code", inputs.AzureAccessToken: user}
	m, ps = azdo.New().Prepare(request("azure", in, map[string]string{"SYSTEM_COLLECTIONURI": "https://dev.azure.com/fabrikam/"}, noNetwork{t}))
	require.Empty(t, ps)
	assert.Equal(t, "fabrikam", m.Plan().Details["organization"])
}

func TestDisplayNamesAreUniquePerMint(t *testing.T) {
	t.Parallel()
	tenant := azfake.NewTenant()
	in := inputs.Values{inputs.Permissions: "vso.code", inputs.AzureOrganization: "contoso", inputs.AzureAccessToken: tenant.UserToken("a@b.c", time.Hour)}
	seen := map[string]bool{}
	for range 20 {
		m, ps := azdo.New().Prepare(request("github", in, nil, noNetwork{t}))
		require.Empty(t, ps)
		n := m.Plan().Details["display_name"]
		assert.True(t, strings.HasPrefix(n, "jobtoken octo/app run 9.1 "), n)
		assert.False(t, seen[n], "display name repeated: %s", n)
		seen[n] = true
	}
}

func TestParseOrganization(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"contoso": "contoso", "my-org-1": "my-org-1", "https://dev.azure.com/contoso": "contoso",
		"https://dev.azure.com/contoso/": "contoso", "https://contoso.visualstudio.com": "contoso",
		"https://contoso.visualstudio.com/DefaultCollection": "contoso", " contoso ": "contoso",
	} {
		got, err := azdo.ParseOrganization(in)
		assert.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-bad", "bad-", "has space", "https://dev.azure.com/", "https://dev.azure.com/contoso/project",
		"https://example.com/contoso", "ftp://dev.azure.com/contoso", "contoso/project", strings.Repeat("a", 51)} {
		_, err := azdo.ParseOrganization(in)
		assert.Error(t, err, "%q", in)
	}
}

func TestScopeCatalog(t *testing.T) {
	t.Parallel()
	names := azdo.ScopeNames()
	assert.Contains(t, names, "vso.code")
	assert.Contains(t, names, "app_token")
	assert.Contains(t, names, "vso.extension.data_write")
	got, ps := azdo.ParseScopes([]string{"VSO.Code", "vso.work_write", "vso.code"}, false)
	assert.Empty(t, ps)
	assert.Equal(t, []string{"vso.code", "vso.work_write"}, got)
	got, ps = azdo.ParseScopes([]string{"app_token"}, true)
	assert.Empty(t, ps)
	assert.Equal(t, []string{"app_token"}, got)
}
