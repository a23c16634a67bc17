package ghapp

import (
	"context"
	"fmt"
	"regexp"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/oauth2"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/kms"
	"github.com/jobtoken/jobtoken/pkg/kms/awskms"
	"github.com/jobtoken/jobtoken/pkg/kms/gcpkms"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
	"github.com/jobtoken/jobtoken/pkg/provider/cloudid"
)

// SigningKey names the App's key in a KMS instead of private-key.
var SigningKey = inputs.Input{Key: "signing-key", Azure: "signingKey", Type: inputs.TypeString,
	Description: "The App's key in a KMS, instead of `private-key`: an `azurekms://`, `awskms://` or `gcpkms://` URI, signed with the cloud identity below (docs/github-app.md). Not a secret.",
	On: map[inputs.Where]string{
		inputs.OnCLI: "The App's key in a KMS, instead of --private-key: azurekms://…, awskms://… or gcpkms://…, signed with your own cloud sign-in.",
	}}

// keyless signs the App's JWTs with a KMS key, reached with a cloud
// identity that needs no stored secret.
type keyless struct {
	req   provider.Request
	uri   string
	key   kms.Key
	known bool // the URI is known now (not only at run time)

	// identity describes the cloud identity, for the plan.
	identity string
	// oidc is the job's OIDC token the identity starts from, nil at a
	// terminal.
	oidc host.OIDC
	// azure is the Entra credential for Key Vault.
	azure azcore.TokenCredential
	// aws are the AWS credentials, awsRegion and awsEndpoint where KMS is.
	aws                    aws.CredentialsProvider
	awsRegion, awsEndpoint string
	// gcp makes the Google Cloud token source (its calls use the context
	// the key is opened with); gcpEndpoint is Cloud KMS's.
	gcp         func(ctx context.Context) (oauth2.TokenSource, error)
	gcpEndpoint string

	openMu sync.Mutex
	signer *kms.Signer
	mu     sync.Mutex
	// derived are the credentials the exchange made (the OIDC assertion,
	// the cloud's access token): masked with the minted token, so that the
	// CI system hides them too, not only jobtoken's own writers.
	derived []string
}

// redact registers values with the request's redaction and keeps them for
// masking.
func (k *keyless) redact(values ...string) {
	k.mu.Lock()
	k.derived = append(k.derived, values...)
	k.mu.Unlock()
	k.req.Redact(values...)
}

// issued returns the credentials the exchange made so far.
func (k *keyless) issued() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.derived...)
}

// prepareKeyless reads signing-key and the identity of its cloud, offline.
func prepareKeyless(req provider.Request, ps *inputs.Problems) *keyless {
	in := req.Inputs
	k := &keyless{req: req, uri: in.Get(SigningKey), known: in.Known(SigningKey)}
	if in.Get(PrivateKey) != "" {
		ps.Add(SigningKey, "cannot be used with %s: the App's key is either in a KMS or a secret; remove %s (and delete the secret)", req.Name(PrivateKey), req.Name(PrivateKey))
	}
	if !k.known {
		k.identity = "the cloud identity of the key's KMS (the key is known at run time)"
		return k
	}
	key, err := kms.ParseKey(k.uri)
	if err != nil {
		ps.Add(SigningKey, "%s", err)
		return k
	}
	k.key = key
	switch key.Cloud {
	case kms.Azure:
		k.prepareAzure(ps)
	case kms.AWS:
		k.prepareAWS(ps)
	case kms.GCP:
		k.prepareGCP(ps)
	}
	return k
}

