package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/jobtoken/jobtoken/pkg/kms"
	"github.com/jobtoken/jobtoken/pkg/kms/awskms"
	"github.com/jobtoken/jobtoken/pkg/kms/gcpkms"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
	"github.com/jobtoken/jobtoken/pkg/provider/cloudid"
)

// openSigningKey opens github.signing_key with the cloud identity the
// service itself runs as, which needs no stored secret: Azure's workload
// identity (AKS), AWS's (environment keys, a web identity token file as on
// EKS, a shared credentials file), Google's Application Default
// Credentials (the metadata server on Cloud Run and GKE, a credential file).
// Every setting is read through getenv. The key's public
// key is read and checked once, here; every signature is verified before
// use (package kms). The signer lives as long as the service.
func openSigningKey(ctx context.Context, key kms.Key, hc *http.Client, getenv func(string) string, now func() time.Time, redact func(...string)) (*kms.Signer, string, error) {
	c := kms.Credentials{HTTP: hc}
	var who string
	switch key.Cloud {
	case kms.Azure:
		cred, desc, err := azureIdentity(getenv, hc, redact)
		if err != nil {
			return nil, "", fmt.Errorf("github.signing_key %s: %w", key, err)
		}
		c.Azure, who = cred, desc
	case kms.AWS:
		region := key.Region
		for _, env := range []string{cloudid.EnvAWSRegion, cloudid.EnvAWSDefaultRegion} {
			if region == "" {
				region = getenv(env)
			}
		}
		if region == "" {
			return nil, "", fmt.Errorf("github.signing_key %s names no region: name the key by its ARN, or set %s", key, cloudid.EnvAWSRegion)
		}
		creds, desc, err := cloudid.AWSDefault(getenv, region, hc, redact, now)
		if err != nil {
			return nil, "", fmt.Errorf("github.signing_key %s: %w", key, err)
		}
		c.AWS, c.AWSRegion, c.AWSEndpoint, who = creds, region, getenv(cloudid.EnvAWSEndpointKMS), desc
		if key.Endpoint == "" && c.AWSEndpoint != "" {
			if msg := provider.APIURLProblem(c.AWSEndpoint, awskms.Endpoint(region)); msg != "" {
				return nil, "", fmt.Errorf("github.signing_key %s: %s %s", key, cloudid.EnvAWSEndpointKMS, msg)
			}
		}
	case kms.GCP:
		c.GCPEndpoint = cloudid.GCPEndpoint(getenv, cloudid.EnvGCPKMSEndpoint, gcpkms.DefaultEndpoint)
		if msg := provider.APIURLProblem(c.GCPEndpoint, gcpkms.DefaultEndpoint); msg != "" {
			return nil, "", fmt.Errorf("github.signing_key %s: %s %s", key, cloudid.EnvGCPKMSEndpoint, msg)
		}
		ts, err := cloudid.GCPDefault(ctx, getenv, hc, redact)
		if err != nil {
			return nil, "", fmt.Errorf("github.signing_key %s: %w", key, err)
		}
		c.GCP, who = ts, "the service's Application Default Credentials"
	}
	s, err := kms.Open(ctx, key, c)
	if err != nil {
		return nil, "", fmt.Errorf("failed to open github.signing_key %s: %w", key, err)
	}
	return s, who, nil
}

// Workload identity's variables, as the AKS webhook sets them.
const (
	envAzureClientID  = "AZURE_CLIENT_ID"
	envAzureTenantID  = "AZURE_TENANT_ID"
	envAzureTokenFile = "AZURE_FEDERATED_TOKEN_FILE"
)

