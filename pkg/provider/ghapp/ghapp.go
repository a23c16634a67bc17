// Package ghapp mints GitHub App installation tokens limited to named
// repositories and permissions, and revokes them with the token itself.
package ghapp

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-github/v60/github"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// Name is the provider's input value.
const Name = "github"

// DefaultAPIURL is github.com's REST API.
const DefaultAPIURL = "https://api.github.com"

// TokenLife is fixed by GitHub for installation tokens.
const TokenLife = time.Hour

var (
	ownerRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	repoRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)
)

// Provider is the GitHub App provider.
type Provider struct{}

// New returns the provider.
func New() *Provider { return &Provider{} }

var _ provider.Provider = (*Provider)(nil)

// Name implements provider.Provider.
func (*Provider) Name() string { return Name }

type minter struct {
	req      provider.Request
	key      *rsa.PrivateKey
	issuer   string
	owner    string
	repos    []string // names within owner; empty means every repository (`*`)
	perms    map[string]string
	instID   int64
	apiURL   string
	skew     time.Duration // server clock minus ours, learned from a 401
	inst     *installation // from the lookup, when one was made
	plan     provider.Plan
	resigned bool
}

// Prepare implements provider.Provider.
func (*Provider) Prepare(req provider.Request) (provider.Minter, inputs.Problems) {
	var ps inputs.Problems
	in := req.Inputs
	m := &minter{req: req}

	m.issuer = in.Get(inputs.ClientID)
	if m.issuer == "" {
		m.issuer = in.Get(inputs.AppID)
		if m.issuer != "" {
			if _, err := strconv.ParseUint(m.issuer, 10, 64); err != nil {
				ps.Add(inputs.AppID, "%q is not a numeric App ID; use the App ID from the App's settings, or set %s instead", m.issuer, req.Name(inputs.ClientID))
			}
		}
	}
	if m.issuer == "" {
		ps.Add(inputs.ClientID, "is required for github; set %s (or %s) to the GitHub App's client ID", req.Name(inputs.ClientID), req.Name(inputs.AppID))
	} else if strings.ContainsAny(m.issuer, " \t\r\n") {
		ps.Add(inputs.ClientID, "contains whitespace; copy the client ID from the App's settings")
	}

	if k, err := ParsePrivateKey(in.Get(inputs.PrivateKey)); err != nil {
		ps.Add(inputs.PrivateKey, "%s", err.Error())
	} else {
		m.key = k
	}

	perms, pp := ParsePermissions(req.Permissions)
	ps = append(ps, pp...)
	m.perms = perms

	m.parseRepositories(&ps)

	id, p := in.Int64(inputs.InstallationID)
	ps.AddP(p)
	m.instID = id

	var up inputs.Problems
	m.apiURL, up = apiURL(req)
	ps = append(ps, up...)

	if req.Lifetime > TokenLife {
		ps.Add(inputs.Lifetime, "%s is longer than GitHub's fixed 1h for installation tokens; use 1h or less", inputs.FormatDuration(req.Lifetime))
	}

	m.plan = m.makePlan()
	return m, ps
}

// apiURL resolves the API URL: the input, else the runner's GITHUB_API_URL,
// else github.com's, with the one URL check.
func apiURL(req provider.Request) (string, inputs.Problems) {
	var ps inputs.Problems
	u := req.Inputs.Get(inputs.GitHubAPIURL)
	if u == "" {
		u = req.Run.APIURL
	}
	if u == "" {
		u = DefaultAPIURL
	}
	if msg := provider.APIURLProblem(u, "https://ghes.example.com/api/v3"); msg != "" {
		ps.Add(inputs.GitHubAPIURL, "%s", msg)
	}
	return strings.TrimRight(u, "/"), ps
}

// Destinations implements provider.Provider: the API URL.
func (*Provider) Destinations(req provider.Request) ([]provider.Destination, inputs.Problems) {
	u, ps := apiURL(req)
	return []provider.Destination{{Key: "api_url", Input: inputs.GitHubAPIURL, Value: u, URL: true}}, ps
}

