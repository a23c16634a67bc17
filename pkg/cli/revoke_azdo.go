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
		inputs:  []inputs.Input{azdo.Organization, azdo.APIURL, azdo.AccessToken},
		state: func(string) map[string]string {
			return map[string]string{"kind": azdo.CredentialPAT}
		},
		hint: func(s provider.Saved) string {
			return " --azure-devops-organization " + s.State["organization"]
		},
	}
}
