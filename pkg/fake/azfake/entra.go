package azfake

import (
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jobtoken/jobtoken/pkg/fake/record"
)

// Federated is a federated identity credential on an app registration: Entra
// accepts an assertion from Issuer, signed by Key, whose sub and aud match.
type Federated struct {
	Issuer   string
	Key      *rsa.PublicKey
	Subject  string
	Audience string
}

// App is an app registration (or user-assigned managed identity).
type App struct {
	ClientID  string
	Federated []Federated
}

// Entra fakes Microsoft Entra's v2.0 endpoints for one tenant, over TLS (the
// Azure SDK refuses an http authority): OpenID discovery and the token
// endpoint's client-credentials grant with a federated client assertion. Its
// error bodies are Entra's: error, error_description with the AADSTS code.
type Entra struct {
	*httptest.Server
	Tenant *Tenant
	// NoDevOps makes the tenant one where Azure DevOps has no service
	// principal (no organization of the tenant uses it): Entra refuses to
	// issue tokens for it with AADSTS500011.
	NoDevOps bool
	// TokenLife is how long the access tokens it issues live (an hour
	// unless set; tests of refreshing use seconds).
	TokenLife time.Duration

	mu       sync.Mutex
	apps     map[string]*App
	issued   record.Log[string]
	requests record.Log[string]
}

// NewEntra starts the fake for tenant.
func NewEntra(tenant *Tenant) *Entra {
	e := &Entra{Tenant: tenant, apps: map[string]*App{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", e.discovery)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", e.token)
	e.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.requests.Add(r.Method + " " + r.URL.Path)
		mux.ServeHTTP(w, r)
	}))
	return e
}

// AuthorityHost is the value for AZURE_AUTHORITY_HOST.
func (e *Entra) AuthorityHost() string { return e.URL + "/" }

// Trust registers an app with federated credentials.
func (e *Entra) Trust(clientID string, creds ...Federated) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.apps[clientID]
	if a == nil {
		a = &App{ClientID: clientID}
		e.apps[clientID] = a
	}
	a.Federated = append(a.Federated, creds...)
}

// Issued returns the access tokens handed out.
func (e *Entra) Issued() []string { return e.issued.All() }

// Requests returns "METHOD /path" for every request received.
func (e *Entra) Requests() []string { return e.requests.All() }

func (e *Entra) aadsts(w http.ResponseWriter, code int, kind string, num int, msg string) {
	now := e.Tenant.Now().UTC()
	writeJSON(w, code, map[string]any{
		"error": kind,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
			num, msg, randomUUID(), randomUUID(), now.Format("2006-01-02 15:04:05Z")),
		"error_codes": []int{num}, "timestamp": now.Format("2006-01-02 15:04:05Z"),
		"trace_id": randomUUID(), "correlation_id": randomUUID(),
		"error_uri": e.URL + "/error?code=" + fmt.Sprint(num),
	})
}

func (e *Entra) tenantOK(w http.ResponseWriter, r *http.Request) bool {
	t := r.PathValue("tenant")
	if !strings.EqualFold(t, e.Tenant.ID) {
		e.aadsts(w, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", t))
		return false
	}
	return true
}

func (e *Entra) discovery(w http.ResponseWriter, r *http.Request) {
	if !e.tenantOK(w, r) {
		return
	}
	base := e.URL + "/" + e.Tenant.ID
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"issuer":                                base + "/v2.0",
		"jwks_uri":                              e.URL + "/" + e.Tenant.ID + "/discovery/v2.0/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"tenant_region_scope":                   "EU",
	})
}

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

