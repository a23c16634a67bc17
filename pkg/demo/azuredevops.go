package demo

import (
	"slices"
	"time"

	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

func init() { services["azure-devops"] = newAzureDevOps }

// The Azure DevOps world: a user of two organizations, whose Entra token is
// the parent; the job asks for a code-read PAT in the first, for 30 minutes.
const (
	azOrg      = "demo-org"
	azOther    = "other-org"
	azProject  = "demo"
	azRepo     = "app"
	azUser     = "dev@demo-org.example"
	azAsked    = "vso.code"
	azLifetime = 30 * time.Minute
)

type azureDevOps struct {
	tenant *azfake.Tenant
	f      *azfake.PATs
	parent string
}

func newAzureDevOps() (service, error) {
	tenant := azfake.NewTenant()
	f := azfake.NewPATs(tenant, azOrg, azOther)
	f.Repositories[azOrg] = []string{azRepo}
	f.Repositories[azOther] = []string{"secrets"}
	return &azureDevOps{tenant: tenant, f: f, parent: tenant.UserToken(azUser, time.Hour)}, nil
}

func (a *azureDevOps) name() string { return "Azure DevOps" }
func (a *azureDevOps) url() string  { return a.f.URL }
func (a *azureDevOps) fake() any    { return a.f }
func (a *azureDevOps) close()       { a.f.Close() }

func (a *azureDevOps) about() []fact {
	return []fact{
		{"fake", "Azure DevOps' PAT lifecycle and REST APIs at " + a.f.URL},
		{"parent", "a Microsoft Entra user token for " + azUser + " (member of " + azOrg + " and " + azOther + "), signed by a fake tenant made for this run"},
	}
}

func (a *azureDevOps) step(hostName string) step {
	in := []input{
		{key: "provider", value: "azure-devops"},
		{key: "permissions", value: azAsked},
		{key: "lifetime", value: "30m"},
		{key: "azure-access-token", value: a.parent, secret: true, ref: "AZURE_USER_TOKEN", what: "the Entra user token"},
		{key: "azure-devops-api-url", value: a.f.URL},
		{key: "export-env", value: "AZURE_DEVOPS_EXT_PAT"},
	}
	if hostName != "azure" {
		// On Azure Pipelines it defaults to the pipeline's organization.
		in = slices.Insert(in, 3, input{key: "azure-devops-organization", value: azOrg})
	}
	return step{inputs: in, exportEnv: "AZURE_DEVOPS_EXT_PAT"}
}

func (a *azureDevOps) repository(hostName string) repository {
	if hostName == "github" {
		return repository{name: ghOwner + "/" + azRepo, provider: "GitHub", uri: "https://github.com/" + ghOwner + "/" + azRepo}
	}
	return repository{name: azRepo, provider: "TfsGit", uri: "https://dev.azure.com/" + azOrg + "/" + azProject + "/_git/" + azRepo}
}

func (a *azureDevOps) calls() []call {
	basic := func(t string) string { return "Basic " + secret.BasicAuth("", t) }
	hdr := map[string]string{"Accept": "application/json", "X-TFS-FedAuthRedirect": "Suppress"}
	post := map[string]string{"Accept": "application/json", "Content-Type": "application/json", "X-TFS-FedAuthRedirect": "Suppress"}
	return []call{
		{method: "GET", path: "/" + azOrg + "/_apis/git/repositories?api-version=7.1", header: hdr, auth: basic,
			why: "vso.code allows it"},
		{method: "POST", path: "/" + azOrg + "/" + azProject + "/_apis/build/builds?api-version=7.1", body: `{"definition":{"id":1}}`, header: post, auth: basic,
			refused: azfake.RefusedScope, why: "vso.build_execute was not asked"},
		{method: "GET", path: "/" + azOther + "/_apis/git/repositories?api-version=7.1", header: hdr, auth: basic,
			refused: azfake.RefusedOrganization, why: "the PAT is for " + azOrg + " only"},
	}
}

func (a *azureDevOps) derived(token string) []form {
	return []form{{"the basic-auth form", secret.BasicAuth("", token)}}
}

func (a *azureDevOps) grant() grant {
	gr := grant{asked: azAsked + " in " + azOrg + " for 30m"}
	all := a.f.All()
	gr.minted = len(all)
	if len(all) != 1 {
		return gr
	}
	p := all[0]
	life := p.ValidTo.Sub(p.ValidFrom)
	gr.granted = p.Scope
	gr.resources = "in every organization"
	if p.TargetAccounts != nil {
		gr.resources = "in " + orgNames(a.f, p.TargetAccounts) + " only"
	}
	gr.resources += ", valid " + inputs.FormatDuration(life.Round(time.Minute))
	gr.expiresAt = p.ValidTo
	gr.exact = p.Scope == azAsked && slices.Equal(p.TargetAccounts, []string{a.f.Orgs[azOrg]}) &&
		life > azLifetime-time.Minute && life <= azLifetime+time.Minute
	return gr
}

func orgNames(f *azfake.PATs, ids []string) string {
	var names []string
	for name, id := range f.Orgs {
		if slices.Contains(ids, id) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return joinList(names)
}

func (a *azureDevOps) tokens() []string {
	var out []string
	for _, p := range a.f.All() {
		out = append(out, p.Token)
	}
	return out
}

func (a *azureDevOps) status(token string) tokenStatus {
	p := a.f.Lookup(token)
	if p == nil {
		return tokenStatus{}
	}
	live := !p.Revoked && a.f.Now().Before(p.ValidTo)
	return tokenStatus{found: true, live: live, revoked: p.Revoked, by: "the PAT lifecycle API"}
}

func (a *azureDevOps) uses(token string) []use {
	p := a.f.Lookup(token)
	if p == nil {
		return nil
	}
	var out []use
	for _, u := range a.f.Uses() {
		if u.AuthorizationID == p.AuthorizationID {
			out = append(out, use{method: u.Method, path: u.Path, status: u.Status, refused: u.Refused, needs: u.Needs})
		}
	}
	return out
}

func (a *azureDevOps) live() int { return len(a.f.Live()) }
