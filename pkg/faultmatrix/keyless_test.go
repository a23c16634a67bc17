package faultmatrix_test

import (
	"net/http"

	"github.com/jobtoken/jobtoken/pkg/fake/awsfake"
	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/gcpfake"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

const (
	signerRole = "arn:aws:iam::111122223333:role/github-app-signer"
	gcpPool    = "projects/123456789/locations/global/workloadIdentityPools/ci-pool/providers/github"
	gcpSA      = "app-signer@ci-project.iam.gserviceaccount.com"
	gcpKey     = "projects/ci-project/locations/global/keyRings/ci/cryptoKeys/github-app/cryptoKeyVersions/1"
)

// keylessWorld is the github provider signing its JWTs in a KMS: Azure Key
// Vault (through Entra) or AWS KMS (through STS), on GitHub or Azure
// Pipelines.
func keylessWorld(key string, cloud string, onAzure bool) func() *world {
	parsed := appKey(key)
	return func() *world {
		fake := newApp(parsed)
		wl := azfake.NewWorkload(connID, "signer-conn")
		gh, pipes := wl.GitHubOIDC, wl.PipelinesOIDC
		vault := azfake.NewVault(wl.Tenant, wl.Entra.URL)
		aws := awsfake.New("eu-west-1")
		vault.Import("github-app", parsed)
		vault.Grant(clientID)
		wl.Entra.Trust(clientID, gh.Federated(), pipes.Federated("signer-conn"))
		aws.TrustProvider(awsfake.Provider{Issuer: azfake.GitHubIssuerURL, Key: &gh.Issuer.Key.PublicKey, Audiences: []string{"sts.amazonaws.com"}})
		aws.TrustProvider(awsfake.Provider{Issuer: pipes.Issuer.URL, Key: &pipes.Issuer.Key.PublicKey, Audiences: []string{azfake.Audience}})
		aws.AddRole(awsfake.Role{ARN: signerRole, Issuer: azfake.GitHubIssuerURL, Audience: "sts.amazonaws.com", Subject: "repo:octo/app:*"})
		aws.AddRole(awsfake.Role{ARN: signerRole + "-azp", Issuer: pipes.Issuer.URL, Audience: azfake.Audience, Subject: pipes.Subject("signer-conn")})
		aws.AddKey("alias/github-app", parsed, signerRole, signerRole+"-azp")
		gcp := gcpfake.New()
		ghPool := gcpfake.Pool{Name: gcpPool, Issuer: azfake.GitHubIssuerURL, Key: &gh.Issuer.Key.PublicKey, Audiences: []string{"https://iam.googleapis.com/" + gcpPool}, Subject: gh.Subject}
		gcp.AddPool(ghPool)
		gcp.AllowImpersonation(gcpSA, ghPool.Principal())
		gcp.AddKey(&gcpfake.KeyVersion{Name: gcpKey, Signer: parsed, Signers: []string{"serviceAccount:" + gcpSA}})

		var w *world
		if onAzure {
			w = connectionWorld(wl, map[string]string{
				"INPUT_PROVIDER": "github", "INPUT_CLIENTID": fake.ClientID, "INPUT_GITHUBAPIURL": fake.URL, "INPUT_PERMISSIONS": "contents:read",
				"BUILD_REPOSITORY_PROVIDER": "GitHub",
			})
			if cloud == "aws" {
				w.env["INPUT_SIGNINGKEY"], w.env["INPUT_AWSROLEARN"], w.env["INPUT_AWSREGION"] = "awskms:///alias/github-app", signerRole+"-azp", "eu-west-1"
			} else {
				w.env["INPUT_SIGNINGKEY"] = vault.URI("github-app")
			}
		} else {
			w = workloadGHWorld(wl, map[string]string{
				"INPUT_PROVIDER": "github", "INPUT_CLIENT-ID": fake.ClientID, "INPUT_GITHUB-API-URL": fake.URL, "INPUT_PERMISSIONS": "contents:read",
			})
			switch cloud {
			case "aws":
				w.env["INPUT_SIGNING-KEY"], w.env["INPUT_AWS-ROLE-ARN"], w.env["INPUT_AWS-REGION"] = "awskms:///alias/github-app", signerRole, "eu-west-1"
			case "gcp":
				w.env["INPUT_SIGNING-KEY"], w.env["INPUT_GCP-WORKLOAD-IDENTITY-PROVIDER"], w.env["INPUT_GCP-SERVICE-ACCOUNT"] = "gcpkms://"+gcpKey, gcpPool, gcpSA
			default:
				w.env["INPUT_SIGNING-KEY"], w.env["INPUT_AZURE-CLIENT-ID"], w.env["INPUT_AZURE-TENANT-ID"] = vault.URI("github-app"), clientID, wl.Tenant.ID
			}
		}
		w.env["AWS_ENDPOINT_URL_STS"], w.env["AWS_ENDPOINT_URL_KMS"] = aws.STS.URL, aws.KMS.URL
		w.env["CLOUDSDK_API_ENDPOINT_OVERRIDES_STS"], w.env["CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS"], w.env["CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS"] = gcp.STS.URL, gcp.IAM.URL, gcp.KMS.URL
		w.transport = wl.Entra.Client().Transport
		w.minted = func() []string {
			// The installation tokens, and what the exchanges made:
			// assertions, the Key Vault token, the role's keys.
			out := append(append(append(appMinted(fake), wl.Entra.Issued()...), gh.Issued()...), pipes.Issued()...)
			return append(append(out, aws.Issued()...), gcp.Issued()...)
		}
		w.live = func() []string { return appLive(fake) }
		w.revocable = true
		w.close = func() {
			fake.Close()
			wl.Close()
			vault.Close()
			aws.Close()
			gcp.Close()
		}
		return w
	}
}

// target matches AWS KMS's X-Amz-Target, sts the unsigned STS call.
func target(action string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.Header.Get("X-Amz-Target") == "TrentService."+action }
}

