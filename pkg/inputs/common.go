package inputs

// The inputs every provider reads. The provider input's options and
// description are the registered providers' names, filled in by NewCatalog.
var (
	Provider = Input{Key: "provider", Azure: "provider", Type: TypePickList, Required: true}
	// Permissions' exception (left empty with azure-credential: entra) is the
	// azure-devops provider's Group.Optional.
	Permissions = Input{Key: "permissions", Azure: "permissions", Type: TypeMultiLine, Required: true,
		Description: "What the token may do, separated by commas, spaces or newlines. github: `contents:read, pull-requests:write`; azure-devops: `vso.code vso.packaging_write`; anaconda: `api:read conda:download`. Required: there is no \"inherit everything\" (leave it empty only with `azure-credential: entra`, whose token cannot be narrowed)."}
	Lifetime = Input{Key: "lifetime", Azure: "lifetime", Type: TypeString, Default: "1h",
		Description: "How long the token lives, as a Go duration such as `30m`. azure-devops: the PAT's validTo; anaconda: its max-age (at most `24h`); github: at most `1h`, the life GitHub gives every installation token (the post step revokes it sooner)."}
	Revoke = Input{Key: "revoke", Azure: "revoke", Type: TypeBool, Default: "true", Advanced: true,
		Description: "Revoke the token in the post step, when the job ends.",
		On:          map[Where]string{OnAzure: "Revoke the token in the post-job step, when the job ends."}}
	ExportEnv = Input{Key: "export-env", Azure: "exportEnv", Type: TypeString,
		Description: "Also export the token as this environment variable for later steps, e.g. `GH_TOKEN`, `AZURE_DEVOPS_EXT_PAT`, `ANACONDA_API_TOKEN`.",
		On: map[Where]string{
			OnAzure: "Also set the token as this secret variable for later steps, e.g. `GH_TOKEN`, `AZURE_DEVOPS_EXT_PAT`, `ANACONDA_API_TOKEN`. A script sees it only when its step maps it: `env: { GH_TOKEN: $(GH_TOKEN) }`.",
			OnCLI:   "A CI step exports the token as this environment variable; jobtoken mint cannot set its shell's variables and says how to (NAME=\"$(jobtoken mint …)\").",
		}}
	AllowBroadScopes = Input{Key: "allow-broad-scopes", Azure: "allowBroadScopes", Type: TypeBool, Default: "false", Advanced: true,
		Description: "Permit full-access scopes (azure-devops `app_token`, anaconda `all` and `api`) and anaconda lifetimes past `24h`."}
	DryRun = Input{Key: "dry-run", Azure: "dryRun", Type: TypeBool, Default: "false", Advanced: true,
		Description: "Validate the inputs and print the plan; mint nothing."}
)

// The job broker's inputs (refresh: true): tokens kept fresh for as long
// as the job runs, and git's credential helper.
var (
	Refresh = Input{Key: "refresh", Azure: "refresh", Type: TypeBool, Default: "false",
		Description: "github: a broker re-mints the token before it expires, all job long."}
	RefreshUntil = Input{Key: "refresh-until", Azure: "refreshUntil", Type: TypeString, Default: "6h", Advanced: true,
		Description: "How long the broker refreshes."}
	GitCredentials = Input{Key: "git-credentials", Azure: "gitCredentials", Type: TypeBool, Default: "false",
		Description: "github: later steps' git gets each account's current token."}
)

// Common lists the common inputs in the order they are documented.
func Common() []Input {
	return []Input{Provider, Permissions, Lifetime, Revoke, ExportEnv, AllowBroadScopes, DryRun, Refresh, RefreshUntil, GitCredentials}
}

// Output keys every provider sets.
const (
	OutToken       = "token"
	OutExpiresAt   = "expires-at"
	OutTokenID     = "token-id"
	OutPermissions = "permissions"
)

// CommonOutputs lists the outputs every provider sets, in documented order.
func CommonOutputs() []Output {
	return []Output{
		{Key: OutToken, Azure: "token", Secret: true, Description: "The minted token (masked)."},
		{Key: OutExpiresAt, Azure: "expiresAt", Description: "When the token expires (RFC 3339)."},
		{Key: OutTokenID, Azure: "tokenId", Description: "Non-secret identifier: PAT authorizationId, anaconda token note, or for github `sha256:` + the first 12 hex digits of the token's SHA-256."},
		{Key: OutPermissions, Azure: "permissions", Description: "What was granted, as the provider said it."},
	}
}
