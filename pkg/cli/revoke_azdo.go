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
		state: func(_ *Env, v inputs.Values, _ string) (map[string]string, inputs.Problems) {
			var ps inputs.Problems
			org, err := azdo.ParseOrganization(v.Get(inputs.AzureOrganization))
			switch {
			case v.Get(inputs.AzureOrganization) == "":
				ps.Add(inputs.AzureOrganization, "is required to revoke a PAT; give the organization the PAT was minted for")
			case err != nil:
				ps.Add(inputs.AzureOrganization, "%s", err)
			}
			return map[string]string{"kind": azdo.KindPAT, "organization": org, "api_url": v.Get(inputs.AzureAPIURL)}, ps
		},
		hint: func(s provider.Saved) string {
			return " --azure-devops-organization " + s.State["organization"]
		},
	}
}
