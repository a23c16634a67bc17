package anaconda

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// Sweep implements provider.Sweeper.
func (*Provider) Sweep() provider.SweepHelp {
	return provider.SweepHelp{
		Named:   "note",
		Undated: "anaconda.org does not say when a token was created: for anaconda, name the runs with --run, or pass --older-than 0 when no job that uses jobtoken is running.",
		Lists:   fmt.Sprintf("anaconda lists the tokens of %s's own account (organization-owned tokens are not listed by anaconda.org)", inputs.FlagNames.Name(Credential)),
		Inputs:  []inputs.Input{APIURL, Credential, Organization},
	}
}

// listedToken is one entry of GET /authentications, as anaconda-client's
// `anaconda auth --list` reads it. It carries no creation time.
type listedToken struct {
	ID          string `json:"id"`
	Application string `json:"application"`
	Expires     string `json:"expires"`
	Scopes      any    `json:"scopes"`
}

func sweepSetup(req provider.Request) (client, Parent, error) {
	var ps inputs.Problems
	cred, err := ParseParent(req.Inputs.Get(Credential), req.Now())
	if err != nil {
		ps.Add(Credential, "%s", err)
	}
	api, _, dp := destinations(req)
	ps = append(ps, dp...)
	if len(ps) > 0 {
		return client{}, Parent{}, ps
	}
	return newClient(req.HTTP, api), cred, nil
}

// Minted implements provider.Sweeper: GET /authentications with the parent
// credential lists its account's tokens; those named by jobtoken and not
// expired are returned. anaconda.org does not say when a token was created,
// so Created stays zero.
func (*Provider) Minted(ctx context.Context, req provider.Request) (provider.Listing, error) {
	var out provider.Listing
	c, cred, err := sweepSetup(req)
	if err != nil {
		return out, err
	}
	var list []listedToken
	if _, err := c.do(ctx, http.MethodGet, "/authentications", cred.Header(), nil, &list, http.StatusOK); err != nil {
		return out, fmt.Errorf("failed to list tokens: %w", err)
	}
	for _, t := range list {
		if _, ok := host.ParseLabel(t.Application); !ok {
			continue
		}
		exp, ok := parseTime(t.Expires)
		if ok && !req.Now().Before(exp) {
			continue
		}
		out.Tokens = append(out.Tokens, provider.Listed{ID: t.Application, Name: t.Application, Expires: exp.UTC(), Scopes: scopesText(t.Scopes)})
	}
	if org := req.Inputs.Get(Organization); org != "" {
		out.Notes = append(out.Notes, "anaconda.org lists only the credential's own tokens; tokens owned by organization "+org+" are not swept (see its settings → access)")
	}
	return out, nil
}

func scopesText(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case []any:
		var parts []string
		for _, p := range s {
			parts = append(parts, fmt.Sprint(p))
		}
		return strings.Join(parts, " ")
	}
	return ""
}

// RevokeListed implements provider.Sweeper: DELETE by name with the parent.
func (*Provider) RevokeListed(ctx context.Context, req provider.Request, t provider.Listed) error {
	c, cred, err := sweepSetup(req)
	if err != nil {
		return err
	}
	if strings.ContainsAny(t.ID, "/\\") {
		// Notes made before jobtoken wrote the repository as owner:name:
		// anaconda.org decodes %2F before routing, so DELETE by this name
		// would never reach the token (and a 404 would read as "gone").
		exp := "its expiry"
		if !t.Expires.IsZero() {
			exp = t.Expires.UTC().Format(time.RFC3339)
		}
		return fmt.Errorf("its note holds a \"/\", which anaconda.org's router splits, so it cannot be revoked by name; remove it in anaconda.org's settings → access, or let it expire at %s", exp)
	}
	_, err = c.do(ctx, http.MethodDelete, namePath("", t.ID), cred.Header(), nil, nil, http.StatusCreated, http.StatusOK, http.StatusNoContent)
	switch {
	case err == nil:
		return nil
	case apierror.StatusOf(err) == http.StatusNotFound:
		return provider.ErrAlreadyRevoked
	}
	return fmt.Errorf("failed to revoke: %w", err)
}