func (e *Entra) token(w http.ResponseWriter, r *http.Request) {
	if !e.tenantOK(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		e.aadsts(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" {
		e.aadsts(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
		return
	}
	clientID := f.Get("client_id")
	e.mu.Lock()
	app := e.apps[clientID]
	e.mu.Unlock()
	if app == nil {
		e.aadsts(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, e.Tenant.ID))
		return
	}
	if f.Get("client_assertion_type") != assertionType || f.Get("client_assertion") == "" {
		e.aadsts(w, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	scope := f.Get("scope")
	aud := ""
	switch {
	case strings.Contains(" "+scope+" ", " "+ResourceID+"/.default ") && !e.NoDevOps:
		aud = ResourceID
	case strings.Contains(" "+scope+" ", " "+VaultResource+"/.default "):
		aud = VaultResource
	}
	if aud == "" {
		resource := strings.TrimSuffix(strings.Fields(scope + " x")[0], "/.default")
		e.aadsts(w, http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", resource, e.Tenant.ID))
		return
	}
	if !e.checkAssertion(w, app, f.Get("client_assertion")) {
		return
	}
	now := e.Tenant.Now()
	life := time.Hour
	e.mu.Lock()
	if e.TokenLife > 0 {
		life = e.TokenLife
	}
	e.mu.Unlock()
	tok := e.Tenant.Issuer.Sign(jwt.MapClaims{
		"aud": aud, "tid": e.Tenant.ID, "appid": clientID, "oid": uuidFrom("sp:" + clientID), "idtyp": "app",
		"appidacr": "2", "roles": []string{}, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(life).Unix(),
		"uti": randomUUID(), // two tokens of one second differ
	})
	e.issued.Add(tok)
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": int(life/time.Second) - 1, "ext_expires_in": int(life/time.Second) - 1, "access_token": tok})
}

// checkAssertion matches an assertion against the app's federated
// credentials the way Entra does: issuer first, then signature and lifetime,
// then audience, then subject (case-sensitively).
func (e *Entra) checkAssertion(w http.ResponseWriter, app *App, assertion string) bool {
	claims, err := unverified(assertion)
	if err != nil {
		e.aadsts(w, http.StatusBadRequest, "invalid_client", 50027, "JWT token is invalid or malformed.")
		return false
	}
	iss := str(claims, "iss")
	var cands []Federated
	for _, fc := range app.Federated {
		if fc.Issuer == iss {
			cands = append(cands, fc)
		}
	}
	if len(cands) == 0 {
		e.aadsts(w, http.StatusBadRequest, "invalid_request", 700211, fmt.Sprintf("No matching federated identity record found for presented assertion issuer '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.", iss))
		return false
	}
	now := e.Tenant.Now()
	var verified jwt.MapClaims
	for _, fc := range cands {
		c := jwt.MapClaims{}
		_, err := jwt.ParseWithClaims(assertion, c, func(*jwt.Token) (any, error) { return fc.Key, nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now }), jwt.WithExpirationRequired())
		if err == nil {
			verified = c
			break
		}
		if strings.Contains(err.Error(), "expired") || strings.Contains(err.Error(), "not valid yet") {
			e.aadsts(w, http.StatusBadRequest, "invalid_client", 700024, "Client assertion is not within its valid time range.")
			return false
		}
	}
	if verified == nil {
		e.aadsts(w, http.StatusBadRequest, "invalid_client", 50027, "JWT token is invalid or malformed: the signature does not match the issuer's keys.")
		return false
	}
	aud, _ := verified.GetAudience()
	sub := str(verified, "sub")
	var audOK []Federated
	for _, fc := range cands {
		for _, a := range aud {
			if a == fc.Audience {
				audOK = append(audOK, fc)
			}
		}
	}
	if len(audOK) == 0 {
		e.aadsts(w, http.StatusBadRequest, "invalid_request", 700212, fmt.Sprintf("No matching federated identity record found for presented assertion audience '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.", strings.Join(aud, ",")))
		return false
	}
	for _, fc := range audOK {
		if fc.Subject == sub {
			return true
		}
	}
	for _, fc := range audOK {
		if strings.EqualFold(fc.Subject, sub) {
			e.aadsts(w, http.StatusBadRequest, "invalid_request", 7002138, fmt.Sprintf("No matching federated identity record found for presented assertion subject '%s'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison.", sub))
			return false
		}
	}
	e.aadsts(w, http.StatusBadRequest, "invalid_request", 700213, fmt.Sprintf("No matching federated identity record found for presented assertion subject '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.", sub))
	return false
}