func (m *minter) parseRepositories(ps *inputs.Problems) {
	in := m.req.Inputs
	curOwner, curRepo, _ := strings.Cut(m.req.Run.Repository, "/")
	m.owner = in.Get(inputs.Owner)
	if m.owner != "" && !ownerRE.MatchString(m.owner) {
		// Checked first: the messages below show the owner, and one with a
		// line break would split the one-line error.
		ps.Add(inputs.Owner, "%q is not a GitHub account name; use the user or organization login the App is installed on, e.g. octo-org", m.owner)
		return
	}
	if m.owner == "" {
		m.owner = curOwner
	}
	list := inputs.List(in.Get(inputs.Repositories))
	all := false
	for _, r := range list {
		if r == "*" {
			all = true
		}
	}
	switch {
	case all && len(list) > 1:
		ps.Add(inputs.Repositories, "mixes * with repository names; use * alone for every repository of the installation, or list names")
		return
	case all:
		if m.owner == "" {
			ps.Add(inputs.Owner, "is required with %s: *; set it to the account the App is installed on", m.req.Name(inputs.Repositories))
		}
		return
	case len(list) == 0:
		if curRepo == "" {
			ps.Add(inputs.Repositories, "has no default outside a GitHub repository; name the repositories (or * for all of the installation's)")
			return
		}
		if !strings.EqualFold(m.owner, curOwner) {
			ps.Add(inputs.Repositories, "is required when %s (%s) is not the current repository's owner (%s); name the repositories or use *", m.req.Name(inputs.Owner), m.owner, curOwner)
			return
		}
		list = []string{curRepo}
	}
	seen := map[string]bool{}
	for _, r := range list {
		owner, name, hasOwner := strings.Cut(r, "/")
		if !hasOwner {
			owner, name = m.owner, r
		} else if m.owner == "" {
			m.owner = owner
		}
		if !repoRE.MatchString(name) || strings.Contains(name, "/") || name == "." || name == ".." || (hasOwner && !ownerRE.MatchString(owner)) {
			ps.Add(inputs.Repositories, "%q is not a repository name; use name or owner/name", r)
			continue
		}
		if hasOwner && !strings.EqualFold(owner, m.owner) {
			ps.Add(inputs.Repositories, "%q is not owned by %s; one token covers one account, so mint one token per owner", r, m.owner)
			continue
		}
		if !seen[strings.ToLower(name)] {
			seen[strings.ToLower(name)] = true
			m.repos = append(m.repos, name)
		}
	}
	if m.owner == "" {
		ps.Add(inputs.Owner, "is required outside a GitHub repository; set it to the account the App is installed on")
	} else if !ownerRE.MatchString(m.owner) {
		ps.Add(inputs.Owner, "%q is not a GitHub account name", m.owner)
	}
}

func (m *minter) makePlan() provider.Plan {
	res := []string{}
	if len(m.repos) == 0 {
		res = append(res, m.owner+"/* (every repository of the installation)")
	}
	for _, r := range m.repos {
		res = append(res, m.owner+"/"+r)
	}
	scopes := strings.Split(FormatPermissions(m.perms), ", ")
	if len(m.perms) == 0 {
		scopes = nil
	}
	inst := "looked up from " + m.lookupPath()
	if m.instID != 0 {
		inst = strconv.FormatInt(m.instID, 10)
	}
	return provider.Plan{
		Provider:   Name,
		Parent:     fmt.Sprintf("GitHub App %s (RS256 JWT signed with %s)", m.issuer, m.req.Name(inputs.PrivateKey)),
		Scopes:     scopes,
		Resources:  res,
		Lifetime:   TokenLife,
		Revocation: "DELETE /installation/token with the token itself, in the post step",
		Revocable:  true,
		Notes:      []string{"GitHub adds metadata:read to every token that carries a repository permission", "GitHub fixes installation tokens at 1h"},
		Details:    map[string]string{"api": m.apiURL, "installation": inst},
		Secrets:    []string{m.req.Inputs.Get(inputs.PrivateKey)},
	}
}

