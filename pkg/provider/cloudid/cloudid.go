// Package cloudid holds the cloud identity inputs that several providers
// may use (a workload identity on GitHub Actions), declared once, with their
// checks. A provider that uses one lists it among its own inputs; the
// catalog holds it once and shows it for each of those providers.
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
