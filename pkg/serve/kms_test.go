package serve_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/awsfake"
	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/gcpfake"
	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/serve"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// The service's own identity on Kubernetes: a projected service account
// token, which AKS, EKS and GKE (or a Google credential file elsewhere)
// exchange for the cloud's credentials.
const (
	clusterIssuer  = "https://oidc.prod-aks.azure.com/0f6a1b7e-3c5d-4e2f-9a8b-7c6d5e4f3a2b/"
	serviceAccount = "system:serviceaccount:jobtoken:jobtoken-serve"
	serveClientID  = "6f1d2b0c-9e4a-4c3b-8d7e-1a2b3c4d5e6f"
	gcpServePool   = "projects/123456789/locations/global/workloadIdentityPools/serve-pool/providers/aks"
	gcpServeSA     = "jobtoken-serve@ci-project.iam.gserviceaccount.com"
	gcpServeKey    = "projects/ci-project/locations/global/keyRings/serve/cryptoKeys/github-app/cryptoKeyVersions/1"
	awsServeRole   = "arn:aws:iam::111122223333:role/jobtoken-serve"
)

// kmsCloud is one cloud the service signs in, as the service finds it
// deployed on Kubernetes.
type kmsCloud struct {
	// key is github.signing_key, env the service's environment.
	key string
	env map[string]string
	// audience is the one the pod's projected token carries; tokenEnv
	// names the variable that points at it ("" when a credential file
	// does).
	audience, tokenEnv string
	// write writes the cloud's files (a credential file) into dir, after
	// a refusal changed what it wanted.
	write func(dir string)
	// signed lists the signatures the KMS made; secrets the credentials
	// the exchanges handed out (access tokens, session keys), issued of
	// them for one exchange.
	signed, secrets func() []string
	issued          int
	// who is how the startup log names the identity.
	who string
	// redacted is what the service registered for redaction.
	redacted []string
	// transport trusts the fakes' certificate (httptest's one).
	transport http.RoundTripper
	// refusals each break one thing of the deployment; the start's error
	// must say what, in the cloud's words and jobtoken's.
	refusals []kmsRefusal
}

type kmsRefusal struct {
	name  string
	apply func(c *kmsCloud)
	want  []string
}

// cluster signs the pod's projected service account tokens.
var cluster = azfake.NewIssuer(clusterIssuer)

// azureCloud is AKS with workload identity: the webhook's variables, Entra
// trusting the service account, Key Vault holding the App's key.
func azureCloud(t *testing.T) *kmsCloud {
	tenant := azfake.NewTenant()
	entra := azfake.NewEntra(tenant)
	t.Cleanup(entra.Close)
	vault := azfake.NewVault(tenant, entra.URL)
	t.Cleanup(vault.Close)
	vault.Import("github-app", testutil.AppKey(t))
	vault.Grant(serveClientID)
	const other = "0c9b8a7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d" // trusted, not given the role
	for _, id := range []string{serveClientID, other} {
		entra.Trust(id, azfake.Federated{Issuer: clusterIssuer, Key: &cluster.Key.PublicKey, Subject: serviceAccount, Audience: azfake.Audience})
	}
	return &kmsCloud{
		key: vault.URI("github-app"), audience: azfake.Audience, tokenEnv: "AZURE_FEDERATED_TOKEN_FILE",
		env:    map[string]string{"AZURE_CLIENT_ID": serveClientID, "AZURE_TENANT_ID": tenant.ID, "AZURE_AUTHORITY_HOST": entra.AuthorityHost()},
		signed: vault.Signed, secrets: entra.Issued, issued: 1, transport: vault.Client().Transport,
		who: "the service's Azure workload identity (client " + serveClientID + ", tenant " + tenant.ID + ")",
		refusals: []kmsRefusal{
			{"token for another audience", func(c *kmsCloud) { c.audience = "api://other" },
				[]string{"failed to exchange AZURE_FEDERATED_TOKEN_FILE with Microsoft Entra", "answered 400", "AADSTS700212", "no federated credential for the service's Kubernetes service account", "audience api://AzureADTokenExchange"}},
			{"no workload identity", func(c *kmsCloud) { delete(c.env, "AZURE_CLIENT_ID") },
				[]string{"needs workload identity", "AZURE_CLIENT_ID"}},
			{"no such key", func(c *kmsCloud) { c.key = vault.URI("nope") },
				[]string{"Azure Key Vault answered 404", "KeyNotFound", "the vault has no such key"}},
			{"identity without the role", func(c *kmsCloud) { c.env["AZURE_CLIENT_ID"] = other },
				[]string{"Azure Key Vault answered 403", "Key Vault Crypto User"}},
		},
	}
}

