package anaconda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// createRequest is POST /authentications as anaconda-client sends it.
type createRequest struct {
	Scopes       []string `json:"scopes"`
	Note         string   `json:"note"`
	MaxAge       int64    `json:"max-age"`
	Strength     string   `json:"strength"`
	FailIfExists bool     `json:"fail-if-exists"`
	User         string   `json:"user,omitempty"`
}

// authInfo is what anaconda.org says of a token, on creation or from GET
// /authentication. Only token is certain; scopes and expires are read when
// present so that the grant can be checked.
type authInfo struct {
	Token   string          `json:"token"`
	Scopes  json.RawMessage `json:"scopes"`
	Expires string          `json:"expires"`
}

// grantedScopes decodes scopes given as a list or a space-separated string;
// ok is false when the answer did not say.
func (a authInfo) grantedScopes() (scopes []string, ok bool) {
	if len(a.Scopes) == 0 || string(a.Scopes) == "null" {
		return nil, false
	}
	var list []string
	if json.Unmarshal(a.Scopes, &list) != nil {
		var s string
		if json.Unmarshal(a.Scopes, &s) != nil {
			return nil, false
		}
		list = inputs.List(s)
	}
	for _, s := range list {
		s = strings.ToLower(strings.TrimSpace(s))
		if s != "" && !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return scopes, true
}

// Mint implements provider.Minter.
func (m *minter) Mint(ctx context.Context) (*provider.Token, error) {
	body := createRequest{Scopes: m.scopes, Note: m.note, MaxAge: m.maxAge, Strength: "strong", FailIfExists: true, User: m.org}
	var created authInfo
	resp, err := m.client().do(ctx, http.MethodPost, "/authentications", m.cred.Header(), body, &created, http.StatusOK, http.StatusCreated)
	if isDuplicate(err) {
		// The note is unique to this step, so the token is ours, minted by
		// an earlier try whose answer was lost (the transport retried). Its
		// value never reached us: revoke it by name, then mint once more.
		if rerr := m.revokeByName(ctx); rerr == nil {
			m.req.Log.Infof("revoked token %s, minted by a request whose answer was lost; minting it again", m.note)
			created = authInfo{}
			resp, err = m.client().do(ctx, http.MethodPost, "/authentications", m.cred.Header(), body, &created, http.StatusOK, http.StatusCreated)
		}
	}
	if err == nil && created.Token == "" {
		err = errors.New("anaconda.org answered without a token")
	}
	if err != nil {
		if mayHaveMinted(err) {
			// The answer was lost or unreadable (or the step was cancelled
			// while waiting for it), not a refusal: a token nobody holds
			// may exist under this step's note. Look whether or not the
			// step is being cancelled.
			cctx, cancel := provider.CleanupContext(ctx)
			defer cancel()
			if !m.dropLost(cctx) {
				return nil, fmt.Errorf("%w (%w)", m.explainMintError(ctx, err), provider.ErrMaybeLost)
			}
		}
		return nil, m.explainMintError(ctx, err)
	}
	info, infoResp, confirmed := created, resp, true
	if _, ok := created.grantedScopes(); !ok {
		// The creation answer did not list the grant: ask the token itself.
		var got authInfo
		r, err := m.client().do(ctx, http.MethodGet, "/authentication", "token "+created.Token, nil, &got, http.StatusOK)
		if _, ok := got.grantedScopes(); err == nil && ok {
			info, infoResp = got, r
		} else {
			confirmed = false
			why := "it did not list them"
			if err != nil {
				why = err.Error()
			}
			m.req.Log.Warningf("anaconda.org did not confirm the scopes of token %s (%s); they are taken as asked", m.note, why)
		}
	}
	granted := m.scopes
	if g, ok := info.grantedScopes(); ok {
		granted = g
	}
	tok := m.token(created.Token, granted, confirmed, m.expiry(info))
	return tok, m.verify(granted, info, infoResp)
}

// serverNow is the server's clock from the Date header, or ours.
func (m *minter) serverNow(resp *http.Response) time.Time {
	if resp != nil {
		if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			return d
		}
	}
	return m.req.Now()
}

