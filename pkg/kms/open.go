package kms

import (
	"context"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/jobtoken/jobtoken/pkg/kms/azurekv"
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
	default:
		return nil, fmt.Errorf("%s: signing with %s keys is not built into this jobtoken", key, key.Cloud)
	}
	if err != nil {
		return nil, err
	}
	return NewSigner(ctx, key, b)
}
