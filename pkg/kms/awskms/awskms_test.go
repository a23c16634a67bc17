package awskms_test

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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/awsfake"
	"github.com/jobtoken/jobtoken/pkg/kms"
	"github.com/jobtoken/jobtoken/pkg/kms/awskms"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

const user = "arn:aws:iam::111122223333:user/release"

type static aws.Credentials

func (s static) Retrieve(context.Context) (aws.Credentials, error) { return aws.Credentials(s), nil }

func open(t *testing.T, a *awsfake.AWS, id string, creds aws.Credentials) (*kms.Signer, error) {
	t.Helper()
	key, err := kms.ParseKey("awskms:///" + id)
	require.NoError(t, err)
	hc := providertest.Client(a.KMS.Client().Transport, providertest.Instant)
	return kms.NewSigner(context.Background(), key, awskms.New(a.KMS.URL, a.Region, key.KeyID, static(creds), hc))
}

func TestSign(t *testing.T) {
	t.Parallel()
	app := testutil.AppKey(t)
	a := awsfake.New("eu-west-1")
	defer a.Close()
	k := a.AddKey("alias/github-app", app, user)
	creds := a.AddUser(user)
	for _, id := range []string{"alias/github-app", k.ID, k.ARN("eu-west-1")} {
		s, err := open(t, a, id, creds)
		require.NoError(t, err, id)
		sum := sha256.Sum256([]byte("h.c"))
		sig, err := s.Sign(rand.Reader, sum[:], crypto.SHA256)
		require.NoError(t, err)
		require.NoError(t, rsa.VerifyPKCS1v15(&app.PublicKey, crypto.SHA256, sum[:], sig))
	}
	assert.Equal(t, []string{k.ARN("eu-west-1"), k.ARN("eu-west-1"), k.ARN("eu-west-1")}, a.Signed(), "an alias is pinned to its key ARN")
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	app := testutil.AppKey(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	a := awsfake.New("eu-west-1")
	defer a.Close()
	a.AddKey("alias/app", app, user)
	a.AddKey("alias/ec", ec, user)
	a.AddKey("alias/off", app, user).Enabled = false
	a.AddKey("alias/enc", app, user).Usage = "ENCRYPT_DECRYPT"
	creds := a.AddUser(user)
	stranger := a.AddUser("arn:aws:iam::111122223333:user/stranger")
	wrongSecret := creds
	wrongSecret.SecretAccessKey = "not-the-secret-not-the-secret-not-the-se"

	for _, tc := range []struct {
		id    string
		creds aws.Credentials
		want  string
	}{
		{"alias/app", stranger, "AWS KMS answered 400 Bad Request AccessDeniedException: User: arn:aws:iam::111122223333:user/stranger is not authorized to perform: kms:GetPublicKey"},
		{"alias/app", stranger, "allow kms:GetPublicKey"},
		{"alias/app", wrongSecret, "InvalidSignatureException"},
		{"alias/app", wrongSecret, "— AWS did not accept the credentials; check the role session"},
		{"alias/nope", creds, "NotFoundException"},
		{"alias/nope", creds, "— no such key or alias in this account and region"},
		{"alias/ec", creds, "cannot sign RSASSA_PKCS1_V1_5_SHA_256"},
		{"alias/off", creds, "DisabledException"},
		{"alias/off", creds, "— the key is disabled; enable it"},
		{"alias/enc", creds, "is for ENCRYPT_DECRYPT, not SIGN_VERIFY"},
	} {
		_, err := open(t, a, tc.id, tc.creds)
		if assert.Error(t, err, tc.id) {
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), tc.creds.SecretAccessKey)
		}
	}

	// 5xx and malformed answers are one line each.
	a.KMSBefore = func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"PublicKey": 12`))
		return true
	}
	_, err = open(t, a, "alias/app", creds)
	assert.EqualError(t, err, "failed to read the key: AWS KMS answered 200 with a body that is not the expected JSON")
}