// expiry is the token's end as anaconda.org said it, or now + max-age.
func (m *minter) expiry(info authInfo) time.Time {
	if t, ok := parseTime(info.Expires); ok {
		return t.UTC()
	}
	return m.req.Now().Add(time.Duration(m.maxAge) * time.Second).UTC().Truncate(time.Second)
}

// parseTime reads the ISO 8601 forms anaconda.org's Python API writes.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02 15:04:05.999999Z07:00", "2006-01-02 15:04:05.999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// verify compares the grant with the request: scopes, and the life measured
// on the server's clock so that skew between the machines does not count.
func (m *minter) verify(granted []string, info authInfo, resp *http.Response) error {
	broader, narrower := compareScopes(m.scopes, granted)
	if exp, ok := parseTime(info.Expires); ok {
		life := exp.Sub(m.serverNow(resp))
		asked := time.Duration(m.maxAge) * time.Second
		switch {
		case life > asked+slack:
			broader = append(broader, fmt.Sprintf("a life of %s (asked max-age %s)", life.Round(time.Minute), asked))
		case life < asked-slack:
			narrower = append(narrower, fmt.Sprintf("a life of %s (asked max-age %s)", life.Round(time.Minute), asked))
		}
	}
	switch {
	case len(broader) > 0:
		return fmt.Errorf("anaconda.org granted more than asked: %s. Ask for the scopes the job needs and report this to Anaconda if it persists", strings.Join(broader, "; "))
	case len(narrower) > 0:
		return fmt.Errorf("anaconda.org granted less than asked: %s. A token cannot outrank or outlive its parent: check the scopes and expiry of %s, or ask for less", strings.Join(narrower, "; "), m.name(Credential))
	}
	return nil
}

func (m *minter) token(value string, granted []string, confirmed bool, exp time.Time) *provider.Token {
	org := m.org
	if org == "" {
		org = "— (the credential's own account)"
	}
	scopes := strings.Join(granted, " ")
	if !confirmed {
		scopes += " (as asked; anaconda.org did not confirm)"
	}
	return &provider.Token{
		Value:       value,
		ID:          m.note,
		ExpiresAt:   exp,
		Granted:     strings.Join(granted, " "),
		Secrets:     ChannelForms(m.api, value),
		ExportNames: ExportNames,
		State:       state{Note: m.note}.raw(),
		Summary: [][2]string{
			{"Scopes", scopes},
			{"Organization", org},
			{"Note", m.note},
			{"Parent credential", fmt.Sprintf("%s (Authorization: %s)", m.cred.Type, m.cred.Type.Scheme())},
		},
		Revocable: true,
	}
}

// ExportNames is the list of variables export-env sets: the one named, and
// BINSTAR_API_TOKEN, which anaconda-client reads first.
func ExportNames(name string) []string {
	if name == BinstarEnv {
		return []string{name}
	}
	return []string{name, BinstarEnv}
}

var apiLabelRE = regexp.MustCompile(`([./])api([./]|$)`)

// ChannelForms are the ways a job writes the token into channel URLs, masked
// with it: /t/<token>/ and the conda host's https://conda…/t/<token>, derived
// from the API URL the way conda derives it (first "api" label → "conda").
func ChannelForms(api, tok string) []string {
	forms := []string{"/t/" + tok + "/", CondaURL + "/t/" + tok}
	if c := apiLabelRE.ReplaceAllString(api, "${1}conda${2}"); c != api && c+"/t/"+tok != forms[1] {
		forms = append(forms, c+"/t/"+tok)
	}
	return forms
}

func (m *minter) explainMintError(ctx context.Context, err error) error {
	ae, ok := apierror.As(err)
	if !ok {
		return fmt.Errorf("failed to mint: %w", err)
	}
	cred := m.name(Credential)
	orgIn := m.name(Organization)
	switch {
	case ae.Status == http.StatusUnauthorized:
		m.explainRejected(ae)
	case isDuplicate(err):
		return m.duplicateNote(ctx, ae)
	case ae.Status == http.StatusBadRequest:
		ae.Explain("anaconda.org refused the scopes or the max-age",
			fmt.Sprintf("check the scopes in %s (valid: %s) and %s", m.name(inputs.Permissions), strings.Join(ScopeNames(), ", "), m.name(inputs.Lifetime)))
	case (ae.Status == http.StatusForbidden || ae.Status == http.StatusNotFound) && m.org != "":
		ae.Explain(fmt.Sprintf("the account of %s may not create tokens owned by organization %s: it is not among the organization's owners, or the organization does not exist", cred, m.org),
			fmt.Sprintf("ask an owner to add the account to the organization's Owners, fix %s, or leave it empty", orgIn))
	case ae.Status == http.StatusForbidden:
		ae.Explain(fmt.Sprintf("the account of %s may not create tokens with these scopes", cred),
			"use a parent token with scope all, or an API key of an account that may")
	}
	return fmt.Errorf("failed to mint: %w", err)
}

