// Package azurekv is an Azure Key Vault (or Managed HSM) key as a
// kms.Backend, through the Azure SDK's azkeys client: GetKey for the public
// key, Sign with RS256 over a digest.
package azurekv

import (
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// Service is who answers, as errors name it.
const Service = "Azure Key Vault"

// Scope is the Entra scope of Key Vault's data plane (what its challenge
// names; Managed HSM's is https://managedhsm.azure.net/.default).
const Scope = "https://vault.azure.net/.default"

// Key is one Key Vault key.
type Key struct {
	client  *azkeys.Client
	name    string
	version string // "" until PublicKey pins the current one
}

// New returns the key name (version "" for the current one) of the vault at
// vaultURL, authenticated by cred (a workload identity exchange, or the
// Azure CLI's sign-in), calling through hc with the SDK's retries off:
// hc's are the ones in charge.
func New(vaultURL, name, version string, cred azcore.TokenCredential, hc *http.Client) (*Key, error) {
	u, err := url.Parse(vaultURL)
	if err != nil {
		return nil, errors.New("failed to set up the Key Vault client: the vault URL is not a URL")
	}
	c, err := azkeys.NewClient(vaultURL, cred, &azkeys.ClientOptions{
		ClientOptions: azcore.ClientOptions{
			Transport: hc,
			Retry:     policy.RetryOptions{MaxRetries: -1},
			Telemetry: policy.TelemetryOptions{Disabled: true},
		},
		// The SDK checks that the vault's challenge names a Key Vault
		// resource for the vault's own domain, so that a vault elsewhere
		// cannot ask for a Key Vault token. A test vault on this machine
		// cannot be in that domain.
		DisableChallengeResourceVerification: network.Loopback(u.Hostname()),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to set up the Key Vault client: %s", err)
	}
	return &Key{client: c, name: name, version: version}, nil
}

// PublicKey implements kms.Backend: GetKey, refusing a disabled key, one
// that is not RSA or whose permitted operations leave out sign. It pins the
// version it read, so that a rotation between this and Sign cannot make
// another key sign.
func (k *Key) PublicKey(ctx context.Context) (crypto.PublicKey, error) {
	resp, err := k.client.GetKey(ctx, k.name, k.version, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to read the key: %w", explain(err, "read"))
	}
	jwk := resp.Key
	if jwk == nil || jwk.Kty == nil {
		return nil, errors.New("failed to read the key: Azure Key Vault's answer holds no public key")
	}
	if a := resp.Attributes; a != nil && a.Enabled != nil && !*a.Enabled {
		return nil, fmt.Errorf("key %s is disabled; enable it in the vault (az keyvault key set-attributes --enabled true)", k.name)
	}
	switch *jwk.Kty {
	case azkeys.KeyTypeRSA, azkeys.KeyTypeRSAHSM:
	default:
		return nil, fmt.Errorf("key %s is a %s key; GitHub Apps sign with RSA keys: import the App's private key (az keyvault key import --pem-file app.pem)", k.name, *jwk.Kty)
	}
	if len(jwk.KeyOps) > 0 && !slices.ContainsFunc(jwk.KeyOps, func(o *azkeys.KeyOperation) bool { return o != nil && *o == azkeys.KeyOperationSign }) {
		return nil, fmt.Errorf("key %s does not permit sign; import it with --ops sign (az keyvault key set-attributes --ops sign)", k.name)
	}
	if len(jwk.N) == 0 || len(jwk.E) == 0 {
		return nil, errors.New("failed to read the key: Azure Key Vault's answer holds no public key")
	}
	if k.version == "" && jwk.KID != nil {
		k.version = jwk.KID.Version()
	}
	e := new(big.Int).SetBytes(jwk.E)
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
		return nil, errors.New("failed to read the key: its RSA public exponent is not usable")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(jwk.N), E: int(e.Int64())}, nil
}

// SignDigest implements kms.Backend: Sign with RS256 over the digest.
func (k *Key) SignDigest(ctx context.Context, digest []byte) ([]byte, error) {
	resp, err := k.client.Sign(ctx, k.name, k.version, azkeys.SignParameters{Algorithm: to(azkeys.SignatureAlgorithmRS256), Value: digest}, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to sign: %w", explain(err, "sign with"))
	}
	if len(resp.Result) == 0 {
		return nil, errors.New("failed to sign: Azure Key Vault's answer holds no signature")
	}
	return resp.Result, nil
}

func to[T any](v T) *T { return &v }

// explain turns an SDK error into the one error type: the status, Key
// Vault's code and words (never the request or the raw answer azcore's
// error prints), and the fix for the refusals a signer meets. Errors that
// carry no Key Vault answer (the token exchange's own, the network's) keep
// their cause.
func explain(err error, op string) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		var ae *apierror.Error
		if errors.As(err, &ae) {
			// The credential's own refusal (Entra's), already explained.
			return err
		}
		return errors.New(summary(err.Error()))
	}
	msg := re.ErrorCode
	if re.RawResponse != nil {
		msg = message(re)
	}
	e := apierror.New(Service, re.StatusCode, msg)
	if re.ErrorCode != http.StatusText(re.StatusCode) {
		e.Code = re.ErrorCode
	}
	switch {
	case re.StatusCode == http.StatusUnauthorized:
		e.Explain("Key Vault did not accept the identity's token", "check that the identity's tenant is the vault's")
	case re.StatusCode == http.StatusForbidden:
		e.Explain("the identity may not "+op+" this key",
			"give it the Key Vault Crypto User role on the key (or, with access policies, the get and sign key permissions)")
	case re.StatusCode == http.StatusNotFound:
		e.Explain("the vault has no such key (or version)", "check the signing key's vault, name and version")
	}
	return e
}

var quotedURLRE = regexp.MustCompile(`(?:Get|Post|GET|POST) "[^"]*": `)

// summary is an SDK error without an answer from Key Vault: its cause in one
// line, without the request's URL or a body.
func summary(msg string) string {
	if strings.Contains(msg, "unmarshalling type") {
		return "Azure Key Vault's answer was not the expected JSON"
	}
	return apierror.Summarize(quotedURLRE.ReplaceAllString(msg, ""), apierror.MaxMessage)
}

// message reads Key Vault's {"error":{"code","message"}} without echoing
// the rest of the answer (ResponseError.Error() dumps the request and the
// raw body).
func message(re *azcore.ResponseError) string {
	body, _ := runtime.Payload(re.RawResponse)
	var b struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &b) == nil && b.Error.Message != "" {
		return b.Error.Message
	}
	return re.ErrorCode
}
