// Package cloudid holds the cloud identities that several providers may
// use without a stored secret — a Microsoft Entra workload identity, an AWS
// role, a Google Cloud workload identity pool — declared once as inputs,
// with their offline checks and the exchange of a CI system's OIDC token
// for the cloud's credential. A provider that uses one lists its inputs
// among its own; the catalog holds each once and shows it for each of those
// providers.
//
// cloudid.go declares the inputs; entra.go, aws.go and gcp.go exchange a
// job's OIDC token (or, at a terminal, a person's own sign-in) for each
// cloud's credential, through the one HTTP client.
package cloudid

import (
	"regexp"

	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// Microsoft Entra workload identity on GitHub Actions. On Azure Pipelines a
// service connection names the identity instead.
var (
	AzureClientID = inputs.Input{Key: "azure-client-id", Azure: "azureClientId", Type: inputs.TypeString, GitHubOnly: true,
		Instead:     []string{"azure-service-connection"},
		Description: "Client ID of the app registration or managed identity trusted for this workflow's OIDC token (needs `id-token: write`)."}
	AzureTenantID = inputs.Input{Key: "azure-tenant-id", Azure: "azureTenantId", Type: inputs.TypeString, GitHubOnly: true,
		Instead:     []string{"azure-service-connection"},
		Description: "Microsoft Entra tenant ID for workload identity."}
	// AzureServiceConnection names the identity on Azure Pipelines.
	AzureServiceConnection = inputs.Input{Key: "azure-service-connection", Azure: "azureServiceConnection", Type: inputs.TypeAzureRM, AzureOnly: true,
		Instead:     []string{AzureClientID.Key, AzureTenantID.Key},
		Description: "Azure Resource Manager service connection with workload identity federation: azure-devops `entra`; github's KMS `signing-key` (its OIDC token also serves AWS and Google Cloud)."}
)

// AWS: a role that trusts the CI system's OIDC token.
var (
	AWSRoleARN = inputs.Input{Key: "aws-role-arn", Azure: "awsRoleArn", Label: "AWS role ARN", Type: inputs.TypeString,
		Description: "IAM role assumed with the job's OIDC token (needs `id-token: write`) to sign with an `awskms://` key.",
		On: map[inputs.Where]string{
			inputs.OnAzure: "IAM role assumed with the service connection's OIDC token to sign with an `awskms://` key.",
			inputs.OnCLI:   "Leave empty by hand: jobtoken signs with your AWS credentials (environment, AWS_WEB_IDENTITY_TOKEN_FILE, or a profile's keys).",
		}}
	AWSRegion = inputs.Input{Key: "aws-region", Azure: "awsRegion", Label: "AWS region", Type: inputs.TypeString,
		Description: "Region of an `awskms://` key not named by its ARN. Defaults to `AWS_REGION`."}
)

// Google Cloud: a workload identity pool provider that trusts the CI
// system's OIDC token, and optionally a service account to act as.
var (
	GCPWorkloadIdentityProvider = inputs.Input{Key: "gcp-workload-identity-provider", Azure: "gcpWorkloadIdentityProvider", Label: "Google Cloud workload identity provider", Type: inputs.TypeString,
		Description: "Workload identity pool provider trusting the job's OIDC token, for a `gcpkms://` key: `projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<id>`.",
		On: map[inputs.Where]string{
			inputs.OnCLI: "Leave empty by hand: jobtoken signs with your Application Default Credentials.",
		}}
	GCPServiceAccount = inputs.Input{Key: "gcp-service-account", Azure: "gcpServiceAccount", Label: "Google Cloud service account", Type: inputs.TypeString,
		Description: "Service account to impersonate after the exchange; empty signs as the federated identity."}
)

var (
	guidRE   = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
	tenantRE = regexp.MustCompile(`^[A-Za-z0-9.-]+$`)
)

// Entra is a Microsoft Entra workload identity: an application (or managed
// identity) in a tenant that trusts the job's OIDC token.
type Entra struct {
	ClientID string
	TenantID string
}

// ParseEntra reads azure-client-id and azure-tenant-id, checked offline;
// values only known at run time are taken as they come. what names what
// needs them in the messages ("azure-credential: entra").
func ParseEntra(v inputs.Values, what string) (Entra, inputs.Problems) {
	var ps inputs.Problems
	e := Entra{ClientID: v.Get(AzureClientID), TenantID: v.Get(AzureTenantID)}
	switch {
	case e.ClientID == "":
		ps.Add(AzureClientID, "is required for %s; set it to the client ID of the app registration or managed identity that trusts this workflow", what)
	case v.Known(AzureClientID) && !guidRE.MatchString(e.ClientID):
		ps.Add(AzureClientID, "%q is not a client ID (a GUID); copy the Application (client) ID", e.ClientID)
	}
	switch {
	case e.TenantID == "":
		ps.Add(AzureTenantID, "is required for %s; set it to the Microsoft Entra tenant ID", what)
	case v.Known(AzureTenantID) && !tenantRE.MatchString(e.TenantID):
		ps.Add(AzureTenantID, "%q is not a tenant ID; use the Directory (tenant) ID GUID", e.TenantID)
	}
	return e, ps
}
