package serve

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/jobtoken/jobtoken/pkg/kms"
	"github.com/jobtoken/jobtoken/pkg/kms/awskms"
	"github.com/jobtoken/jobtoken/pkg/kms/gcpkms"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/cloudid"
)

// openSigningKey opens github.signing_key with the cloud identity the
// service itself runs as, which needs no stored secret: Azure's workload
// identity (AKS), AWS's (environment keys, a web identity token file as on
// EKS, a shared credentials file), Google's Application Default
// Credentials (the metadata server on Cloud Run and GKE). The key's public
// key is read and checked once, here; every signature is verified before
// use (package kms). The signer lives as long as the service.
func openSigningKey(ctx context.Context, key kms.Key, hc *http.Client, getenv func(string) string, now func() time.Time, redact func(...string)) (*kms.Signer, string, error) {
	c := kms.Credentials{HTTP: hc}
	var who string
	switch key.Cloud {
	case kms.Azure:
		cred, err := azureIdentity(hc)
		if err != nil {
			return nil, "", fmt.Errorf("github.signing_key %s: %s", key, cloudid.EntraText(err.Error()))
		}
		c.Azure, who = cred, "the service's Azure workload identity"
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
		ts, err := cloudid.GCPDefault(ctx, hc, redact)
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

// azureIdentity is what a server on Azure uses: workload identity (AKS,
// AZURE_FEDERATED_TOKEN_FILE and its companions set by the webhook). Not
// DefaultAzureCredential: a developer's CLI sign-in or a client secret in
// the environment have no place in a service. Not managed identity either:
// it costs the CLI binary 90 KB, which the 12 MiB budget of the largest
// download (windows-x64) does not have; elsewhere, mount the key file.
func azureIdentity(hc *http.Client) (azcore.TokenCredential, error) {
	opts := policy.ClientOptions{Transport: hc}
	wi, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{ClientOptions: opts})
	if err != nil {
		return nil, fmt.Errorf("an azurekms:// key needs workload identity (AKS: AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE); elsewhere on Azure, use private_key_file from a secret mount: %w", err)
	}
	return wi, nil
}
