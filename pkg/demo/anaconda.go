package demo

import (
	"slices"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/fake/anacondafake"
	"github.com/jobtoken/jobtoken/pkg/inputs"
)

func init() { services["anaconda"] = newAnaconda }

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

type anaconda struct {
	f      *anacondafake.Server
	parent string
}

func newAnaconda() (service, error) {
	f := anacondafake.New(&anacondafake.Account{Login: anUser})
	f.AddPackage(anUser, anPackage, false)
	return &anaconda{f: f, parent: f.AddToken(anUser)}, nil
}

func (a *anaconda) name() string { return "anaconda.org" }
func (a *anaconda) url() string  { return a.f.URL }
func (a *anaconda) fake() any    { return a.f }
func (a *anaconda) close()       { a.f.Close() }

func (a *anaconda) about() []fact {
	return []fact{
		{"fake", "anaconda.org's API at " + a.f.URL},
		{"parent", "an anaconda.org token of " + anUser + ", owner of the private package " + anUser + "/" + anPackage + ", made for this run"},
	}
}

func (a *anaconda) step(string) step {
	return step{
		exportEnv: "ANACONDA_API_TOKEN",
		inputs: []input{
			{key: "provider", value: "anaconda"},
			{key: "permissions", value: anAsked},
			{key: "lifetime", value: "30m"},
			{key: "anaconda-credential", value: a.parent, secret: true, ref: "ANACONDA_TOKEN", what: "the parent anaconda.org token"},
			{key: "anaconda-api-url", value: a.f.URL},
			{key: "export-env", value: "ANACONDA_API_TOKEN"},
		},
	}
}

func (a *anaconda) repository(hostName string) repository {
	if hostName == "github" {
		return repository{name: ghOwner + "/" + ghRepo, provider: "GitHub", uri: "https://github.com/" + ghOwner + "/" + ghRepo}
	}
	return repository{name: azRepo, provider: "TfsGit", uri: "https://dev.azure.com/" + azOrg + "/" + azProject + "/_git/" + azRepo}
}

func (a *anaconda) calls() []call {
	auth := func(t string) string { return "token " + t }
	hdr := map[string]string{"Accept": "application/json"}
	post := map[string]string{"Accept": "application/json", "Content-Type": "application/json"}
	return []call{
		{method: "GET", path: "/package/" + anUser + "/" + anPackage, header: hdr, auth: auth,
			why: "api:read allows it"},
		{method: "POST", path: "/package/" + anUser + "/new-pkg", body: `{"public":false,"summary":"from a later step"}`, header: post, auth: auth,
			refused: anacondafake.RefusedScope, why: "api:write was not asked"},
	}
}

func (a *anaconda) derived(token string) []form {
	return []form{
		{"the channel path", "/t/" + token + "/"},
		{"the conda channel URL", condaURL + "/t/" + token},
	}
}

func (a *anaconda) grant() grant {
	gr := grant{asked: anAsked + " for " + anUser + " for 30m"}
	minted := a.f.Minted()
	gr.minted = len(minted)
	if len(minted) != 1 {
		return gr
	}
	t := minted[0]
	life := time.Duration(t.MaxAge) * time.Second
	gr.granted = strings.Join(t.Scopes, " ")
	gr.resources = "owned by " + t.Owner + ", valid " + inputs.FormatDuration(life)
	gr.expiresAt = t.ExpiresAt
	gr.exact = slices.Equal(t.Scopes, []string{anAsked}) && strings.EqualFold(t.Owner, anUser) && life == anLifetime
	return gr
}

func (a *anaconda) tokens() []string {
	var out []string
	for _, t := range a.f.Minted() {
		out = append(out, t.Value)
	}
	return out
}

func (a *anaconda) status(token string) tokenStatus {
	t := a.f.Lookup(token)
	if t == nil {
		return tokenStatus{}
	}
	live := slices.ContainsFunc(a.f.Live(), func(l *anacondafake.Token) bool { return l.Value == token })
	by := "DELETE /authentications"
	switch t.RevokedBy {
	case "name":
		by = "DELETE /authentications/name/… and the parent credential"
	case "replaced":
		by = "a new token with the same note"
	}
	return tokenStatus{found: true, live: live, revoked: t.Revoked, by: by}
}

func (a *anaconda) uses(token string) []use {
	var out []use
	for _, u := range a.f.Uses() {
		if u.Token == token {
			out = append(out, use{method: u.Method, path: u.Path, status: u.Status, refused: u.Refused, needs: u.Needs})
		}
	}
	return out
}

func (a *anaconda) live() int { return len(a.f.Live()) }
