package kms_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/kms"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

func TestParseKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		uri  string
		want kms.Key
	}{
		{"azurekms://my-vault.vault.azure.net/github-app", kms.Key{Cloud: kms.Azure, VaultURL: "https://my-vault.vault.azure.net", Name: "github-app"}},
		{"azurekms://My-Vault.vault.azure.net/app/0123456789abcdef0123456789abcdef", kms.Key{Cloud: kms.Azure, VaultURL: "https://my-vault.vault.azure.net", Name: "app", Version: "0123456789abcdef0123456789abcdef"}},
		{"azurekms://hsm1.managedhsm.azure.net/app", kms.Key{Cloud: kms.Azure, VaultURL: "https://hsm1.managedhsm.azure.net", Name: "app"}},
		{"azurekms://127.0.0.1:8443/app", kms.Key{Cloud: kms.Azure, VaultURL: "https://127.0.0.1:8443", Name: "app"}},
		{"awskms:///alias/github-app", kms.Key{Cloud: kms.AWS, KeyID: "alias/github-app"}},
		{"awskms:///1234abcd-12ab-34cd-56ef-1234567890ab", kms.Key{Cloud: kms.AWS, KeyID: "1234abcd-12ab-34cd-56ef-1234567890ab"}},
		{"awskms:///arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", kms.Key{Cloud: kms.AWS, KeyID: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", Region: "eu-west-1"}},
		{"awskms://localhost:4566/alias/app", kms.Key{Cloud: kms.AWS, KeyID: "alias/app", Endpoint: "http://localhost:4566"}},
		{"awskms://kms-fips.us-east-1.amazonaws.com/alias/app", kms.Key{Cloud: kms.AWS, KeyID: "alias/app", Endpoint: "https://kms-fips.us-east-1.amazonaws.com"}},
		{"gcpkms://projects/my-proj/locations/global/keyRings/ci/cryptoKeys/github-app/cryptoKeyVersions/1", kms.Key{Cloud: kms.GCP, Resource: "projects/my-proj/locations/global/keyRings/ci/cryptoKeys/github-app/cryptoKeyVersions/1"}},
	} {
		got, err := kms.ParseKey(tc.uri)
		require.NoError(t, err, tc.uri)
		tc.want.URI = tc.uri
		assert.Equal(t, tc.want, got)
		assert.Equal(t, tc.uri, got.String())
	}
}

func TestParseKeyErrors(t *testing.T) {
	t.Parallel()
	for uri, want := range map[string]string{
		"my-vault/app":                                "is not a KMS key URI",
		"hashivault://app":                            "names no KMS jobtoken signs with",
		"azurekms://my-vault.vault.azure.net/":        "is not an Azure Key Vault key",
		"azurekms://my-vault.vault.azure.net/a/b/c":   "is not an Azure Key Vault key",
		"azurekms://evil.example.com/app":             "not a Key Vault or Managed HSM host",
		"azurekms://u:p@my-vault.vault.azure.net/app": "holds credentials",
		"azurekms://my-vault.vault.azure.net/app_1":   "not a Key Vault key name",
		"azurekms://my-vault.vault.azure.net/app/v1":  "not a Key Vault key version",
		"azurekms://my-vault.vault.azure.net/app?x=1": "query",
		"awskms://":                                  "names no key",
		"awskms:///my key":                           "spaces",
		"awskms:///github-app":                       "not a KMS key ID",
		"awskms:///alias/aws/ebs":                    "AWS managed key",
		"awskms://u:p@localhost/alias/app":           "holds credentials",
		"gcpkms://projects/p/locations/l/keyRings/r": "is not a Cloud KMS key version",
		"gcpkms://projects/my-proj/locations/global/keyRings/ci/cryptoKeys/app": "names no key version",
	} {
		_, err := kms.ParseKey(uri)
		if assert.Error(t, err, uri) {
			assert.Contains(t, err.Error(), want, uri)
			assert.NotContains(t, err.Error(), "\n")
		}
	}
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"azurekms://v.vault.azure.net/k", "awskms:///alias/a", "awskms://localhost:1/alias/a",
		"gcpkms://projects/p1234/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1", "azurekms://[::1]:80/k/0123456789abcdef0123456789abcdef"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		k, err := kms.ParseKey(uri)
		if err != nil {
			return
		}
		// A parsed key names one cloud, and what a backend sends is made of
		// checked parts only: no line break, no query, no credentials.
		for _, s := range []string{k.VaultURL, k.Name, k.Version, k.KeyID, k.Endpoint, k.Resource} {
			if containsAny(s, "\r\n\t ?#@\\") {
				t.Fatalf("%q parsed into a part %q", uri, s)
			}
		}
		switch k.Cloud {
		case kms.Azure:
			if k.VaultURL == "" || k.Name == "" {
				t.Fatalf("%q: %+v", uri, k)
			}
		case kms.AWS:
			if k.KeyID == "" {
				t.Fatalf("%q: %+v", uri, k)
			}
		case kms.GCP:
			if k.Resource == "" {
				t.Fatalf("%q: %+v", uri, k)
			}
		default:
			t.Fatalf("%q: cloud %q", uri, k.Cloud)
		}
	})
}

