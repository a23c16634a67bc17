package azdo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
	"github.com/jobtoken/jobtoken/pkg/secret"
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

// Audience is what Entra expects in a federated assertion.
const Audience = "api://AzureADTokenExchange"

// Environment variables read through req.Getenv.
const (
	envAuthorityHost   = "AZURE_AUTHORITY_HOST"
	envGitHubOIDCURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envGitHubOIDCToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
	envPipelinesOIDC   = "SYSTEM_OIDCREQUESTURI"
	envJobToken        = "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN"
)

var (
	guidRE   = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
	tenantRE = regexp.MustCompile(`^[A-Za-z0-9.-]+$`)
)

type entraMinter struct {
	req       provider.Request
	org       string
	authority string
	custom    bool // authority is not the public cloud's: skip instance discovery
	clientID  string
	tenantID  string
	// GitHub Actions
	ghURL, ghToken string
	// Azure Pipelines
	connID, oidcURI, jobToken string
	plan                      provider.Plan
}

func prepareEntra(req provider.Request) (provider.Minter, inputs.Problems) {
	var ps inputs.Problems
	m := &entraMinter{req: req}
	getenv := req.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if len(req.Permissions) > 0 {
		ps.Add(inputs.Permissions, "must be empty with azure-credential: entra: an Entra token carries everything its identity may do in Azure DevOps and cannot be narrowed to vso.* scopes; for a narrowed, revocable token use azure-credential: pat")
	}
	// The runner and the agent pass the default (1h) as if it were given, so
	// only another value is refused.
	if req.Inputs.Given(inputs.Lifetime) && req.Lifetime != time.Hour {
		ps.Add(inputs.Lifetime, "%s cannot be applied to Entra tokens, whose life Microsoft Entra sets (about an hour); remove it, or use azure-credential: pat for a PAT that lives exactly this long", inputs.FormatDuration(req.Lifetime))
	}
	if req.Inputs.Given(inputs.AzureAccessToken) {
		ps.Add(inputs.AzureAccessToken, "is used only with azure-credential: pat; remove it (entra needs no secret)")
	}
	if req.Inputs.Given(inputs.AzureOrganization) {
		m.org = organization(req, false, &ps)
	}

	m.authority = strings.TrimSpace(getenv(envAuthorityHost))
	if m.authority == "" {
		m.authority = DefaultAuthorityHost
	}
	// The one URL check, and https even to this machine: azidentity
	// refuses anything else.
	msg := provider.APIURLProblem(m.authority, DefaultAuthorityHost)
	u, err := url.Parse(m.authority)
	switch {
	case msg != "" && (err != nil || u.User != nil || strings.Contains(m.authority, "@")):
		ps.Add(inputs.AzureCredential, "entra sends the OIDC token to AZURE_AUTHORITY_HOST, which %s", msg)
	case u.Scheme != "https" || u.Host == "":
		ps.Add(inputs.AzureCredential, "entra needs an https authority, but AZURE_AUTHORITY_HOST is %q; unset it or use e.g. %s", m.authority, DefaultAuthorityHost)
	case msg != "":
		ps.Add(inputs.AzureCredential, "entra sends the OIDC token to AZURE_AUTHORITY_HOST, which %s", msg)
	}
	if !strings.HasSuffix(m.authority, "/") {
		m.authority += "/"
	}
	m.custom = !strings.EqualFold(m.authority, DefaultAuthorityHost)

	switch req.Host {
	case "github":
		m.clientID = req.Inputs.Get(inputs.AzureClientID)
		m.tenantID = req.Inputs.Get(inputs.AzureTenantID)
		switch {
		case m.clientID == "":
			ps.Add(inputs.AzureClientID, "is required for azure-credential: entra; set it to the client ID of the app registration or managed identity that trusts this workflow")
		case !guidRE.MatchString(m.clientID):
			ps.Add(inputs.AzureClientID, "%q is not a client ID (a GUID); copy the Application (client) ID", m.clientID)
		}
		switch {
		case m.tenantID == "":
			ps.Add(inputs.AzureTenantID, "is required for azure-credential: entra; set it to the Microsoft Entra tenant ID")
		case !tenantRE.MatchString(m.tenantID):
			ps.Add(inputs.AzureTenantID, "%q is not a tenant ID; use the Directory (tenant) ID GUID", m.tenantID)
		}
		m.ghURL, m.ghToken = getenv(envGitHubOIDCURL), getenv(envGitHubOIDCToken)
		if m.ghURL == "" || m.ghToken == "" {
			missing := envGitHubOIDCURL
			if m.ghURL != "" {
				missing = envGitHubOIDCToken
			}
			ps.Add(inputs.AzureCredential, "entra needs the job's OIDC token, but %s is not set: give the job `permissions: id-token: write` (workflows run from a fork's pull request never get one)", missing)
		}
	case "azure":
		m.connID = req.Inputs.Get(inputs.AzureServiceConnection)
		m.prepareServiceConnection(getenv, &ps)
	default:
		ps.Add(inputs.AzureCredential, "entra uses workload identity, which only GitHub Actions and Azure Pipelines provide; locally, use azure-credential: pat (it uses your Azure CLI login)")
	}
	m.plan = m.makePlan()
	return m, ps
}

