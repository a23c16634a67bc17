package azdo

import (
	"context"
	"fmt"
	"net/http"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// Sweep implements provider.Sweeper.
func (*Provider) Sweep() provider.SweepHelp {
	return provider.SweepHelp{
		Named:  "display name",
		Lists:  fmt.Sprintf("azure-devops lists the PATs of the user behind %s (else az login's) in %s", inputs.FlagNames.Name(AccessToken), inputs.FlagNames.Name(Organization)),
		Inputs: []inputs.Input{Organization, APIURL, AccessToken},
	}
}

// sweepClient builds the PAT lifecycle client for jobtoken sweep: the
// organization, API URL and parent user token of azure-credential: pat.
func sweepClient(ctx context.Context, req provider.Request) (*tokensClient, error) {
	var ps inputs.Problems
	org := organization(req, true, &ps)
	api := apiURL(req, &ps)
	if k := req.Inputs.Get(Credential); k != "" && k != CredentialPAT {
		ps.Add(Credential, "sweep lists PATs (%s); Entra tokens cannot be listed or revoked", req.Setting(Credential, CredentialPAT))
	}
	parent := req.Inputs.Get(AccessToken)
	if parent == "" && !req.Terminal {
		ps.Add(AccessToken, "is required to list PATs; pass the signed-in user's Microsoft Entra token the PATs were minted with")
	}
	if len(ps) > 0 {
		return nil, ps
	}
	if parent == "" {
		tok, err := azureCLIToken(ctx)
		if err != nil {
			return nil, err
		}
		req.Redact(tok)
		parent = tok
	}
	if _, err := checkParent(parent, req.Now(), req.Naming); err != nil {
		ps.Add(AccessToken, "%s", err)
		return nil, ps
	}
	return newTokensClient(req.HTTP, api, org, parent, req.Naming), nil
}

// Minted implements provider.Sweeper: the parent user's active PATs in the
// organization whose display name jobtoken made. Only the user's own PATs
// can be listed, so give the parent token of the user the steps used.
func (*Provider) Minted(ctx context.Context, req provider.Request) (provider.Listing, error) {
	c, err := sweepClient(ctx, req)
	if err != nil {
		return provider.Listing{}, err
	}
	pats, err := c.listAll(ctx)
	if err != nil {
		return provider.Listing{}, fmt.Errorf("failed to list PATs: %w", explainAuth(err, req.Naming))
	}
	var out provider.Listing
	for _, p := range pats {
		if _, ok := host.ParseLabel(p.DisplayName); !ok {
			continue
		}
		out.Tokens = append(out.Tokens, provider.Listed{ID: p.AuthorizationID, Name: p.DisplayName, Created: p.ValidFrom.Time, Expires: p.ValidTo.Time, Scopes: p.Scope})
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
	case apierror.StatusOf(err) == http.StatusNotFound, isPATError(err, "tokenNotFound", "authorizationNotFound"):
		return provider.ErrAlreadyRevoked
	}
	return fmt.Errorf("failed to revoke: %w", err)
}
