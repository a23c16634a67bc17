package azfake

// Workload is what a workload identity test starts from: Microsoft Entra for
// one tenant, and the OIDC token services of a GitHub Actions job of
// octo/app and of an Azure Pipelines job of contoso/web, whose workload
// identity service connection is ConnectionID. Entra trusts no one until a
// test calls Entra.Trust.
type Workload struct {
	Tenant        *Tenant
	Entra         *Entra
	GitHubOIDC    *GitHubOIDC
	PipelinesOIDC *PipelinesOIDC
	ConnectionID  string
}

// NewWorkload starts the fakes; the Pipelines job's service connection
// connectionID is named connectionName (the sub of its OIDC tokens).
func NewWorkload(connectionID, connectionName string) *Workload {
	w := &Workload{Tenant: NewTenant(), GitHubOIDC: NewGitHubOIDC("octo/app"), PipelinesOIDC: NewPipelinesOIDC("contoso", "web"), ConnectionID: connectionID}
	w.Entra = NewEntra(w.Tenant)
	w.PipelinesOIDC.Connections[connectionID] = connectionName
	return w
}

// Close stops the fakes.
func (w *Workload) Close() {
	w.Entra.Close()
	w.GitHubOIDC.Close()
	w.PipelinesOIDC.Close()
}

// GitHubEnv is the runner's environment for requesting the job's OIDC
// token, with this Entra as the authority.
func (w *Workload) GitHubEnv() map[string]string {
	return map[string]string{
		"ACTIONS_ID_TOKEN_REQUEST_URL":   w.GitHubOIDC.RequestURL(),
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": w.GitHubOIDC.RequestToken,
		"AZURE_AUTHORITY_HOST":           w.Entra.AuthorityHost(),
	}
}

// PipelinesEnv is the agent's environment for the service connection, whose
// service principal is the app clientID, and for requesting its OIDC token,
// with this Entra as the authority.
func (w *Workload) PipelinesEnv(clientID string) map[string]string {
	return map[string]string{
		"ENDPOINT_AUTH_SCHEME_" + w.ConnectionID:                            "WorkloadIdentityFederation",
		"ENDPOINT_AUTH_PARAMETER_" + w.ConnectionID + "_SERVICEPRINCIPALID": clientID,
		"ENDPOINT_AUTH_PARAMETER_" + w.ConnectionID + "_TENANTID":           w.Tenant.ID,
		"ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN":           w.PipelinesOIDC.JobToken,
		"SYSTEM_OIDCREQUESTURI":                                             w.PipelinesOIDC.RequestURI(),
		"AZURE_AUTHORITY_HOST":                                              w.Entra.AuthorityHost(),
	}
}
