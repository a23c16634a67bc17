package cloudid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

func init() {
	// With AZURE_SDK_GO_LOGGING=all, azcore (read at its own init) prints
	// requests and MSAL's messages straight to os.Stderr, around the
	// redacting writer. jobtoken's errors say what went wrong; nothing of
	// the SDK's may print.
	azlog.SetListener(nil)
}

// DefaultAuthorityHost is Microsoft Entra's public cloud authority.
const DefaultAuthorityHost = "https://login.microsoftonline.com/"

// EntraAudience is what Entra expects in a federated assertion.
const EntraAudience = "api://AzureADTokenExchange"

// EnvAuthorityHost is read through the request's Getenv, as the Azure SDKs
// read it.
const EnvAuthorityHost = "AZURE_AUTHORITY_HOST"

// ServiceEntra is who answers a token exchange, as errors name it.
const ServiceEntra = "Microsoft Entra"

// GitHubIssuer is the issuer of GitHub Actions' OIDC tokens, which a
// federated credential (or an AWS or Google Cloud identity provider) for a
// workflow names.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// EntraAuthority reads AZURE_AUTHORITY_HOST through getenv: the authority
// (with a final slash), whether it is not the public cloud's (instance
// discovery is then skipped, as MSAL would otherwise ask
// login.microsoftonline.com first), and, when it is unusable, the problem
// as a sentence that follows what ("entra").
func EntraAuthority(getenv func(string) string, what string) (authority string, custom bool, problem string) {
	authority = strings.TrimSpace(getenv(EnvAuthorityHost))
	if authority == "" {
		authority = DefaultAuthorityHost
	}
	// The one URL check, and https even to this machine: azidentity
	// refuses anything else.
	msg := provider.APIURLProblem(authority, DefaultAuthorityHost)
	u, err := url.Parse(authority)
	switch {
	case msg != "" && (err != nil || u.User != nil || strings.Contains(authority, "@")):
		problem = fmt.Sprintf("%s sends the OIDC token to %s, which %s", what, EnvAuthorityHost, msg)
	case u.Scheme != "https" || u.Host == "":
		problem = fmt.Sprintf("%s needs an https authority, but %s is %q; unset it or use e.g. %s", what, EnvAuthorityHost, authority, DefaultAuthorityHost)
	case msg != "":
		problem = fmt.Sprintf("%s sends the OIDC token to %s, which %s", what, EnvAuthorityHost, msg)
	}
	if !strings.HasSuffix(authority, "/") {
		authority += "/"
	}
	return authority, !strings.EqualFold(authority, DefaultAuthorityHost), problem
}

// EntraExchange exchanges a CI system's OIDC token for a Microsoft Entra
// access token of a workload identity, with azidentity's
// ClientAssertionCredential through the one HTTP client.
//
// On Azure Pipelines this is what azidentity.AzurePipelinesCredential
// does, but that credential reads SYSTEM_OIDCREQUESTURI from the process
// environment (os.Getenv) and puts the OIDC endpoint's raw answer in its
// errors; the host fetches the assertion instead (host.OIDC), and this
// hands it to ClientAssertionCredential, which is the credential
// AzurePipelinesCredential wraps.
type EntraExchange struct {
	Entra
	// Connection is the service connection the identity comes from (Azure
	// Pipelines), "" when the inputs name it.
	Connection string
	OIDC       host.OIDC
	Authority  string
	Custom     bool
	HTTP       *http.Client
	// Redact is told of every assertion and access token.
	Redact func(values ...string)
	Naming inputs.Naming
	// Known explains, beyond the federation's own codes, what Entra may
	// answer for the resource asked (AADSTS500011).
	Known []apierror.Known

	mu        sync.Mutex
	assertion string
	assertErr error
	cred      *azidentity.ClientAssertionCredential
}

// Identity describes the identity for plans and summaries.
func (x *EntraExchange) Identity() string {
	if x.Connection != "" {
		return fmt.Sprintf("service principal %s of service connection %s (tenant %s)", x.ClientID, x.Connection, x.TenantID)
	}
	return fmt.Sprintf("app %s (tenant %s) trusting this workflow's OIDC token", x.ClientID, x.TenantID)
}

func (x *EntraExchange) credential() (*azidentity.ClientAssertionCredential, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.cred != nil {
		return x.cred, nil
	}
	get := func(ctx context.Context) (string, error) {
		a, err := x.OIDC.IDToken(ctx, EntraAudience)
		if a != "" {
			x.Redact(a)
		}
		x.mu.Lock()
		defer x.mu.Unlock()
		x.assertion, x.assertErr = a, err
		return a, err
	}
	opts := &azidentity.ClientAssertionCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			// Set explicitly so azidentity never reads AZURE_AUTHORITY_HOST
			// from the process environment itself.
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: x.Authority},
			Transport: x.HTTP,
			// The one client already retries; azcore retrying too would
			// multiply.
			Retry: policy.RetryOptions{MaxRetries: -1},
		},
		DisableInstanceDiscovery: x.Custom,
	}
	cred, err := azidentity.NewClientAssertionCredential(x.TenantID, x.ClientID, get, opts)
	if err != nil {
		return nil, fmt.Errorf("failed to set up workload identity: %s", err)
	}
	x.cred = cred
	return cred, nil
}

// Token exchanges the OIDC token for an access token for scope. It returns
// the assertion too (the OIDC token sent), so that it can be masked.
func (x *EntraExchange) Token(ctx context.Context, scope string) (azcore.AccessToken, string, error) {
	tok, err := x.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	x.mu.Lock()
	defer x.mu.Unlock()
	return tok, x.assertion, err
}