// awsCloud is EKS with IAM roles for service accounts: the role to assume
// with the pod's token.
func awsCloud(t *testing.T) *kmsCloud {
	aws := awsfake.New("eu-west-1")
	t.Cleanup(aws.Close)
	aws.TrustProvider(awsfake.Provider{Issuer: clusterIssuer, Key: &cluster.Key.PublicKey, Audiences: []string{"sts.amazonaws.com"}})
	for _, role := range []string{awsServeRole, awsServeRole + "-other"} {
		aws.AddRole(awsfake.Role{ARN: role, Issuer: clusterIssuer, Audience: "sts.amazonaws.com", Subject: serviceAccount})
	}
	aws.AddKey("alias/github-app", testutil.AppKey(t), awsServeRole)
	return &kmsCloud{
		key: "awskms:///arn:aws:kms:eu-west-1:111122223333:alias/github-app", audience: "sts.amazonaws.com", tokenEnv: "AWS_WEB_IDENTITY_TOKEN_FILE",
		env:    map[string]string{"AWS_ROLE_ARN": awsServeRole, "AWS_ENDPOINT_URL_STS": aws.STS.URL, "AWS_ENDPOINT_URL_KMS": aws.KMS.URL},
		signed: aws.Signed, secrets: aws.Issued, issued: 2, transport: aws.KMS.Client().Transport, who: "role " + awsServeRole + " with the web identity token of AWS_WEB_IDENTITY_TOKEN_FILE",
		refusals: []kmsRefusal{
			{"token for another audience", func(c *kmsCloud) { c.audience = "api://other" },
				[]string{"AWS STS answered 400", "InvalidIdentityToken"}},
			{"no such key", func(c *kmsCloud) { c.key = "awskms:///arn:aws:kms:eu-west-1:111122223333:alias/nope" },
				[]string{"AWS KMS answered 400", "NotFoundException"}},
			{"role without the key", func(c *kmsCloud) { c.env["AWS_ROLE_ARN"] = awsServeRole + "-other" },
				[]string{"AWS KMS answered 400", "AccessDeniedException"}},
		},
	}
}