// prepareServiceConnection reads the AzureRM service connection the agent
// exposes as ENDPOINT_* variables.
func (m *entraMinter) prepareServiceConnection(getenv func(string) string, ps *inputs.Problems) {
	if m.connID == "" {
		ps.Add(inputs.AzureServiceConnection, "is required for azure-credential: entra; choose an Azure Resource Manager service connection that uses workload identity federation")
		return
	}
	// The agent names the variables after the connection's ID as it prints a
	// GUID (lower case), with the parameter name upper-cased.
	param := func(name string) string {
		for _, id := range []string{m.connID, strings.ToLower(m.connID), strings.ToUpper(m.connID)} {
			if v := getenv("ENDPOINT_AUTH_PARAMETER_" + id + "_" + name); v != "" {
				return v
			}
		}
		return ""
	}
	scheme := ""
	for _, id := range []string{m.connID, strings.ToLower(m.connID), strings.ToUpper(m.connID)} {
		if v := getenv("ENDPOINT_AUTH_SCHEME_" + id); v != "" {
			scheme = v
			break
		}
	}
	m.clientID, m.tenantID = param("SERVICEPRINCIPALID"), param("TENANTID")
	switch {
	case m.clientID == "" && scheme == "":
		ps.Add(inputs.AzureServiceConnection, "service connection %s is not available to this job; check the name or ID and that the pipeline is authorized to use it", m.connID)
		return
	case scheme != "" && !strings.EqualFold(scheme, "WorkloadIdentityFederation"):
		ps.Add(inputs.AzureServiceConnection, "service connection %s uses %s authentication; jobtoken needs workload identity federation (convert the connection in Project settings → Service connections)", m.connID, scheme)
		return
	case m.clientID == "" || m.tenantID == "":
		ps.Add(inputs.AzureServiceConnection, "service connection %s does not name a service principal and tenant; recreate it with workload identity federation", m.connID)
		return
	}
	m.oidcURI, m.jobToken = getenv(envPipelinesOIDC), getenv(envJobToken)
	if m.oidcURI == "" {
		ps.Add(inputs.AzureServiceConnection, "entra needs the pipeline's OIDC endpoint, but %s is not set; run on an agent that supports workload identity federation (agent 3.227 or later)", envPipelinesOIDC)
	}
	if m.jobToken == "" {
		ps.Add(inputs.AzureServiceConnection, "entra needs the job's access token (System.AccessToken), which the agent did not provide to this task")
	}
}

func (m *entraMinter) identity() string {
	switch m.req.Host {
	case "azure":
		return fmt.Sprintf("service principal %s of service connection %s (tenant %s)", m.clientID, m.connID, m.tenantID)
	}
	return fmt.Sprintf("app %s (tenant %s) trusting this workflow's OIDC token", m.clientID, m.tenantID)
}

func (m *entraMinter) makePlan() provider.Plan {
	var secrets []string
	for _, s := range []string{m.ghToken, m.jobToken} {
		if s != "" {
			secrets = append(secrets, s)
		}
	}
	res := []string{"every Azure DevOps organization the identity belongs to"}
	if m.org != "" {
		res = []string{"organization " + m.org + " (the token itself is not limited to it)"}
	}
	details := map[string]string{"credential": KindEntra, "authority": m.authority}
	if m.custom {
		details["instance_discovery"] = "disabled (custom authority)"
	}
	return provider.Plan{
		Provider:   Name,
		Parent:     "workload identity federation: " + m.identity(),
		Scopes:     []string{Scope},
		Resources:  res,
		Lifetime:   time.Hour,
		Revocation: "cannot be revoked: Microsoft Entra tokens expire on their own (about an hour)",
		Revocable:  false,
		Notes: []string{
			"an Entra token cannot be narrowed: it carries everything the identity may do in Azure DevOps; use azure-credential: pat for vso.* scopes",
			"Microsoft Entra sets the token's life; the lifetime input does not apply",
		},
		Details: details,
		Secrets: secrets,
	}
}

// Plan implements provider.Minter.
func (m *entraMinter) Plan() provider.Plan { return m.plan }

// assertion fetches the CI system's OIDC token for Entra's audience.
func (m *entraMinter) assertion(ctx context.Context) (string, error) {
	if m.req.Host == "azure" {
		return pipelinesOIDC(ctx, m.req.HTTP, m.oidcURI, m.connID, m.jobToken)
	}
	return githubOIDC(ctx, m.req.HTTP, m.ghURL, m.ghToken)
}

