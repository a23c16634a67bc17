package ghapp

import (
	"crypto"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

var (
	ownerRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	repoRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)
)

// minter is one step's request: what to mint, from the inputs, through an
// App.
type minter struct {
	req    provider.Request
	app    *App
	issuer string
	key    crypto.Signer // nil while only known at run time, or in a KMS
	kl     *keyless      // signing-key: the App's key in a KMS
	owner  string
	repos  []string // names within owner; empty means every repository (`*`)
	perms  map[string]string
	instID int64
	apiURL string
	// fromRun marks repositories and owner taken from the run; runKnown
	// says whether the run's repository is known (a plan may not know it).
	ownerFromRun, reposFromRun, runKnown bool
	inst                                 *Installation // from the lookup, when one was made
	// others are the accounts beyond the first (owner, repos), each minted
	// a token of its own: one token covers one installation.
	others []target
	plan   provider.Plan
}

// Prepare implements provider.Provider.
func (*Provider) Prepare(req provider.Request) (provider.Minter, inputs.Problems) {
	var ps inputs.Problems
	in := req.Inputs
	m := &minter{req: req}
	if in.Get(FederationURL) != "" {
		return prepareFederation(req, m)
	}
	if in.Get(Policy) != "" {
		ps.Add(Policy, "is used only with %s; set it, or remove %s", req.Name(FederationURL), req.Name(Policy))
	}

	m.issuer = in.Get(ClientID)
	known := in.Known(ClientID)
	if m.issuer == "" {
		m.issuer, known = in.Get(AppID), in.Known(AppID)
		if m.issuer != "" && known {
			if _, err := strconv.ParseUint(m.issuer, 10, 64); err != nil {
				ps.Add(AppID, "%q is not a numeric App ID; use the App ID from the App's settings, or set %s instead", m.issuer, req.Name(ClientID))
			}
		}
	}
	switch {
	case m.issuer == "":
		ps.Add(ClientID, "is required for github; set %s (or %s) to the GitHub App's client ID", req.Name(ClientID), req.Name(AppID))
	case known && strings.ContainsAny(m.issuer, " \t\r\n"):
		ps.Add(ClientID, "contains whitespace; copy the client ID from the App's settings")
	}

	switch {
	case in.Get(SigningKey) != "":
		m.kl = prepareKeyless(req, &ps)
	case in.Known(PrivateKey) && in.Get(PrivateKey) == "":
		ps.Add(PrivateKey, "is required for github; set it to the App's private key (the .pem file from the App's settings), e.g. from a secret, or keep the key in a KMS and name it with %s", req.Name(SigningKey))
	case in.Known(PrivateKey):
		if k, err := ParsePrivateKey(in.Get(PrivateKey)); err != nil {
			ps.Add(PrivateKey, "%s", err.Error())
		} else {
			m.key = k
		}
	}

	if in.Known(inputs.Permissions) {
		perms, pp := ParsePermissions(req.Permissions)
		ps = append(ps, pp...)
		m.perms = perms
	}

	m.parseRepositories(&ps)
	if req.Terminal && len(m.others) > 0 {
		// By hand only the token reaches stdout: the other accounts'
		// would be live and out of reach (GitHub revokes with the token).
		ps.Add(Repositories, "span %d accounts (%s), but by hand jobtoken prints one token; mint each account's in its own command (--owner %s and its repositories)",
			len(m.others)+1, strings.Join(m.owners(), ", "), m.owner)
	}

	if in.Known(InstallationID) {
		id, p := in.Int64(InstallationID)
		ps.AddP(p)
		m.instID = id
		if id != 0 && len(m.others) > 0 {
			ps.Add(InstallationID, "names one installation, but the repositories span %d accounts (%s); leave it empty to look each one up", len(m.others)+1, strings.Join(m.owners(), ", "))
		}
	}

	var up inputs.Problems
	m.apiURL, up = apiURL(req)
	ps = append(ps, up...)

	if req.Lifetime > TokenLife {
		ps.Add(inputs.Lifetime, "%s is longer than GitHub's fixed 1h for installation tokens; use 1h or less", inputs.FormatDuration(req.Lifetime))
	}

	m.app = &App{APIURL: m.apiURL, HTTP: req.HTTP, Issuer: m.issuer, Signer: m.key, Now: req.Now, Log: req.Log, Redact: req.Redact}
	m.plan = m.makePlan()
	return m, ps
}

