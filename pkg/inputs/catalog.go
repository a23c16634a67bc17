// Package inputs is the one catalog of jobtoken's inputs and outputs. Everything
// that names an input — action.yml, task.json, CLI flags, help text and error
// messages — is derived from it so that they cannot drift apart.
package inputs

// Groups of inputs; one per provider plus the common ones.
const (
	GroupCommon      = "common"
	GroupGitHub      = "github"
	GroupAzureDevOps = "azure-devops"
	GroupAnaconda    = "anaconda"
)

// Kinds of input value.
const (
	KindString    = "string"
	KindBool      = "boolean"
	KindMultiLine = "multiLine"
	KindPickList  = "pickList"
	KindAzureRM   = "connectedService:AzureRM"
)

// Where an input's description is shown.
const (
	HostGitHub = "github" // action.yml and the README's table
	HostAzure  = "azure"  // task.json, in the pipeline editor and the Marketplace
	HostCLI    = "cli"    // jobtoken COMMAND --help
)

// Input describes one input. Key is the GitHub (kebab-case) name and is what the
// code uses everywhere; the Azure name is its camelCase twin.
type Input struct {
	Key      string
	Azure    string // camelCase name on Azure Pipelines
	Kind     string
	Options  []string // for pick lists
	Default  string
	Required bool
	// RequiredUnless is the one case where a required input must stay
	// empty (permissions with azure-credential: entra). Hosts that cannot
	// say so do not mark the input required.
	RequiredUnless *Unless
	Secret         bool   // a credential: masked, refused when given literally in a workflow file
	Group          string // provider the input belongs to, or GroupCommon
	// Advanced inputs rarely need a value: task.json shows them in a
	// collapsed group.
	Advanced    bool
	GitHubOnly  bool
	AzureOnly   bool
	Description string
	// On replaces Description on the hosts it names (HostAzure…), where
	// Description would not make sense: a default only one host has, an
	// example that does not apply there.
	On map[string]string
}

// Unless is another input's value: provider, input key, value.
type Unless struct{ Provider, Key, Value string }

// RequiredOn reports whether host's metadata marks in required. An input
// required with an exception is marked so only in task.json, whose editor
// hides it (and so does not demand it) in that case; the GitHub runner would
// demand it even there should it ever enforce required inputs, so action.yml
// says so in the description instead.
func RequiredOn(in Input, host string) bool {
	if in.RequiredUnless != nil {
		return host == HostAzure
	}
	return in.Required
}

// DescriptionFor returns in's description as host shows it: its variant for
// host, if any; on Azure, with input names spelt the Azure way.
func DescriptionFor(in Input, host string) string {
	d := in.Description
	if v, ok := in.On[host]; ok {
		d = v
	}
	if host == HostAzure {
		d = AzureText(d)
	}
	return d
}

// Input keys, so that code never spells an input by hand.
const (
	Provider               = "provider"
	Permissions            = "permissions"
	Lifetime               = "lifetime"
	Revoke                 = "revoke"
	ExportEnv              = "export-env"
	AllowBroadScopes       = "allow-broad-scopes"
	DryRun                 = "dry-run"
	AppID                  = "app-id"
	ClientID               = "client-id"
	PrivateKey             = "private-key"
	Owner                  = "owner"
	Repositories           = "repositories"
	InstallationID         = "installation-id"
	GitHubAPIURL           = "github-api-url"
	AzureOrganization      = "azure-devops-organization"
	AzureAPIURL            = "azure-devops-api-url"
	AzureCredential        = "azure-credential"
	AzureAccessToken       = "azure-access-token"
	AzureClientID          = "azure-client-id"
	AzureTenantID          = "azure-tenant-id"
	AzureServiceConnection = "azure-service-connection"
	AnacondaAPIURL         = "anaconda-api-url"
	AnacondaCredential     = "anaconda-credential"
	AnacondaOrganization   = "anaconda-organization"
)