// entraToken exchanges the CI system's OIDC token for an Entra access token
// for Azure DevOps. It returns the assertion too, so it can be masked.
//
// On Azure Pipelines this is what azidentity.AzurePipelinesCredential does,
// but that credential reads SYSTEM_OIDCREQUESTURI from the process
// environment (os.Getenv) and puts the OIDC endpoint's raw answer in its
// errors; jobtoken reads the environment through req.Getenv and summarises
// errors, so it fetches the assertion itself and hands it to
// ClientAssertionCredential, which is the credential AzurePipelinesCredential
// wraps.
func (m *entraMinter) entraToken(ctx context.Context) (azcore.AccessToken, string, error) {
	var mu sync.Mutex
	var assertion string
	var assertErr error
	get := func(ctx context.Context) (string, error) {
		a, err := m.assertion(ctx)
		if a != "" && m.req.Redact != nil {
			m.req.Redact(a)
		}
		mu.Lock()
		defer mu.Unlock()
		assertion, assertErr = a, err
		return a, err
	}
	opts := &azidentity.ClientAssertionCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			// Set explicitly so azidentity never reads AZURE_AUTHORITY_HOST
			// from the process environment itself.
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: m.authority},
			Transport: m.req.HTTP,
			// req.HTTP already retries; azcore retrying too would multiply.
			Retry: policy.RetryOptions{MaxRetries: -1},
		},
		DisableInstanceDiscovery: m.custom,
	}
	cred, err := azidentity.NewClientAssertionCredential(m.tenantID, m.clientID, get, opts)
	if err != nil {
		return azcore.AccessToken{}, "", fmt.Errorf("failed to set up workload identity: %s", err)
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{Scope}})
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		if assertErr != nil {
			return tok, assertion, assertErr
		}
		return tok, assertion, fmt.Errorf("failed to exchange the OIDC token with Microsoft Entra: %w", m.entraError(err))
	}
	return tok, assertion, nil
}

// Mint implements provider.Minter.
func (m *entraMinter) Mint(ctx context.Context) (*provider.Token, error) {
	at, assertion, err := m.entraToken(ctx)
	if err != nil {
		return nil, localize(m.req.Host, fmt.Errorf("failed to get an Entra token: %w", err))
	}
	sum := sha256.Sum256([]byte(at.Token))
	secrets := []string{secret.BasicAuth("", at.Token)}
	if assertion != "" {
		secrets = append(secrets, assertion)
	}
	who := m.identity()
	if c, err := decodeClaims(at.Token); err == nil && c.Oid != "" {
		who += ", object " + c.Oid
	}
	return &provider.Token{
		Value:     at.Token,
		ID:        "sha256:" + hex.EncodeToString(sum[:])[:12],
		ExpiresAt: at.ExpiresOn.UTC(),
		Granted:   Scope,
		Secrets:   secrets,
		State:     map[string]string{"kind": KindEntra},
		Summary: [][2]string{
			{"Credential", "Microsoft Entra token (azure-credential: entra)"},
			{"Identity", who},
			{"Narrowing", "none: carries everything the identity may do in Azure DevOps"},
		},
		Revocable: false,
	}, nil
}

// Check implements provider.Checker: one token exchange, whose token is
// dropped, proves the federation is set up.
func (m *entraMinter) Check(ctx context.Context) ([]string, error) {
	at, _, err := m.entraToken(ctx)
	if err != nil {
		return nil, localize(m.req.Host, err)
	}
	return []string{fmt.Sprintf("workload identity federation works for %s (token dropped; it would expire %s)", m.identity(), at.ExpiresOn.UTC().Format(time.RFC3339))}, nil
}

// entraError turns an azidentity error into the API error: status, the
// AADSTS code and Entra's sentence (without trace IDs or the response dump),
// and jobtoken's cause and fix for the codes workload identity meets. An
// error that carries no Entra answer keeps its cause in one line.
func (m *entraMinter) entraError(err error) error {
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) || afe.RawResponse == nil {
		return errors.New(entraText(err.Error()))
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
	e := apierror.New(serviceEntra, afe.RawResponse.StatusCode, strings.TrimRight(shortenTo(desc, 320), "."))
	e.Code = aadstsRE.FindString(desc)
	apierror.ExplainKnown(e, m.entraAnswers())
	return e
}

// aadstsRE finds Entra's error code in its description.
var aadstsRE = regexp.MustCompile(`AADSTS\d+`)

