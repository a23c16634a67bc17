package ghapp_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/gcpfake"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

const (
	gcpProvider = "projects/123456789/locations/global/workloadIdentityPools/ci-pool/providers/github"
	gcpAzProv   = "projects/123456789/locations/global/workloadIdentityPools/ci-pool/providers/azure-pipelines"
	gcpSA       = "app-signer@ci-project.iam.gserviceaccount.com"
	gcpKey      = "projects/ci-project/locations/global/keyRings/ci/cryptoKeys/github-app/cryptoKeyVersions/1"
)

// gcpWorld adds Google Cloud to a vaultWorld: the App's key in Cloud KMS,
// pool providers trusting both CI systems, a service account that may sign.
type gcpWorld struct {
	*vaultWorld
	g *gcpfake.Google
}

func newGCPWorld(t *testing.T) *gcpWorld {
	t.Helper()
	w := &gcpWorld{vaultWorld: newVaultWorld(t), g: gcpfake.New()}
	t.Cleanup(w.g.Close)
	gh := gcpfake.Pool{Name: gcpProvider, Issuer: azfake.GitHubIssuerURL, Key: &w.GitHubOIDC.Issuer.Key.PublicKey,
		Audiences: []string{"https://iam.googleapis.com/" + gcpProvider}, Subject: w.GitHubOIDC.Subject}
	azp := gcpfake.Pool{Name: gcpAzProv, Issuer: w.PipelinesOIDC.Issuer.URL, Key: &w.PipelinesOIDC.Issuer.Key.PublicKey,
		Audiences: []string{azfake.Audience}, Subject: w.PipelinesOIDC.Subject("signer-conn")}
	w.g.AddPool(gh)
	w.g.AddPool(azp)
	w.g.AllowImpersonation(gcpSA, gh.Principal())
	// The federated principal signs directly too (no service account).
	w.g.AddKey(&gcpfake.KeyVersion{Name: gcpKey, Signer: testutil.AppKey(t), Signers: []string{"serviceAccount:" + gcpSA, azp.Principal()}})
	return w
}

func (w *gcpWorld) secrets() []string { return append(w.vaultWorld.secrets(), w.g.Issued()...) }

func (w *gcpWorld) endpoints(env map[string]string) {
	env["CLOUDSDK_API_ENDPOINT_OVERRIDES_STS"] = w.g.STS.URL + "/"
	env["CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS"] = w.g.IAM.URL + "/"
	env["CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS"] = w.g.KMS.URL + "/"
}

func (w *gcpWorld) githubEnv(t *testing.T) map[string]string {
	env := w.githubStep(t, map[string]string{"signing-key": "gcpkms://" + gcpKey, "gcp-workload-identity-provider": gcpProvider, "gcp-service-account": gcpSA})
	w.endpoints(env)
	return env
}

func TestCloudKMSOnGitHub(t *testing.T) {
	w := newGCPWorld(t)
	env := w.githubEnv(t)
	stdout := mainOnGitHub(t, w, env)
	assert.Equal(t, []string{gcpKey}, w.g.Signed())
	assert.Contains(t, stdout, "(Google Cloud KMS, public key SHA256:")
	assert.Contains(t, stdout, "as service account "+gcpSA)
	require.Len(t, w.g.Issued(), 2, "the federated token, then the service account's")
	// The service account's token is masked; the federated one before it
	// stays inside Google's auth library, and is in no output either.
	assert.Contains(t, stdout, "::add-mask::"+w.g.Issued()[1]+"\n")
	postOnGitHub(t, w, env)
}

func TestCloudKMSOnAzurePipelines(t *testing.T) {
	w := newGCPWorld(t)
	env := w.azureEnv(t)
	env["INPUT_SIGNINGKEY"] = "gcpkms://" + gcpKey
	env["INPUT_GCPWORKLOADIDENTITYPROVIDER"] = gcpAzProv
	w.endpoints(env)
	out := mainOnAzure(t, w, env)
	assert.Len(t, w.g.Signed(), 1)
	assert.Len(t, w.g.Issued(), 1, "the federated identity signs itself: no impersonation")
	postOnAzure(t, w, env, out)
}

func TestCloudKMSFailures(t *testing.T) {
	runFailures(t, newGCPWorld, []failure[*gcpWorld]{
		{"pool provider of another repository", func(w *gcpWorld, env map[string]string) {
			w.g.AddPool(gcpfake.Pool{Name: gcpProvider + "x", Issuer: azfake.GitHubIssuerURL, Key: &w.GitHubOIDC.Issuer.Key.PublicKey,
				Audiences: []string{"https://iam.googleapis.com/" + gcpProvider + "x"}, Subject: "repo:octo/other:ref:refs/heads/main"})
			env["INPUT_GCP-WORKLOAD-IDENTITY-PROVIDER"] = gcpProvider + "x"
		}, "Google Cloud (workload identity) answered 400 Bad Request unauthorized_client: The given credential is rejected by the attribute condition."},
		{"may not impersonate", func(w *gcpWorld, env map[string]string) {
			env["INPUT_GCP-SERVICE-ACCOUNT"] = "other@ci-project.iam.gserviceaccount.com"
		}, "PERMISSION_DENIED: Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist). — the federated identity may not impersonate the service account"},
		{"may not sign", func(w *gcpWorld, env map[string]string) {
			delete(env, "INPUT_GCP-SERVICE-ACCOUNT")
		}, "Google Cloud KMS answered 403 Forbidden PERMISSION_DENIED: Permission 'cloudkms.cryptoKeyVersions.viewPublicKey' denied"},
		{"disabled version", func(w *gcpWorld, env map[string]string) {
			w.g.AddKey(&gcpfake.KeyVersion{Name: strings.Replace(gcpKey, "Versions/1", "Versions/2", 1), Signer: testutil.AppKey(t), State: "DISABLED", Signers: []string{"serviceAccount:" + gcpSA}})
			env["INPUT_SIGNING-KEY"] = "gcpkms://" + strings.Replace(gcpKey, "Versions/1", "Versions/2", 1)
		}, "FAILED_PRECONDITION"},
	})
}
