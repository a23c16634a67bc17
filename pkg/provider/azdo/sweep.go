package azdo

import (
	"context"
	"fmt"
	"net/http"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

var _ provider.Sweeper = (*Provider)(nil)

// sweepClient builds the PAT lifecycle client for jobtoken sweep: the
// organization, API URL and parent user token of azure-credential: pat.
func sweepClient(ctx context.Context, req provider.Request) (*tokensClient, error) {
	var ps inputs.Problems
	org := organization(req, true, &ps)
	api := apiURL(req, &ps)
	if k := req.Inputs.Get(inputs.AzureCredential); k != "" && k != KindPAT {
		ps.Add(inputs.AzureCredential, "sweep lists PATs (azure-credential: pat); Entra tokens cannot be listed or revoked")
	}
	parent := req.Inputs.Get(inputs.AzureAccessToken)
	if parent == "" && req.Host != "local" {
		ps.Add(inputs.AzureAccessToken, "is required to list PATs; pass the signed-in user's Microsoft Entra token the PATs were minted with")
	}
	if len(ps) > 0 {
		return nil, ps
	}
	if parent == "" {
		tok, err := azureCLIToken(ctx)
		if err != nil {
			return nil, err
		}
		if req.Redact != nil {
			req.Redact(tok)
		}
		parent = tok
	}
	if _, err := checkParent(parent, now(req)); err != nil {
		return nil, inputs.Problems{{Key: inputs.AzureAccessToken, Msg: err.Error()}}
	}
	return newTokensClient(req.HTTP, api, org, parent), nil
}

// Minted implements provider.Sweeper: the parent user's active PATs in the
// organization whose display name jobtoken made. Only the user's own PATs
// can be listed, so give the parent token of the user the steps used.
func (*Provider) Minted(ctx context.Context, req provider.Request) ([]provider.Listed, error) {
	c, err := sweepClient(ctx, req)
	if err != nil {
		return nil, err
	}
	pats, err := c.listAll(ctx)
	if err != nil {
		return nil, localize(req.Host, fmt.Errorf("failed to list PATs: %w", explainAuth(err)))
	}
	var out []provider.Listed
	for _, p := range pats {
		if _, ok := host.ParseLabel(p.DisplayName); !ok {
			continue
		}
		out = append(out, provider.Listed{ID: p.AuthorizationID, Name: p.DisplayName, Created: p.ValidFrom.Time, Expires: p.ValidTo.Time, Scopes: p.Scope})
	}
	return out, nil
}

// RevokeListed implements provider.Sweeper.
func (*Provider) RevokeListed(ctx context.Context, req provider.Request, t provider.Listed) error {
	c, err := sweepClient(ctx, req)
	if err != nil {
		return err
	}
	err = c.revoke(ctx, t.ID)
	switch {
	case err == nil:
		return nil
	case statusOf(err) == http.StatusNotFound, isPATError(err, "tokenNotFound", "authorizationNotFound"):
		return provider.ErrAlreadyRevoked
	}
	return localize(req.Host, fmt.Errorf("failed to revoke: %w", err))
}