// azureIdentity is what a server on Azure uses: workload identity (AKS,
// AZURE_FEDERATED_TOKEN_FILE and its companions set by the webhook), read
// through getenv as every other setting of the service. Not
// DefaultAzureCredential: a developer's CLI sign-in or a client secret in
// the environment have no place in a service. Not managed identity either:
// it costs the CLI binary 90 KB, which the 12 MiB budget of the largest
// download (windows-x64) does not have; elsewhere, mount the key file.
//
// It is azidentity's ClientAssertionCredential with the token file as the
// assertion, which is what WorkloadIdentityCredential does, but with the
// authority checked and, when it is not the public cloud's, no instance
// discovery (which asks login.microsoftonline.com first), and with the
// file's token and every access token registered for redaction.
func azureIdentity(getenv func(string) string, hc *http.Client, redact func(...string)) (azcore.TokenCredential, string, error) {
	id, tenant, file := getenv(envAzureClientID), getenv(envAzureTenantID), getenv(envAzureTokenFile)
	if id == "" || tenant == "" || file == "" {
		return nil, "", fmt.Errorf("an azurekms:// key needs workload identity (AKS: %s, %s, %s); elsewhere on Azure, use private_key_file from a secret mount", envAzureClientID, envAzureTenantID, envAzureTokenFile)
	}
	authority, custom, problem := cloudid.EntraAuthority(getenv, "workload identity")
	if problem != "" {
		return nil, "", errors.New(problem)
	}
	assertion := func(context.Context) (string, error) {
		tok, err := cloudid.TokenFile(envAzureTokenFile, file)
		if tok != "" {
			redact(tok)
		}
		return tok, err
	}
	cred, err := azidentity.NewClientAssertionCredential(tenant, id, assertion, &azidentity.ClientAssertionCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: authority},
			Transport: hc,
			// The one client already retries.
			Retry: policy.RetryOptions{MaxRetries: -1},
		},
		DisableInstanceDiscovery: custom,
	})
	if err != nil {
		return nil, "", fmt.Errorf("failed to set up workload identity: %s", cloudid.EntraText(err.Error()))
	}
	return entraIdentity{cred: cred, redact: redact}, fmt.Sprintf("the service's Azure workload identity (client %s, tenant %s)", id, tenant), nil
}

// entraIdentity registers every access token for redaction and explains
// Entra's refusals, never echoing its answer.
type entraIdentity struct {
	cred   azcore.TokenCredential
	redact func(...string)
}

func (e entraIdentity) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := e.cred.GetToken(ctx, opts)
	if err != nil {
		return tok, fmt.Errorf("failed to exchange %s with Microsoft Entra: %w", envAzureTokenFile, cloudid.EntraError(err, entraAnswers))
	}
	e.redact(tok.Token)
	return tok, nil
}

// entraAnswers explain the AADSTS codes a workload identity exchange meets
// (Microsoft Entra's error code reference), for a service on AKS.
var entraAnswers = []apierror.Known{
	{Text: "AADSTS70021", Explain: func(*apierror.Error) (string, string) {
		return "the identity " + envAzureClientID + " names has no federated credential for the service's Kubernetes service account",
			"add one with the cluster's OIDC issuer (az aks show --query oidcIssuerProfile.issuerUrl), subject system:serviceaccount:<namespace>:<name> and audience " + cloudid.EntraAudience
	}},
	{Text: "AADSTS700016", Explain: func(*apierror.Error) (string, string) {
		return "no application with this client ID exists in the tenant", "check " + envAzureClientID + " (the service account's azure.workload.identity/client-id annotation) and " + envAzureTenantID
	}},
	{Text: "AADSTS90002", Explain: func(*apierror.Error) (string, string) {
		return "the tenant does not exist", "check " + envAzureTenantID
	}},
	{Text: "AADSTS700024", Explain: func(*apierror.Error) (string, string) {
		return "the service account token is outside its valid time range", "check that the kubelet refreshes " + envAzureTokenFile + " and that the node's clock is right"
	}},
	{Text: "AADSTS50027", Explain: func(*apierror.Error) (string, string) {
		return "Entra could not verify the service account token with the federated credential's issuer", "set its issuer to the cluster's OIDC issuer URL"
	}},
}