// googleCloud is Kubernetes outside Google with an external-account
// credential file (gcloud iam workload-identity-pools create-cred-config)
// in GOOGLE_APPLICATION_CREDENTIALS, impersonating a service account or
// signing as the federated principal.
func googleCloud(impersonate bool) func(t *testing.T) *kmsCloud {
	return func(t *testing.T) *kmsCloud {
		g := gcpfake.New()
		t.Cleanup(g.Close)
		pool := gcpfake.Pool{Name: gcpServePool, Issuer: clusterIssuer, Key: &cluster.Key.PublicKey,
			Audiences: []string{"//iam.googleapis.com/" + gcpServePool}, Subject: serviceAccount}
		g.AddPool(pool)
		g.AllowImpersonation(gcpServeSA, pool.Principal())
		signer := pool.Principal()
		if impersonate {
			signer = "serviceAccount:" + gcpServeSA
		}
		g.AddKey(&gcpfake.KeyVersion{Name: gcpServeKey, Signer: testutil.AppKey(t), Signers: []string{signer}})
		otherKey := strings.Replace(gcpServeKey, "Versions/1", "Versions/2", 1)
		g.AddKey(&gcpfake.KeyVersion{Name: otherKey, Signer: testutil.AppKey(t), Signers: []string{"serviceAccount:other@ci-project.iam.gserviceaccount.com"}})
		sa, credFile := "", "credentials.json"
		if impersonate {
			sa = gcpServeSA
		}
		c := &kmsCloud{
			key: "gcpkms://" + gcpServeKey, audience: "//iam.googleapis.com/" + gcpServePool,
			env:    map[string]string{"CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS": g.KMS.URL},
			signed: g.Signed, secrets: g.Issued, issued: 1, who: "the service's Application Default Credentials", transport: g.KMS.Client().Transport,
			refusals: []kmsRefusal{
				{"token for another audience", func(c *kmsCloud) { c.audience = "api://other" },
					[]string{"Google Cloud (workload identity) answered 400", "invalid_grant", "does not match the expected audience"}},
				{"credential file missing", func(*kmsCloud) { credFile = "gone.json" },
					[]string{"failed to read GOOGLE_APPLICATION_CREDENTIALS: open ", "no such file"}},
				{"no such key", func(c *kmsCloud) { c.key = "gcpkms://" + strings.Replace(gcpServeKey, "Versions/1", "Versions/9", 1) },
					[]string{"Google Cloud KMS answered 404", "NOT_FOUND"}},
				{"identity may not sign", func(c *kmsCloud) { c.key = "gcpkms://" + otherKey },
					[]string{"Google Cloud KMS answered 403", "PERMISSION_DENIED", "cloudkms.cryptoKeyVersions.viewPublicKey"}},
			},
		}
		if impersonate {
			c.issued = 2 // STS's federated token, then the service account's
			c.refusals = append(c.refusals, kmsRefusal{"may not impersonate", func(*kmsCloud) { sa = "other@ci-project.iam.gserviceaccount.com" },
				[]string{"Google Cloud (workload identity) answered 403", "PERMISSION_DENIED", "may not impersonate the service account"}})
		}
		c.write = func(dir string) {
			cred := map[string]any{
				"type": "external_account", "audience": "//iam.googleapis.com/" + gcpServePool,
				"subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_url": g.STS.URL + "/v1/token",
				"credential_source": map[string]any{"file": filepath.Join(dir, "token")},
			}
			if sa != "" {
				cred["service_account_impersonation_url"] = g.IAM.URL + "/v1/projects/-/serviceAccounts/" + sa + ":generateAccessToken"
			}
			b, err := json.Marshal(cred)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "credentials.json"), b, 0o600))
			c.env["GOOGLE_APPLICATION_CREDENTIALS"] = filepath.Join(dir, credFile)
		}
		return c
	}
}

var kmsClouds = []struct {
	name  string
	setup func(t *testing.T) *kmsCloud
}{
	{"azure", azureCloud},
	{"aws", awsCloud},
	{"google", googleCloud(false)},
	{"google (service account)", googleCloud(true)},
}

// start deploys the service with c's signing key: the pod's token in a
// file, c's environment its Getenv.
func (c *kmsCloud) start(t *testing.T, gh *ghfake.Server, oidc *azfake.GitHubOIDC) (srv *serve.Server, log string, secrets []string, err error) {
	dir := t.TempDir()
	now := time.Now()
	token := cluster.Sign(jwt.MapClaims{"sub": serviceAccount, "aud": c.audience, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"kubernetes.io": map[string]any{"namespace": "jobtoken", "serviceaccount": map[string]any{"name": "jobtoken-serve"}}})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token"), []byte(token), 0o600))
	if c.tokenEnv != "" {
		c.env[c.tokenEnv] = filepath.Join(dir, "token")
	}
	if c.write != nil {
		c.write(dir)
	}
	getenv := testutil.Getenv(c.env)
	set, perr := serve.ParseConfig([]byte(fmt.Sprintf(`audience: %s
issuers: [{url: https://token.actions.githubusercontent.com, jwks_url: %s}]
github: {api_url: %s, client_id: %s, signing_key: "%s"}
policy_sources: [{url: "github://octo-org/policies@main/jobtoken", owners: [octo-org]}]
`, audience, oidc.JWKSURL(), gh.URL, gh.ClientID, c.key)), getenv)
	require.NoError(t, perr)
	var out strings.Builder
	hc := network.Client(c.transport, serve.Retry, nil)
	srv, err = serve.New(set, serve.Options{HTTP: hc, Getenv: getenv, Log: &out, Redact: func(v ...string) { c.redacted = append(c.redacted, v...) }})
	return srv, out.String(), []string{token}, err
}