func (m *minter) lookupPath() string {
	if len(m.repos) > 0 {
		return "/repos/" + m.owner + "/" + m.repos[0] + "/installation"
	}
	return "/users/" + m.owner + "/installation"
}

// Plan implements provider.Minter.
func (m *minter) Plan() provider.Plan { return m.plan }

// installation is GitHub's installation object, decoded into our own type
// because go-github v60's struct lacks newer permission names.
type installation struct {
	ID                  int64             `json:"id"`
	AppSlug             string            `json:"app_slug"`
	RepositorySelection string            `json:"repository_selection"`
	Permissions         map[string]string `json:"permissions"`
	Account             struct {
		Login string `json:"login"`
	} `json:"account"`
}

// accessToken is the installation token response; go-github v60's
// InstallationToken has no repository_selection and lacks newer permissions.
type accessToken struct {
	Token               string            `json:"token"`
	ExpiresAt           time.Time         `json:"expires_at"`
	Permissions         map[string]string `json:"permissions"`
	RepositorySelection string            `json:"repository_selection"`
	Repositories        []struct {
		Name string `json:"name"`
	} `json:"repositories"`
}

type tokenRequest struct {
	Repositories []string          `json:"repositories,omitempty"`
	Permissions  map[string]string `json:"permissions"`
}

func (m *minter) now() time.Time {
	if m.req.Now != nil {
		return m.req.Now()
	}
	return time.Now()
}

