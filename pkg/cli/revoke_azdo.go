package cli

import (
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/azdo"
)

func init() {
	revokeSpecs[azdo.Name] = revokeSpec{
		needsID: true,
		how:     "Azure DevOps revokes a PAT by its authorizationId (the token-id output), with the parent Entra user token (--azure-access-token-file or INPUT_AZURE_ACCESS_TOKEN; else az login's)",
		inputs:  []string{inputs.AzureOrganization, inputs.AzureAPIURL, inputs.AzureAccessToken},
		state: func(string) map[string]string {
			return map[string]string{"kind": azdo.KindPAT}
		},
		hint: func(s provider.Saved) string {
			return " --azure-devops-organization " + s.State["organization"]
		},
	}
}