func authenticated(r *http.Request) bool   { return r.Header.Get("Authorization") != "" }
func unauthenticated(r *http.Request) bool { return r.Header.Get("Authorization") == "" }

func sts(r *http.Request) bool { return r.Header.Get("X-Amz-Target") == "" }

// keylessCalls are the rows of the calls keyless signing makes.
func keylessCalls(key string) []call {
	kvGH, kvAz := keylessWorld(key, "azure", false), keylessWorld(key, "azure", true)
	awsGH, awsAz := keylessWorld(key, "aws", false), keylessWorld(key, "aws", true)
	gcpGH := keylessWorld(key, "gcp", false)
	root := func(p string) bool { return p == "/" }
	return []call{
		{name: "keyless (github): Key Vault token exchange", method: "POST", path: testutil.PathSuffix("/oauth2/v2.0/token"), stage: "main", world: kvGH},
		// Key Vault answers the first request without a token with its
		// challenge (401 and the tenant); the SDK then sends it again with
		// one. The two are rows of their own.
		{name: "keyless (github): Key Vault challenge", method: "GET", path: testutil.PathContains("/keys/github-app"), match: unauthenticated, readsNothing: true, stage: "main", world: kvGH},
		{name: "keyless (github): Key Vault get key", method: "GET", path: testutil.PathContains("/keys/github-app"), match: authenticated, stage: "main", world: kvGH},
		{name: "keyless (github): Key Vault sign", method: "POST", path: testutil.PathSuffix("/sign"), stage: "main", world: kvGH},
		{name: "keyless (azure): Key Vault sign", method: "POST", path: testutil.PathSuffix("/sign"), stage: "main", world: kvAz},
		{name: "keyless (github): STS AssumeRoleWithWebIdentity", method: "POST", path: root, match: sts, stage: "main", world: awsGH},
		{name: "keyless (azure): STS AssumeRoleWithWebIdentity", method: "POST", path: root, match: sts, stage: "main", world: awsAz},
		{name: "keyless (github): KMS GetPublicKey", method: "POST", path: root, match: target("GetPublicKey"), stage: "main", world: awsGH},
		{name: "keyless (github): KMS Sign", method: "POST", path: root, match: target("Sign"), stage: "main", world: awsGH},
		{name: "keyless (github): Google STS token exchange", method: "POST", path: testutil.PathSuffix("/v1/token"), stage: "main", world: gcpGH},
		{name: "keyless (github): IAM generateAccessToken", method: "POST", path: testutil.PathSuffix(":generateAccessToken"), stage: "main", world: gcpGH},
		{name: "keyless (github): Cloud KMS getPublicKey", method: "GET", path: testutil.PathSuffix("/publicKey"), stage: "main", world: gcpGH},
		{name: "keyless (github): Cloud KMS asymmetricSign", method: "POST", path: testutil.PathSuffix(":asymmetricSign"), stage: "main", world: gcpGH},
	}
}
