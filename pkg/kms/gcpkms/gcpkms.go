// Package gcpkms is a Google Cloud KMS key version as a kms.Backend:
// getPublicKey, and asymmetricSign with a SHA-256 digest.
//
// Google's KMS client library would add about 7 MB to every binary, so the
// two calls are made as the Cloud KMS REST reference documents them, with
// an access token from Google's auth library (golang.org/x/oauth2).
package gcpkms

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/jobtoken/jobtoken/pkg/provider/api"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// Service is who answers, as errors name it.
const Service = "Google Cloud KMS"

// DefaultEndpoint is Cloud KMS's REST endpoint.
const DefaultEndpoint = "https://cloudkms.googleapis.com"

// Algorithms that sign RS256 (RSASSA-PKCS1-v1_5 with SHA-256).
var rs256 = map[string]bool{
	"RSA_SIGN_PKCS1_2048_SHA256": true, "RSA_SIGN_PKCS1_3072_SHA256": true, "RSA_SIGN_PKCS1_4096_SHA256": true,
}

// Key is one key version.
type Key struct {
	endpoint string
	name     string // projects/…/cryptoKeyVersions/…
	ts       oauth2.TokenSource
	hc       *http.Client
}

// New returns the key version name at endpoint (DefaultEndpoint unless
// overridden), authenticated by ts, calling through hc.
func New(endpoint, name string, ts oauth2.TokenSource, hc *http.Client) *Key {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	return &Key{endpoint: strings.TrimRight(endpoint, "/"), name: name, ts: ts, hc: hc}
}

// PublicKey implements kms.Backend: getPublicKey, refusing an algorithm
// other than RSASSA-PKCS1-v1_5 SHA-256.
func (k *Key) PublicKey(ctx context.Context) (crypto.PublicKey, error) {
	var out struct {
		PEM       string `json:"pem"`
		Algorithm string `json:"algorithm"`
		PEMCRC    string `json:"pemCrc32c"`
	}
	if err := k.call(ctx, http.MethodGet, "/v1/"+k.name+"/publicKey", nil, &out); err != nil {
		return nil, fmt.Errorf("failed to read the key: %w", explain(err, "cloudkms.cryptoKeyVersions.viewPublicKey"))
	}
	if !rs256[out.Algorithm] {
		return nil, fmt.Errorf("key version %s signs with %s; GitHub Apps need RSASSA-PKCS1-v1_5 with SHA-256: import the App's key into a key whose algorithm is RSA_SIGN_PKCS1_2048_SHA256", k.name, out.Algorithm)
	}
	if out.PEMCRC != "" && out.PEMCRC != fmt.Sprint(crc32c([]byte(out.PEM))) {
		return nil, errors.New("failed to read the key: the public key's checksum does not match (corrupted in transit)")
	}
	block, _ := pem.Decode([]byte(out.PEM))
	if block == nil {
		return nil, errors.New("failed to read the key: Google Cloud KMS's answer holds no PEM public key")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, errors.New("failed to read the key: Google Cloud KMS's public key is not a SubjectPublicKeyInfo")
	}
	return pub, nil
}

// SignDigest implements kms.Backend: asymmetricSign with digest.sha256 and
// its CRC32C, whose check Cloud KMS reports back.
func (k *Key) SignDigest(ctx context.Context, digest []byte) ([]byte, error) {
	in := map[string]any{"digest": map[string]any{"sha256": digest}, "digestCrc32c": fmt.Sprint(crc32c(digest))}
	var out struct {
		Signature            []byte `json:"signature"`
		VerifiedDigestCrc32c bool   `json:"verifiedDigestCrc32c"`
	}
	if err := k.call(ctx, http.MethodPost, "/v1/"+k.name+":asymmetricSign", in, &out); err != nil {
		return nil, fmt.Errorf("failed to sign: %w", explain(err, "cloudkms.cryptoKeyVersions.useToSign"))
	}
	if len(out.Signature) == 0 || !out.VerifiedDigestCrc32c {
		return nil, errors.New("failed to sign: Google Cloud KMS's answer holds no signature of the digest sent")
	}
	return out.Signature, nil
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }

func (k *Key) call(ctx context.Context, method, path string, in, out any) error {
	tok, err := k.ts.Token()
	if err != nil {
		return err
	}
	req, err := api.NewRequest(ctx, method, k.endpoint+path, "Bearer "+tok.AccessToken, in)
	if err != nil {
		return err
	}
	svc := api.Service{Name: Service, HTTP: k.hc, Refusal: refusal}
	_, err = svc.Do(req, out, http.StatusOK)
	return err
}

// refusal reads Google's {"error": {"code", "message", "status"}}.
func refusal(resp *http.Response, body []byte) error {
	var b struct {
		Error struct {
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &b)
	e := apierror.New(Service, resp.StatusCode, b.Error.Message)
	e.Code = b.Error.Status
	return e
}

// explain adds the cause and fix for the refusals a signer meets; the
// token source's own errors are already explained.
func explain(err error, permission string) error {
	return apierror.ExplainCodes(err, Service, []apierror.Reason{
		{Code: "PERMISSION_DENIED", Cause: "the identity may not use this key version", Fix: "grant it roles/cloudkms.signerVerifier on the key (it holds " + permission + ")"},
		{Code: "NOT_FOUND", Cause: "no such key version", Fix: "check the signing key's project, location, key ring, key and version"},
		{Code: "FAILED_PRECONDITION", Cause: "the key version is not enabled (disabled, destroyed or pending import)", Fix: "enable it, or import the App's key into it"},
		{Code: "UNAUTHENTICATED", Cause: "Google did not accept the access token", Fix: "check the workload identity provider, or run gcloud auth application-default login"},
	})
}
