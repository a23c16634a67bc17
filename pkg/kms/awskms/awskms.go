// Package awskms is an AWS KMS key as a kms.Backend: GetPublicKey, and Sign
// with RSASSA_PKCS1_V1_5_SHA_256 over a digest (MessageType DIGEST).
//
// The AWS SDK's KMS client would add 1.8 MB or more to every binary, so the
// two calls are made as the KMS API reference documents them (the JSON 1.1
// protocol: POST / with X-Amz-Target TrentService.<Action>), signed with
// the SDK's own Signature Version 4 signer.
package awskms

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/jobtoken/jobtoken/pkg/provider/api"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// Service is who answers, as errors name it.
const Service = "AWS KMS"

// SigningAlgorithm is RS256 in KMS's words.
const SigningAlgorithm = "RSASSA_PKCS1_V1_5_SHA_256"

// Endpoint is KMS's endpoint in region.
func Endpoint(region string) string { return "https://kms." + region + ".amazonaws.com" }

// Key is one KMS key.
type Key struct {
	endpoint string
	region   string
	keyID    string // the key ARN once GetPublicKey has named it
	creds    aws.CredentialsProvider
	hc       *http.Client
	now      func() time.Time
	signer   *v4.Signer
}

// New returns the key keyID (key ID, alias/name, key or alias ARN) of the
// KMS at endpoint (Endpoint(region) unless overridden), signing requests
// for region with creds, calling through hc.
func New(endpoint, region, keyID string, creds aws.CredentialsProvider, hc *http.Client) *Key {
	return &Key{endpoint: strings.TrimRight(endpoint, "/"), region: region, keyID: keyID, creds: creds, hc: hc, now: time.Now,
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })}
}

// PublicKey implements kms.Backend: GetPublicKey, refusing a key that is
// not for signing or cannot sign RSASSA_PKCS1_V1_5_SHA_256. It pins the key
// ARN KMS answers with, so that an alias moved between this and Sign cannot
// make another key sign.
func (k *Key) PublicKey(ctx context.Context) (crypto.PublicKey, error) {
	var out struct {
		KeyID             string   `json:"KeyId"`
		PublicKey         []byte   `json:"PublicKey"`
		KeySpec           string   `json:"KeySpec"`
		KeyUsage          string   `json:"KeyUsage"`
		SigningAlgorithms []string `json:"SigningAlgorithms"`
	}
	if err := k.call(ctx, "GetPublicKey", map[string]string{"KeyId": k.keyID}, &out); err != nil {
		return nil, fmt.Errorf("failed to read the key: %w", explain(err, "kms:GetPublicKey"))
	}
	switch {
	case out.KeyUsage != "" && out.KeyUsage != "SIGN_VERIFY":
		return nil, fmt.Errorf("key %s is for %s, not SIGN_VERIFY; import the App's key into a key created with --key-usage SIGN_VERIFY --key-spec RSA_2048 --origin EXTERNAL", k.keyID, out.KeyUsage)
	case len(out.SigningAlgorithms) > 0 && !slices.Contains(out.SigningAlgorithms, SigningAlgorithm):
		return nil, fmt.Errorf("key %s (%s) cannot sign %s; GitHub Apps sign with RSA keys: use an RSA_2048 (or larger) SIGN_VERIFY key", k.keyID, out.KeySpec, SigningAlgorithm)
	case len(out.PublicKey) == 0:
		return nil, errors.New("failed to read the key: AWS KMS's answer holds no public key")
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, errors.New("failed to read the key: AWS KMS's public key is not a DER SubjectPublicKeyInfo")
	}
	if strings.HasPrefix(out.KeyID, "arn:") {
		k.keyID = out.KeyID
	}
	return pub, nil
}

// SignDigest implements kms.Backend.
func (k *Key) SignDigest(ctx context.Context, digest []byte) ([]byte, error) {
	var out struct {
		Signature []byte `json:"Signature"`
	}
	in := map[string]any{"KeyId": k.keyID, "Message": digest, "MessageType": "DIGEST", "SigningAlgorithm": SigningAlgorithm}
	if err := k.call(ctx, "Sign", in, &out); err != nil {
		return nil, fmt.Errorf("failed to sign: %w", explain(err, "kms:Sign"))
	}
	if len(out.Signature) == 0 {
		return nil, errors.New("failed to sign: AWS KMS's answer holds no signature")
	}
	return out.Signature, nil
}

// call makes one KMS JSON 1.1 call, signed with Signature Version 4.
func (k *Key) call(ctx context.Context, action string, in, out any) error {
	creds, err := k.creds.Retrieve(ctx)
	if err != nil {
		return err
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, k.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return errors.New("failed to build the request: the KMS endpoint is not a URL")
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService."+action)
	req.Header.Set("User-Agent", api.UserAgent)
	sum := sha256.Sum256(body)
	if err := k.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "kms", k.region, k.now().UTC()); err != nil {
		return fmt.Errorf("failed to sign the request: %s", err)
	}
	svc := api.Service{Name: Service, HTTP: k.hc, Refusal: refusal}
	_, err = svc.Do(req, out, http.StatusOK)
	return err
}

// refusal reads KMS's error answer: {"__type": "…#NotFoundException",
// "message": "…"}.
func refusal(resp *http.Response, body []byte) error {
	var b struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	_ = json.Unmarshal(body, &b)
	code := b.Type
	if i := strings.LastIndex(code, "#"); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = resp.Header.Get("X-Amzn-ErrorType")
		code, _, _ = strings.Cut(code, ":")
	}
	msg := b.Message
	if msg == "" {
		msg = b.Message2
	}
	e := apierror.New(Service, resp.StatusCode, msg)
	e.Code = code
	return e
}

// explain adds jobtoken's cause and fix to KMS's refusals a signer meets;
// the credentials' own errors (STS's) are already explained.
func explain(err error, action string) error {
	const badCredentials, checkCredentials = "AWS did not accept the credentials", "check the role session or the local AWS credentials"
	return apierror.ExplainCodes(err, Service, []apierror.Reason{
		{Code: "AccessDeniedException", Cause: "the role may not use this key", Fix: "allow " + action + " (kms:GetPublicKey and kms:Sign only) on the key to the role, in the key policy or the role's IAM policy"},
		{Code: "NotFoundException", Cause: "no such key or alias in this account and region", Fix: "check the signing key's key ID or alias and the region (aws-region, or the key ARN's)"},
		{Code: "DisabledException", Cause: "the key is disabled", Fix: "enable it (aws kms enable-key)"},
		{Code: "KMSInvalidStateException", Cause: "the key is not usable now (pending import, deletion, or disabled)", Fix: "import the key material, or cancel its deletion"},
		{Code: "InvalidKeyUsageException", Cause: "the key is not a SIGN_VERIFY RSA key", Fix: "use an RSA_2048 SIGN_VERIFY key with the App's key imported"},
		{Code: "UnrecognizedClientException", Cause: badCredentials, Fix: checkCredentials},
		{Code: "InvalidSignatureException", Cause: badCredentials, Fix: checkCredentials},
		{Code: "ExpiredTokenException", Cause: badCredentials, Fix: checkCredentials},
	})
}