// entraAnswers explain the AADSTS codes of a workload identity exchange
// (Microsoft Entra's error code reference), naming what to change on the
// host the step runs on.
func (m *entraMinter) entraAnswers() []apierror.Known {
	onAzure := m.req.Host == "azure"
	issuer, app := "https://token.actions.githubusercontent.com", "the app registration or managed identity "+m.clientID
	ids := "check azure-client-id and azure-tenant-id against the app registration's overview"
	if onAzure {
		issuer, app = "the one the service connection's page shows (with its subject)", "the service connection's app registration"
		ids = "check the service connection named by azureServiceConnection: its app registration and tenant"
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
		{Text: "AADSTS700212", Explain: fed("audience", "set the federated credential's audience to "+Audience)},
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
		{Text: "AADSTS500011", Explain: func(*apierror.Error) (string, string) {
			return "Azure DevOps (resource " + ResourceID + ") has no service principal in this tenant: no organization of this tenant uses Azure DevOps",
				"use the tenant the Azure DevOps organization is connected to (Organization settings → Microsoft Entra)"
		}},
	}
}

var (
	// MSAL's errors quote the request URL and, for an answer it cannot
	// decode, the raw body: neither belongs in a log.
	quotedURLRE = regexp.MustCompile(`(?:Get|Post|GET|POST) "[^"]*": `)
	rawBodyRE   = regexp.MustCompile(`(?s)\s*(raw message was|json message bytes were):.*$`)
)

// entraText summarises an error that carries no Entra answer: its cause,
// without the URL, the raw body, or azidentity's troubleshooting link.
func entraText(msg string) string {
	if i := strings.Index(msg, "To troubleshoot"); i > 0 {
		msg = msg[:i]
	}
	if strings.Contains(msg, "json decode error") {
		return "Microsoft Entra's answer was not the expected JSON"
	}
	msg = rawBodyRE.ReplaceAllString(msg, "")
	msg = quotedURLRE.ReplaceAllString(msg, "")
	msg = strings.TrimPrefix(strings.TrimSpace(msg), "ClientAssertionCredential: ")
	msg = strings.ReplaceAll(msg, "server response error: ", "")
	return shorten(msg)
}

// githubOIDC fetches the job's OIDC token from GitHub Actions, as
// @actions/core getIDToken does: GET the request URL with audience added,
// authenticated by the request token; the answer is {"value": jwt}.
func githubOIDC(ctx context.Context, hc *http.Client, rawURL, reqToken string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("%s is not a URL", envGitHubOIDCURL)
	}
	q := u.Query()
	q.Set("audience", Audience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+reqToken)
	req.Header.Set("Accept", "application/json")
	var out struct {
		Value string `json:"value"`
	}
	if err := oidcCall(hc, req, "GitHub's OIDC token endpoint", &out); err != nil {
		if e, ok := apierror.As(err); ok && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden) {
			e.Explain("the job's "+envGitHubOIDCToken+" was refused", "check the job has `permissions: id-token: write`")
		}
		return "", err
	}
	if out.Value == "" {
		return "", errors.New("GitHub's OIDC token endpoint answered without a token")
	}
	return out.Value, nil
}

// pipelinesOIDC fetches the OIDC token of a service connection from Azure
// Pipelines, as azidentity.AzurePipelinesCredential does: POST to
// SYSTEM_OIDCREQUESTURI with api-version 7.1 and the connection's ID,
// authenticated by the job's access token; the answer is {"oidcToken": jwt}.
func pipelinesOIDC(ctx context.Context, hc *http.Client, uri, connID, jobToken string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("%s is not a URL", envPipelinesOIDC)
	}
	q := u.Query()
	q.Set("api-version", "7.1")
	q.Set("serviceConnectionId", connID)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+jobToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	// Answer 401 rather than redirect to a sign-in page.
	req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	var out struct {
		OIDCToken string `json:"oidcToken"`
	}
	if err := oidcCall(hc, req, "the Azure Pipelines OIDC endpoint", &out); err != nil {
		if e, ok := apierror.As(err); ok {
			switch e.Status {
			case http.StatusUnauthorized, http.StatusForbidden:
				e.Explain("the job's access token was refused", "check that the job's access token is available to the task (it is, unless a policy removed it)")
			case http.StatusBadRequest, http.StatusNotFound:
				e.Explain("", "check azureServiceConnection names a workload identity service connection this pipeline is authorized to use")
			}
		}
		return "", err
	}
	if out.OIDCToken == "" {
		return "", errors.New("the Azure Pipelines OIDC endpoint answered without a token")
	}
	return out.OIDCToken, nil
}

func oidcCall(hc *http.Client, req *http.Request, what string, out any) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("failed to reach %s: %s", what, netSummary(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("failed to read %s's answer: %s", what, netSummary(err))
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &e)
		return apierror.New(what, resp.StatusCode, strings.TrimRight(e.Message, "."))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s answered something other than JSON", what)
	}
	return nil
}
