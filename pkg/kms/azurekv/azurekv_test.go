package azurekv_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/kms"
	"github.com/jobtoken/jobtoken/pkg/kms/azurekv"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// tenantCred is a credential of app in tenant: what Entra would issue.
type tenantCred struct {
	tenant *azfake.Tenant
	app    string
	scopes *[]string
}

func (c tenantCred) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	*c.scopes = append(*c.scopes, o.Scopes...)
	now := time.Now()
	tok := c.tenant.Issuer.Sign(jwt.MapClaims{"aud": azfake.VaultResource, "tid": c.tenant.ID, "appid": c.app, "oid": "o-" + c.app,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	return azcore.AccessToken{Token: tok, ExpiresOn: now.Add(time.Hour)}, nil
}

func client(v *azfake.Vault) *http.Client {
	return providertest.Client(v.Client().Transport, providertest.Instant)
}

func open(t *testing.T, v *azfake.Vault, name, app string) (*kms.Signer, []string, error) {
	t.Helper()
	key, err := kms.ParseKey(v.URI(name))
	require.NoError(t, err)
	var scopes []string
	b, err := azurekv.New(key.VaultURL, key.Name, key.Version, tenantCred{v.Tenant, app, &scopes}, client(v))
	require.NoError(t, err)
	s, err := kms.NewSigner(context.Background(), key, b)
	return s, scopes, err
}

func TestSign(t *testing.T) {
	t.Parallel()
	app := testutil.AppKey(t)
	v := azfake.NewVault(azfake.NewTenant(), "https://login.example")
	defer v.Close()
	old, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	v.Import("github-app", old)
	k := v.Import("github-app", app)
	v.Grant("signer")

	s, scopes, err := open(t, v, "github-app", "signer")
	require.NoError(t, err)
	// The token asked for is the one the vault's challenge named.
	assert.Equal(t, []string{azfake.VaultResource + "/.default"}, scopes)
	assert.Equal(t, kms.Fingerprint(&app.PublicKey), s.Fingerprint())
	sum := sha256.Sum256([]byte("h.c"))
	sig, err := s.Sign(rand.Reader, sum[:], crypto.SHA256)
	require.NoError(t, err)
	require.NoError(t, rsa.VerifyPKCS1v15(&app.PublicKey, crypto.SHA256, sum[:], sig))
	// Signed with the version whose public key was read, pinned.
	assert.Equal(t, []string{"github-app/" + k.Version}, v.Signed())
	assert.Contains(t, v.Requests(), "POST /keys/github-app/"+k.Version+"/sign")
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	app := testutil.AppKey(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	v := azfake.NewVault(azfake.NewTenant(), "https://login.example")
	defer v.Close()
	v.Import("app", app)
	v.Import("ec", ec)
	v.Import("small", small)
	v.Import("off", app).Enabled = false
	v.Import("verify-only", app).Ops = []string{"verify"}
	v.Grant("signer")

	for _, tc := range []struct{ name, app, want string }{
		{"app", "stranger", "Azure Key Vault answered 403 Forbidden: Caller is not authorized"},
		{"app", "stranger", "Key Vault Crypto User"},
		{"missing", "signer", "Azure Key Vault answered 404 Not Found KeyNotFound: A key with (name/id) missing was not found"},
		{"ec", "signer", "is a EC-HSM key; GitHub Apps sign with RSA keys"},
		{"small", "signer", "1024-bit RSA key"},
		{"off", "signer", "key off is disabled"},
		{"verify-only", "signer", "does not permit sign"},
	} {
		_, _, err := open(t, v, tc.name, tc.app)
		if assert.Error(t, err, tc.name) {
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "\n")
			assert.NotContains(t, err.Error(), "eyJ", "no token in an error")
		}
	}
}
