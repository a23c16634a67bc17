package azfake

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Tenant is a Microsoft Entra tenant: it signs the access tokens that Azure
// DevOps trusts, for users (delegated) and for applications (app-only).
type Tenant struct {
	ID     string
	Issuer *Issuer
	Now    func() time.Time
}

// NewTenant returns a tenant with its own signing key.
func NewTenant() *Tenant {
	id := randomUUID()
	return &Tenant{ID: id, Issuer: NewIssuer("https://sts.windows.net/" + id + "/"), Now: time.Now}
}

// UserToken is a delegated token for Azure DevOps, as `az account
// get-access-token --resource 499b84ac-…` gives a signed-in user: it carries
// scp and upn.
func (t *Tenant) UserToken(upn string, ttl time.Duration) string {
	now := t.Now()
	return t.Issuer.Sign(jwt.MapClaims{
		"aud": ResourceID, "tid": t.ID, "oid": uuidFrom(upn), "upn": upn, "unique_name": upn, "name": upn,
		"scp": "user_impersonation", "appid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "idtyp": "user",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(),
	})
}

// AppToken is an app-only token (service principal or managed identity). With
// idtyp false it omits the optional idtyp claim, as tenants that do not
// configure it do; such tokens are still told apart by their lack of scp.
func (t *Tenant) AppToken(appID string, ttl time.Duration, idtyp bool) string {
	now := t.Now()
	c := jwt.MapClaims{
		"aud": ResourceID, "tid": t.ID, "oid": uuidFrom("sp:" + appID), "appid": appID, "appidacr": "2",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(),
	}
	if idtyp {
		c["idtyp"] = "app"
	}
	return t.Issuer.Sign(c)
}

// Verify checks a token signed by this tenant.
func (t *Tenant) Verify(tok string) (jwt.MapClaims, error) {
	return t.Issuer.Verify(tok, t.Now())
}
