package cloudid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/google/externalaccount"

	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// Endpoint overrides, as gcloud names them (its api_endpoint_overrides
// properties), read through the step's Getenv: for tests and private
// endpoints.
const (
	EnvGCPSTSEndpoint    = "CLOUDSDK_API_ENDPOINT_OVERRIDES_STS"
	EnvGCPIAMCredentials = "CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS"
	EnvGCPKMSEndpoint    = "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS"
)

// Google's endpoints.
const (
	GCPSTSEndpoint = "https://sts.googleapis.com"
	GCPIAMEndpoint = "https://iamcredentials.googleapis.com"
	gcpScope       = "https://www.googleapis.com/auth/cloud-platform"
)

// ServiceGCPAuth is who answers a token exchange, as errors name it.
const ServiceGCPAuth = "Google Cloud (workload identity)"

var (
	// GCPProviderRE is a workload identity pool provider's resource name.
	GCPProviderRE = regexp.MustCompile(`^projects/[0-9]{1,20}/locations/global/workloadIdentityPools/[a-z0-9-]{4,32}/providers/[a-z0-9-]{4,32}$`)
	// GCPServiceAccountRE is a service account's email.
	GCPServiceAccountRE = regexp.MustCompile(`^[a-z0-9-]{1,63}@[a-z0-9.-]+\.gserviceaccount\.com$`)
)

// GCPAudience is the OIDC token's audience a pool provider accepts by
// default (google-github-actions/auth asks for the same).
func GCPAudience(provider string) string { return "https://iam.googleapis.com/" + provider }

// GCPEndpoint is the override in env var name, else def, without a final
// slash.
func GCPEndpoint(getenv func(string) string, name, def string) string {
	if e := strings.TrimSpace(getenv(name)); e != "" {
		return strings.TrimRight(e, "/")
	}
	return def
}

// GCPWorkloadIdentity exchanges a CI system's OIDC token for a Google Cloud
// access token through a workload identity pool provider (Google's STS),
// optionally impersonating a service account, with Google's auth library.
type GCPWorkloadIdentity struct {
	Provider       string // projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>
	ServiceAccount string // "" uses the federated identity itself
	STSEndpoint    string
	IAMEndpoint    string
	Token          func(ctx context.Context) (string, error)
	HTTP           *http.Client
	Redact         func(values ...string)
}

type supplier struct{ g *GCPWorkloadIdentity }

func (s supplier) SubjectToken(ctx context.Context, _ externalaccount.SupplierOptions) (string, error) {
	tok, err := s.g.Token(ctx)
	if tok != "" {
		s.g.Redact(tok)
	}
	return tok, err
}

// TokenSource returns the exchange as a token source whose calls go
// through g.HTTP and whose tokens are redacted; ctx is the one its calls
// use.
func (g *GCPWorkloadIdentity) TokenSource(ctx context.Context) (oauth2.TokenSource, error) {
	conf := externalaccount.Config{
		Audience:             "//iam.googleapis.com/" + g.Provider,
		SubjectTokenType:     "urn:ietf:params:oauth:token-type:jwt",
		TokenURL:             g.STSEndpoint + "/v1/token",
		Scopes:               []string{gcpScope},
		SubjectTokenSupplier: supplier{g},
	}
	if g.ServiceAccount != "" {
		conf.ServiceAccountImpersonationURL = g.IAMEndpoint + "/v1/projects/-/serviceAccounts/" + g.ServiceAccount + ":generateAccessToken"
	}
	ts, err := externalaccount.NewTokenSource(context.WithValue(ctx, oauth2.HTTPClient, g.HTTP), conf)
	if err != nil {
		return nil, errors.New("failed to set up workload identity federation: " + GCPText(err.Error()))
	}
	return redacting{ts: ts, redact: g.Redact}, nil
}

// EnvGCPCredentials names a credential file (a service account key, an
// external account's configuration), Application Default Credentials'
// first place.
const EnvGCPCredentials = "GOOGLE_APPLICATION_CREDENTIALS"