func containsAny(s, chars string) bool {
	for _, c := range chars {
		for _, d := range s {
			if c == d {
				return true
			}
		}
	}
	return false
}

// local is a Backend over a key in memory; sign may be replaced.
type local struct {
	pub  crypto.PublicKey
	sign func(digest []byte) ([]byte, error)
	err  error
}

func (l local) PublicKey(context.Context) (crypto.PublicKey, error)    { return l.pub, l.err }
func (l local) SignDigest(_ context.Context, d []byte) ([]byte, error) { return l.sign(d) }

func signWith(k *rsa.PrivateKey) func([]byte) ([]byte, error) {
	return func(d []byte) ([]byte, error) { return rsa.SignPKCS1v15(nil, k, crypto.SHA256, d) }
}

func TestSignerSignsJWTs(t *testing.T) {
	t.Parallel()
	app := testutil.AppKey(t)
	key, err := kms.ParseKey("azurekms://vault1.vault.azure.net/app")
	require.NoError(t, err)
	s, err := kms.NewSigner(context.Background(), key, local{pub: &app.PublicKey, sign: signWith(app)})
	require.NoError(t, err)
	assert.Equal(t, key, s.Key())
	assert.Regexp(t, `^SHA256:[A-Za-z0-9+/]{43}=$`, s.Fingerprint())

	// What ghapp's RS256 method does: sign the JWT's signing input's
	// digest; GitHub verifies it with the App's public key.
	sum := sha256.Sum256([]byte("header.claims"))
	sig, err := s.Sign(rand.Reader, sum[:], crypto.SHA256)
	require.NoError(t, err)
	require.NoError(t, rsa.VerifyPKCS1v15(&app.PublicKey, crypto.SHA256, sum[:], sig))
}

func TestSignerRefuses(t *testing.T) {
	t.Parallel()
	app := testutil.AppKey(t)
	key, _ := kms.ParseKey("awskms:///alias/app")
	ctx := context.Background()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)

	_, err = kms.NewSigner(ctx, key, local{pub: &small.PublicKey})
	assert.ErrorContains(t, err, "1024-bit RSA key")
	_, err = kms.NewSigner(ctx, key, local{pub: &ec.PublicKey})
	assert.ErrorContains(t, err, "is not an RSA key")
	_, err = kms.NewSigner(ctx, key, local{err: errors.New("failed to get the public key: denied")})
	assert.ErrorContains(t, err, "denied")

	// A KMS that signs with another key: caught before GitHub sees it.
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	s, err := kms.NewSigner(ctx, key, local{pub: &app.PublicKey, sign: signWith(other)})
	require.NoError(t, err)
	sum := sha256.Sum256([]byte("a.b"))
	_, err = s.Sign(rand.Reader, sum[:], crypto.SHA256)
	assert.ErrorContains(t, err, "does not verify with the key's public key")

	// Only RS256 over a SHA-256 digest.
	_, err = s.Sign(rand.Reader, sum[:], crypto.SHA512)
	assert.ErrorIs(t, err, kms.ErrNotRS256)
	_, err = s.Sign(rand.Reader, sum[:], &rsa.PSSOptions{Hash: crypto.SHA256})
	assert.ErrorIs(t, err, kms.ErrNotRS256)
	_, err = s.Sign(rand.Reader, []byte("short"), crypto.SHA256)
	assert.ErrorIs(t, err, kms.ErrNotRS256)
}
