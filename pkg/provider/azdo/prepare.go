package azdo

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

// Prepare implements provider.Provider.
func (*Provider) Prepare(req provider.Request) (provider.Minter, inputs.Problems) {
	var ps inputs.Problems
	kind := strings.ToLower(req.Inputs.Get(Credential))
	if !req.Inputs.Known(Credential) {
		// Only the run will tell which credential, and so which inputs
		// matter: nothing can be judged.
		return nil, nil
	}
	switch kind {
	case CredentialPAT:
		return preparePAT(req)
	case CredentialEntra:
		return prepareEntra(req)
	}
	ps.Add(Credential, "unknown credential kind %q%s; use pat (a scoped, revocable PAT) or entra (workload identity)", kind, inputs.DidYouMean(kind, []string{CredentialPAT, CredentialEntra}))
	return nil, ps
}

// GitHost implements provider.Refresher: jobtoken does not serve Azure
// Repos to git (a script passes the token from jobtoken token).
func (*Provider) GitHost(provider.Request) string { return "" }

// NoRefresh implements provider.Refresher: Entra tokens are refreshed;
// a PAT lives exactly as long as asked and needs no broker.
func (*Provider) NoRefresh(req provider.Request) string {
	if !req.Inputs.Known(Credential) || strings.EqualFold(req.Inputs.Get(Credential), CredentialEntra) {
		return ""
	}
	return fmt.Sprintf("is not available with %s: a PAT lives exactly as long as %s asks (up to a year) and needs no refresh; remove it and set %s to the job's length, or use %s for an Entra token the broker refreshes",
		req.Setting(Credential, CredentialPAT), req.Name(inputs.Lifetime), req.Name(inputs.Lifetime), req.Setting(Credential, CredentialEntra))
}

// orgRE is Azure DevOps' rule for organization names: letters, digits and
// hyphens, starting and ending with a letter or digit, at most 50 characters.
var orgRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?$`)

// ParseOrganization accepts an organization name, an https://dev.azure.com/{org}
// URL or an https://{org}.visualstudio.com URL, and returns the name.
func ParseOrganization(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") && !strings.Contains(s, ":") {
		if !orgRE.MatchString(s) {
			return "", fmt.Errorf("%q is not an organization name (letters, digits and hyphens); use the name or https://dev.azure.com/{org}", s)
		}
		return s, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%q is neither an organization name nor an https://dev.azure.com/{org} URL", s)
	}
	host := strings.ToLower(u.Hostname())
	path := strings.Trim(u.Path, "/")
	var org string
	switch {
	case host == "dev.azure.com":
		org, _, _ = strings.Cut(path, "/")
		if strings.Contains(path, "/") {
			return "", fmt.Errorf("%q names more than an organization; use https://dev.azure.com/%s", s, org)
		}
	case strings.HasSuffix(host, ".visualstudio.com"):
		org = strings.TrimSuffix(host, ".visualstudio.com")
		if path != "" && !strings.EqualFold(path, "DefaultCollection") {
			return "", fmt.Errorf("%q names more than an organization; use https://%s.visualstudio.com", s, org)
		}
	default:
		return "", fmt.Errorf("%q is not an Azure DevOps organization URL; use the name or https://dev.azure.com/{org}", s)
	}
	if !orgRE.MatchString(org) {
		return "", fmt.Errorf("%q does not name an organization; use https://dev.azure.com/{org}", s)
	}
	return org, nil
}

// organization reads the organization input; where the run belongs to an
// organization (Azure Pipelines), it defaults to that one.
func organization(req provider.Request, required bool, ps *inputs.Problems) string {
	raw, from := req.Inputs.Get(Organization), ""
	if !req.Inputs.Known(Organization) {
		return raw
	}
	if raw == "" && req.Run.CollectionURI != "" {
		if !req.Run.Known(host.RunCollection) {
			return req.Run.CollectionURI // a plan's description of it
		}
		raw, from = req.Run.CollectionURI, " (taken from the pipeline's System.CollectionUri; set it explicitly)"
	}
	if raw == "" {
		if required {
			ps.Add(Organization, "is required for azure-devops PATs; set it to the organization name or https://dev.azure.com/{org}")
		}
		return ""
	}
	org, err := ParseOrganization(raw)
	if err != nil {
		ps.Add(Organization, "%s%s", err.Error(), from)
	}
	return org
}

// apiURL reads azure-devops-api-url, with the one URL check: the parent
// token travels in every request.
func apiURL(req provider.Request, ps *inputs.Problems) string {
	raw := strings.TrimRight(req.Inputs.Get(APIURL), "/")
	if raw == "" {
		raw = DefaultAPIURL
	}
	if !req.Inputs.Known(APIURL) {
		return raw
	}
	if msg := provider.APIURLProblem(raw, DefaultAPIURL); msg != "" {
		ps.Add(APIURL, "%s", msg)
	}
	return raw
}

// Destinations implements provider.Provider: for PATs, the PAT lifecycle
// API's host and the organization; an Entra token is never sent anywhere
// after minting.
func (*Provider) Destinations(req provider.Request) ([]provider.Destination, inputs.Problems) {
	if k := strings.ToLower(req.Inputs.Get(Credential)); k == CredentialEntra {
		return nil, nil
	}
	var ps inputs.Problems
	api := apiURL(req, &ps)
	org := organization(req, true, &ps)
	return []provider.Destination{
		{Input: APIURL, Value: api, URL: true},
		{Input: Organization, Value: org},
	}, ps
}
