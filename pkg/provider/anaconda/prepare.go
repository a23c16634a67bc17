package anaconda

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

// slack absorbs the seconds between the server computing an expiry and our
// reading its Date header.
const slack = time.Minute

var orgRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// minter is one step's request: what to mint, from the inputs.
type minter struct {
	req    provider.Request
	cred   Parent
	scopes []string
	org    string
	api    string
	note   string
	maxAge int64
	plan   provider.Plan
}

var (
	_ provider.Minter     = (*minter)(nil)
	_ provider.LostFinder = (*minter)(nil)
)

// Prepare implements provider.Provider.
func (p *Provider) Prepare(req provider.Request) (provider.Minter, inputs.Problems) {
	var ps inputs.Problems
	in := req.Inputs
	m := &minter{req: req}

	if in.Known(Credential) {
		c, err := ParseParent(in.Get(Credential), req.Now())
		if err != nil {
			ps.Add(Credential, "%s", err)
		}
		m.cred = c
	}

	if in.Known(inputs.Permissions) {
		scopes, sp := ParseScopes(req.Permissions, req.AllowBroad, req.Naming)
		ps = append(ps, sp...)
		m.scopes = scopes
	}

	maxAge, lp := CheckLifetime(req.Lifetime, req.AllowBroad, req.Naming)
	ps.AddP(lp)
	m.maxAge = maxAge

	var dp inputs.Problems
	m.api, m.org, dp = destinations(req)
	ps = append(ps, dp...)

	suffix := p.suffix
	if suffix == nil {
		suffix = host.NewSuffix
	}
	// Traceable (repository and run) and unique per step: reruns and matrix
	// jobs share the label, and anaconda.org refuses a second token with the
	// same note.
	m.note = Note(req.Run, suffix())
	m.plan = m.makePlan()
	return m, ps
}

// destinations reads the API URL (with the one URL check) and the
// organization, which together say where the parent credential is sent and
// which account's token a by-name revocation deletes.
func destinations(req provider.Request) (api, org string, ps inputs.Problems) {
	org = req.Inputs.Get(Organization)
	if org != "" && req.Inputs.Known(Organization) && !orgRE.MatchString(org) {
		ps.Add(Organization, "%q is not an anaconda.org organization name; use the name as in https://anaconda.org/<name>", org)
	}
	api = strings.TrimRight(req.Inputs.Get(APIURL), "/")
	if api == "" {
		api = DefaultAPIURL
	}
	if !req.Inputs.Known(APIURL) {
		return api, org, ps
	}
	if msg := provider.APIURLProblem(api, DefaultAPIURL); msg != "" {
		ps.Add(APIURL, "%s", msg)
	}
	return api, org, ps
}

// Destinations implements provider.Provider.
func (*Provider) Destinations(req provider.Request) ([]provider.Destination, inputs.Problems) {
	api, org, ps := destinations(req)
	return []provider.Destination{
		{Input: APIURL, Value: api, URL: true},
		{Input: Organization, Value: org},
	}, ps
}

// noteRepo keeps a note one path segment for servers that decode %2F (and
// %5C) before routing, as common Python web frameworks do: the by-name
// revocation puts the note in the path, so a "/" in it would split it and
// never match. host.ParseLabel reads ":" back as "/".
var noteRepo = strings.NewReplacer("/", ":", "\\", ":")

// Note is the token's note (its name, the token-id output): the run's label
// with its repository written without path separators, and a suffix that
// makes it unique per step.
func Note(run host.Run, suffix string) string {
	return noteRepo.Replace(run.Label()) + " " + suffix
}

// LostState implements provider.LostFinder: what the post step needs to
// revoke, by name with the parent, a token whose create's answer was lost.
func (m *minter) LostState() json.RawMessage { return state{Note: m.note}.raw() }

// CheckLifetime turns the lifetime into anaconda.org's max-age in seconds.
// Accepted: 1m to 24h; up to 168h only with allowBroad.
func CheckLifetime(d time.Duration, allowBroad bool, n inputs.Naming) (int64, *inputs.Problem) {
	bad := func(format string, args ...any) (int64, *inputs.Problem) {
		return 0, &inputs.Problem{Key: inputs.Lifetime.Key, Azure: inputs.Lifetime.Azure, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case d < MinLifetime:
		return bad("%s is shorter than a minute, too short for a job to use the token; use 1m to 24h (e.g. 30m)", inputs.FormatDuration(d))
	case d%time.Second != 0:
		return bad("%s is not a whole number of seconds, which anaconda.org's max-age counts; use e.g. 30m", d)
	case d > MaxLifetime:
		return bad("%s is longer than 168h, jobtoken's ceiling for anaconda tokens; use 24h or less (the post step revokes the token when the job ends)", inputs.FormatDuration(d))
	case d > MaxNormalLifetime && !allowBroad:
		return bad("%s is longer than a day; use 1m to 24h, or set %s to true to permit up to 168h", inputs.FormatDuration(d), n.Name(inputs.AllowBroadScopes))
	}
	return int64(d / time.Second), nil
}

func (m *minter) name(in inputs.Input) string { return m.req.Name(in) }

func (m *minter) client() client { return newClient(m.req.HTTP, m.api) }

func (m *minter) owner() string {
	if m.org != "" {
		return "organization " + m.org
	}
	return "the credential's own account"
}

func (m *minter) makePlan() provider.Plan {
	parent := fmt.Sprintf("%s from %s (sent as Authorization: %s)", m.cred.Type, m.name(Credential), m.cred.Type.Scheme())
	if !m.cred.Expires.IsZero() {
		parent += ", valid until " + m.cred.Expires.Format(time.RFC3339)
	}
	notes := []string{
		"token note (its name, the token-id output): " + m.note,
		"the token is masked with its channel-URL forms (/t/<token>/)",
	}
	if e := m.req.Inputs.Get(inputs.ExportEnv); e != "" && e != BinstarEnv {
		notes = append(notes, "export-env also exports "+BinstarEnv+", which anaconda-client reads first")
	}
	var secrets []string
	if m.req.Inputs.Known(Credential) {
		secrets = []string{m.cred.Value}
	}
	return provider.Plan{
		Provider:   Name,
		Parent:     parent,
		Scopes:     m.scopes,
		Resources:  []string{m.owner()},
		Lifetime:   m.req.Lifetime,
		Revocation: "DELETE /authentications with the token itself, in the post step (if that fails, DELETE by name with the parent credential)",
		Revocable:  true,
		Notes:      notes,
		Details:    map[string]string{"api": m.api, "max-age": strconv.FormatInt(m.maxAge, 10)},
		Secrets:    secrets,
	}
}

// Plan implements provider.Minter.
func (m *minter) Plan() provider.Plan { return m.plan }
