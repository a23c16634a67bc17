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
// service itself runs as, which needs no stored secret: Azure's default
// credential (managed identity, Kubernetes workload identity, the
// environment), AWS's (environment keys, a web identity token file as on
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
			return nil, "", fmt.Errorf("github.signing_key %s: failed to find an Azure identity: %s", key, cloudid.EntraText(err.Error()))
		}
		c.Azure, who = cred, "the service's Azure identity (workload identity, else managed identity)"
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

// azureIdentity is what a server on Azure has: workload identity (AKS,
// when AZURE_FEDERATED_TOKEN_FILE is set), else its managed identity
// (Container Apps, App Service, VMs). Not DefaultAzureCredential: a
// developer's CLI sign-in or a client secret in the environment have no
// place in a service, and they would cost the binary their code.
func azureIdentity(hc *http.Client) (azcore.TokenCredential, error) {
	opts := policy.ClientOptions{Transport: hc}
	var chain []azcore.TokenCredential
	if wi, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{ClientOptions: opts}); err == nil {
		chain = append(chain, wi)
	}
	mi, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts})
	if err != nil {
		return nil, err
	}
	chain = append(chain, mi)
	return azidentity.NewChainedTokenCredential(chain, nil)
}
