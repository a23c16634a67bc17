package azdo

import (
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/microsoft/azure-devops-go-api/azuredevops/v7"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// Who answers, as errors name it.
const (
	serviceDevOps = "Azure DevOps"
	serviceEntra  = "Microsoft Entra"
)

// patErrorText says, for a patTokenError value (the SessionTokenError enum
// of the PAT lifecycle API), what went wrong and what to change, naming the
// inputs as n spells them; ok is false for a value it does not know.
func patErrorText(value string, n inputs.Naming) (cause, fix string, ok bool) {
	user := "pass a signed-in user's Entra token in " + n.Name(AccessToken)
	entra := n.Setting(Credential, CredentialEntra)
	switch value {
	case "displayNameRequired":
		return "Azure DevOps wants a display name", "this is a jobtoken bug, please report it", true
	case "invalidDisplayName":
		return "Azure DevOps refused the PAT's display name (built from the repository and run)", "report it with the repository name", true
	case "invalidValidTo":
		return "Azure DevOps refused the expiry date", "check " + n.Name(inputs.Lifetime) + " (a positive duration such as 30m) and this machine's clock", true
	case "invalidScope":
		return "Azure DevOps refused the scopes", "check " + n.Name(inputs.Permissions) + " against the vso.* scope list", true
	case "userIdRequired", "invalidUserId":
		return "Azure DevOps could not tell which user the parent token belongs to", user, true
	case "invalidUserType":
		return "the parent token's identity may not own PATs: a service principal or managed identity where a user is needed", user + ", or use " + entra, true
	case "accessDenied":
		return "the user may not create PATs in this organization: the organization restricts PAT creation (the Restrict personal access token creation policy, and the user is not on its allowlist), or the user is not a member",
			"ask a Project Collection Administrator to add the user to that policy's allowlist (or to the organization), or use " + entra + ", which needs no PAT", true
	case "failedToIssueAccessToken":
		return "Azure DevOps failed to issue the PAT", "try again later", true
	case "invalidTargetAccounts":
		return "Azure DevOps refused the target organization", "check " + n.Name(Organization) + " and that the user is a member", true
	case "globalPatPolicyViolation":
		return "the organization's policy forbids PATs for all organizations", "this is a jobtoken bug (it asks for one organization), please report it", true
	case "fullScopePatPolicyViolation":
		return "the organization's policy forbids full-access PATs", "replace app_token in " + n.Name(inputs.Permissions) + " with the vso.* scopes the job needs", true
	case "patLifespanPolicyViolation":
		return "the organization's policy caps PAT lifetimes below the one asked", "shorten " + n.Name(inputs.Lifetime), true
	case "failedToReadTenantPolicy":
		return "Azure DevOps could not read the tenant's PAT policy", "try again later", true
	case "sourceNotSupported":
		return "Azure DevOps does not accept PAT creation from this source", "", true
	case "invalidToken":
		return "Azure DevOps did not accept the parent token", "pass a fresh signed-in user's Entra token in " + n.Name(AccessToken), true
	case "tokenNotFound", "authorizationNotFound":
		return "the PAT no longer exists", "", true
	case "invalidAuthorizationId":
		return "the PAT's authorizationId is not valid", "", true
	case "invalidAudience":
		return "the parent token is not for Azure DevOps", "get one with az account get-access-token --resource " + ResourceID, true
	case "invalidTokenType":
		return "the parent token is of a kind the PAT lifecycle API refuses", "pass a signed-in user's Entra token", true
	}
	return "", "", false
}

// patError is the refusal a PAT lifecycle answer carries in patTokenError
// (with a 200 as often as with an error status).
func patError(value string, status int, n inputs.Naming) *apierror.Error {
	e := &apierror.Error{Service: serviceDevOps, Status: status, Code: value}
	if cause, fix, ok := patErrorText(value, n); ok {
		return e.Explain(cause, fix)
	}
	return e.Explain("", "see the PAT lifecycle API documentation for "+value)
}

// isPATError reports whether err is a patTokenError with one of values.
func isPATError(err error, values ...string) bool {
	e, ok := apierror.As(err)
	if !ok || e.Code == "" {
		return false
	}
	for _, v := range values {
		if e.Code == v {
			return true
		}
	}
	return false
}

// fromWrapped turns the library's WrappedError (returned as a value or a
// pointer, depending on the path) into the API error: status and Azure
// DevOps' short message, never headers or the raw body.
func fromWrapped(err error, status int) error {
	var we *azuredevops.WrappedError
	var wv azuredevops.WrappedError
	switch {
	case errors.As(err, &we):
	case errors.As(err, &wv):
		we = &wv
	default:
		// The body was not JSON (an HTML sign-in page, a proxy's error).
		return apierror.New(serviceDevOps, status, "")
	}
	if we.StatusCode != nil {
		status = *we.StatusCode
	}
	msg := ""
	if we.Message != nil {
		msg = *we.Message
	}
	return apierror.New(serviceDevOps, status, msg)
}

// tf400813User is Azure DevOps' TF400813 ("The user '…' is not authorized
// to access this resource"): an empty user means the token itself was not
// accepted (expired, or from another tenant).
var tf400813User = regexp.MustCompile(`TF400813: The user '([^']*)'`)

// explainAuth adds the likely cause and fix to the PAT lifecycle API's
// refusal of the parent token or the organization, naming the inputs as n
// spells them.
func explainAuth(err error, n inputs.Naming) error {
	e, ok := apierror.As(err)
	if !ok || e.Cause != "" {
		return err
	}
	token, entra := n.Name(AccessToken), n.Setting(Credential, CredentialEntra)
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		m := tf400813User.FindStringSubmatch(e.Message)
		switch {
		case strings.Contains(strings.ToLower(e.Message), "rate limit"):
			// Throttled, not refused: the credential is not the cause.
		case m != nil && m[1] == "":
			e.Explain("Azure DevOps did not accept "+token+": it has expired (a user token lives about an hour) or was issued by another tenant",
				"fetch a fresh user token from the organization's tenant in the step right before this one")
		case m != nil:
			e.Explain("the user behind "+token+" may not use this organization: not a member, or a service principal, which the PAT lifecycle API refuses",
				"add the user to the organization, or use "+entra)
		case strings.Contains(e.Message, "The requested operation is not allowed"):
			e.Explain("the PAT lifecycle API refuses this identity: only a signed-in user may create and revoke PATs, not a service principal, a managed identity or a PAT",
				"pass a user's Entra token in "+token+", or use "+entra)
		default:
			e.Explain("the PAT lifecycle API accepts only a signed-in user's Microsoft Entra token for Azure DevOps (not a PAT, service principal or managed identity)",
				"check "+token+" is such a token, is fresh, and that the user belongs to the organization")
		}
	case http.StatusNonAuthoritativeInfo:
		e.Explain("Azure DevOps answered with a sign-in page: it did not accept "+token+" (expired, or issued by another tenant)",
			"fetch a fresh signed-in user's Entra token in the step right before this one")
	case http.StatusNotFound:
		e.Explain("the organization does not exist, or is not connected to the user's Microsoft Entra tenant",
			"check "+n.Name(Organization)+" and "+n.Name(APIURL))
	}
	return err
}
