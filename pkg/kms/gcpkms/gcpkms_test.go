package gcpkms_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/gcpfake"
	"github.com/jobtoken/jobtoken/pkg/kms"
	"github.com/jobtoken/jobtoken/pkg/kms/gcpkms"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

const version = "projects/proj-1/locations/global/keyRings/ci/cryptoKeys/app/cryptoKeyVersions/"

// federated returns a token source of the principal a pool gives gh's
// job, from the fake's STS.
func federated(t *testing.T, g *gcpfake.Google, gh *azfake.GitHubOIDC, pool gcpfake.Pool) oauth2.TokenSource {
	t.Helper()
	tok := gh.Issuer.Sign(map[string]any{"sub": gh.Subject, "aud": pool.Audiences[0], "iat": 1, "exp": 4102444800})
	resp, err := g.STS.Client().PostForm(g.STS.URL+"/v1/token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "audience": {"//iam.googleapis.com/" + pool.Name},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:jwt"}, "requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"subject_token": {tok}, "scope": {"https://www.googleapis.com/auth/cloud-platform"}})
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: g.Issued()[len(g.Issued())-1]})
}

func TestSignAndRefusals(t *testing.T) {
	t.Parallel()
	app := testutil.AppKey(t)
	g := gcpfake.New()
	defer g.Close()
	gh := azfake.NewGitHubOIDC("octo/app")
	defer gh.Close()
	pool := gcpfake.Pool{Name: "projects/1/locations/global/workloadIdentityPools/ci/providers/gh", Issuer: azfake.GitHubIssuerURL,
		Key: &gh.Issuer.Key.PublicKey, Audiences: []string{"aud"}, Subject: gh.Subject}
	g.AddPool(pool)
	me := pool.Principal()
	g.AddKey(&gcpfake.KeyVersion{Name: version + "1", Signer: app, Signers: []string{me}})
	g.AddKey(&gcpfake.KeyVersion{Name: version + "2", Signer: app, Signers: []string{"someone-else"}})
	g.AddKey(&gcpfake.KeyVersion{Name: version + "3", Signer: app, Signers: []string{me}, State: "DISABLED"})
	g.AddKey(&gcpfake.KeyVersion{Name: version + "4", Signer: app, Signers: []string{me}, Algorithm: "RSA_SIGN_PSS_2048_SHA256"})
	ts := federated(t, g, gh, pool)
	hc := providertest.Client(g.KMS.Client().Transport, providertest.Instant)
	open := func(v string) (*kms.Signer, error) {
		key, err := kms.ParseKey("gcpkms://" + version + v)
		require.NoError(t, err)
		return kms.NewSigner(context.Background(), key, gcpkms.New(g.KMS.URL, key.Resource, ts, hc))
	}

	s, err := open("1")
	require.NoError(t, err)
	sum := sha256.Sum256([]byte("h.c"))
	sig, err := s.Sign(rand.Reader, sum[:], crypto.SHA256)
	require.NoError(t, err)
	require.NoError(t, rsa.VerifyPKCS1v15(&app.PublicKey, crypto.SHA256, sum[:], sig))
	assert.Equal(t, []string{version + "1"}, g.Signed())

	for v, wants := range map[string][]string{
		"2": {"Google Cloud KMS answered 403 Forbidden PERMISSION_DENIED: Permission 'cloudkms.cryptoKeyVersions.viewPublicKey' denied",
			"— the identity may not use this key version; grant it roles/cloudkms.signerVerifier on the key (it holds cloudkms.cryptoKeyVersions.viewPublicKey)"},
		"3": {"FAILED_PRECONDITION", "— the key version is not enabled"},
		"4": {"signs with RSA_SIGN_PSS_2048_SHA256; GitHub Apps need RSASSA-PKCS1-v1_5 with SHA-256"},
		"9": {"NOT_FOUND", "— no such key version; check the signing key's project"},
	} {
		_, err := open(v)
		if assert.Error(t, err, v) {
			for _, want := range wants {
				assert.Contains(t, err.Error(), want)
			}
		}
	}
}