// prepareAzure picks the Entra identity the host offers: the service
// connection (Azure Pipelines), the job's OIDC token with azure-client-id
// and azure-tenant-id (GitHub Actions), or the Azure CLI's sign-in.
func (k *keyless) prepareAzure(ps *inputs.Problems) {
	req := k.req
	what := "an azurekms:// " + req.Name(SigningKey)
	authority, custom, problem := cloudid.EntraAuthority(req.Getenv, what)
	if problem != "" && !req.Terminal {
		ps.Add(SigningKey, "%s", problem)
	}
	x := &cloudid.EntraExchange{Authority: authority, Custom: custom, HTTP: req.HTTP, Redact: k.redact, Naming: req.Naming,
		Known: []apierror.Known{{Text: "AADSTS500011", Explain: func(*apierror.Error) (string, string) {
			return "Azure Key Vault has no service principal in this tenant", "use the tenant of the vault's subscription"
		}}}}
	switch {
	case req.Connection != nil:
		x.Connection = req.Inputs.Get(cloudid.AzureServiceConnection)
		switch {
		case x.Connection == "":
			ps.Add(cloudid.AzureServiceConnection, "is required for %s; choose an Azure Resource Manager service connection that uses workload identity federation and may sign with the key", what)
			return
		case !req.Inputs.Known(cloudid.AzureServiceConnection):
			k.identity = "the service principal of the service connection named at run time"
			return
		}
		c, err := req.Connection(x.Connection)
		if err != nil {
			ps.Add(cloudid.AzureServiceConnection, "%s", err)
			return
		}
		x.ClientID, x.TenantID, x.OIDC = c.ClientID, c.TenantID, c.OIDC
		if err := c.OIDC.Available(); err != nil {
			ps.Add(cloudid.AzureServiceConnection, "%s needs the job's OIDC token, but %s", what, err)
		}
	case req.OIDC != nil:
		id, ips := cloudid.ParseEntra(req.Inputs, what)
		*ps = append(*ps, ips...)
		x.Entra, x.OIDC = id, req.OIDC
		if err := req.OIDC.Available(); err != nil {
			ps.Add(SigningKey, "%s needs the job's OIDC token, but %s", what, err)
		}
	case req.Terminal:
		k.identity = "your Azure CLI sign-in (az login)"
		k.azure = lazyCLI{}
		return
	default:
		ps.Add(SigningKey, "%s needs workload identity (GitHub Actions or Azure Pipelines) or, by hand, an Azure CLI sign-in", what)
		return
	}
	k.oidc, k.azure, k.identity = x.OIDC, x, "Microsoft Entra workload identity: "+x.Identity()
}

// trustee is what trusts a job's OIDC token in a cloud: an AWS role, a
// Google Cloud workload identity pool provider.
type trustee struct {
	input  inputs.Input // the input naming it
	value  string       // its value
	noun   string       // "the role", for messages
	want   string       // what to set input to when it is empty
	byHand string       // what a terminal signs with instead
}

// jobOIDC picks the OIDC token t trusts: the service connection's on Azure
// Pipelines (whose audience replaces audience), the job's on GitHub
// Actions. It sets k.oidc and returns how to get a token (an error when
// only the run names the service connection) and the audience asked for;
// not ok when a problem was added.
func (k *keyless) jobOIDC(ps *inputs.Problems, what string, t trustee, audience string) (token func(context.Context) (string, error), aud string, ok bool) {
	req, in := k.req, k.req.Inputs
	if t.value == "" {
		ps.Add(t.input, "is required for %s; set it to %s", what, t.want)
		return nil, "", false
	}
	var oidc host.OIDC
	switch {
	case req.Connection != nil:
		conn := in.Get(cloudid.AzureServiceConnection)
		switch {
		case conn == "":
			ps.Add(cloudid.AzureServiceConnection, "is required for %s on Azure Pipelines: %s trusts the OIDC token of that service connection", what, t.noun)
			return nil, "", false
		case in.Known(cloudid.AzureServiceConnection):
			c, err := req.Connection(conn)
			if err != nil {
				ps.Add(cloudid.AzureServiceConnection, "%s", err)
				return nil, "", false
			}
			oidc, audience = c.OIDC, cloudid.EntraAudience
		}
	case req.OIDC != nil:
		oidc = req.OIDC
	default:
		ps.Add(SigningKey, "%s needs workload identity (GitHub Actions or Azure Pipelines) or, by hand, %s", what, t.byHand)
		return nil, "", false
	}
	if oidc != nil {
		if err := oidc.Available(); err != nil {
			ps.Add(t.input, "needs the job's OIDC token, but %s", err)
		}
	}
	k.oidc = oidc
	return func(ctx context.Context) (string, error) {
		if oidc == nil {
			return "", fmt.Errorf("%s names no service connection", req.Name(cloudid.AzureServiceConnection))
		}
		return oidc.IDToken(ctx, audience)
	}, audience, true
}