// Catalog lists every input in the order it is documented.
var Catalog = []Input{
	{Key: Provider, Azure: "provider", Kind: KindPickList, Options: []string{"github", "azure-devops", "anaconda"}, Required: true, Group: GroupCommon,
		Description: "Which provider's token: `github`, `azure-devops` or `anaconda`."},
	{Key: Permissions, Azure: "permissions", Kind: KindMultiLine, Group: GroupCommon, Required: true,
		RequiredUnless: &Unless{Provider: GroupAzureDevOps, Key: AzureCredential, Value: "entra"},
		Description:    "What the token may do, separated by commas, spaces or newlines. github: `contents:read, pull-requests:write`; azure-devops: `vso.code vso.packaging_write`; anaconda: `api:read conda:download`. Required: there is no \"inherit everything\" (leave it empty only with `azure-credential: entra`, whose token cannot be narrowed)."},
	{Key: Lifetime, Azure: "lifetime", Kind: KindString, Default: "1h", Group: GroupCommon,
		Description: "How long the token lives, as a Go duration such as `30m`. azure-devops: the PAT's validTo; anaconda: its max-age (at most `24h`); github: at most `1h`, the life GitHub gives every installation token (the post step revokes it sooner)."},
	{Key: Revoke, Azure: "revoke", Kind: KindBool, Default: "true", Group: GroupCommon, Advanced: true,
		Description: "Revoke the token in the post step, when the job ends.",
		On:          map[string]string{HostAzure: "Revoke the token in the post-job step, when the job ends."}},
	{Key: ExportEnv, Azure: "exportEnv", Kind: KindString, Group: GroupCommon,
		Description: "Also export the token as this environment variable for later steps, e.g. `GH_TOKEN`, `AZURE_DEVOPS_EXT_PAT`, `ANACONDA_API_TOKEN`.",
		On: map[string]string{
			HostAzure: "Also set the token as this secret variable for later steps, e.g. `GH_TOKEN`, `AZURE_DEVOPS_EXT_PAT`, `ANACONDA_API_TOKEN`. A script sees it only when its step maps it: `env: { GH_TOKEN: $(GH_TOKEN) }`.",
			HostCLI:   "A CI step exports the token as this environment variable; jobtoken mint cannot set its shell's variables and says how to (NAME=\"$(jobtoken mint …)\").",
		}},
	{Key: AllowBroadScopes, Azure: "allowBroadScopes", Kind: KindBool, Default: "false", Group: GroupCommon, Advanced: true,
		Description: "Permit full-access scopes (azure-devops `app_token`, anaconda `all` and `api`) and anaconda lifetimes past `24h`."},
	{Key: DryRun, Azure: "dryRun", Kind: KindBool, Default: "false", Group: GroupCommon, Advanced: true,
		Description: "Validate the inputs and print the plan; mint nothing."},

	{Key: AppID, Azure: "appId", Kind: KindString, Group: GroupGitHub,
		Description: "GitHub App ID (a number). Either this or `client-id` (preferred) is the JWT issuer."},
	{Key: ClientID, Azure: "clientId", Kind: KindString, Group: GroupGitHub,
		Description: "GitHub App client ID (`Iv1.…` or `Iv23…`, on the App's settings page); preferred over `app-id`."},
	{Key: PrivateKey, Azure: "privateKey", Kind: KindMultiLine, Secret: true, Group: GroupGitHub,
		Description: "GitHub App private key: the .pem file GitHub generated (PKCS#1 or PKCS#8); literal `\\n` escapes and base64-wrapped PEM are accepted."},
	{Key: Owner, Azure: "owner", Kind: KindString, Group: GroupGitHub,
		Description: "Account the App is installed on. Defaults to the current repository's owner.",
		On:          map[string]string{HostAzure: "Account the App is installed on. Defaults to the owner of the GitHub repository the pipeline builds; name it when the pipeline builds another source."}},
	{Key: Repositories, Azure: "repositories", Kind: KindMultiLine, Group: GroupGitHub,
		Description: "Repositories the token may reach: names or `owner/name`, separated by commas, spaces or newlines; `*` means every repository of the installation. Defaults to the current repository only.",
		On:          map[string]string{HostAzure: "Repositories the token may reach: names or `owner/name`, separated by commas, spaces or newlines; `*` means every repository of the installation. Defaults to the GitHub repository the pipeline builds; name them when it builds another source."}},
	{Key: InstallationID, Azure: "installationId", Kind: KindString, Group: GroupGitHub,
		Description: "Installation ID; skips the installation lookup (one request fewer)."},
	{Key: GitHubAPIURL, Azure: "githubApiUrl", Kind: KindString, Group: GroupGitHub, Advanced: true,
		Description: "GitHub REST API URL, for GitHub Enterprise Server. Defaults to `GITHUB_API_URL` or `https://api.github.com`.",
		On:          map[string]string{HostAzure: "GitHub REST API URL, for GitHub Enterprise Server (`https://HOST/api/v3`). Defaults to the API of the GitHub Enterprise Server the pipeline builds from, else `https://api.github.com`."}},

	{Key: AzureOrganization, Azure: "azureDevOpsOrganization", Kind: KindString, Group: GroupAzureDevOps,
		Description: "Azure DevOps organization: a name or a `https://dev.azure.com/{org}` URL.",
		On:          map[string]string{HostAzure: "Azure DevOps organization: a name or a `https://dev.azure.com/{org}` URL. Defaults to the pipeline's own organization."}},
	{Key: AzureAPIURL, Azure: "azureDevOpsApiUrl", Kind: KindString, Default: "https://vssps.dev.azure.com", Group: GroupAzureDevOps, Advanced: true,
		Description: "PAT lifecycle API host (sovereign clouds, tests)."},
	{Key: AzureCredential, Azure: "azureCredential", Kind: KindPickList, Options: []string{"pat", "entra"}, Default: "pat", Group: GroupAzureDevOps,
		Description: "`pat`: mint a scoped, revocable PAT from an Entra user token; `entra`: a service principal's Entra token through workload identity (cannot be narrowed or revoked)."},
	{Key: AzureAccessToken, Azure: "azureAccessToken", Kind: KindString, Secret: true, Group: GroupAzureDevOps,
		Description: "Microsoft Entra **user** access token for Azure DevOps, the parent of a PAT, fetched in the step before (e.g. `az account get-access-token --resource 499b84ac-1321-427f-aa17-267ca6975798`): it lives about an hour, so a stored one has expired.",
		On:          map[string]string{HostCLI: "Microsoft Entra **user** access token for Azure DevOps, the parent of a PAT; without it, your `az login`'s (a user's, not a service principal's)."}},
	{Key: AzureClientID, Azure: "azureClientId", Kind: KindString, Group: GroupAzureDevOps, GitHubOnly: true,
		Description: "Client ID of the app registration or managed identity trusted for this workflow's OIDC token (needs `id-token: write`)."},
	{Key: AzureTenantID, Azure: "azureTenantId", Kind: KindString, Group: GroupAzureDevOps, GitHubOnly: true,
		Description: "Microsoft Entra tenant ID for workload identity."},
	{Key: AzureServiceConnection, Azure: "azureServiceConnection", Kind: KindAzureRM, Group: GroupAzureDevOps, AzureOnly: true,
		Description: "Azure Resource Manager service connection that uses workload identity federation."},

	{Key: AnacondaAPIURL, Azure: "anacondaApiUrl", Kind: KindString, Default: "https://api.anaconda.org", Group: GroupAnaconda, Advanced: true,
		Description: "anaconda.org API URL."},
	{Key: AnacondaCredential, Azure: "anacondaCredential", Kind: KindString, Secret: true, Group: GroupAnaconda,
		Description: "Parent credential: an anaconda.com API key (sent as `Bearer`) or an anaconda.org token (sent as `token`)."},
	{Key: AnacondaOrganization, Azure: "anacondaOrganization", Kind: KindString, Group: GroupAnaconda,
		Description: "Organization that owns the minted token; defaults to the parent credential's user."},
}

