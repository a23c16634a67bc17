package kms

import (
	"context"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/oauth2"

	"github.com/jobtoken/jobtoken/pkg/kms/awskms"
	"github.com/jobtoken/jobtoken/pkg/kms/azurekv"
	"github.com/jobtoken/jobtoken/pkg/kms/gcpkms"
)

// Credentials reach each cloud's KMS; Open uses the key's cloud's only.
// Package cloudid makes them from a CI job's OIDC token, or from each
// cloud's default chain at a terminal or on a server.
type Credentials struct {
	// HTTP is the client every call goes through (package network).
	HTTP *http.Client
	// Azure is a Microsoft Entra credential (a workload identity exchange,
	// the Azure CLI's sign-in).
	Azure azcore.TokenCredential
	// AWS are AWS credentials (a role assumed with an OIDC token, the
	// environment's or a profile's keys), AWSRegion the region requests are
	// signed for (a key ARN's region wins), and AWSEndpoint KMS's endpoint
	// ("" for the region's; the key URI's endpoint wins).
	AWS         aws.CredentialsProvider
	AWSRegion   string
	AWSEndpoint string
	// GCP is a Google Cloud access token source (workload identity
	// federation, Application Default Credentials), GCPEndpoint Cloud KMS's
	// endpoint ("" for Google's).
	GCP         oauth2.TokenSource
	GCPEndpoint string
}

// Open opens key as a Signer with the credentials of its cloud: it fetches
// and checks the public key (NewSigner). ctx bounds every later Sign too.
func Open(ctx context.Context, key Key, c Credentials) (*Signer, error) {
	var b Backend
	var err error
	switch key.Cloud {
	case Azure:
		if c.Azure == nil {
			return nil, fmt.Errorf("%s needs a Microsoft Entra credential", key)
		}
		b, err = azurekv.New(key.VaultURL, key.Name, key.Version, c.Azure, c.HTTP)
	case AWS:
		if c.AWS == nil {
			return nil, fmt.Errorf("%s needs AWS credentials", key)
		}
		region := key.Region
		if region == "" {
			region = c.AWSRegion
		}
		if region == "" {
			return nil, fmt.Errorf("%s needs a region: name the key by its ARN, or give the region", key)
		}
		endpoint := key.Endpoint
		if endpoint == "" {
			endpoint = c.AWSEndpoint
		}
		if endpoint == "" {
			endpoint = awskms.Endpoint(region)
		}
		b = awskms.New(endpoint, region, key.KeyID, c.AWS, c.HTTP)
	case GCP:
		if c.GCP == nil {
			return nil, fmt.Errorf("%s needs Google Cloud credentials", key)
		}
		b = gcpkms.New(c.GCPEndpoint, key.Resource, c.GCP, c.HTTP)
	default:
		return nil, fmt.Errorf("%s: signing with %s keys is not built into this jobtoken", key, key.Cloud)
	}
	if err != nil {
		return nil, err
	}
	return NewSigner(ctx, key, b)
}
