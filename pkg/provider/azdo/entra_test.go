package azdo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/azdo"
	"github.com/jobtoken/jobtoken/pkg/provider/cloudid"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

const (
	clientID = "6f1c2a0e-7b4d-4c8e-9a51-3d2e1f0a9b8c"
	connID   = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
)

// entraWorld is Microsoft Entra and both CI systems' OIDC token services;
// the Pipelines job's service connection connID is deploy-conn.
type entraWorld struct{ *azfake.Workload }

func newEntraWorld(t testing.TB) *entraWorld {
	t.Helper()
	w := &entraWorld{azfake.NewWorkload(connID, "deploy-conn")}
	t.Cleanup(w.Close)
	return w
}

func (w *entraWorld) githubEnv() map[string]string { return w.GitHubEnv() }

func (w *entraWorld) azureEnv() map[string]string { return w.PipelinesEnv(clientID) }

func (w *entraWorld) githubInputs() inputs.Values {
	return inputs.ValuesOf(map[string]string{inputs.Provider.Key: "azure-devops", azdo.Credential.Key: "entra",
		cloudid.AzureClientID.Key: clientID, cloudid.AzureTenantID.Key: w.Tenant.ID})
}

func mintEntra(t *testing.T, req provider.Request) (*provider.Token, error) {
	t.Helper()
	m, ps := azdo.New().Prepare(req)
	require.Empty(t, ps, "problems: %v", ps)
	pl := m.Plan()
	assert.False(t, pl.Revocable)
	assert.Equal(t, []string{azdo.Scope}, pl.Scopes)
	assert.Contains(t, pl.Revocation, "cannot be revoked")
	return m.Mint(context.Background())
}

func TestEntraOnGitHub(t *testing.T) {
	t.Parallel()
	w := newEntraWorld(t)
	w.Entra.Trust(clientID, w.GitHubOIDC.Federated())
	req := request("github", w.githubInputs(), w.githubEnv(), w.Entra.Client().Transport)

	tok, err := mintEntra(t, req)
	require.NoError(t, err)
	issued := w.Entra.Issued()
	require.Len(t, issued, 1)
	assert.Equal(t, issued[0], tok.Value)
	assert.False(t, tok.Revocable)
	assert.Equal(t, azdo.Scope, tok.Granted)
	assert.True(t, strings.HasPrefix(tok.ID, "sha256:"))
	assert.WithinDuration(t, time.Now().Add(time.Hour), tok.ExpiresAt, 2*time.Minute)
	// The assertion and the basic-auth form are masked with the token.
	require.Len(t, w.GitHubOIDC.Issued(), 1)
	assert.Contains(t, tok.Secrets, w.GitHubOIDC.Issued()[0])
	assert.Contains(t, tok.Secrets, secret.BasicAuth("", tok.Value))
	// The custom authority skipped instance discovery: only the tenant's own
	// endpoints were asked.
	for _, r := range w.Entra.Requests() {
		assert.True(t, strings.HasPrefix(r, "GET /"+w.Tenant.ID+"/") || strings.HasPrefix(r, "POST /"+w.Tenant.ID+"/"), r)
	}
}

func TestEntraOnAzurePipelines(t *testing.T) {
	t.Parallel()
	w := newEntraWorld(t)
	w.Entra.Trust(clientID, w.PipelinesOIDC.Federated("deploy-conn"))
	in := inputs.ValuesOf(map[string]string{inputs.Provider.Key: "azure-devops", azdo.Credential.Key: "entra", azdo.ServiceConnection.Key: connID})
	req := request("azure", in, w.azureEnv(), w.Entra.Client().Transport)

	tok, err := mintEntra(t, req)
	require.NoError(t, err)
	require.Len(t, w.Entra.Issued(), 1)
	assert.Equal(t, w.Entra.Issued()[0], tok.Value)
	assert.Contains(t, tok.Secrets, w.PipelinesOIDC.Issued()[0])
	// The job token is masked before any call.
	m, _ := azdo.New().Prepare(req)
	assert.Contains(t, m.Plan().Secrets, w.PipelinesOIDC.JobToken)
}

func TestEntraFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		setup   func(w *entraWorld, env map[string]string)
		host    string
		want    []string
		wantNot []string
	}{
		{name: "subject does not match", host: "github", setup: func(w *entraWorld, _ map[string]string) {
			f := w.GitHubOIDC.Federated()
			f.Subject = "repo:octo/app:environment:prod"
			w.Entra.Trust(clientID, f)
		}, want: []string{"Microsoft Entra answered 400 Bad Request: AADSTS700213: No matching federated identity record found for presented assertion subject 'repo:octo/app:ref:refs/heads/main'",
			"— the app registration or managed identity " + clientID + " has no federated credential whose subject matches this job's OIDC token; add a federated credential with exactly the subject this error quotes, matched case-sensitively"}},
		{name: "subject differs in case only", host: "github", setup: func(w *entraWorld, _ map[string]string) {
			f := w.GitHubOIDC.Federated()
			f.Subject = "repo:Octo/App:ref:refs/heads/main"
			w.Entra.Trust(clientID, f)
		}, want: []string{"AADSTS7002138", "the subject matches only when the case matches too"}},
		{name: "issuer not trusted", host: "github", setup: func(w *entraWorld, _ map[string]string) {
			w.Entra.Trust(clientID, w.PipelinesOIDC.Federated("deploy-conn"))
		}, want: []string{"AADSTS700211: No matching federated identity record found for presented assertion issuer", "has no federated credential whose issuer matches this job's OIDC token; add a federated credential with issuer https://token.actions.githubusercontent.com"}},
		{name: "wrong audience", host: "github", setup: func(w *entraWorld, _ map[string]string) {
			f := w.GitHubOIDC.Federated()
			f.Audience = "api://something-else"
			w.Entra.Trust(clientID, f)
		}, want: []string{"AADSTS700212: No matching federated identity record found for presented assertion audience", "whose audience matches this job's OIDC token; set the federated credential's audience to " + azdo.Audience}},
		{name: "assertion signed by another key", host: "github", setup: func(w *entraWorld, _ map[string]string) {
			f := w.GitHubOIDC.Federated()
			f.Key = &azfake.NewIssuer(azfake.GitHubIssuerURL).Key.PublicKey
			w.Entra.Trust(clientID, f)
		}, want: []string{"AADSTS50027"}},
		{name: "unknown app", host: "github", setup: func(*entraWorld, map[string]string) {}, want: []string{"AADSTS700016: Application with identifier '" + clientID + "' was not found in the directory", "— no application with this client ID exists in the tenant; check azure-client-id and azure-tenant-id"}},
		{name: "unknown app on Azure Pipelines", host: "azure", setup: func(*entraWorld, map[string]string) {}, want: []string{"AADSTS700016", "check the service connection named by azureServiceConnection"}},
		{name: "OIDC token expired", host: "github", setup: func(w *entraWorld, _ map[string]string) {
			w.Entra.Trust(clientID, w.GitHubOIDC.Federated())
			w.Tenant.Now = func() time.Time { return time.Now().Add(3 * time.Hour) }
		}, want: []string{"AADSTS700024: Client assertion is not within its valid time range", "the job's OIDC token is outside its valid time range"}},
		{name: "Azure DevOps unknown to the tenant", host: "github", setup: func(w *entraWorld, _ map[string]string) {
			w.Entra.Trust(clientID, w.GitHubOIDC.Federated())
			w.Entra.NoDevOps = true
		}, want: []string{"AADSTS500011: The resource principal named 499b84ac-1321-427f-aa17-267ca6975798 was not found in the tenant", "no organization of this tenant uses Azure DevOps"}},
		{name: "job request token refused", host: "github", setup: func(w *entraWorld, env map[string]string) {
			w.Entra.Trust(clientID, w.GitHubOIDC.Federated())
			env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "stale"
		}, want: []string{"GitHub's OIDC token endpoint answered 401 Unauthorized", "check the job has `permissions: id-token: write`"}},
		{name: "pipeline job token refused", host: "azure", setup: func(w *entraWorld, env map[string]string) {
			w.Entra.Trust(clientID, w.PipelinesOIDC.Federated("deploy-conn"))
			env["ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN"] = "stale-job-token"
		}, want: []string{"the Azure Pipelines OIDC endpoint answered 401 Unauthorized", "the job's access token was refused"}},
		{name: "pipeline connection unknown to the endpoint", host: "azure", setup: func(w *entraWorld, _ map[string]string) {
			w.Entra.Trust(clientID, w.PipelinesOIDC.Federated("deploy-conn"))
			delete(w.PipelinesOIDC.Connections, connID)
		}, want: []string{"404", "azureServiceConnection"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newEntraWorld(t)
			env := w.githubEnv()
			in := w.githubInputs()
			if tc.host == "azure" {
				env = w.azureEnv()
				in = inputs.ValuesOf(map[string]string{inputs.Provider.Key: "azure-devops", azdo.Credential.Key: "entra", azdo.ServiceConnection.Key: connID})
			}
			tc.setup(w, env)
			tok, err := mintEntra(t, request(tc.host, in, env, w.Entra.Client().Transport))
			require.Error(t, err)
			t.Log(err)
			assert.Nil(t, tok)
			for _, s := range tc.want {
				assert.Contains(t, err.Error(), s)
			}
			// Summarised: no raw response dump, no trace IDs, no secrets.
			for _, s := range append(tc.wantNot, "error_codes", "Trace ID", "----", w.GitHubOIDC.RequestToken, w.PipelinesOIDC.JobToken) {
				assert.NotContains(t, err.Error(), s)
			}
			assert.Empty(t, w.Entra.Issued())
		})
	}
}

func TestEntraCheck(t *testing.T) {
	t.Parallel()
	w := newEntraWorld(t)
	w.Entra.Trust(clientID, w.GitHubOIDC.Federated())
	m, ps := azdo.New().Prepare(request("github", w.githubInputs(), w.githubEnv(), w.Entra.Client().Transport))
	require.Empty(t, ps)
	lines, err := m.(provider.Checker).Check(context.Background())
	require.NoError(t, err)
	require.Len(t, lines, 1)
	assert.Contains(t, lines[0], "workload identity federation works")
	assert.NotContains(t, lines[0], w.Entra.Issued()[0])
}

// A tenant ID of no tenant: Entra's discovery answers AADSTS90002.
func TestEntraUnknownTenant(t *testing.T) {
	t.Parallel()
	w := newEntraWorld(t)
	w.Entra.Trust(clientID, w.GitHubOIDC.Federated())
	in := w.githubInputs()
	in.Set(cloudid.AzureTenantID.Key, "11111111-2222-4333-8444-555555555555")
	tok, err := mintEntra(t, request("github", in, w.githubEnv(), w.Entra.Client().Transport))
	require.Error(t, err)
	assert.Nil(t, tok)
	assert.Contains(t, err.Error(), "AADSTS90002: Tenant '11111111-2222-4333-8444-555555555555' not found")
}
