package azfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Contract tests: the answers the fakes give, pinned, so a change to a fake
// is a deliberate change to what the provider is tested against.

func do(t *testing.T, c *http.Client, method, u, auth, body string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	r, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(t, err)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	resp, err := c.Do(r)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func TestPATsContract(t *testing.T) {
	tenant := NewTenant()
	s := NewPATs(tenant, "contoso")
	defer s.Close()
	user := "Bearer " + tenant.UserToken("alice@contoso.com", time.Hour)
	sup := map[string]string{"X-TFS-FedAuthRedirect": "Suppress", "Content-Type": "application/json"}
	base := s.URL + "/contoso/_apis/tokens/pats"
	c := http.DefaultClient

	code, body := do(t, c, "GET", base, user, "", sup)
	assert.Equal(t, 400, code)
	assert.Equal(t, "VssVersionNotSpecifiedException", body["typeKey"])
	code, body = do(t, c, "GET", base+"?api-version=7.1", user, "", sup)
	assert.Equal(t, 400, code)
	assert.Equal(t, "VssInvalidPreviewVersionException", body["typeKey"])
	code, _ = do(t, c, "GET", base, user, "", map[string]string{"X-TFS-FedAuthRedirect": "Suppress", "Accept": "application/json;api-version=7.1-preview.1"})
	assert.Equal(t, 200, code, "api-version in the Accept header")
	code, _ = do(t, c, "GET", s.URL+"/fabrikam/_apis/tokens/pats?api-version=7.1-preview.1", user, "", sup)
	assert.Equal(t, 404, code)

	q := "?api-version=7.1-preview.1"
	validTo := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	code, body = do(t, c, "POST", base+q, user, `{"displayName":"d","scope":"vso.code","validTo":"`+validTo+`","allOrgs":false}`, sup)
	require.Equal(t, 200, code)
	assert.Equal(t, "none", body["patTokenError"])
	pt := body["patToken"].(map[string]any)
	assert.Len(t, pt["token"], 52)
	assert.Len(t, pt["targetAccounts"], 1)
	id := pt["authorizationId"].(string)

	code, body = do(t, c, "POST", base+q, user, `{"displayName":"d","scope":"vso.code","validTo":"2001-01-01T00:00:00Z"}`, sup)
	assert.Equal(t, 200, code)
	assert.Equal(t, "invalidValidTo", body["patTokenError"])
	assert.Equal(t, "00000000-0000-0000-0000-000000000000", body["patToken"].(map[string]any)["authorizationId"])
	code, body = do(t, c, "POST", base+q, user, `{"displayName":"","scope":"vso.code","validTo":"`+validTo+`"}`, sup)
	assert.Equal(t, 200, code)
	assert.Equal(t, "displayNameRequired", body["patTokenError"])
	code, _ = do(t, c, "POST", base+q, user, `{}`, map[string]string{"X-TFS-FedAuthRedirect": "Suppress"})
	assert.Equal(t, 415, code, "JSON only")

	code, body = do(t, c, "GET", base+q+"&$top=1", user, "", sup)
	assert.Equal(t, 200, code)
	assert.Len(t, body["patTokens"], 1)
	assert.Nil(t, body["patTokens"].([]any)[0].(map[string]any)["token"], "a list never shows token values")
	code, _ = do(t, c, "GET", base+q+"&$top=101", user, "", sup)
	assert.Equal(t, 400, code)

	// Another user cannot see or revoke alice's PAT.
	bob := "Bearer " + tenant.UserToken("bob@contoso.com", time.Hour)
	code, _ = do(t, c, "DELETE", base+q+"&authorizationId="+id, bob, "", sup)
	assert.Equal(t, 404, code)
	code, _ = do(t, c, "DELETE", base+q+"&authorizationId="+id, user, "", sup)
	assert.Equal(t, 200, code)
	assert.Empty(t, s.Live())
	code, _ = do(t, c, "DELETE", base+q, user, "", sup)
	assert.Equal(t, 400, code)
}

func TestEntraContract(t *testing.T) {
	tenant := NewTenant()
	e := NewEntra(tenant)
	defer e.Close()
	gh := NewGitHubOIDC("octo/app")
	defer gh.Close()
	e.Trust("cid", gh.Federated())
	c := e.Client()

	code, body := do(t, c, "GET", e.URL+"/nope/v2.0/.well-known/openid-configuration", "", "", nil)
	assert.Equal(t, 400, code)
	assert.Contains(t, body["error_description"], "AADSTS90002")
	code, body = do(t, c, "GET", e.URL+"/"+tenant.ID+"/v2.0/.well-known/openid-configuration", "", "", nil)
	assert.Equal(t, 200, code)
	assert.Equal(t, e.URL+"/"+tenant.ID+"/v2.0", body["issuer"])

	// The runner's request URL already has a query; audience is added to it.
	code, body = do(t, http.DefaultClient, "GET", gh.RequestURL()+"&audience="+url.QueryEscape(Audience), "Bearer "+gh.RequestToken, "", nil)
	require.Equal(t, 200, code)
	assertion := body["value"].(string)
	code, _ = do(t, http.DefaultClient, "GET", gh.RequestURL(), "Bearer wrong", "", nil)
	assert.Equal(t, 401, code)

	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "scope": {ResourceID + "/.default"},
		"client_assertion_type": {assertionType}, "client_assertion": {assertion}}
	hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	tokenURL := e.URL + "/" + tenant.ID + "/oauth2/v2.0/token"
	code, body = do(t, c, "POST", tokenURL, "", form.Encode(), hdr)
	require.Equal(t, 200, code, "%v", body)
	claims, err := tenant.Verify(body["access_token"].(string))
	require.NoError(t, err)
	assert.Equal(t, "app", claims["idtyp"])
	assert.Nil(t, claims["scp"], "an app-only token")

	form.Set("scope", "https://graph.microsoft.com/.default")
	code, body = do(t, c, "POST", tokenURL, "", form.Encode(), hdr)
	assert.Equal(t, 400, code)
	assert.Contains(t, body["error_description"], "AADSTS500011")
	form.Set("scope", ResourceID+"/.default")
	form.Set("client_assertion_type", "urn:other")
	code, body = do(t, c, "POST", tokenURL, "", form.Encode(), hdr)
	assert.Equal(t, 401, code)
	assert.Contains(t, body["error_description"], "AADSTS7000218")

	// An audience other than api://AzureADTokenExchange.
	_, body = do(t, http.DefaultClient, "GET", gh.RequestURL(), "Bearer "+gh.RequestToken, "", nil)
	form.Set("client_assertion_type", assertionType)
	form.Set("client_assertion", body["value"].(string))
	code, body = do(t, c, "POST", tokenURL, "", form.Encode(), hdr)
	assert.Equal(t, 400, code)
	assert.Contains(t, body["error_description"], "AADSTS700212")
}

func TestPipelinesOIDCContract(t *testing.T) {
	p := NewPipelinesOIDC("contoso", "web")
	defer p.Close()
	p.Connections["abc"] = "conn"
	code, body := do(t, http.DefaultClient, "POST", p.RequestURI()+"?api-version=7.1&serviceConnectionId=abc", "Bearer "+p.JobToken, "", nil)
	require.Equal(t, 200, code)
	c, err := p.Issuer.Verify(body["oidcToken"].(string), time.Now())
	require.NoError(t, err)
	assert.Equal(t, "sc://contoso/web/conn", c["sub"])
	code, _ = do(t, http.DefaultClient, "POST", p.RequestURI()+"?api-version=7.1&serviceConnectionId=abc", "Bearer x", "", map[string]string{"X-TFS-FedAuthRedirect": "Suppress"})
	assert.Equal(t, 401, code)
	code, _ = do(t, http.DefaultClient, "POST", p.RequestURI()+"?api-version=7.1&serviceConnectionId=zzz", "Bearer "+p.JobToken, "", nil)
	assert.Equal(t, 404, code)
}
