package azdo

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
	"github.com/jobtoken/jobtoken/pkg/provider/cloudid"
)

// githubIssuer is the issuer of GitHub Actions' OIDC tokens, which a
// federated credential for a workflow names.
const githubIssuer = "https://token.actions.githubusercontent.com"

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
	e := apierror.New(serviceEntra, afe.RawResponse.StatusCode, strings.TrimRight(apierror.Summarize(desc, 320), "."))
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
	issuer, app := githubIssuer, "the app registration or managed identity "+m.clientID
	ids := fmt.Sprintf("check %s and %s against the app registration's overview", m.req.Name(cloudid.AzureClientID), m.req.Name(cloudid.AzureTenantID))
	if m.conn != "" {
		issuer, app = "the one the service connection's page shows (with its subject)", "the service connection's app registration"
		ids = fmt.Sprintf("check the service connection named by %s: its app registration and tenant", m.req.Name(ServiceConnection))
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
	return apierror.Summarize(msg, apierror.MaxMessage)
}