// GCPDefault is Application Default Credentials (gcloud auth
// application-default login, GOOGLE_APPLICATION_CREDENTIALS, the metadata
// server), whose calls go through hc. GOOGLE_APPLICATION_CREDENTIALS is
// read through getenv, as Google's library would read it, and a file it
// names that cannot be used is said to be the problem.
func GCPDefault(ctx context.Context, getenv func(string) string, hc *http.Client, redact func(...string)) (oauth2.TokenSource, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	file := strings.TrimSpace(getenv(EnvGCPCredentials))
	if file == "" {
		creds, err := google.FindDefaultCredentials(ctx, gcpScope)
		if err != nil {
			return nil, errors.New("no Google Cloud credentials: run gcloud auth application-default login, or set " + EnvGCPCredentials)
		}
		return redacting{ts: creds.TokenSource, redact: redact}, nil
	}
	b, err := readSmall(file)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %s", EnvGCPCredentials, err)
	}
	var f struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(b, &f) != nil || f.Type == "" {
		return nil, fmt.Errorf("%s names %s, which is not a Google Cloud credential file (JSON with a type)", EnvGCPCredentials, file)
	}
	// The operator's own file, trusted as FindDefaultCredentials trusts it.
	creds, err := google.CredentialsFromJSONWithTypeAndParams(ctx, b, google.CredentialsType(f.Type), google.CredentialsParams{Scopes: []string{gcpScope}})
	if err != nil {
		return nil, fmt.Errorf("%s names %s, whose %s credentials cannot be used: %s", EnvGCPCredentials, file, f.Type, GCPText(err.Error()))
	}
	return redacting{ts: creds.TokenSource, redact: redact}, nil
}

// redacting registers every access token, and turns the auth library's
// errors (which hold raw answers) into the one error type.
type redacting struct {
	ts     oauth2.TokenSource
	redact func(...string)
}

func (r redacting) Token() (*oauth2.Token, error) {
	t, err := r.ts.Token()
	if err != nil {
		return nil, gcpError(err)
	}
	r.redact(t.AccessToken)
	return t, nil
}

var (
	gcpStatusRE = regexp.MustCompile(`(?s)status code (\d{3}): (.*)$`)
	gcpURLRE    = regexp.MustCompile(`(?:Get|Post|GET|POST) "[^"]*": `)
)

// gcpError reads the status and Google's words (an OAuth error from STS,
// or {"error": {"message", "status"}} from IAM Credentials) out of the auth
// library's error, never its raw answer, and explains the usual refusals.
func gcpError(err error) error {
	var re *oauth2.RetrieveError
	msg := err.Error()
	var status int
	var body []byte
	if errors.As(err, &re) && re.Response != nil {
		status, body = re.Response.StatusCode, re.Body
	} else if m := gcpStatusRE.FindStringSubmatch(msg); m != nil {
		status, _ = strconv.Atoi(m[1])
		body = []byte(m[2])
	} else {
		return errors.New("failed to get a Google Cloud access token: " + GCPText(msg))
	}
	var b struct {
		Error any    `json:"error"`
		Desc  string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &b)
	words, code := b.Desc, ""
	switch e := b.Error.(type) {
	case string:
		code = e
	case map[string]any:
		words, _ = e["message"].(string)
		code, _ = e["status"].(string)
	}
	ae := apierror.New(ServiceGCPAuth, status, words)
	ae.Code = code
	switch {
	case code == "invalid_grant" || code == "invalid_request" || code == "invalid_target":
		ae.Explain("the workload identity pool provider did not accept this job's OIDC token", "check the provider's issuer, allowed audiences and attribute condition against this job (repository, branch)")
	case code == "PERMISSION_DENIED":
		ae.Explain("the federated identity may not impersonate the service account", "grant it roles/iam.workloadIdentityUser on the service account (principalSet://…/attribute.repository/<owner>/<repo>)")
	}
	return ae
}

// GCPText is an auth library error's cause without URLs or raw bodies.
func GCPText(msg string) string {
	msg = gcpURLRE.ReplaceAllString(msg, "")
	msg = strings.ReplaceAll(msg, "oauth2/google/externalaccount: ", "")
	msg = strings.ReplaceAll(msg, "oauth2/google: ", "")
	if i := strings.Index(msg, "{"); i >= 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	return apierror.Summarize(msg, apierror.MaxMessage)
}
