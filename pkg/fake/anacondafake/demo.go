package anacondafake

import (
	"slices"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/demo"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// The anaconda.org world: a user with a private package, whose anaconda.org
// token is the parent; the job asks for a read-only token for 30 minutes.
const (
	anUser     = "demo-user"
	anPackage  = "demo-pkg"
	anAsked    = "api:read"
	anLifetime = 30 * time.Minute
	// condaURL is where conda reads channels; jobtoken masks the token's
	// channel URLs there too.
	condaURL = "https://conda.anaconda.org"
)

type demoWorld struct {
	f      *Server
	parent string
}

func NewDemo() (demo.Service, error) {
	f := New(&Account{Login: anUser})
	f.AddPackage(anUser, anPackage, false)
	return &demoWorld{f: f, parent: f.AddToken(anUser)}, nil
}

func (a *demoWorld) Name() string { return "anaconda.org" }
func (a *demoWorld) URL() string  { return a.f.URL }
func (a *demoWorld) Fake() any    { return a.f }
func (a *demoWorld) Close()       { a.f.Close() }

func (a *demoWorld) About() []demo.Fact {
	return []demo.Fact{
		{Label: "fake", Text: "anaconda.org's API at " + a.f.URL},
		{Label: "parent", Text: "an anaconda.org token of " + anUser + ", owner of the private package " + anUser + "/" + anPackage + ", made for this run"},
	}
}

func (a *demoWorld) Step(string) demo.Step {
	return demo.Step{
		ExportEnv: "ANACONDA_API_TOKEN",
		Inputs: []demo.Input{
			{Key: "provider", Value: Provider},
			{Key: "permissions", Value: anAsked},
			{Key: "lifetime", Value: "30m"},
			{Key: "anaconda-credential", Value: a.parent, Secret: true, Ref: "ANACONDA_TOKEN", What: "the parent anaconda.org token"},
			{Key: "anaconda-api-url", Value: a.f.URL},
			{Key: "export-env", Value: "ANACONDA_API_TOKEN"},
		},
	}
}

func (a *demoWorld) Repository(hostName string) demo.Repository {
	if hostName == ghactions.Name {
		return demo.Repository{Name: demo.Owner + "/" + demo.Repo, Provider: "GitHub", URI: "https://github.com/" + demo.Owner + "/" + demo.Repo}
	}
	return demo.Repository{Name: demo.Repo, Provider: "TfsGit", URI: "https://dev.azure.com/" + demo.Org + "/" + demo.Project + "/_git/" + demo.Repo}
}

func (a *demoWorld) Calls() []demo.Call {
	auth := func(t string) string { return "token " + t }
	hdr := map[string]string{"Accept": "application/json"}
	post := map[string]string{"Accept": "application/json", "Content-Type": "application/json"}
	return []demo.Call{
		{Method: "GET", Path: "/package/" + anUser + "/" + anPackage, Header: hdr, Auth: auth,
			Why: "api:read allows it"},
		{Method: "POST", Path: "/package/" + anUser + "/new-pkg", Body: `{"public":false,"summary":"from a later step"}`, Header: post, Auth: auth,
			Refused: RefusedScope, Why: "api:write was not asked"},
	}
}

func (a *demoWorld) Derived(token string) []demo.Form {
	return []demo.Form{
		{Name: "the channel path", Value: "/t/" + token + "/"},
		{Name: "the conda channel URL", Value: condaURL + "/t/" + token},
	}
}

func (a *demoWorld) Grant() demo.Grant {
	gr := demo.Grant{Asked: anAsked + " for " + anUser + " for 30m"}
	minted := a.f.Minted()
	gr.Minted = len(minted)
	if len(minted) != 1 {
		return gr
	}
	t := minted[0]
	life := time.Duration(t.MaxAge) * time.Second
	gr.Granted = strings.Join(t.Scopes, " ")
	gr.Resources = "owned by " + t.Owner + ", valid " + inputs.FormatDuration(life)
	gr.ExpiresAt = t.ExpiresAt
	gr.Exact = slices.Equal(t.Scopes, []string{anAsked}) && strings.EqualFold(t.Owner, anUser) && life == anLifetime
	return gr
}

func (a *demoWorld) Tokens() []string { return a.f.Values() }

func (a *demoWorld) Status(token string) demo.TokenStatus {
	t := a.f.Lookup(token)
	if t == nil {
		return demo.TokenStatus{}
	}
	by := "DELETE /authentications"
	switch t.RevokedBy {
	case "name":
		by = "DELETE /authentications/name/… and the parent credential"
	case "replaced":
		by = "a new token with the same note"
	}
	return demo.TokenStatus{Found: true, Live: t.Live(a.f.Now()), Revoked: t.Revoked, By: by}
}

func (a *demoWorld) Uses(token string) []demo.Use { return demo.UsesWith(a.f.Uses(), token) }

func (a *demoWorld) Live() int { return len(a.f.Live()) }
