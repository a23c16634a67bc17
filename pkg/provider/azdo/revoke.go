package azdo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// Revoke implements provider.Provider.
func (*Provider) Revoke(ctx context.Context, req provider.Request, saved provider.Saved) error {
	st, err := stateOf(saved)
	if err != nil {
		return errors.New("the saved state is not this provider's; revoke the PAT by hand (User settings → Personal access tokens)")
	}
	if st.Credential == CredentialEntra || !saved.Revocable {
		// Entra tokens cannot be revoked; job.Post says so before calling.
		return errors.New("entra tokens cannot be revoked; they expire on their own")
	}
	return revokePAT(ctx, req, saved, st)
}

// revokePAT revokes a PAT with the parent token read again from the inputs.
// It acts only on authenticated state: the parent may revoke any PAT of its
// user, so an authorizationId a later step chose must never reach it.
func revokePAT(ctx context.Context, req provider.Request, saved provider.Saved, st state) error {
	if !saved.Authenticated {
		return provider.ErrNotAuthenticated
	}
	org, api := saved.Destination(Organization), saved.Destination(APIURL)
	if api == "" {
		api = DefaultAPIURL
	}
	if org == "" {
		return errors.New("the saved state names no organization; revoke the PAT by hand (User settings → Personal access tokens)")
	}
	if msg := provider.APIURLProblem(api, DefaultAPIURL); msg != "" {
		return fmt.Errorf("%s %s", req.Name(APIURL), msg)
	}
	parent := req.Inputs.Get(AccessToken)
	if parent == "" && req.Terminal {
		tok, err := azureCLIToken(ctx)
		if err != nil {
			return err
		}
		req.Redact(tok)
		parent = tok
	}
	if parent == "" {
		return fmt.Errorf("%s is empty in the post step, and the PAT lifecycle API needs it to revoke the PAT", req.Name(AccessToken))
	}
	if c, err := decodeClaims(parent); err == nil {
		if exp := c.expiry(); !exp.IsZero() && !req.Now().Before(exp) {
			return fmt.Errorf("the parent %s expired at %s, so Azure DevOps would refuse the revocation; keep %s short, or revoke the PAT by hand (User settings → Personal access tokens)", req.Name(AccessToken), exp.Format(time.RFC3339), req.Name(inputs.Lifetime))
		}
	}
	c := newTokensClient(req.HTTP, api, org, parent, req.Naming)
	if saved.Pending {
		// The main step saved this before its create and never learnt
		// the PAT: find it by the display name it chose.
		name := st.DisplayName
		if name == "" {
			return errors.New("the saved state names no display name to look for")
		}
		n, ok := dropNamed(ctx, c, name, "", req.Log, func(err error) string {
			return fmt.Sprintf("could not list PATs to find the one the main step's lost answer may have left (%s); run jobtoken sweep --provider azure-devops, or revoke PATs named %q by hand", err, name)
		})
		switch {
		case !ok:
			return fmt.Errorf("failed to make sure no PAT named %q is left", name)
		case n == 0:
			return provider.ErrAlreadyRevoked
		}
		return nil
	}
	err := c.revoke(ctx, saved.ID)
	switch {
	case err == nil:
		return nil
	case apierror.StatusOf(err) == http.StatusNotFound:
		return provider.ErrAlreadyRevoked
	case apierror.StatusOf(err) == http.StatusUnauthorized || apierror.StatusOf(err) == http.StatusNonAuthoritativeInfo:
		e, _ := apierror.As(err)
		e.Explain(fmt.Sprintf("Azure DevOps refused the parent %s: it has probably expired", req.Name(AccessToken)),
			fmt.Sprintf("revoke the PAT by hand (User settings → Personal access tokens), and keep %s short", req.Name(inputs.Lifetime)))
		return fmt.Errorf("failed to revoke: %w", err)
	case isPATError(err, "tokenNotFound", "authorizationNotFound"):
		return provider.ErrAlreadyRevoked
	}
	return fmt.Errorf("failed to revoke: %w", err)
}

// ManualRevoke implements provider.ManualRevoker: a PAT is revoked by its
// authorizationId with the parent user token.
func (*Provider) ManualRevoke() provider.ManualRevoke {
	return provider.ManualRevoke{
		ID:     true,
		How:    "Azure DevOps revokes a PAT by its authorizationId (the token-id output), with the parent Entra user token (--azure-access-token-file or INPUT_AZURE_ACCESS_TOKEN; else az login's)",
		Inputs: []inputs.Input{Organization, APIURL, AccessToken},
		Rebuild: func(s *provider.Saved) {
			s.State = state{Credential: CredentialPAT}.raw()
		},
		Hint: func(s provider.Saved) string {
			return " " + inputs.FlagNames.Setting(Organization, s.Destination(Organization))
		},
	}
}
