// Package azdo mints Azure DevOps credentials: a PAT narrowed to vso.* scopes
// and a short validTo, created through the PAT lifecycle API with a signed-in
// user's Microsoft Entra token and revoked in the post step (azure-credential:
// pat), or a service principal's Entra token obtained through workload
// identity federation, which can be neither narrowed nor revoked
// (azure-credential: entra).
package azdo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

// Name is the provider's input value.
const Name = "azure-devops"

// Credential kinds (the azure-credential input).
const (
	CredentialPAT   = "pat"
	CredentialEntra = "entra"
)

// Provider is the Azure DevOps provider.
type Provider struct{}

// New returns the provider.
func New() *Provider { return &Provider{} }

var _ provider.Provider = (*Provider)(nil)

// Name implements provider.Provider.
func (*Provider) Name() string { return Name }

// Prepare implements provider.Provider.
func (*Provider) Prepare(req provider.Request) (provider.Minter, inputs.Problems) {
	var ps inputs.Problems
	kind := strings.ToLower(req.Inputs.Get(Credential))
	var m provider.Minter
	switch kind {
	case CredentialPAT:
		m, ps = preparePAT(req)
	case CredentialEntra:
		m, ps = prepareEntra(req)
	default:
		ps.Add(Credential, "unknown credential kind %q%s; use pat (a scoped, revocable PAT) or entra (workload identity)", kind, inputs.DidYouMean(kind, []string{CredentialPAT, CredentialEntra}))
	}
	for i := range ps {
		ps[i].Msg = localizeText(req.Host, ps[i].Msg)
	}
	return m, ps
}

// localizeText renames the inputs a message mentions to the host's spelling
// (camelCase on Azure Pipelines), so the fix names what the user types.
func localizeText(hostName, s string) string {
	if hostName != "azure" {
		return s
	}
	return azureRenamer.Replace(s)
}

var azureRenamer = func() *strings.Replacer {
	var pairs []string
	for _, in := range append(inputs.Common(), New().Inputs().Inputs...) {
		if in.Key != in.Azure && strings.Contains(in.Key, "-") {
			pairs = append(pairs, in.Key, in.Azure)
		}
	}
	// Longest first, so a long key is not cut short by a shorter one.
	return strings.NewReplacer(longestFirst(pairs)...)
}()

func longestFirst(pairs []string) []string {
	type kv struct{ k, v string }
	var list []kv
	for i := 0; i+1 < len(pairs); i += 2 {
		list = append(list, kv{pairs[i], pairs[i+1]})
	}
	sort.SliceStable(list, func(i, j int) bool { return len(list[i].k) > len(list[j].k) })
	out := make([]string, 0, len(pairs))
	for _, p := range list {
		out = append(out, p.k, p.v)
	}
	return out
}

// localizedError is err with its text in the host's input names.
type localizedError struct {
	msg string
	err error
}

func (e *localizedError) Error() string { return e.msg }
func (e *localizedError) Unwrap() error { return e.err }

func localize(hostName string, err error) error {
	if err == nil || hostName != "azure" || errors.Is(err, provider.ErrAlreadyRevoked) {
		return err
	}
	return &localizedError{msg: localizeText(hostName, err.Error()), err: err}
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

// organization reads the organization input; on Azure Pipelines it defaults
// to the organization the pipeline runs in.
func organization(req provider.Request, required bool, ps *inputs.Problems) string {
	raw := req.Inputs.Get(Organization)
	from := ""
	if raw == "" && req.Host == "azure" && req.Getenv != nil {
		raw, from = req.Getenv("SYSTEM_COLLECTIONURI"), " (taken from the pipeline's System.CollectionUri; set it explicitly)"
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
	for i := range ps {
		ps[i].Msg = localizeText(req.Host, ps[i].Msg)
	}
	return []provider.Destination{
		{Key: "api_url", Input: APIURL, Value: api, URL: true},
		{Key: "organization", Input: Organization, Value: org},
	}, ps
}

// Revoke implements provider.Provider.
func (*Provider) Revoke(ctx context.Context, req provider.Request, saved provider.Saved) error {
	if saved.State["kind"] == CredentialEntra || !saved.Revocable {
		// Entra tokens cannot be revoked; job.Post says so before calling.
		return errors.New("entra tokens cannot be revoked; they expire on their own")
	}
	return localize(req.Host, revokePAT(ctx, req, saved))
}