// appJWT signs the App's JWT: iat one minute in the past against a fast
// clock, exp nine minutes after iat to stay under GitHub's ten.
func (m *minter) appJWT() (string, error) {
	iat := m.now().Add(m.skew).Add(-60 * time.Second).Truncate(time.Second)
	claims := jwt.RegisteredClaims{
		Issuer:    m.issuer,
		IssuedAt:  jwt.NewNumericDate(iat),
		ExpiresAt: jwt.NewNumericDate(iat.Add(9 * time.Minute)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(m.key)
	if err != nil {
		return "", fmt.Errorf("failed to sign the App JWT: %w", err)
	}
	if m.req.Redact != nil {
		// For ten minutes it can mint tokens: never let a log print it.
		m.req.Redact(s)
	}
	return s, nil
}

func newClient(hc *http.Client, apiURL, token string) *github.Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	c := github.NewClient(hc).WithAuthToken(token)
	u, _ := url.Parse(apiURL + "/")
	c.BaseURL = u
	c.UserAgent = "jobtoken"
	return c
}

// appCall makes one App-authenticated call. If GitHub rejects the JWT's time
// claims, it corrects our clock from the response's Date header and re-signs
// once.
func (m *minter) appCall(ctx context.Context, method, path string, body, out any) error {
	for {
		tok, err := m.appJWT()
		if err != nil {
			return err
		}
		c := newClient(m.req.HTTP, m.apiURL, tok)
		r, err := c.NewRequest(method, path, body)
		if err != nil {
			return err
		}
		_, err = c.Do(ctx, r, out)
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnauthorized &&
			isClockError(er.Message) && !m.resigned {
			m.resigned = true
			if d, perr := http.ParseTime(er.Response.Header.Get("Date")); perr == nil {
				m.skew = d.Sub(m.now())
				if m.req.Log != nil {
					m.req.Log.Warningf("GitHub rejected the App JWT's time claims; this machine's clock is off by %s, correcting and signing again", m.skew.Round(time.Second))
				}
				continue
			}
		}
		return m.explained(err)
	}
}

func isClockError(msg string) bool {
	return strings.Contains(msg, "claim ('iat')") || strings.Contains(msg, "claim ('exp')")
}

// Mint implements provider.Minter.
func (m *minter) Mint(ctx context.Context) (*provider.Token, error) {
	id := m.instID
	if id == 0 {
		inst, err := m.lookup(ctx)
		if err != nil {
			return nil, err
		}
		m.inst, id = inst, inst.ID
	}
	body := tokenRequest{Repositories: m.repos, Permissions: m.perms}
	var raw json.RawMessage
	var at accessToken
	err := m.appCall(ctx, http.MethodPost, fmt.Sprintf("app/installations/%d/access_tokens", id), body, &raw)
	if err == nil {
		if uerr := json.Unmarshal(raw, &at); uerr != nil {
			// A field of an unexpected type must not lose the token: read
			// it alone.
			var only struct {
				Token string `json:"token"`
			}
			_ = json.Unmarshal(raw, &only)
			at = accessToken{Token: only.Token}
			err = uerr
		}
	}
	if err != nil && at.Token != "" {
		// GitHub issued a token but part of its answer did not decode: hand
		// the token back so that it is revoked, not lost.
		return m.token(id, &at), errors.New("failed to mint: GitHub's answer for the new token did not decode (not the documented JSON); retry, and report this if it persists")
	}
	if err != nil {
		return nil, m.explainMintError(ctx, id, err)
	}
	if at.Token == "" {
		return nil, errors.New("failed to mint: GitHub answered without a token")
	}
	tok := m.token(id, &at)
	if err := m.verify(&at); err != nil {
		return tok, err
	}
	return tok, nil
}

func (m *minter) token(id int64, at *accessToken) *provider.Token {
	sum := sha256.Sum256([]byte(at.Token))
	slug := ""
	if m.inst != nil {
		slug = m.inst.AppSlug
	}
	repos := make([]string, 0, len(at.Repositories))
	for _, r := range at.Repositories {
		repos = append(repos, m.owner+"/"+r.Name)
	}
	sort.Strings(repos)
	repoText := strings.Join(repos, ", ")
	if at.RepositorySelection == "all" || len(repos) == 0 {
		repoText = m.owner + "/* (all of the installation's)"
	}
	exp := at.ExpiresAt
	if exp.IsZero() {
		exp = m.now().Add(TokenLife)
	}
	granted := FormatPermissions(at.Permissions)
	t := &provider.Token{
		Value:     at.Token,
		ID:        "sha256:" + hex.EncodeToString(sum[:])[:12],
		ExpiresAt: exp.UTC(),
		Granted:   granted,
		Secrets:   []string{secretBasic(at.Token)},
		Outputs: map[string]string{
			inputs.OutInstallationID: strconv.FormatInt(id, 10),
			inputs.OutAppSlug:        slug,
		},
		State:     map[string]string{"api_url": m.apiURL},
		Revocable: true,
		Summary: [][2]string{
			{"Installation", strconv.FormatInt(id, 10)},
			{"Repositories", repoText},
		},
	}
	return t
}

// verify compares what GitHub granted with what was asked.
func (m *minter) verify(at *accessToken) error {
	broader, narrower := compareGrant(m.perms, at.Permissions)
	if len(m.repos) > 0 {
		if at.RepositorySelection == "all" {
			broader = append(broader, "every repository of the installation (asked "+strings.Join(m.repos, ", ")+")")
		} else {
			asked := map[string]bool{}
			for _, r := range m.repos {
				asked[strings.ToLower(r)] = true
			}
			got := map[string]bool{}
			for _, r := range at.Repositories {
				got[strings.ToLower(r.Name)] = true
				if !asked[strings.ToLower(r.Name)] {
					broader = append(broader, "repository "+r.Name+" (not asked)")
				}
			}
			for _, r := range m.repos {
				if !got[strings.ToLower(r)] {
					narrower = append(narrower, "repository "+r+" (asked, not granted)")
				}
			}
		}
	}
	switch {
	case len(broader) > 0:
		return fmt.Errorf("GitHub granted more than asked: %s. Check the App's permissions and report this", strings.Join(broader, "; "))
	case len(narrower) > 0:
		return fmt.Errorf("GitHub granted less than asked: %s; grant them to the App installation or ask for less", strings.Join(narrower, "; "))
	}
	return nil
}

func (m *minter) lookup(ctx context.Context) (*installation, error) {
	var inst installation
	path := strings.TrimPrefix(m.lookupPath(), "/")
	err := m.appCall(ctx, http.MethodGet, path, nil, &inst)
	if err == nil {
		return &inst, nil
	}
	if e, ok := apierror.As(err); ok && e.Status == http.StatusNotFound && e.Cause == "" {
		where := "account " + m.owner
		if len(m.repos) > 0 {
			where = "repository " + m.owner + "/" + m.repos[0]
		}
		e.Explain(fmt.Sprintf("the GitHub App %s is not installed on %s", m.issuer, where),
			fmt.Sprintf("install it there (App settings → Install App) and give it access to the repository, or set %s", m.req.Name(inputs.InstallationID)))
	}
	return nil, fmt.Errorf("failed to find the installation: %w", err)
}

func (m *minter) explainMintError(ctx context.Context, id int64, err error) error {
	e, ok := apierror.As(err)
	if !ok || e.Cause != "" {
		return fmt.Errorf("failed to mint: %w", err)
	}
	switch e.Status {
	case http.StatusNotFound:
		e.Explain(fmt.Sprintf("installation %d does not exist for App %s", id, m.issuer),
			fmt.Sprintf("check %s (or leave it empty to look it up)", m.req.Name(inputs.InstallationID)))
	case http.StatusUnprocessableEntity:
		inst := m.inst
		if inst == nil {
			// Look the installation up to say precisely what it lacks.
			var got installation
			if m.appCall(ctx, http.MethodGet, fmt.Sprintf("app/installations/%d", id), nil, &got) == nil {
				inst = &got
			}
		}
		m.explainGrant(e, inst)
	}
	return fmt.Errorf("failed to mint: %w", err)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Check implements provider.Checker: authenticate as the App and look the
// installation up, without minting.
func (m *minter) Check(ctx context.Context) ([]string, error) {
	var inst installation
	var err error
	if m.instID != 0 {
		err = m.appCall(ctx, http.MethodGet, fmt.Sprintf("app/installations/%d", m.instID), nil, &inst)
	} else {
		var p *installation
		p, err = m.lookup(ctx)
		if p != nil {
			inst = *p
		}
	}
	if err != nil {
		if e, ok := apierror.As(err); ok && e.Status == http.StatusUnauthorized && e.Cause == "" {
			e.Explain("GitHub did not accept the App's JWT", fmt.Sprintf("check %s/%s and that %s belongs to that App", m.req.Name(inputs.ClientID), m.req.Name(inputs.AppID), m.req.Name(inputs.PrivateKey)))
		}
		return nil, err
	}
	out := []string{fmt.Sprintf("App authenticated; installation %d (%s) on %s, repository access: %s", inst.ID, inst.AppSlug, inst.Account.Login, inst.RepositorySelection)}
	var problems []string
	for _, name := range sortedKeys(m.perms) {
		if levelRank[inst.Permissions[name]] < levelRank[m.perms[name]] {
			problems = append(problems, fmt.Sprintf("%s:%s (installation has %q)", name, m.perms[name], inst.Permissions[name]))
		}
	}
	if len(problems) > 0 {
		return out, fmt.Errorf("the installation lacks %s; add them to the App and accept them on the installation, or ask for less", strings.Join(problems, ", "))
	}
	out = append(out, "installation grants every permission asked")
	return out, nil
}

// Revoke implements provider.Provider: DELETE /installation/token with the
// token itself.
func (*Provider) Revoke(ctx context.Context, req provider.Request, saved provider.Saved) error {
	api := saved.State["api_url"]
	if api == "" {
		api = DefaultAPIURL
	}
	if msg := provider.APIURLProblem(api, DefaultAPIURL); msg != "" {
		return fmt.Errorf("failed to revoke: %s %s", req.Name(inputs.GitHubAPIURL), msg)
	}
	c := newClient(req.HTTP, api, saved.Token)
	resp, err := c.Apps.RevokeInstallationToken(ctx)
	if resp != nil && resp.StatusCode == http.StatusUnauthorized {
		return provider.ErrAlreadyRevoked
	}
	if err != nil {
		return fmt.Errorf("failed to revoke: %w", apiError(err))
	}
	return nil
}

func secretBasic(tok string) string {
	return basic("x-access-token", tok)
}
