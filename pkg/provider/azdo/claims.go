package azdo

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// ResourceID is Azure DevOps' application ID in Microsoft Entra: the audience
// of the tokens it accepts.
const ResourceID = "499b84ac-1321-427f-aa17-267ca6975798"

// Scope is what jobtoken asks Entra for.
const Scope = ResourceID + "/.default"

// claims are the parts of an Entra access token jobtoken reads. The token is
// decoded WITHOUT verifying its signature: Azure DevOps verifies it; jobtoken
// only reads it to refuse, offline and with a clear message, tokens that
// Azure DevOps would refuse anyway.
type claims struct {
	jwt.RegisteredClaims        // aud, exp…
	Tid                  string `json:"tid"`
	Oid                  string `json:"oid"`
	AppID                string `json:"appid"`
	Azp                  string `json:"azp"`
	IDType               string `json:"idtyp"`
	// Scp is nil when the token has no scp claim: an app-only token.
	Scp        *string  `json:"scp"`
	Roles      []string `json:"roles"`
	UPN        string   `json:"upn"`
	UniqueName string   `json:"unique_name"`
	Email      string   `json:"email"`
	Name       string   `json:"name"`
}

var errNotJWT = errors.New("not a JWT")

// decodeClaims reads a JWT's claims without verifying it.
func decodeClaims(tok string) (*claims, error) {
	var c claims
	if _, _, err := jwt.NewParser().ParseUnverified(strings.TrimSpace(tok), &c); err != nil {
		return nil, errNotJWT
	}
	return &c, nil
}

// appOnly reports whether the token was issued to an application (service
// principal or managed identity) rather than to a signed-in user. Entra marks
// app-only tokens with idtyp=app when the optional claim is configured; every
// delegated (user) token carries scp, which app-only tokens never do.
func (c *claims) appOnly() bool {
	return strings.EqualFold(c.IDType, "app") || c.Scp == nil
}

// user names the signed-in user for messages (never secret).
func (c *claims) user() string {
	for _, s := range []string{c.UPN, c.UniqueName, c.Email, c.Name, c.Oid} {
		if s != "" {
			return s
		}
	}
	return "unknown user"
}

func (c *claims) expiry() time.Time {
	if c.ExpiresAt == nil {
		return time.Time{}
	}
	return c.ExpiresAt.UTC()
}

// forAzureDevOps reports whether the token's audience is Azure DevOps.
func (c *claims) forAzureDevOps() bool {
	for _, a := range c.Audience {
		a = strings.TrimRight(strings.ToLower(a), "/")
		if a == ResourceID || a == "https://app.vssps.visualstudio.com" || a == "api://"+ResourceID {
			return true
		}
	}
	return len(c.Audience) == 0
}

// checkParent validates a parent token for the PAT lifecycle API offline and
// returns its claims. Microsoft refuses service principals, managed identities
// and PATs on this API, so each is named plainly, with the inputs as n
// spells them.
func checkParent(tok string, now time.Time, n inputs.Naming) (*claims, error) {
	c, err := decodeClaims(tok)
	if err != nil {
		return nil, errors.New("is not a Microsoft Entra access token (a JWT); the PAT lifecycle API accepts only Entra user tokens, not PATs. Pass a signed-in user's token, e.g. `az account get-access-token --resource " + ResourceID + " --query accessToken -o tsv`")
	}
	if c.appOnly() {
		who := c.AppID
		if who == "" {
			who = c.Azp
		}
		if who != "" {
			who = " " + who
		}
		return c, fmt.Errorf("is an app-only token (service principal or managed identity%s); Microsoft does not let service principals or managed identities create or revoke PATs. Use a signed-in user's Entra token, or set %s to use the service principal's own Entra token", who, n.Setting(Credential, CredentialEntra))
	}
	if !c.forAzureDevOps() {
		return c, fmt.Errorf("is for audience %s, not Azure DevOps; get one with `az account get-access-token --resource %s`", strings.Join(c.Audience, " "), ResourceID)
	}
	if exp := c.expiry(); !exp.IsZero() && !now.Before(exp) {
		return c, fmt.Errorf("expired at %s; get a fresh token in a step right before this one", exp.Format(time.RFC3339))
	}
	return c, nil
}