// prepareAWS picks the region, the endpoints and the AWS credentials: a
// role assumed with the job's OIDC token (GitHub Actions), or with the
// service connection's (Azure Pipelines), or the local credential chain.
func (k *keyless) prepareAWS(ps *inputs.Problems) {
	req, in := k.req, k.req.Inputs
	what := "an awskms:// " + req.Name(SigningKey)
	region := in.Get(cloudid.AWSRegion)
	switch {
	case region != "" && !in.Known(cloudid.AWSRegion):
	case region != "" && !cloudid.AWSRegionRE.MatchString(region):
		ps.Add(cloudid.AWSRegion, "%q is not an AWS region; use e.g. us-east-1", region)
		return
	case region != "" && k.key.Region != "" && region != k.key.Region:
		ps.Add(cloudid.AWSRegion, "is %s, but the key ARN names %s; remove %s or make them agree", region, k.key.Region, req.Name(cloudid.AWSRegion))
		return
	case region == "" && k.key.Region != "":
		region = k.key.Region
	case region == "":
		region = req.Getenv(cloudid.EnvAWSRegion)
		if region == "" {
			region = req.Getenv(cloudid.EnvAWSDefaultRegion)
		}
	}
	if region == "" {
		ps.Add(cloudid.AWSRegion, "is required for %s named by alias or key ID; set it to the key's region (e.g. us-east-1), or name the key by its ARN", what)
		return
	}
	k.awsRegion = region
	k.awsEndpoint = req.Getenv(cloudid.EnvAWSEndpointKMS)
	if k.key.Endpoint == "" && k.awsEndpoint != "" {
		if msg := provider.APIURLProblem(k.awsEndpoint, awskms.Endpoint(region)); msg != "" {
			ps.Add(SigningKey, "%s sends requests signed with the role's credentials to %s, which %s", what, cloudid.EnvAWSEndpointKMS, msg)
		}
	}
	role := in.Get(cloudid.AWSRoleARN)
	if role != "" && in.Known(cloudid.AWSRoleARN) && !cloudid.AWSRoleRE.MatchString(role) {
		ps.Add(cloudid.AWSRoleARN, "%q is not an IAM role ARN; use arn:aws:iam::<account>:role/<name>", role)
		return
	}
	if req.Terminal {
		if role != "" {
			ps.Add(cloudid.AWSRoleARN, "is for a CI job's OIDC token; by hand, jobtoken signs with your own AWS credentials: assume the role with the AWS CLI and leave %s empty", req.Name(cloudid.AWSRoleARN))
			return
		}
		creds, who, err := cloudid.AWSDefault(req.Getenv, region, req.HTTP, k.redact, req.Now)
		if err != nil {
			ps.Add(SigningKey, "%s: %s", what, err)
			return
		}
		k.aws, k.identity = creds, who
		return
	}
	token, audience, ok := k.jobOIDC(ps, what, trustee{input: cloudid.AWSRoleARN, value: role, noun: "the role",
		want: "the role that trusts this job's OIDC token and may use the key (kms:GetPublicKey, kms:Sign)", byHand: "your AWS credentials"}, cloudid.AWSAudience)
	if !ok {
		return
	}
	k.identity = fmt.Sprintf("AWS role %s (STS AssumeRoleWithWebIdentity with the job's OIDC token, audience %s)", role, audience)
	sts := cloudid.STSEndpoint(req.Getenv, region)
	if msg := provider.APIURLProblem(sts, "https://sts."+region+".amazonaws.com"); msg != "" {
		ps.Add(cloudid.AWSRoleARN, "sends the OIDC token to %s, which %s", cloudid.EnvAWSEndpointSTS, msg)
	}
	k.aws = &cloudid.AWSWebIdentity{RoleARN: role, Endpoint: sts, SessionName: sessionName(req), HTTP: req.HTTP, Redact: k.redact, Now: req.Now, Token: token}
}

