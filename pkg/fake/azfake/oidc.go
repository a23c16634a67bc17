package azfake

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jobtoken/jobtoken/pkg/fake/record"
)

// GitHubIssuerURL is GitHub Actions' OIDC issuer.
const GitHubIssuerURL = "https://token.actions.githubusercontent.com"

// GitHubOIDC fakes the runner's OIDC token service behind
// ACTIONS_ID_TOKEN_REQUEST_URL: GET with the job's request token as Bearer and
// an audience parameter, answered with {"value": jwt}.
type GitHubOIDC struct {
	*httptest.Server
	Issuer       *Issuer
	RequestToken string
	Repository   string // owner/name, for sub and the default audience
	Subject      string
	Now          func() time.Time
	// Claims are added to (or, with a nil value, removed from) every
	// token: GitHub's repository_owner_id, job_workflow_ref, event_name…
	Claims map[string]any
	issued
}

// NewGitHubOIDC starts the fake for a job of repository on branch main.
func NewGitHubOIDC(repository string) *GitHubOIDC {
	g := &GitHubOIDC{
		Issuer: NewIssuer(GitHubIssuerURL), RequestToken: "ghrt_" + tokenChars(40), Repository: repository,
		Subject: "repo:" + repository + ":ref:refs/heads/main", Now: time.Now,
	}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	return g
}

// RequestURL is the value for ACTIONS_ID_TOKEN_REQUEST_URL (it already
// carries a query, as the runner's does).
func (g *GitHubOIDC) RequestURL() string {
	return g.URL + "/00000000-0000-0000-0000-000000000000/_apis/distributedtask/hubs/Actions/plans/1f2e/jobs/3c4d/idtoken?api-version=2.0"
}

// Federated is the federated credential an app needs to trust this job.
func (g *GitHubOIDC) Federated() Federated {
	return Federated{Issuer: GitHubIssuerURL, Key: &g.Issuer.Key.PublicKey, Subject: g.Subject, Audience: Audience}
}

// JWKSURL is where this fake publishes the issuer's keys, as GitHub does at
// https://token.actions.githubusercontent.com/.well-known/jwks.
func (g *GitHubOIDC) JWKSURL() string { return g.URL + "/.well-known/jwks" }

func (g *GitHubOIDC) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/.well-known/jwks" {
		writeJSON(w, http.StatusOK, g.Issuer.JWKS())
		return
	}
	if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/idtoken") {
		http.NotFound(w, r)
		return
	}
	if tok, ok := bearer(r); !ok || tok != g.RequestToken {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Unauthorized"})
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "api-version is required"})
		return
	}
	aud := r.URL.Query().Get("audience")
	if aud == "" {
		owner, _, _ := strings.Cut(g.Repository, "/")
		aud = "https://github.com/" + owner
	}
	now := g.Now()
	c := jwt.MapClaims{
		"sub": g.Subject, "aud": aud, "repository": g.Repository, "ref": "refs/heads/main",
		"jti": randomUUID(), "iat": now.Unix(), "nbf": now.Add(-5 * time.Second).Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
	for k, v := range g.Claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	tok := g.Issuer.Sign(c)
	g.tokens.Add(tok)
	writeJSON(w, http.StatusOK, map[string]any{"count": len(tok), "value": tok})
}

// PipelinesOIDC fakes Azure Pipelines' OIDC endpoint behind
// SYSTEM_OIDCREQUESTURI: POST with the job's access token as Bearer, an
// api-version and serviceConnectionId, answered with {"oidcToken": jwt}.
type PipelinesOIDC struct {
	*httptest.Server
	Issuer   *Issuer
	JobToken string
	Org      string
	Project  string
	// Connections maps a service connection ID to its name.
	Connections map[string]string
	Now         func() time.Time
	issued
}

// NewPipelinesOIDC starts the fake for organization org, project project.
func NewPipelinesOIDC(org, project string) *PipelinesOIDC {
	orgID := uuidFrom("org:" + strings.ToLower(org))
	p := &PipelinesOIDC{
		Issuer: NewIssuer("https://vstoken.dev.azure.com/" + orgID), JobToken: "eyJ0eXAiOiJKV1QifQ." + tokenChars(60) + ".sig",
		Org: org, Project: project, Connections: map[string]string{}, Now: time.Now,
	}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	return p
}

// RequestURI is the value for SYSTEM_OIDCREQUESTURI.
func (p *PipelinesOIDC) RequestURI() string {
	return p.URL + "/" + p.Org + "/" + uuidFrom("project:"+p.Project) + "/_apis/distributedtask/hubs/build/plans/" + uuidFrom("plan") + "/jobs/" + uuidFrom("job") + "/oidctoken"
}

// Subject is the sub claim for a service connection.
func (p *PipelinesOIDC) Subject(name string) string {
	return "sc://" + p.Org + "/" + p.Project + "/" + name
}

// Federated is the federated credential that trusts service connection name.
func (p *PipelinesOIDC) Federated(name string) Federated {
	return Federated{Issuer: p.Issuer.URL, Key: &p.Issuer.Key.PublicKey, Subject: p.Subject(name), Audience: Audience}
}

func (p *PipelinesOIDC) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/oidctoken") {
		http.NotFound(w, r)
		return
	}
	if tok, ok := bearer(r); !ok || tok != p.JobToken {
		if r.Header.Get("X-TFS-FedAuthRedirect") != "Suppress" {
			// The real service redirects to its sign-in page; this one stays local.
			w.Header().Set("Location", "/_signin")
			w.WriteHeader(http.StatusFound)
			return
		}
		vssError(w, http.StatusUnauthorized, "UnauthorizedRequestException", "TF400813: The user '' is not authorized to access this resource.")
		return
	}
	q := r.URL.Query()
	if q.Get("api-version") == "" {
		vssError(w, http.StatusBadRequest, "VssVersionNotSpecifiedException", `No api-version was supplied for the "POST" request.`)
		return
	}
	name, ok := p.Connections[strings.ToLower(q.Get("serviceConnectionId"))]
	if !ok {
		vssError(w, http.StatusNotFound, "ServiceEndpointNotFoundException", "Service connection "+q.Get("serviceConnectionId")+" could not be found or the pipeline is not authorized to use it.")
		return
	}
	now := p.Now()
	tok := p.Issuer.Sign(jwt.MapClaims{
		"sub": p.Subject(name), "aud": Audience, "jti": randomUUID(),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(),
	})
	p.tokens.Add(tok)
	writeJSON(w, http.StatusOK, map[string]any{"oidcToken": tok})
}

// issued keeps the OIDC tokens a fake endpoint handed out.
type issued struct{ tokens record.Log[string] }

// Issued returns the OIDC tokens handed out.
func (i *issued) Issued() []string { return i.tokens.All() }
