package ghfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/demo"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// The GitHub world: an App installed on two repositories of one account;
// the job runs on the first, so the token covers it alone.
const (
	ghOther   = "infra"
	ghAsked   = "contents:read"
	ghKeyBits = 2048 // the size GitHub generates; throwaway, made once per run
)

// ghGranted is what GitHub grants for ghAsked: metadata:read comes with
// every installation token that carries a repository permission.
var ghGranted = map[string]string{"contents": "read", "metadata": "read"}

type demoWorld struct {
	f      *Server
	keyPEM string
}

func NewDemo() (demo.Service, error) {
	key, err := rsa.GenerateKey(rand.Reader, ghKeyBits)
	if err != nil {
		return nil, fmt.Errorf("failed to make the App's key: %w", err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	f := New(key, &Installation{
		ID: 1001, Account: demo.Owner,
		Permissions: map[string]string{"contents": "write", "issues": "write", "metadata": "read"},
		Repos:       []string{demo.Repo, ghOther},
	})
	f.Slug = "jobtoken-demo"
	return &demoWorld{f: f, keyPEM: pemKey}, nil
}

func (g *demoWorld) Name() string { return "GitHub" }
func (g *demoWorld) URL() string  { return g.f.URL }
func (g *demoWorld) Fake() any    { return g.f }
func (g *demoWorld) Close()       { g.f.Close() }

func (g *demoWorld) About() []demo.Fact {
	return []demo.Fact{
		{Label: "fake", Text: "GitHub's REST API at " + g.f.URL},
		{Label: "parent", Text: fmt.Sprintf("a GitHub App with a %d-bit RSA key made for this run, installed on %s/%s and %s/%s with contents:write and issues:write", ghKeyBits, demo.Owner, demo.Repo, demo.Owner, ghOther)},
	}
}

func (g *demoWorld) Step(string) demo.Step {
	return demo.Step{
		ExportEnv: "GH_TOKEN",
		Inputs: []demo.Input{
			{Key: "provider", Value: Provider},
			{Key: "client-id", Value: g.f.ClientID},
			{Key: "private-key", Value: g.keyPEM, Secret: true, Ref: "APP_PRIVATE_KEY", What: "the App's private key"},
			{Key: "permissions", Value: ghAsked},
			{Key: "export-env", Value: "GH_TOKEN"},
			{Key: "github-api-url", Value: g.f.URL},
		},
	}
}

func (g *demoWorld) Repository(hostName string) demo.Repository {
	return demo.Repository{Name: demo.Owner + "/" + demo.Repo, Provider: "GitHub", URI: "https://github.com/" + demo.Owner + "/" + demo.Repo}
}

func (g *demoWorld) Calls() []demo.Call {
	bearer := func(t string) string { return "Bearer " + t }
	hdr := map[string]string{"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
	return []demo.Call{
		{Method: "GET", Path: "/repos/" + demo.Owner + "/" + demo.Repo + "/contents/README.md", Header: hdr, Auth: bearer,
			Why: "contents:read allows it"},
		{Method: "POST", Path: "/repos/" + demo.Owner + "/" + demo.Repo + "/issues", Body: `{"title":"from a later step"}`, Header: hdr, Auth: bearer,
			Refused: RefusedPermission, Why: "issues:write was not asked"},
		{Method: "GET", Path: "/repos/" + demo.Owner + "/" + ghOther + "/contents/README.md", Header: hdr, Auth: bearer,
			Refused: RefusedRepository, Why: demo.Owner + "/" + ghOther + " is the App's, not the token's"},
	}
}

func (g *demoWorld) Derived(token string) []demo.Form {
	return []demo.Form{{Name: "the git basic-auth form", Value: secret.BasicAuth("x-access-token", token)}}
}

func (g *demoWorld) Grant() demo.Grant {
	gr := demo.Grant{Asked: ghAsked + " on " + demo.Owner + "/" + demo.Repo}
	minted := g.f.Minted()
	gr.Minted = len(minted)
	if len(minted) != 1 {
		return gr
	}
	t := minted[0]
	gr.Granted = formatPerms(t.Permissions)
	gr.Resources = "for " + demo.JoinList(qualify(demo.Owner, t.Repos)) + " only"
	if len(t.Repos) == 0 {
		gr.Resources = "for every repository of the installation"
	}
	gr.ExpiresAt = t.ExpiresAt
	gr.Exact = maps.Equal(t.Permissions, ghGranted) && slices.Equal(t.Repos, []string{demo.Repo})
	return gr
}

func (g *demoWorld) Tokens() []string { return g.f.Values() }

func (g *demoWorld) Status(token string) demo.TokenStatus {
	t := g.f.Lookup(token)
	if t == nil {
		return demo.TokenStatus{}
	}
	return demo.TokenStatus{Found: true, Live: t.Live(g.f.Now()), Revoked: t.Revoked, By: "DELETE /installation/token"}
}

func (g *demoWorld) Uses(token string) []demo.Use { return demo.UsesWith(g.f.Uses(), token) }

func (g *demoWorld) Live() int { return len(g.f.Live()) }

// formatPerms writes permissions as jobtoken's input does: name:level,
// sorted, GitHub's underscores as hyphens.
func formatPerms(p map[string]string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		out = append(out, strings.ReplaceAll(k, "_", "-")+":"+p[k])
	}
	return strings.Join(out, ", ")
}

func qualify(owner string, repos []string) []string {
	out := make([]string, len(repos))
	for i, r := range repos {
		out[i] = owner + "/" + r
	}
	return out
}