// prepareGCP picks Google Cloud's credentials: workload identity
// federation with the job's OIDC token (GitHub Actions) or the service
// connection's (Azure Pipelines), optionally as a service account, or
// Application Default Credentials by hand.
func (k *keyless) prepareGCP(ps *inputs.Problems) {
	req, in := k.req, k.req.Inputs
	what := "a gcpkms:// " + req.Name(SigningKey)
	k.gcpEndpoint = cloudid.GCPEndpoint(req.Getenv, cloudid.EnvGCPKMSEndpoint, gcpkms.DefaultEndpoint)
	sts := cloudid.GCPEndpoint(req.Getenv, cloudid.EnvGCPSTSEndpoint, cloudid.GCPSTSEndpoint)
	iam := cloudid.GCPEndpoint(req.Getenv, cloudid.EnvGCPIAMCredentials, cloudid.GCPIAMEndpoint)
	for _, e := range []struct{ env, url, def string }{
		{cloudid.EnvGCPKMSEndpoint, k.gcpEndpoint, gcpkms.DefaultEndpoint},
		{cloudid.EnvGCPSTSEndpoint, sts, cloudid.GCPSTSEndpoint},
		{cloudid.EnvGCPIAMCredentials, iam, cloudid.GCPIAMEndpoint},
	} {
		if msg := provider.APIURLProblem(e.url, e.def); msg != "" {
			ps.Add(SigningKey, "%s sends Google Cloud credentials to %s, which %s", what, e.env, msg)
		}
	}
	wip, sa := in.Get(cloudid.GCPWorkloadIdentityProvider), in.Get(cloudid.GCPServiceAccount)
	if wip != "" && in.Known(cloudid.GCPWorkloadIdentityProvider) && !cloudid.GCPProviderRE.MatchString(wip) {
		ps.Add(cloudid.GCPWorkloadIdentityProvider, "%q is not a workload identity pool provider; use projects/<project number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>", wip)
		return
	}
	if sa != "" && in.Known(cloudid.GCPServiceAccount) && !cloudid.GCPServiceAccountRE.MatchString(sa) {
		ps.Add(cloudid.GCPServiceAccount, "%q is not a service account email; use e.g. signer@my-project.iam.gserviceaccount.com", sa)
		return
	}
	if req.Terminal {
		if wip != "" || sa != "" {
			ps.Add(cloudid.GCPWorkloadIdentityProvider, "is for a CI job's OIDC token; by hand, jobtoken signs with your Application Default Credentials (gcloud auth application-default login): leave %s and %s empty", req.Name(cloudid.GCPWorkloadIdentityProvider), req.Name(cloudid.GCPServiceAccount))
			return
		}
		k.identity = "your Application Default Credentials (gcloud auth application-default login)"
		k.gcp = func(ctx context.Context) (oauth2.TokenSource, error) {
			return cloudid.GCPDefault(ctx, req.Getenv, req.HTTP, k.redact)
		}
		return
	}
	token, audience, ok := k.jobOIDC(ps, what, trustee{input: cloudid.GCPWorkloadIdentityProvider, value: wip, noun: "the pool provider",
		want: "the workload identity pool provider that trusts this job's OIDC token", byHand: "Application Default Credentials"}, cloudid.GCPAudience(wip))
	if !ok {
		return
	}
	k.identity = "Google Cloud workload identity provider " + wip + " (the job's OIDC token, audience " + audience + ")"
	if sa != "" {
		k.identity += " as service account " + sa
	}
	x := &cloudid.GCPWorkloadIdentity{Provider: wip, ServiceAccount: sa, STSEndpoint: sts, IAMEndpoint: iam, HTTP: req.HTTP, Redact: k.redact, Token: token}
	k.gcp = x.TokenSource
}