// TestSigningKey: with github.signing_key the service signs its App JWTs in
// the cloud's KMS, as the identity of the pod it runs in, and holds no
// private key. The cloud's refusals stop it at start with the cloud's
// words and the fix, never its raw answer; no credential of the exchange
// reaches the log or an error.
func TestSigningKey(t *testing.T) {
	for _, cloud := range kmsClouds {
		t.Run(cloud.name, func(t *testing.T) {
			gh := ghfake.New(testutil.AppKey(t), &ghfake.Installation{ID: 7, Account: "octo-org",
				Permissions: map[string]string{"contents": "write", "metadata": "read"}, AllRepos: []string{"app", "policies"}})
			t.Cleanup(gh.Close)
			gh.WriteFiles("octo-org", "policies", map[string]string{"jobtoken/release.yaml": releasePolicy})
			oidc := azfake.NewGitHubOIDC("octo-org/app")
			t.Cleanup(oidc.Close)

			c := cloud.setup(t)
			srv, log, secrets, err := c.start(t, gh, oidc)
			require.NoError(t, err)
			assert.Contains(t, log, "signing the App's JWTs with "+c.key+" (public key SHA256:")
			assert.Contains(t, log, " as "+c.who+"\n")
			hs := httptest.NewServer(srv.Handler())
			t.Cleanup(hs.Close)
			w := &world{t: t, gh: gh, oidc: oidc, http: hs, clock: &clock{t: gh.Now()}}
			a := w.ask(w.oidcToken(nil), release(map[string]string{"contents": "read"}, "app"))
			require.Equal(t, http.StatusOK, a.status, a.raw)
			assert.NotEmpty(t, c.signed(), "the JWTs were signed in the KMS")
			assert.Len(t, c.secrets(), c.issued, "the pod's token was exchanged once, at start, and its credentials kept for the request")
			testutil.AssertNoSecret(t, "the log", log, append(secrets, c.secrets()...)...)
			// Registered for redaction: the pod's token where jobtoken reads
			// it (Google's library reads its own, and keeps STS's token
			// before impersonation to itself), and the credentials the KMS
			// calls carry.
			if c.tokenEnv != "" {
				assert.Contains(t, c.redacted, secrets[0])
			}
			issued := c.secrets()
			assert.Subset(t, c.redacted, issued[len(issued)-1:])

			for i, r := range c.refusals {
				t.Run(r.name, func(t *testing.T) {
					c := cloud.setup(t)
					c.refusals[i].apply(c)
					_, _, secrets, err := c.start(t, gh, oidc)
					require.Error(t, err)
					msg := err.Error()
					assert.Contains(t, msg, "github.signing_key "+c.key)
					for _, want := range r.want {
						assert.Contains(t, msg, want)
					}
					// The cloud's answer is summarised: no JSON, no trace IDs,
					// no URL of the request.
					for _, raw := range []string{"{", "Trace ID", "Correlation", "error_description", "https://", "RESPONSE"} {
						assert.NotContains(t, msg, raw)
					}
					testutil.AssertNoSecret(t, "the error", msg, append(secrets, c.secrets()...)...)
				})
			}
		})
	}

	_, err := serve.ParseConfig([]byte(strings.Replace(minimal, "private_key_file: /secrets/app.pem", "signing_key: hashivault://app", 1)), env(nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "github.signing_key")
}
