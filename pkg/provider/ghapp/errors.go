package ghapp

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// GitHub's words for the refusals jobtoken explains, as its REST API sends
// them (and as the issues of actions/create-github-app-token and
// octokit/auth-app quote them).
const (
	msgIssuer      = "'Issuer' claim ('iss') must be an Integer"
	msgNotDecoded  = "A JSON web token could not be decoded"
	msgNoApp       = "Integration not found"
	msgNoPublicKey = "Integration must generate a public key"
	msgIssuedAt    = "'Issued at' claim ('iat')"
	msgExpiration  = "'Expiration time' claim ('exp')"
	msgBadCreds    = "Bad credentials"
	msgNotGranted  = "The permissions requested are not granted to this installation"
	msgNoRepo      = "There is at least one repository that does not exist or is not accessible to the parent installation"
)

// APIError turns go-github's reading of a refusal (CheckResponse) into the
// one API error type, GitHub's message summarised; nil for a refusal it did
// not read.
func APIError(err error) error {
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		return (&apierror.Error{Service: service, Status: http.StatusForbidden, Message: "API rate limit exceeded"}).
			Explain("", "retry after "+rl.Rate.Reset.Time.UTC().Format(time.RFC3339))
	}
	var ar *github.AbuseRateLimitError
	if errors.As(err, &ar) {
		return apierror.New(service, http.StatusForbidden, ar.Message).Explain("", "retry in a few minutes")
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return apierror.New(service, er.Response.StatusCode, er.Message)
	}
	return nil
}

// jwtAnswers explain GitHub's refusals of the App JWT: what the user set
// wrong, named as the user spells it.
func (m *minter) jwtAnswers() []apierror.Known {
	id, pk := m.issuer, m.req.Name(PrivateKey)
	idInput := m.req.Name(ClientID)
	if m.req.Inputs.Get(ClientID) == "" {
		idInput = m.req.Name(AppID)
	}
	clock := func(*apierror.Error) (string, string) {
		return "this machine's clock is off by more than GitHub allows, even after jobtoken corrected it once from GitHub's Date header",
			"synchronise the runner's clock (NTP), then rerun"
	}
	return []apierror.Known{
		{Status: http.StatusUnauthorized, Text: msgIssuer, Explain: func(*apierror.Error) (string, string) {
			return fmt.Sprintf("GitHub knows no App whose client ID or App ID is %q", id),
				fmt.Sprintf("set %s to the Client ID on the App's settings page (or %s to its App ID), and look for a stray character in the variable", m.req.Name(ClientID), m.req.Name(AppID))
		}},
		{Status: http.StatusUnauthorized, Text: msgNotDecoded, Explain: func(*apierror.Error) (string, string) {
			if m.kl != nil && m.kl.signer != nil {
				return fmt.Sprintf("%s %s (public key %s) is not a key of App %s: it belongs to another App, was deleted from this one, or %s names another App", m.req.Name(SigningKey), m.kl.uri, m.kl.signer.Fingerprint(), id, idInput),
					fmt.Sprintf("compare that fingerprint with the keys listed in the settings of the App %s names, and import that App's .pem into the KMS", idInput)
			}
			return fmt.Sprintf("%s is not a key of App %s: it belongs to another App, was deleted from this one, or %s names another App", pk, id, idInput),
				fmt.Sprintf("generate a private key in the settings of the App %s names and store the whole .pem file in the secret", idInput)
		}},
		{Status: http.StatusNotFound, Text: msgNoApp, Explain: func(*apierror.Error) (string, string) {
			return fmt.Sprintf("no GitHub App has the ID %s on %s", id, m.apiURL),
				fmt.Sprintf("set %s to the App ID on the App's settings page (not an installation ID), or set %s instead; on GitHub Enterprise Server, use an App of that server", m.req.Name(AppID), m.req.Name(ClientID))
		}},
		{Text: msgNoPublicKey, Explain: func(*apierror.Error) (string, string) {
			return fmt.Sprintf("App %s has no private key", id),
				"generate one in the App's settings (Private keys → Generate a private key) and store the .pem file in the secret"
		}},
		{Status: http.StatusUnauthorized, Text: msgIssuedAt, Explain: clock},
		{Status: http.StatusUnauthorized, Text: msgExpiration, Explain: clock},
		{Status: http.StatusUnauthorized, Text: msgBadCreds, Explain: func(*apierror.Error) (string, string) {
			return "GitHub did not accept the App's JWT",
				fmt.Sprintf("check that %s names the App that %s belongs to", idInput, pk)
		}},
	}
}

// explained is apiError with GitHub's known answers to an App-authenticated
// call explained.
func (m *minter) explained(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := apierror.As(err); ok {
		apierror.ExplainKnown(e, m.jwtAnswers())
	}
	return err
}

// explainGrant explains GitHub's 422 to a mint: which permission or
// repository the installation does not cover, looked up when the
// installation is at hand.
func (m *minter) explainGrant(e *apierror.Error, inst *Installation) {
	var lacking []string
	if inst != nil {
		for _, name := range sortedKeys(m.perms) {
			want, have := m.perms[name], inst.Permissions[name]
			if levelRank[have] >= levelRank[want] {
				continue
			}
			if have == "" {
				lacking = append(lacking, fmt.Sprintf("%s:%s (not granted to the App)", name, want))
			} else {
				lacking = append(lacking, fmt.Sprintf("%s:%s (installation has %s)", name, want, have))
			}
		}
	}
	repos := m.owner + "/" + strings.Join(m.repos, ", "+m.owner+"/")
	switch {
	case len(lacking) > 0:
		e.Explain("the installation lacks "+strings.Join(lacking, ", "),
			"add them in the App's permissions and accept them on the installation, or ask for less")
	case len(m.repos) > 0 && (strings.Contains(e.Message, strings.TrimSuffix(msgNoRepo, ".")) || (inst != nil && inst.RepositorySelection == "selected")):
		cause := "the installation does not cover " + repos + ", or one does not exist"
		if inst != nil && inst.RepositorySelection == "selected" {
			cause = "the installation covers selected repositories only, and " + repos + " are not all among them (or do not exist)"
		}
		e.Explain(cause, "add them under the installation's Repository access, or fix "+m.req.Name(Repositories))
	case strings.Contains(e.Message, msgNotGranted):
		e.Explain("the App lacks a permission asked", "add it in the App's permissions and accept it on the installation, or ask for less")
	case len(m.repos) > 0:
		e.Explain("", "check that the repositories "+strings.Join(m.repos, ", ")+" exist on "+m.owner+" and the installation can reach them, and that the App has the permissions asked")
	default:
		e.Explain("", "check that the App has the permissions asked")
	}
}