// sessionName names the role session after the run, as CloudTrail shows
// it: jobtoken-<run>-<attempt>, within STS's characters.
func sessionName(req provider.Request) string {
	n := "jobtoken"
	for _, p := range []string{req.Run.RunID, req.Run.Attempt} {
		if p != "" {
			n += "-" + p
		}
	}
	n = sessionRE.ReplaceAllString(n, "_")
	if len(n) > 64 {
		n = n[:64]
	}
	return n
}

var sessionRE = regexp.MustCompile(`[^\w+=,.@-]`)

// lazyCLI is the Azure CLI's sign-in, made on first use (plan never
// makes it).
type lazyCLI struct{}

func (lazyCLI) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	cred, err := azidentity.NewAzureCLICredential(nil)
	if err != nil {
		return azcore.AccessToken{}, fmt.Errorf("failed to use the Azure CLI: %s", cloudid.EntraText(err.Error()))
	}
	tok, err := cred.GetToken(ctx, o)
	if err != nil {
		return tok, fmt.Errorf("failed to get a Key Vault token from the Azure CLI: %s; run az login", cloudid.EntraText(err.Error()))
	}
	return tok, nil
}

// cloud names the KMS for people.
func (k *keyless) cloud() string {
	switch k.key.Cloud {
	case kms.Azure:
		return "Azure Key Vault"
	case kms.AWS:
		return "AWS KMS"
	case kms.GCP:
		return "Google Cloud KMS"
	}
	return "a KMS"
}

// open opens the key once: the token exchange, the public key read and
// checked. Its errors name the input.
func (k *keyless) open(ctx context.Context) (*kms.Signer, error) {
	k.openMu.Lock()
	defer k.openMu.Unlock()
	if k.signer != nil {
		return k.signer, nil
	}
	c := kms.Credentials{HTTP: k.req.HTTP, Azure: k.azure, AWS: k.aws, AWSRegion: k.awsRegion, AWSEndpoint: k.awsEndpoint, GCPEndpoint: k.gcpEndpoint}
	if k.gcp != nil {
		ts, err := k.gcp(ctx)
		if err != nil {
			return nil, fmt.Errorf("failed to open %s %s: %w", k.req.Name(SigningKey), k.key, err)
		}
		c.GCP = ts
	}
	s, err := kms.Open(ctx, k.key, c)
	if err != nil {
		return nil, fmt.Errorf("failed to open %s %s: %w", k.req.Name(SigningKey), k.key, err)
	}
	k.req.Log.Infof("Signing the App's JWTs with %s (%s, public key %s) as %s", k.key, k.cloud(), s.Fingerprint(), k.identity)
	k.signer = s
	return s, nil
}

// secrets are what the host authenticates the OIDC request with.
func (k *keyless) secrets() []string {
	if k.oidc == nil {
		return nil
	}
	return k.oidc.Credentials()
}

var _ provider.Federated = (*minter)(nil)

// OIDCConnection implements provider.Federated: with a signing-key reached
// through workload identity, a broker refreshing the token needs a fresh
// OIDC token of the job (GitHub Actions) or of the service connection
// (Azure Pipelines) for each new JWT; with a private key, none.
func (m *minter) OIDCConnection() (string, bool) {
	if m.kl == nil || m.kl.oidc == nil {
		return "", false
	}
	if m.req.Connection != nil {
		return m.req.Inputs.Get(cloudid.AzureServiceConnection), true
	}
	return "", true
}
