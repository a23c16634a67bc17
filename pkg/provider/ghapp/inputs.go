package ghapp

import (
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/cloudid"
)

// The github provider's inputs.
var (
	AppID = inputs.Input{Key: "app-id", Azure: "appId", Type: inputs.TypeString,
		Description: "GitHub App ID (a number). Either this or `client-id` (preferred) is the JWT issuer."}
	ClientID = inputs.Input{Key: "client-id", Azure: "clientId", Type: inputs.TypeString,
		Description: "GitHub App client ID (`Iv1.…` or `Iv23…`, on the App's settings page); preferred over `app-id`."}
	PrivateKey = inputs.Input{Key: "private-key", Azure: "privateKey", Type: inputs.TypeMultiLine, Secret: true,
		Description: "GitHub App private key: the .pem file GitHub generated (PKCS#1 or PKCS#8); literal `\\n` escapes and base64-wrapped PEM are accepted."}
	Owner = inputs.Input{Key: "owner", Azure: "owner", Type: inputs.TypeString,
		Description: "Account the App is installed on. Defaults to the current repository's owner; several: a token each.",
		On:          map[inputs.Where]string{inputs.OnAzure: "Account the App is installed on. Defaults to the owner of the GitHub repository the pipeline builds; name it when the pipeline builds another source. Several accounts get a token each."}}
	Repositories = inputs.Input{Key: "repositories", Azure: "repositories", Type: inputs.TypeMultiLine,
		Description: "Repositories the token may reach: names or `owner/name`, separated by commas, spaces or newlines; `*` means every repository of the installation. Defaults to the current repository only.",
		On:          map[inputs.Where]string{inputs.OnAzure: "Repositories the token may reach: names or `owner/name`, separated by commas, spaces or newlines; `*` means every repository of the installation. Several accounts' repositories get one token per account. Defaults to the GitHub repository the pipeline builds; name them when it builds another source."}}
	InstallationID = inputs.Input{Key: "installation-id", Azure: "installationId", Type: inputs.TypeString,
		Description: "Installation ID; skips the installation lookup (one request fewer)."}
	APIURL = inputs.Input{Key: "github-api-url", Azure: "githubApiUrl", Label: "GitHub API URL", Type: inputs.TypeString, Advanced: true,
		Description: "GitHub REST API URL, for GitHub Enterprise Server. Defaults to `GITHUB_API_URL` or `https://api.github.com`.",
		On:          map[inputs.Where]string{inputs.OnAzure: "GitHub REST API URL, for GitHub Enterprise Server (`https://HOST/api/v3`). Defaults to the API of the GitHub Enterprise Server the pipeline builds from, else `https://api.github.com`."}}
)

// Outputs only the github provider sets.
const (
	OutInstallationID = "installation-id"
	OutAppSlug        = "app-slug"
)

// Inputs implements provider.Provider.
func (*Provider) Inputs() inputs.Group {
	return inputs.Group{
		Name:  Name,
		Title: "GitHub App",
		Inputs: []inputs.Input{AppID, ClientID, PrivateKey, SigningKey, Owner, Repositories, InstallationID, APIURL,
			cloudid.AzureClientID, cloudid.AzureTenantID, cloudid.AzureServiceConnection, cloudid.AWSRoleARN, cloudid.AWSRegion,
			cloudid.GCPWorkloadIdentityProvider, cloudid.GCPServiceAccount, FederationURL, Policy},
		Outputs: []inputs.Output{
			{Key: OutInstallationID, Azure: "installationId", Description: "github: the installation the token belongs to."},
			{Key: OutAppSlug, Azure: "appSlug", Description: "github: the App's slug."},
			{Key: OutTokens, Azure: "tokens", Secret: true, Description: "github: JSON, account → token (masked)."},
		},
	}
}