// Output describes one output.
type Output struct {
	Key         string
	Azure       string
	Secret      bool
	Description string
}

// Output keys.
const (
	OutToken          = "token"
	OutExpiresAt      = "expires-at"
	OutTokenID        = "token-id"
	OutPermissions    = "permissions"
	OutInstallationID = "installation-id"
	OutAppSlug        = "app-slug"
)

// Outputs lists every output in the order it is documented.
var Outputs = []Output{
	{Key: OutToken, Azure: "token", Secret: true, Description: "The minted token (masked)."},
	{Key: OutExpiresAt, Azure: "expiresAt", Description: "When the token expires (RFC 3339)."},
	{Key: OutTokenID, Azure: "tokenId", Description: "Non-secret identifier: PAT authorizationId, anaconda token note, or for github `sha256:` + the first 12 hex digits of the token's SHA-256."},
	{Key: OutPermissions, Azure: "permissions", Description: "What was granted, as the provider said it."},
	{Key: OutInstallationID, Azure: "installationId", Description: "github: the installation the token belongs to."},
	{Key: OutAppSlug, Azure: "appSlug", Description: "github: the App's slug."},
}

// Lookup returns the catalog entry for key.
func Lookup(key string) (Input, bool) {
	for _, in := range Catalog {
		if in.Key == key {
			return in, true
		}
	}
	return Input{}, false
}

// OutputByKey returns the output entry for key.
func OutputByKey(key string) (Output, bool) {
	for _, o := range Outputs {
		if o.Key == key {
			return o, true
		}
	}
	return Output{}, false
}
