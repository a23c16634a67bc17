package ghapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/api"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
	"github.com/jobtoken/jobtoken/pkg/retry"
)

// The federation inputs: the job asks a jobtoken federation service
// (`jobtoken serve`) instead of holding an App key.
var (
	FederationURL = inputs.Input{Key: "federation-url", Azure: "federationUrl", Type: inputs.TypeString, GitHubOnly: true,
		Description: "Your org's federation service (`jobtoken serve`), instead of an App key; needs `id-token: write`.",
		On:          map[inputs.Where]string{inputs.OnCLI: "URL of a jobtoken federation service (jobtoken serve): mint with a CI job's OIDC token (--oidc-token-file) what the --policy allows, with no App key. Exclusive with --client-id, --app-id, --private-key and --signing-key."}}
	Policy = inputs.Input{Key: "policy", Azure: "policy", Type: inputs.TypeString, GitHubOnly: true,
		Description: "With `federation-url`: the trust policy, by name.",
		On:          map[inputs.Where]string{inputs.OnCLI: "With --federation-url: the trust policy that decides, by name (<policy>.yaml in the organization's policy repository)."}}
)

// federationService names the service in errors.
const federationService = "the federation service"

// fedWait is the pause before the second try (twice that before the third).
var fedWait = time.Second

var policyNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$`)

// fedMinter mints through a federation service: the job's OIDC token is
// its only credential, and it lives for minutes and is single use.
type fedMinter struct {
	*minter
	url    string
	policy string
}

// prepareFederation is Prepare for federation-url.
func prepareFederation(req provider.Request, m *minter) (provider.Minter, inputs.Problems) {
	var ps inputs.Problems
	in := req.Inputs
	f := &fedMinter{minter: m, url: strings.TrimRight(in.Get(FederationURL), "/"), policy: in.Get(Policy)}
	for _, other := range []inputs.Input{ClientID, AppID, PrivateKey, SigningKey, InstallationID} {
		if in.Given(other) && in.Get(other) != "" {
			ps.Add(other, "cannot be used with %s: the federation service mints with its own App; remove %s", req.Name(FederationURL), req.Name(other))
		}
	}
	if in.Known(FederationURL) {
		if msg := provider.APIURLProblem(f.url, "https://jobtoken.example.com"); msg != "" {
			ps.Add(FederationURL, "%s", msg)
		}
	}
	switch {
	case f.policy == "":
		ps.Add(Policy, "is required with %s: name the trust policy that decides, e.g. release", req.Name(FederationURL))
	case in.Known(Policy) && !policyNameRE.MatchString(f.policy):
		ps.Add(Policy, "%q is not a policy name (lower-case letters, digits, '.', '-', '_')", f.policy)
	}
	if in.Known(inputs.Permissions) {
		perms, pp := ParsePermissions(req.Permissions)
		ps = append(ps, pp...)
		m.perms = perms
	}
	m.parseRepositories(&ps)
	if n := len(m.owners()); n > 1 {
		// One OIDC token buys one policy decision for one account: the
		// others' repositories would be dropped without a word.
		named := Repositories
		if len(inputs.List(in.Get(Owner))) > 1 {
			named = Owner
		}
		ps.Add(named, "names %d accounts, but a federation service mints for one account per step; use one step per account", n)
	}
	if req.Lifetime > TokenLife {
		ps.Add(inputs.Lifetime, "%s is longer than GitHub's fixed 1h for installation tokens; use 1h or less", inputs.FormatDuration(req.Lifetime))
	}
	var up inputs.Problems
	m.apiURL, up = apiURL(req)
	ps = append(ps, up...)
	switch {
	case req.OIDC == nil:
		ps.Add(FederationURL, "needs the job's OIDC token, which only GitHub Actions gives (permissions: id-token: write); with jobtoken mint, pass --oidc-token-file")
	case req.OIDC.Available() != nil:
		ps.Add(FederationURL, "needs the job's OIDC token, but %s", req.OIDC.Available())
	}
	f.plan = f.makePlan()
	return f, ps
}

func (f *fedMinter) makePlan() provider.Plan {
	p := f.minter.makePlan()
	p.Parent = fmt.Sprintf("the federation service %s, policy %s, with this job's OIDC token (no App key in the job)", f.url, f.policy)
	p.Notes = append([]string{"the service decides at run time: it checks this job's OIDC token against the policy and grants no more than the policy's ceiling"}, p.Notes...)
	p.Details = map[string]string{"api": f.apiURL, "federation": f.url, "policy": f.policy}
	p.Secrets = nil
	return p
}

// Plan implements provider.Minter.
func (f *fedMinter) Plan() provider.Plan { return f.plan }

// FederationDiscovery is a federation service's GET /.well-known/jobtoken:
// what `jobtoken serve` writes and the federation minter reads, defined once
// so that the two cannot drift.
type FederationDiscovery struct {
	Audience  string   `json:"audience"`
	Providers []string `json:"providers"`
}

// FederationAnswer is a federation service's 200 answer to POST /v1/token,
// as `jobtoken serve` writes it and the federation minter reads it.
type FederationAnswer struct {
	Token        string            `json:"token"`
	ExpiresAt    time.Time         `json:"expires_at"`
	TokenID      string            `json:"token_id"`
	Permissions  map[string]string `json:"permissions"`
	Repositories []string          `json:"repositories"`
}

var _ provider.Checker = (*fedMinter)(nil)

// Check implements provider.Checker for `plan --check`: the service
// answers its discovery document and serves github. It sends no
// credential (a terminal has no job OIDC token) and mints nothing.
func (f *fedMinter) Check(ctx context.Context) ([]string, error) {
	d, err := f.discover(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(d.Providers, Name) {
		return nil, fmt.Errorf("the federation service at %s does not serve %s (it serves %s)", f.url, Name, strings.Join(d.Providers, ", "))
	}
	return []string{fmt.Sprintf("the federation service at %s answers: audience %s; policy %s decides when the job runs", f.url, d.Audience, f.policy)}, nil
}

// discover reads GET /.well-known/jobtoken.
func (f *fedMinter) discover(ctx context.Context) (*FederationDiscovery, error) {
	svc := api.Service{Name: federationService, HTTP: f.req.HTTP, Refusal: fedRefusal}
	req, err := api.NewRequest(ctx, http.MethodGet, f.url+"/.well-known/jobtoken", "", nil)
	if err != nil {
		return nil, err
	}
	var d FederationDiscovery
	if _, err := svc.Do(req, &d); err != nil {
		return nil, fmt.Errorf("failed to read the federation service's /.well-known/jobtoken: %w", err)
	}
	if d.Audience == "" {
		return nil, errors.New("failed to read the federation service's /.well-known/jobtoken: it names no audience; is federation-url a jobtoken service?")
	}
	return &d, nil
}

// Mint implements provider.Minter: read the service's audience, get an
// OIDC token for it, ask. A retry (429, 5xx, no answer) asks with a fresh
// OIDC token, since the service accepts each one once.
func (f *fedMinter) Mint(ctx context.Context) (*provider.Token, error) {
	d, err := f.discover(ctx)
	if err != nil {
		return nil, err
	}
	once := api.Service{Name: federationService, HTTP: noRetry(f.req.HTTP), Refusal: fedRefusal}
	repos := f.repos
	if len(repos) == 0 {
		repos = []string{"*"}
	}
	body := map[string]any{"policy": f.policy, "provider": Name, "owner": f.owner, "repositories": repos, "permissions": f.perms}
	if f.req.Lifetime > 0 {
		body["lifetime"] = f.req.Lifetime.String()
	}
	var out FederationAnswer
	for attempt := 1; ; attempt++ {
		oidc, err := f.req.OIDC.IDToken(ctx, d.Audience)
		if err != nil {
			return nil, fmt.Errorf("failed to get the job's OIDC token for %s: %w", d.Audience, err)
		}
		f.req.Redact(oidc)
		r, err := api.NewRequest(ctx, http.MethodPost, f.url+"/v1/token", "Bearer "+oidc, body)
		if err != nil {
			return nil, err
		}
		resp, err := once.Do(r, &out)
		if err == nil {
			break
		}
		if !transient(resp, err) || attempt == 3 {
			return nil, fmt.Errorf("failed to mint through %s: %w", f.url, explainFed(err, f))
		}
		f.req.Log.Infof("the federation service could not answer (%s); asking again with a fresh OIDC token", apierror.Summarize(err.Error(), 200))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt) * fedWait):
		}
	}
	if out.Token == "" {
		return nil, errors.New("failed to mint: the federation service answered without a token")
	}
	at := &InstallationToken{Token: out.Token, ExpiresAt: out.ExpiresAt, Permissions: out.Permissions, RepositorySelection: "selected"}
	for _, r := range out.Repositories {
		if r == "*" {
			at.RepositorySelection = "all"
			continue
		}
		at.Repositories = append(at.Repositories, struct {
			Name string `json:"name"`
		}{r})
	}
	tok := f.token(0, at)
	tok.Outputs = map[string]string{OutInstallationID: "", OutAppSlug: ""}
	f.oneAccount(tok)
	tok.Summary = append([][2]string{{"Federation service", f.url}, {"Policy", f.policy}}, tok.Summary[1:]...)
	return tok, grantError(f.repos, f.perms, at)
}

// transient reports a failure worth asking again for, with a fresh OIDC
// token: what the retrying transport would retry (no answer, an answer cut
// off, 429, 5xx, GitHub's rate-limit 403), never an answer such as a
// denial.
func transient(resp *http.Response, err error) bool {
	var ne *api.NetError
	if errors.As(err, &ne) {
		return true
	}
	if _, ok := apierror.As(err); !ok {
		// An answer whose body could not be read; one that was read but is
		// not the expected JSON is not asked again.
		return strings.HasPrefix(err.Error(), "failed to read")
	}
	switch st := apierror.StatusOf(err); {
	case st == http.StatusTooManyRequests, st >= 500:
		return true
	case st == http.StatusForbidden && resp != nil:
		return resp.Header.Get("X-RateLimit-Remaining") == "0"
	}
	return false
}

// noRetry is hc without the transport's own retries: a retried POST would
// send the same single-use OIDC token again.
func noRetry(hc *http.Client) *http.Client {
	rt, ok := hc.Transport.(*retry.Transport)
	if !ok {
		return hc
	}
	one := *rt
	one.Policy.Attempts = 1
	c := *hc
	c.Transport = &one
	return &c
}

// fedRefusal keeps more of the service's words than other services get: a
// denial names every claim that failed, and the service never echoes a
// token.
func fedRefusal(resp *http.Response, body []byte) error {
	e := apierror.New(federationService, resp.StatusCode, "")
	e.Message = apierror.Summarize(fedMessage(body), 1500)
	return e
}

// fedMessage reads the service's {"error": {"message": …}}.
func fedMessage(body []byte) string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.NewDecoder(io.LimitReader(bytes.NewReader(body), 64<<10)).Decode(&e) != nil || e.Error.Message == "" {
		return api.Message(body)
	}
	return e.Error.Message
}

// explainFed adds the likely fix to the service's refusals.
func explainFed(err error, f *fedMinter) error {
	e, ok := apierror.As(err)
	if !ok {
		return err
	}
	switch e.Status {
	case http.StatusForbidden:
		e.Explain("", "policy "+f.policy+" decides who may ask for what: run the job the policy trusts and ask within its ceiling, or change the policy in the organization's policy repository")
	case http.StatusUnauthorized:
		e.Explain("", "rerun the job; if it recurs, check the service's audience and issuers")
	case http.StatusBadRequest:
		e.Explain("", "check "+f.req.Name(inputs.Permissions)+", "+f.req.Name(Repositories)+" and "+f.req.Name(Policy))
	}
	return e
}

// federationDestination is where the job's OIDC token goes.
func federationDestination(req provider.Request) (provider.Destination, inputs.Problems, bool) {
	u := strings.TrimRight(req.Inputs.Get(FederationURL), "/")
	if u == "" {
		return provider.Destination{}, nil, false
	}
	var ps inputs.Problems
	if req.Inputs.Known(FederationURL) {
		if msg := provider.APIURLProblem(u, "https://jobtoken.example.com"); msg != "" {
			ps.Add(FederationURL, "%s", msg)
		}
	}
	return provider.Destination{Input: FederationURL, Value: u, URL: true}, ps, true
}

var _ provider.Federated = (*fedMinter)(nil)

// OIDCConnection implements provider.Federated: each mint presents a fresh
// OIDC token of the job (single use), so a broker refreshing needs to be
// able to request one.
func (f *fedMinter) OIDCConnection() (string, bool) { return "", true }
