package azdo

import (
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/cloudid"
)

// The azure-devops provider's inputs (and the shared Entra identity ones of
// package cloudid).
var (
	Organization = inputs.Input{Key: "azure-devops-organization", Azure: "azureDevOpsOrganization", Label: "Azure DevOps organization", Type: inputs.TypeString,
		Description: "Azure DevOps organization: a name or a `https://dev.azure.com/{org}` URL.",
		On:          map[inputs.Where]string{inputs.OnAzure: "Azure DevOps organization: a name or a `https://dev.azure.com/{org}` URL. Defaults to the pipeline's own organization."}}
	APIURL = inputs.Input{Key: "azure-devops-api-url", Azure: "azureDevOpsApiUrl", Label: "Azure DevOps API URL", Type: inputs.TypeString, Default: DefaultAPIURL, Advanced: true,
		Description: "PAT lifecycle API host (sovereign clouds, tests)."}
	Credential = inputs.Input{Key: "azure-credential", Azure: "azureCredential", Type: inputs.TypePickList, Options: []string{CredentialPAT, CredentialEntra}, Default: CredentialPAT,
		Description: "`pat`: mint a scoped, revocable PAT from an Entra user token; `entra`: a service principal's Entra token through workload identity (cannot be narrowed or revoked)."}
	AccessToken = inputs.Input{Key: "azure-access-token", Azure: "azureAccessToken", Type: inputs.TypeString, Secret: true,
		When: &inputs.Condition{Key: "azure-credential", Value: CredentialPAT},
		Stale: &inputs.Stale{
			Why: "a Microsoft Entra user token lives 60 to 90 minutes",
			Fix: func(n inputs.Naming) string {
				return "use " + n.Setting(Credential, CredentialEntra) + " (workload identity, nothing stored), or fetch the user's token in a step right before this one (az account get-access-token --resource " + ResourceID + " on a runner signed in as that user)"
			},
		},
		Description: "Microsoft Entra **user** access token for Azure DevOps, the parent of a PAT, fetched in the step before (e.g. `az account get-access-token --resource 499b84ac-1321-427f-aa17-267ca6975798`): it lives about an hour, so a stored one has expired.",
		On:          map[inputs.Where]string{inputs.OnCLI: "Microsoft Entra **user** access token for Azure DevOps, the parent of a PAT; without it, your `az login`'s (a user's, not a service principal's)."}}
	// ServiceConnection is the shared cloudid input, named here as
	// azure-devops' code has always named it.
	ServiceConnection = cloudid.AzureServiceConnection
)

// Inputs implements provider.Provider.
func (*Provider) Inputs() inputs.Group {
	return inputs.Group{
		Name:     Name,
		Title:    "Azure DevOps",
		Inputs:   []inputs.Input{Organization, APIURL, Credential, AccessToken, cloudid.AzureClientID, cloudid.AzureTenantID, ServiceConnection},
		Optional: map[string]inputs.Condition{inputs.Permissions.Key: {Key: Credential.Key, Value: CredentialEntra}},
	}
}
