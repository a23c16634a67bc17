package anaconda

import "github.com/jobtoken/jobtoken/pkg/inputs"

// The anaconda provider's inputs.
var (
	APIURL = inputs.Input{Key: "anaconda-api-url", Azure: "anacondaApiUrl", Type: inputs.TypeString, Default: DefaultAPIURL, Advanced: true,
		Description: "anaconda.org API URL."}
	Credential = inputs.Input{Key: "anaconda-credential", Azure: "anacondaCredential", Type: inputs.TypeString, Secret: true,
		Description: "Parent credential: an anaconda.com API key (sent as `Bearer`) or an anaconda.org token (sent as `token`)."}
	Organization = inputs.Input{Key: "anaconda-organization", Azure: "anacondaOrganization", Type: inputs.TypeString,
		Description: "Organization that owns the minted token; defaults to the parent credential's user."}
)

// Inputs implements provider.Provider.
func (*Provider) Inputs() inputs.Group {
	return inputs.Group{
		Name:   Name,
		Title:  "Anaconda",
		Inputs: []inputs.Input{APIURL, Credential, Organization},
	}
}