// explainRejected explains a 401 to the parent credential: which kind it was
// taken for, how it was sent, and how to send it as the other kind.
func (m *minter) explainRejected(ae *apierror.Error) {
	how := fmt.Sprintf("anaconda.org rejected %s as an %s (sent as Authorization: %s)", m.name(Credential), m.cred.Type, m.cred.Type.Scheme())
	fix := fmt.Sprintf("check that the token exists, has not expired and carries a scope that may create tokens (such as all); if it is an anaconda.com API key, prefix it with %q", "Bearer ")
	if m.cred.Type == APIKey {
		fix = fmt.Sprintf("check that the API key is current and its account can reach anaconda.org; if it is an anaconda.org token, prefix it with %q", "token ")
	}
	if strings.Contains(strings.ToLower(ae.Message), "expired") {
		how += ": it has expired"
		fix = "create a new token (anaconda.org settings → Access) or API key, and update the secret"
	}
	ae.Explain(how, fix)
}

// isDuplicate recognises anaconda.org's "a token with this note exists".
func isDuplicate(err error) bool {
	ae, ok := apierror.As(err)
	return ok && ae.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(ae.Message), "exist")
}

// mayHaveMinted reports whether a failed creation may still have minted a
// token: anything but a refusal (a 4xx answer).
func mayHaveMinted(err error) bool {
	s := apierror.StatusOf(err)
	return s == 0 || s >= 500
}

// revokeByName revokes this step's token by its note, with the parent.
func (m *minter) revokeByName(ctx context.Context) error {
	_, err := m.client().do(ctx, http.MethodDelete, namePath(m.org, m.note), m.cred.Header(), nil, nil, http.StatusCreated, http.StatusOK, http.StatusNoContent)
	return err
}

// dropLost revokes, by name, a token that a creation whose answer was lost
// may have minted. Best effort: 404 means there is none. It reports whether
// such a token is known to be gone.
func (m *minter) dropLost(ctx context.Context) bool {
	err := m.revokeByName(ctx)
	switch {
	case err == nil:
		m.req.Log.Infof("revoked token %s, minted by a request whose answer was lost", m.note)
	case apierror.StatusOf(err) == http.StatusNotFound:
	default:
		m.req.Log.Warningf("could not make sure no token named %s was minted by a request whose answer was lost (%s); the post step looks again. Else run jobtoken sweep --provider anaconda, or check anaconda.org's settings → access", m.note, err)
		return false
	}
	return true
}

// duplicateNote handles "a token with this note exists". The note is unique
// to this step, so the token is ours: an earlier try whose answer was lost
// (the transport retried) had minted it. Its value never reached us, so it
// is revoked by name at once.
func (m *minter) duplicateNote(ctx context.Context, ae *apierror.Error) error {
	cctx, cancel := provider.CleanupContext(ctx)
	defer cancel()
	if err := m.revokeByName(cctx); err != nil {
		return fmt.Errorf("failed to mint: anaconda.org says a token named %q already exists (%s), most likely minted by a retried request whose answer was lost, and revoking it by name failed (%s); remove it in anaconda.org's settings → access, then rerun (%w)", m.note, ae, err, provider.ErrMaybeLost)
	}
	return fmt.Errorf("failed to mint: anaconda.org says a token named %q already exists (%s), most likely minted by a retried request whose answer was lost; it was revoked by name. Rerun the step", m.note, ae)
}

// namePath is the revoke-by-name path, for the credential's own account or an
// organization.
func namePath(org, note string) string {
	if org != "" {
		return "/authentications/org/" + url.PathEscape(org) + "/name/" + url.PathEscape(note)
	}
	return "/authentications/name/" + url.PathEscape(note)
}
