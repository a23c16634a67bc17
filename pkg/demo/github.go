package demo

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

func init() { services["github"] = newGitHub }

// The GitHub world: an App installed on two repositories of one account;
// the job runs on the first, so the token covers it alone.
const (
	ghOwner   = "demo-org"
	ghRepo    = "app"
	ghOther   = "infra"
	ghAsked   = "contents:read"
	ghKeyBits = 2048 // the size GitHub generates; throwaway, made once per run
)

// ghGranted is what GitHub grants for ghAsked: metadata:read comes with
// every installation token that carries a repository permission.
var ghGranted = map[string]string{"contents": "read", "metadata": "read"}

type github struct {
	f      *ghfake.Server
	keyPEM string
}

func newGitHub() (service, error) {
	key, err := rsa.GenerateKey(rand.Reader, ghKeyBits)
	if err != nil {
		return nil, fmt.Errorf("failed to make the App's key: %w", err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	f := ghfake.New(key, &ghfake.Installation{
		ID: 1001, Account: ghOwner,
		Permissions: map[string]string{"contents": "write", "issues": "write", "metadata": "read"},
		Repos:       []string{ghRepo, ghOther},
	})
	f.Slug = "jobtoken-demo"
	return &github{f: f, keyPEM: pemKey}, nil
}

func (g *github) name() string { return "GitHub" }
func (g *github) url() string  { return g.f.URL }
func (g *github) fake() any    { return g.f }
func (g *github) close()       { g.f.Close() }

func (g *github) about() []fact {
	return []fact{
		{"fake", "GitHub's REST API at " + g.f.URL},
		{"parent", fmt.Sprintf("a GitHub App with a %d-bit RSA key made for this run, installed on %s/%s and %s/%s with contents:write and issues:write", ghKeyBits, ghOwner, ghRepo, ghOwner, ghOther)},
	}
}

func (g *github) step(string) step {
	return step{
		exportEnv: "GH_TOKEN",
		inputs: []input{
			{key: "provider", value: "github"},
			{key: "client-id", value: g.f.ClientID},
			{key: "private-key", value: g.keyPEM, secret: true, ref: "APP_PRIVATE_KEY", what: "the App's private key"},
			{key: "permissions", value: ghAsked},
			{key: "export-env", value: "GH_TOKEN"},
			{key: "github-api-url", value: g.f.URL},
		},
	}
}

func (g *github) repository(hostName string) repository {
	return repository{name: ghOwner + "/" + ghRepo, provider: "GitHub", uri: "https://github.com/" + ghOwner + "/" + ghRepo}
}

func (g *github) calls() []call {
	bearer := func(t string) string { return "Bearer " + t }
	hdr := map[string]string{"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
	return []call{
		{method: "GET", path: "/repos/" + ghOwner + "/" + ghRepo + "/contents/README.md", header: hdr, auth: bearer,
			why: "contents:read allows it"},
		{method: "POST", path: "/repos/" + ghOwner + "/" + ghRepo + "/issues", body: `{"title":"from a later step"}`, header: hdr, auth: bearer,
			refused: ghfake.RefusedPermission, why: "issues:write was not asked"},
		{method: "GET", path: "/repos/" + ghOwner + "/" + ghOther + "/contents/README.md", header: hdr, auth: bearer,
			refused: ghfake.RefusedRepository, why: ghOwner + "/" + ghOther + " is the App's, not the token's"},
	}
}

func (g *github) derived(token string) []form {
	return []form{{"the git basic-auth form", secret.BasicAuth("x-access-token", token)}}
}

func (g *github) grant() grant {
	gr := grant{asked: ghAsked + " on " + ghOwner + "/" + ghRepo}
	minted := g.f.Minted()
	gr.minted = len(minted)
	if len(minted) != 1 {
		return gr
	}
	t := minted[0]
	gr.granted = formatPerms(t.Permissions)
	gr.resources = "for " + joinList(qualify(ghOwner, t.Repos)) + " only"
	if len(t.Repos) == 0 {
		gr.resources = "for every repository of the installation"
	}
	gr.expiresAt = t.ExpiresAt
	gr.exact = maps.Equal(t.Permissions, ghGranted) && slices.Equal(t.Repos, []string{ghRepo})
	return gr
}

func (g *github) tokens() []string {
	var out []string
	for _, t := range g.f.Minted() {
		out = append(out, t.Value)
	}
	return out
}

func (g *github) status(token string) tokenStatus {
	t := g.f.Lookup(token)
	if t == nil {
		return tokenStatus{}
	}
	live := slices.ContainsFunc(g.f.Live(), func(l *ghfake.Token) bool { return l.Value == token })
	return tokenStatus{found: true, live: live, revoked: t.Revoked, by: "DELETE /installation/token"}
}

func (g *github) uses(token string) []use {
	var out []use
	for _, u := range g.f.Uses() {
		if u.Token == token {
			out = append(out, use{method: u.Method, path: u.Path, status: u.Status, refused: u.Refused, needs: u.Needs})
		}
	}
	return out
}

func (g *github) live() int { return len(g.f.Live()) }

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
