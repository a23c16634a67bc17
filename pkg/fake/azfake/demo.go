package azfake

import (
	"slices"
	"time"

	"github.com/jobtoken/jobtoken/pkg/demo"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// The Azure DevOps world: a user of two organizations, whose Entra token is
// the parent; the job asks for a code-read PAT in the first, for 30 minutes.
const (
	azOther    = "other-org"
	azUser     = "dev@demo-org.example"
	azAsked    = "vso.code"
	azLifetime = 30 * time.Minute
)

type demoWorld struct {
	tenant *Tenant
	f      *PATs
	parent string
}

func NewDemo() (demo.Service, error) {
	tenant := NewTenant()
	f := NewPATs(tenant, demo.Org, azOther)
	f.Repositories[demo.Org] = []string{demo.Repo}
	f.Repositories[azOther] = []string{"secrets"}
	return &demoWorld{tenant: tenant, f: f, parent: tenant.UserToken(azUser, time.Hour)}, nil
}

func (a *demoWorld) Name() string { return "Azure DevOps" }
func (a *demoWorld) URL() string  { return a.f.URL }
func (a *demoWorld) Fake() any    { return a.f }
func (a *demoWorld) Close()       { a.f.Close() }

func (a *demoWorld) About() []demo.Fact {
	return []demo.Fact{
		{Label: "fake", Text: "Azure DevOps' PAT lifecycle and REST APIs at " + a.f.URL},
		{Label: "parent", Text: "a Microsoft Entra user token for " + azUser + " (member of " + demo.Org + " and " + azOther + "), signed by a fake tenant made for this run"},
	}
}

func (a *demoWorld) Step(hostName string) demo.Step {
	in := []demo.Input{
		{Key: "provider", Value: Provider},
		{Key: "permissions", Value: azAsked},
		{Key: "lifetime", Value: "30m"},
		{Key: "azure-access-token", Value: a.parent, Secret: true, Ref: "AZURE_USER_TOKEN", What: "the Entra user token"},
		{Key: "azure-devops-api-url", Value: a.f.URL},
		{Key: "export-env", Value: "AZURE_DEVOPS_EXT_PAT"},
	}
	if hostName != azpipelines.Name {
		// On Azure Pipelines it defaults to the pipeline's organization.
		in = slices.Insert(in, 3, demo.Input{Key: "azure-devops-organization", Value: demo.Org})
	}
	return demo.Step{Inputs: in, ExportEnv: "AZURE_DEVOPS_EXT_PAT"}
}

func (a *demoWorld) Repository(hostName string) demo.Repository {
	if hostName == ghactions.Name {
		return demo.Repository{Name: demo.Owner + "/" + demo.Repo, Provider: "GitHub", URI: "https://github.com/" + demo.Owner + "/" + demo.Repo}
	}
	return demo.Repository{Name: demo.Repo, Provider: "TfsGit", URI: "https://dev.azure.com/" + demo.Org + "/" + demo.Project + "/_git/" + demo.Repo}
}

func (a *demoWorld) Calls() []demo.Call {
	basic := func(t string) string { return "Basic " + secret.BasicAuth("", t) }
	hdr := map[string]string{"Accept": "application/json", "X-TFS-FedAuthRedirect": "Suppress"}
	post := map[string]string{"Accept": "application/json", "Content-Type": "application/json", "X-TFS-FedAuthRedirect": "Suppress"}
	return []demo.Call{
		{Method: "GET", Path: "/" + demo.Org + "/_apis/git/repositories?api-version=7.1", Header: hdr, Auth: basic,
			Why: "vso.code allows it"},
		{Method: "POST", Path: "/" + demo.Org + "/" + demo.Project + "/_apis/build/builds?api-version=7.1", Body: `{"definition":{"id":1}}`, Header: post, Auth: basic,
			Refused: RefusedScope, Why: "vso.build_execute was not asked"},
		{Method: "GET", Path: "/" + azOther + "/_apis/git/repositories?api-version=7.1", Header: hdr, Auth: basic,
			Refused: RefusedOrganization, Why: "the PAT is for " + demo.Org + " only"},
	}
}

func (a *demoWorld) Derived(token string) []demo.Form {
	return []demo.Form{{Name: "the basic-auth form", Value: secret.BasicAuth("", token)}}
}

func (a *demoWorld) Grant() demo.Grant {
	gr := demo.Grant{Asked: azAsked + " in " + demo.Org + " for 30m"}
	all := a.f.All()
	gr.Minted = len(all)
	if len(all) != 1 {
		return gr
	}
	p := all[0]
	life := p.ValidTo.Sub(p.ValidFrom)
	gr.Granted = p.Scope
	gr.Resources = "in every organization"
	if p.TargetAccounts != nil {
		gr.Resources = "in " + orgNames(a.f, p.TargetAccounts) + " only"
	}
	gr.Resources += ", valid " + inputs.FormatDuration(life.Round(time.Minute))
	gr.ExpiresAt = p.ValidTo
	gr.Exact = p.Scope == azAsked && slices.Equal(p.TargetAccounts, []string{a.f.Orgs[demo.Org]}) &&
		life > azLifetime-time.Minute && life <= azLifetime+time.Minute
	return gr
}

func orgNames(f *PATs, ids []string) string {
	var names []string
	for name, id := range f.Orgs {
		if slices.Contains(ids, id) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return demo.JoinList(names)
}

func (a *demoWorld) Tokens() []string {
	var out []string
	for _, p := range a.f.All() {
		out = append(out, p.Token)
	}
	return out
}

func (a *demoWorld) Status(token string) demo.TokenStatus {
	p := a.f.Lookup(token)
	if p == nil {
		return demo.TokenStatus{}
	}
	live := !p.Revoked && a.f.Now().Before(p.ValidTo)
	return demo.TokenStatus{Found: true, Live: live, Revoked: p.Revoked, By: "the PAT lifecycle API"}
}

func (a *demoWorld) Uses(token string) []demo.Use {
	p := a.f.Lookup(token)
	if p == nil {
		return nil
	}
	var out []demo.Use
	for _, u := range a.f.Uses() {
		if u.AuthorizationID == p.AuthorizationID {
			out = append(out, u.Use)
		}
	}
	return out
}

func (a *demoWorld) Live() int { return len(a.f.Live()) }
