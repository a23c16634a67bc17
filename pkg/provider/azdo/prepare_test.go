package azdo_test

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/azdo"
	"github.com/jobtoken/jobtoken/pkg/provider/cloudid"
)

// Every bad input is reported offline, naming the input and the fix.
func TestPrepareProblems(t *testing.T) {
	t.Parallel()
	tenant := azfake.NewTenant()
	user := tenant.UserToken("alice@contoso.com", time.Hour)
	pat := func(mod func(v inputs.Values)) inputs.Values {
		v := inputs.ValuesOf(map[string]string{inputs.Provider.Key: "azure-devops", inputs.Permissions.Key: "vso.code", azdo.Organization.Key: "contoso", azdo.AccessToken.Key: user})
		if mod != nil {
			mod(v)
		}
		return v
	}
	entraIn := func(mod func(v inputs.Values)) inputs.Values {
		v := inputs.ValuesOf(map[string]string{inputs.Provider.Key: "azure-devops", azdo.Credential.Key: "entra", cloudid.AzureClientID.Key: clientID, cloudid.AzureTenantID.Key: tenant.ID})
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
		maps.Copy(out, m)
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
		key  inputs.Input
		want string
	}{
		{"unknown credential kind", "github", pat(func(v inputs.Values) { v.Set(azdo.Credential.Key, "entr") }), nil, azdo.Credential, `unknown credential kind "entr"; did you mean "entra"?`},
		{"no organization", "github", pat(func(v inputs.Values) { v.Delete(azdo.Organization.Key) }), nil, azdo.Organization, "is required for azure-devops PATs"},
		{"bad organization", "github", pat(func(v inputs.Values) { v.Set(azdo.Organization.Key, "https://github.com/contoso") }), nil, azdo.Organization, "is not an Azure DevOps organization URL"},
		{"no permissions", "github", pat(func(v inputs.Values) { v.Delete(inputs.Permissions.Key) }), nil, inputs.Permissions, "is required for azure-devops PATs; list vso.* scopes"},
		{"typo in scope", "github", pat(func(v inputs.Values) { v.Set(inputs.Permissions.Key, "vso.cod") }), nil, inputs.Permissions, `unknown Azure DevOps PAT scope "vso.cod"; did you mean "vso.code"?`},
		{"github-style permission", "github", pat(func(v inputs.Values) { v.Set(inputs.Permissions.Key, "vso.packagng_write") }), nil, inputs.Permissions, `did you mean "vso.packaging_write"?`},
		{"full access refused", "github", pat(func(v inputs.Values) { v.Set(inputs.Permissions.Key, "app_token") }), nil, inputs.Permissions, "app_token is full access"},
		{"full access mixed", "github", pat(func(v inputs.Values) {
			v.Set(inputs.Permissions.Key, "app_token vso.code")
			v.Set(inputs.AllowBroadScopes.Key, "true")
		}), nil, inputs.Permissions, "app_token already includes every other scope; use it alone"},
		{"lifetime over a year", "github", pat(func(v inputs.Values) { v.Set(inputs.Lifetime.Key, "9000h") }), nil, inputs.Lifetime, "longer than the one year"},
		{"lifetime under a minute", "github", pat(func(v inputs.Values) { v.Set(inputs.Lifetime.Key, "1s") }), nil, inputs.Lifetime, "is shorter than a minute; use at least 1m"},
		{"no parent in CI", "github", pat(func(v inputs.Values) { v.Delete(azdo.AccessToken.Key) }), nil, azdo.AccessToken, "refuses service principals and PATs"},
		{"parent is a PAT", "github", pat(func(v inputs.Values) {
			v.Set(azdo.AccessToken.Key, "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst")
		}), nil, azdo.AccessToken, "input azure-access-token: is not a Microsoft Entra access token (a JWT); the PAT lifecycle API accepts only Entra user tokens, not PATs"},
		{"parent is a service principal", "github", pat(func(v inputs.Values) { v.Set(azdo.AccessToken.Key, tenant.AppToken(clientID, time.Hour, true)) }), nil, azdo.AccessToken, "is an app-only token (service principal or managed identity " + clientID + "); Microsoft does not let service principals or managed identities create or revoke PATs"},
		{"parent is app-only without idtyp", "github", pat(func(v inputs.Values) { v.Set(azdo.AccessToken.Key, tenant.AppToken(clientID, time.Hour, false)) }), nil, azdo.AccessToken, "is an app-only token"},
		{"parent expired", "github", pat(func(v inputs.Values) { v.Set(azdo.AccessToken.Key, tenant.UserToken("a@b.c", -time.Minute)) }), nil, azdo.AccessToken, "input azure-access-token: expired at "},
		{"parent for another audience", "github", pat(func(v inputs.Values) {
			v.Set(azdo.AccessToken.Key, tenant.Issuer.Sign(map[string]any{"aud": "https://management.azure.com", "scp": "user_impersonation", "upn": "a@b.c", "exp": time.Now().Add(time.Hour).Unix()}))
		}), nil, azdo.AccessToken, "input azure-access-token: is for audience https://management.azure.com, not Azure DevOps"},
		{"cleartext API URL", "github", pat(func(v inputs.Values) { v.Set(azdo.APIURL.Key, "http://vssps.example.com") }), nil, azdo.APIURL, "unencrypted; use https"},
		{"entra input with pat", "github", pat(func(v inputs.Values) { v.Set(cloudid.AzureClientID.Key, clientID) }), nil, cloudid.AzureClientID, "is used only with azure-credential: entra"},

		{"entra with scopes", "github", entraIn(func(v inputs.Values) { v.Set(inputs.Permissions.Key, "vso.code") }), ghEnv, inputs.Permissions, "must be empty with azure-credential: entra: an Entra token carries everything its identity may do in Azure DevOps and cannot be narrowed to vso.* scopes; for a narrowed, revocable token use azure-credential: pat"},
		{"entra with lifetime", "github", entraIn(func(v inputs.Values) { v.Set(inputs.Lifetime.Key, "10m") }), ghEnv, inputs.Lifetime, "10m cannot be applied to Entra tokens"},
		{"entra with a parent token", "github", entraIn(func(v inputs.Values) { v.Set(azdo.AccessToken.Key, user) }), ghEnv, azdo.AccessToken, "entra needs no secret"},
		{"entra without id-token permission", "github", entraIn(nil), nil, azdo.Credential, "ACTIONS_ID_TOKEN_REQUEST_URL is not set: give the job `permissions: id-token: write` (workflows run from a fork's pull request never get one)"},
		{"entra without request token", "github", entraIn(nil), with(ghEnv, "ACTIONS_ID_TOKEN_REQUEST_TOKEN", ""), azdo.Credential, "ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set"},
		{"entra without client id", "github", entraIn(func(v inputs.Values) { v.Delete(cloudid.AzureClientID.Key) }), ghEnv, cloudid.AzureClientID, "is required for azure-credential: entra"},
		{"entra with bad client id", "github", entraIn(func(v inputs.Values) { v.Set(cloudid.AzureClientID.Key, "my-app") }), ghEnv, cloudid.AzureClientID, "is not a client ID (a GUID)"},
		{"entra without tenant", "github", entraIn(func(v inputs.Values) { v.Delete(cloudid.AzureTenantID.Key) }), ghEnv, cloudid.AzureTenantID, "is required"},
		{"entra locally", "local", entraIn(nil), nil, azdo.Credential, "only GitHub Actions and Azure Pipelines provide"},
		{"entra with http authority", "github", entraIn(nil), with(ghEnv, "AZURE_AUTHORITY_HOST", "http://login.example.com/"), azdo.Credential, "needs an https authority"},
		{"entra on azure without connection", "azure", inputs.ValuesOf(map[string]string{azdo.Credential.Key: "entra"}), azEnv, azdo.ServiceConnection, "is required for azureCredential: entra"},
		{"entra on azure, connection not available", "azure", inputs.ValuesOf(map[string]string{azdo.Credential.Key: "entra", azdo.ServiceConnection.Key: "99999999-9999-4999-8999-999999999999"}), azEnv, azdo.ServiceConnection, "is not available to this job"},
		{"entra on azure, secret-based connection", "azure", inputs.ValuesOf(map[string]string{azdo.Credential.Key: "entra", azdo.ServiceConnection.Key: connID}), with(azEnv, "ENDPOINT_AUTH_SCHEME_"+connID, "ServicePrincipal"), azdo.ServiceConnection, "uses ServicePrincipal authentication; jobtoken needs workload identity federation"},
		{"entra on azure without OIDC endpoint", "azure", inputs.ValuesOf(map[string]string{azdo.Credential.Key: "entra", azdo.ServiceConnection.Key: connID}), with(azEnv, "SYSTEM_OIDCREQUESTURI", ""), azdo.ServiceConnection, "SYSTEM_OIDCREQUESTURI is not set"},
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
				if p.Key == tc.key.Key && (strings.Contains(p.Msg, tc.want) || strings.Contains(p.Format(inputs.GitHubNames), tc.want)) {
					found = true
				}
			}
			assert.True(t, found, "want %s: …%s…, got:\n%s", tc.key.Key, tc.want, strings.Join(got, "\n"))
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
	in := inputs.ValuesOf(map[string]string{inputs.Provider.Key: "azure-devops", inputs.Permissions.Key: "vso.code vso.code vso.packaging_write", azdo.Organization.Key: "contoso.visualstudio.com",
		azdo.AccessToken.Key: user})
	in.Set(azdo.Organization.Key, "https://contoso.visualstudio.com/")
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
	in.Delete(azdo.AccessToken.Key)
	m, ps = azdo.New().Prepare(request("local", in, nil, noNetwork{t}))
	require.Empty(t, ps)
	assert.Contains(t, m.Plan().Parent, "Azure CLI login")

	// On Azure Pipelines the organization defaults to the pipeline's.
	in = inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "vso.code", azdo.AccessToken.Key: user})
	m, ps = azdo.New().Prepare(request("azure", in, map[string]string{"SYSTEM_COLLECTIONURI": "https://dev.azure.com/fabrikam/"}, noNetwork{t}))
	require.Empty(t, ps)
	assert.Equal(t, "fabrikam", m.Plan().Details["organization"])
}

func TestDisplayNamesAreUniquePerMint(t *testing.T) {
	t.Parallel()
	tenant := azfake.NewTenant()
	in := inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "vso.code", azdo.Organization.Key: "contoso", azdo.AccessToken.Key: tenant.UserToken("a@b.c", time.Hour)})
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
	got, ps := azdo.ParseScopes([]string{"VSO.Code", "vso.work_write", "vso.code"}, false, inputs.GitHubNames)
	assert.Empty(t, ps)
	assert.Equal(t, []string{"vso.code", "vso.work_write"}, got)
	got, ps = azdo.ParseScopes([]string{"app_token"}, true, inputs.GitHubNames)
	assert.Empty(t, ps)
	assert.Equal(t, []string{"app_token"}, got)
}