// apiURL resolves the API URL: the input, else the runner's GITHUB_API_URL,
// else github.com's, with the one URL check.
func apiURL(req provider.Request) (string, inputs.Problems) {
	var ps inputs.Problems
	u := req.Inputs.Get(APIURL)
	if u == "" {
		u = req.Run.APIURL
	}
	if u == "" {
		u = DefaultAPIURL
	}
	if !req.Inputs.Known(APIURL) {
		return u, nil
	}
	if msg := provider.APIURLProblem(u, "https://ghes.example.com/api/v3"); msg != "" {
		ps.Add(APIURL, "%s", msg)
	}
	return strings.TrimRight(u, "/"), ps
}

// Destinations implements provider.Provider: the API URL.
func (*Provider) Destinations(req provider.Request) ([]provider.Destination, inputs.Problems) {
	u, ps := apiURL(req)
	dests := []provider.Destination{{Input: APIURL, Value: u, URL: true}}
	if d, fp, ok := federationDestination(req); ok {
		dests, ps = append(dests, d), append(ps, fp...)
	}
	return dests, ps
}

var _ provider.OwnSignIn = (*Provider)(nil)

// OwnSignIn implements provider.OwnSignIn: by hand, signing-key is signed
// with the person's own cloud sign-in.
func (*Provider) OwnSignIn(req provider.Request) []provider.Destination {
	if v := req.Inputs.Get(SigningKey); v != "" {
		return []provider.Destination{{Input: SigningKey, Value: v}}
	}
	return nil
}

func (m *minter) makePlan() provider.Plan {
	res := []string{}
	var perToken []string
	for i, t := range m.targets() {
		var tres []string
		if len(t.repos) == 0 {
			tres = append(tres, t.owner+"/* (every repository of the installation)")
		}
		for _, r := range t.repos {
			if i == 0 && m.reposFromRun && !m.runKnown {
				tres = append(tres, "the current repository (at run time)")
				continue
			}
			tres = append(tres, t.owner+"/"+r)
		}
		res = append(res, tres...)
		perToken = append(perToken, t.owner+": "+strings.Join(tres, ", "))
	}
	if len(perToken) < 2 {
		perToken = nil
	}
	var scopes []string
	if len(m.perms) > 0 {
		scopes = strings.Split(FormatPermissions(m.perms), ", ")
	}
	inst := "looked up from /" + m.lookupPath()
	if len(m.others) > 0 {
		inst = "looked up for each account"
	}
	if m.instID != 0 {
		inst = strconv.FormatInt(m.instID, 10)
	}
	var secrets []string
	if m.req.Inputs.Known(PrivateKey) && m.req.Inputs.Get(PrivateKey) != "" {
		secrets = append(secrets, m.req.Inputs.Get(PrivateKey))
	}
	parent := fmt.Sprintf("GitHub App %s (RS256 JWT signed with %s)", m.issuer, m.req.Name(PrivateKey))
	details := map[string]string{"api": m.apiURL, "installation": inst}
	notes := []string{"GitHub adds metadata:read to every token that carries a repository permission", "GitHub fixes installation tokens at 1h"}
	if m.kl != nil {
		parent = fmt.Sprintf("GitHub App %s (RS256 JWT signed in %s with %s %s, as %s)", m.issuer, m.kl.cloud(), m.req.Name(SigningKey), m.kl.uri, m.kl.identity)
		details["signing_key"], details["kms_identity"] = m.kl.uri, m.kl.identity
		notes = append(notes, "known at run time: the key's public key and whether the identity may sign with it (plan --check signs one JWT and calls GET /app)")
		secrets = append(secrets, m.kl.secrets()...)
	}
	return provider.Plan{
		Provider:          Name,
		Parent:            parent,
		Scopes:            scopes,
		Resources:         res,
		Tokens:            perToken,
		Lifetime:          TokenLife,
		Revocation:        "DELETE /installation/token with the token itself, in the post step",
		Revocable:         true,
		Notes:             notes,
		Details:           details,
		Secrets:           secrets,
		UsesRunRepository: (m.ownerFromRun || m.reposFromRun) && !m.runKnown,
	}
}

// lookupPath is where the installation is looked up: the first repository,
// or the account.
func (m *minter) lookupPath() string {
	if len(m.repos) > 0 {
		return lookupPath(m.owner, m.repos[0])
	}
	return lookupPath(m.owner, "")
}

// Plan implements provider.Minter.
func (m *minter) Plan() provider.Plan { return m.plan }
