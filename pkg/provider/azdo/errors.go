package azdo

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/microsoft/azure-devops-go-api/azuredevops/v7"

	"github.com/jobtoken/jobtoken/pkg/provider"
)

// patErrorFix says, for each patTokenError value (the SessionTokenError enum of
// the PAT lifecycle API), what went wrong and what to change. Values not
// listed fall back to a generic message naming the value.
var patErrorFix = map[string]string{
	"displayNameRequired":         "Azure DevOps wants a display name; this is a jobtoken bug, please report it",
	"invalidDisplayName":          "Azure DevOps refused the PAT's display name (built from the repository and run); report it with the repository name",
	"invalidValidTo":              "Azure DevOps refused the expiry date; check lifetime (a positive duration such as 30m) and this machine's clock",
	"invalidScope":                "Azure DevOps refused the scopes; check permissions against the vso.* scope list in the README",
	"userIdRequired":              "Azure DevOps could not tell which user the parent token belongs to; pass a signed-in user's Entra token in azure-access-token",
	"invalidUserId":               "Azure DevOps could not tell which user the parent token belongs to; pass a signed-in user's Entra token in azure-access-token",
	"invalidUserType":             "the parent token's identity may not own PATs (service principals and managed identities cannot); pass a signed-in user's Entra token in azure-access-token, or use azure-credential: entra",
	"accessDenied":                "the user may not create PATs in this organization; check that they are a member of azure-devops-organization and that its policies allow PATs",
	"failedToIssueAccessToken":    "Azure DevOps failed to issue the PAT; try again later",
	"invalidTargetAccounts":       "Azure DevOps refused the target organization; check azure-devops-organization and that the user is a member",
	"globalPatPolicyViolation":    "the organization's policy forbids PATs for all organizations; this is a jobtoken bug (it asks for one organization), please report it",
	"fullScopePatPolicyViolation": "the organization's policy forbids full-access PATs; replace app_token in permissions with the vso.* scopes the job needs",
	"patLifespanPolicyViolation":  "the organization's policy caps PAT lifetimes below the one asked; shorten lifetime",
	"failedToReadTenantPolicy":    "Azure DevOps could not read the tenant's PAT policy; try again later",
	"sourceNotSupported":          "Azure DevOps does not accept PAT creation from this source",
	"invalidToken":                "Azure DevOps did not accept the parent token; pass a fresh signed-in user's Entra token in azure-access-token",
	"tokenNotFound":               "the PAT no longer exists",
	"authorizationNotFound":       "the PAT no longer exists",
	"invalidAuthorizationId":      "the PAT's authorizationId is not valid",
	"invalidAudience":             "the parent token is not for Azure DevOps; get one with `az account get-access-token --resource " + ResourceID + "`",
	"invalidTokenType":            "the parent token is of a kind the PAT lifecycle API refuses; pass a signed-in user's Entra token",
}

// patError is a patTokenError other than "none".
type patError struct {
	Value  string
	Status int
}

func (e *patError) Error() string {
	fix, ok := patErrorFix[e.Value]
	if !ok {
		fix = "see the PAT lifecycle API documentation for this value"
	}
	return fmt.Sprintf("Azure DevOps refused the PAT (%s): %s", e.Value, fix)
}

// apiError is a non-success answer, summarised: status and Azure DevOps'
// short message, never headers or the raw body.
type apiError struct {
	Status  int
	Message string
	TypeKey string
	Who     string // who answered; Azure DevOps when empty
}

func (e *apiError) Error() string {
	who := e.Who
	if who == "" {
		who = "Azure DevOps"
	}
	s := fmt.Sprintf("%s answered %d %s", who, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// fromWrapped turns the library's WrappedError (returned as a value or a
// pointer, depending on the path) into an apiError.
func fromWrapped(err error, status int) error {
	var we *azuredevops.WrappedError
	var wv azuredevops.WrappedError
	switch {
	case errors.As(err, &we):
	case errors.As(err, &wv):
		we = &wv
	default:
		// The body was not JSON (an HTML sign-in page, a proxy's error).
		return &apiError{Status: status}
	}
	ae := &apiError{Status: status}
	if we.StatusCode != nil {
		ae.Status = *we.StatusCode
	}
	if we.Message != nil {
		ae.Message = shorten(*we.Message)
	}
	if we.TypeKey != nil {
		ae.TypeKey = *we.TypeKey
	}
	return ae
}

func shorten(s string) string { return shortenTo(s, 200) }

// shortenTo keeps the first n bytes of s on one line.
func shortenTo(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n] + "…"
	}
	return s
}

// statusOf returns the HTTP status behind err, or 0.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	var pe *patError
	if errors.As(err, &pe) {
		return pe.Status
	}
	return 0
}

// netSummary keeps a network error to its cause, without the URL's query.
func netSummary(err error) string { return provider.NetSummary(err) }

// explainAuth adds the likely cause to a 401/403 from the PAT lifecycle API.
func explainAuth(err error) error {
	switch statusOf(err) {
	case http.StatusUnauthorized, http.StatusForbidden:
		if strings.Contains(strings.ToLower(err.Error()), "rate limit") {
			// Throttled, not refused: the credential is not the cause.
			return err
		}
		return fmt.Errorf("%w. The PAT lifecycle API accepts only a signed-in user's Microsoft Entra token for Azure DevOps (not a PAT, service principal or managed identity); check azure-access-token is such a token, is fresh, and that the user belongs to the organization", err)
	case http.StatusNonAuthoritativeInfo:
		return fmt.Errorf("Azure DevOps answered with a sign-in page: it did not accept azure-access-token; pass a fresh signed-in user's Entra token")
	case http.StatusNotFound:
		return fmt.Errorf("%w. Check azure-devops-organization (the organization must exist and be connected to the user's Entra tenant) and azure-devops-api-url", err)
	}
	return err
}