// GetToken implements azcore.TokenCredential, for the Azure SDK's clients
// (azkeys): every token is registered for redaction, and a refusal is the
// one error type, explained.
func (x *EntraExchange) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	cred, err := x.credential()
	if err != nil {
		return azcore.AccessToken{}, err
	}
	tok, err := cred.GetToken(ctx, opts)
	if err != nil {
		x.mu.Lock()
		assertErr := x.assertErr
		x.mu.Unlock()
		if assertErr != nil {
			return tok, assertErr
		}
		return tok, fmt.Errorf("failed to exchange the OIDC token with Microsoft Entra: %w", x.explain(err))
	}
	x.Redact(tok.Token)
	return tok, nil
}

var _ azcore.TokenCredential = (*EntraExchange)(nil)

// explain turns an azidentity error into the API error, with jobtoken's
// cause and fix for the codes workload identity meets.
func (x *EntraExchange) explain(err error) error {
	return EntraError(err, append(x.answers(), x.Known...))
}

// EntraError turns an azidentity error into the API error: status, the
// AADSTS code and Entra's sentence (without trace IDs or the response
// dump), explained by the first of known that matches. An error that
// carries no Entra answer keeps its cause in one line.
func EntraError(err error, known []apierror.Known) error {
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) || afe.RawResponse == nil {
		return errors.New(EntraText(err.Error()))
	}
	body, _ := runtime.Payload(afe.RawResponse)
	var b struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &b)
	desc := b.Description
	if i := strings.Index(desc, " Trace ID"); i > 0 {
		desc = desc[:i]
	}
	if desc == "" {
		desc = b.Error
	}
	e := apierror.New(ServiceEntra, afe.RawResponse.StatusCode, strings.TrimRight(apierror.Summarize(desc, 320), "."))
	e.Code = aadstsRE.FindString(desc)
	apierror.ExplainKnown(e, known)
	return e
}

// aadstsRE finds Entra's error code in its description.
var aadstsRE = regexp.MustCompile(`AADSTS\d+`)

// answers explain the AADSTS codes of a workload identity exchange
// (Microsoft Entra's error code reference), naming what to change on the
// host the step runs on.
func (x *EntraExchange) answers() []apierror.Known {
	issuer, app := GitHubIssuer, "the app registration or managed identity "+x.ClientID
	ids := fmt.Sprintf("check %s and %s against the app registration's overview", x.Naming.Name(AzureClientID), x.Naming.Name(AzureTenantID))
	if x.Connection != "" {
		issuer, app = "the one the service connection's page shows (with its subject)", "the service connection's app registration"
		ids = fmt.Sprintf("check the service connection named by %s: its app registration and tenant", x.Naming.Name(AzureServiceConnection))
	}
	fed := func(what, fix string) func(*apierror.Error) (string, string) {
		return func(*apierror.Error) (string, string) {
			return fmt.Sprintf("%s has no federated credential whose %s matches this job's OIDC token", app, what), fix
		}
	}
	return []apierror.Known{
		{Text: "AADSTS7002138", Explain: fed("subject", "the subject matches only when the case matches too: copy it exactly, as this error quotes it")},
		{Text: "AADSTS700213", Explain: fed("subject", "add a federated credential with exactly the subject this error quotes, matched case-sensitively (it names the branch, tag, environment or pull_request the job ran for)")},
		{Text: "AADSTS700211", Explain: fed("issuer", "add a federated credential with issuer "+issuer)},
		{Text: "AADSTS700212", Explain: fed("audience", "set the federated credential's audience to "+EntraAudience)},
		{Text: "AADSTS70021", Explain: fed("issuer, subject and audience", "add a federated credential that matches this job")},
		{Text: "AADSTS700016", Explain: func(*apierror.Error) (string, string) {
			return "no application with this client ID exists in the tenant", ids
		}},
		{Text: "AADSTS90002", Explain: func(*apierror.Error) (string, string) { return "the tenant does not exist", ids }},
		{Text: "AADSTS900023", Explain: func(*apierror.Error) (string, string) { return "the tenant ID is not a tenant ID", ids }},
		{Text: "AADSTS700024", Explain: func(*apierror.Error) (string, string) {
			return "the job's OIDC token is outside its valid time range: it expired, or this machine's clock is off", "rerun the job; if it recurs, synchronise the runner's clock"
		}},
		{Text: "AADSTS50027", Explain: func(*apierror.Error) (string, string) {
			return "Entra could not verify the job's OIDC token with the federated credential's issuer", "check the federated credential's issuer is " + issuer
		}},
	}
}

var (
	// MSAL's errors quote the request URL and, for an answer it cannot
	// decode, the raw body: neither belongs in a log.
	quotedURLRE = regexp.MustCompile(`(?:Get|Post|GET|POST) "[^"]*": `)
	rawBodyRE   = regexp.MustCompile(`(?s)\s*(raw message was|json message bytes were):.*$`)
)

// EntraText summarises an error that carries no Entra answer: its cause,
// without the URL, the raw body, or azidentity's troubleshooting link.
func EntraText(msg string) string {
	if i := strings.Index(msg, "To troubleshoot"); i > 0 {
		msg = msg[:i]
	}
	if strings.Contains(msg, "json decode error") {
		return "Microsoft Entra's answer was not the expected JSON"
	}
	msg = rawBodyRE.ReplaceAllString(msg, "")
	msg = quotedURLRE.ReplaceAllString(msg, "")
	msg = strings.TrimPrefix(strings.TrimSpace(msg), "ClientAssertionCredential: ")
	msg = strings.TrimPrefix(msg, "AzureCLICredential: ")
	msg = strings.TrimPrefix(msg, "WorkloadIdentityCredential: ")
	msg = strings.ReplaceAll(msg, "server response error: ", "")
	return apierror.Summarize(msg, apierror.MaxMessage)
}
