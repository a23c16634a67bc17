package ghapp_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/awsfake"
	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

const awsRole = "arn:aws:iam::111122223333:role/github-app-signer"

// awsWorld adds AWS to a vaultWorld: the App's key in KMS (alias
// alias/github-app), a role that trusts both CI systems' OIDC tokens.
type awsWorld struct {
	*vaultWorld
	aws *awsfake.AWS
	key *awsfake.Key
}

func newAWSWorld(t *testing.T) *awsWorld {
	t.Helper()
	w := &awsWorld{vaultWorld: newVaultWorld(t), aws: awsfake.New("eu-west-1")}
	t.Cleanup(w.aws.Close)
	w.aws.TrustProvider(awsfake.Provider{Issuer: azfake.GitHubIssuerURL, Key: &w.GitHubOIDC.Issuer.Key.PublicKey, Audiences: []string{"sts.amazonaws.com"}})
	w.aws.TrustProvider(awsfake.Provider{Issuer: w.PipelinesOIDC.Issuer.URL, Key: &w.PipelinesOIDC.Issuer.Key.PublicKey, Audiences: []string{azfake.Audience}})
	w.aws.AddRole(awsfake.Role{ARN: awsRole, Issuer: azfake.GitHubIssuerURL, Audience: "sts.amazonaws.com", Subject: "repo:octo/app:*"})
	w.aws.AddRole(awsfake.Role{ARN: awsRole + "-azp", Issuer: w.PipelinesOIDC.Issuer.URL, Audience: azfake.Audience, Subject: w.PipelinesOIDC.Subject("signer-conn")})
	w.key = w.aws.AddKey("alias/github-app", testutil.AppKey(t), awsRole, awsRole+"-azp")
	return w
}

func (w *awsWorld) secrets() []string { return append(w.vaultWorld.secrets(), w.aws.Issued()...) }

func (w *awsWorld) githubEnv(t *testing.T) map[string]string {
	env := w.githubStep(t, map[string]string{"signing-key": "awskms:///alias/github-app", "aws-role-arn": awsRole, "aws-region": "eu-west-1"})
	env["AWS_ENDPOINT_URL_STS"] = w.aws.STS.URL
	env["AWS_ENDPOINT_URL_KMS"] = w.aws.KMS.URL
	return env
}

func TestAWSKMSOnGitHub(t *testing.T) {
	w := newAWSWorld(t)
	env := w.githubEnv(t)
	stdout := mainOnGitHub(t, w, env)
	assert.Equal(t, []string{w.key.ARN("eu-west-1")}, w.aws.Signed(), "one JWT, signed in KMS")
	assert.Contains(t, stdout, "Signing the App's JWTs with awskms:///alias/github-app (AWS KMS, public key SHA256:")
	assert.Contains(t, stdout, "as AWS role "+awsRole)
	require.Len(t, w.aws.Issued(), 2)
	for _, s := range w.aws.Issued() {
		assert.Contains(t, stdout, "::add-mask::"+s+"\n", "the role's credentials are masked")
	}
	postOnGitHub(t, w, env)
}

func TestAWSKMSOnAzurePipelines(t *testing.T) {
	w := newAWSWorld(t)
	env := w.azureEnv(t)
	env["INPUT_SIGNINGKEY"] = "awskms:///" + w.key.ARN("eu-west-1")
	env["INPUT_AWSROLEARN"] = awsRole + "-azp"
	env["AWS_ENDPOINT_URL_STS"] = w.aws.STS.URL
	env["AWS_ENDPOINT_URL_KMS"] = w.aws.KMS.URL
	out := mainOnAzure(t, w, env)
	assert.Len(t, w.aws.Signed(), 1)
	postOnAzure(t, w, env, out)
}

// TestAWSKMSLocally: by hand, the AWS credentials of a shared credentials
// file's profile sign.
func TestAWSKMSLocally(t *testing.T) {
	w := newAWSWorld(t)
	creds := w.aws.AddUser("arn:aws:iam::111122223333:user/release")
	w.key.Users = append(w.key.Users, "arn:aws:iam::111122223333:user/release")
	home := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".aws"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".aws", "credentials"),
		[]byte("[default]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = x\n\n[release]\naws_access_key_id = "+creds.AccessKeyID+"\naws_secret_access_key = "+creds.SecretAccessKey+"\n"), 0o600))
	env := map[string]string{"HOME": home, "AWS_PROFILE": "release", "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_KMS": w.aws.KMS.URL}
	code, stdout, stderr := w.run(t, env, "jobtoken", "mint", "--provider", "github", "--permissions", "contents:read",
		"--client-id", w.gh.ClientID, "--github-api-url", w.gh.URL, "--repositories", "octo/app",
		"--signing-key", "awskms:///alias/github-app")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Len(t, w.gh.Live(), 1)
	assert.Equal(t, w.gh.Live()[0].Value+"\n", stdout)
	assert.Contains(t, stderr, "as AWS profile release")
	assert.NotContains(t, stderr, creds.SecretAccessKey)
}

func TestAWSKMSFailures(t *testing.T) {
	runFailures(t, newAWSWorld, []failure[*awsWorld]{
		{"role does not trust the repository", func(w *awsWorld, env map[string]string) {
			w.aws.AddRole(awsfake.Role{ARN: awsRole + "-other", Issuer: azfake.GitHubIssuerURL, Audience: "sts.amazonaws.com", Subject: "repo:octo/other:*"})
			env["INPUT_AWS-ROLE-ARN"] = awsRole + "-other"
		}, "AWS STS answered 403 Forbidden AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity — the role's trust policy does not trust this job's OIDC token"},
		{"role may not use the key", func(w *awsWorld, env map[string]string) {
			w.aws.AddRole(awsfake.Role{ARN: awsRole + "-nokey", Issuer: azfake.GitHubIssuerURL, Audience: "sts.amazonaws.com", Subject: "repo:octo/app:*"})
			env["INPUT_AWS-ROLE-ARN"] = awsRole + "-nokey"
		}, "AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/github-app-signer-nokey/jobtoken-9-1 is not authorized to perform: kms:GetPublicKey"},
		{"KMS keeps failing", func(w *awsWorld, env map[string]string) {
			w.aws.KMSBefore = func(rw http.ResponseWriter, r *http.Request) bool {
				if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".Sign") {
					rw.Header().Set("Retry-After", "0")
					rw.WriteHeader(http.StatusTooManyRequests)
					return true
				}
				return false
			}
		}, "AWS KMS answered 429 Too Many Requests"},
		{"STS answers garbage", func(w *awsWorld, env map[string]string) {
			env["AWS_ENDPOINT_URL_STS"] = w.aws.KMS.URL
			w.aws.KMSBefore = func(rw http.ResponseWriter, r *http.Request) bool {
				if r.Header.Get("X-Amz-Target") == "" {
					_, _ = rw.Write([]byte("<html>gateway"))
					return true
				}
				return false
			}
		}, "AWS STS's answer was not the expected XML"},
	})
}
