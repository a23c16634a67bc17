package ghapp

import (
	"context"
	"errors"
	"fmt"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

// Revoke implements provider.Provider: DELETE /installation/token with the
// token itself, at the API URL decided for it.
func (*Provider) Revoke(ctx context.Context, req provider.Request, saved provider.Saved) error {
	api := saved.Destination(APIURL)
	if api == "" {
		api = DefaultAPIURL
	}
	if msg := provider.APIURLProblem(api, DefaultAPIURL); msg != "" {
		return fmt.Errorf("failed to revoke: %s %s", req.Name(APIURL), msg)
	}
	app := NewApp(api, req.HTTP, "", nil)
	switch err := revokeAll(ctx, saved, app.Revoke); {
	case err == nil, errors.Is(err, provider.ErrAlreadyRevoked):
		return err
	default:
		return fmt.Errorf("failed to revoke: %w", err)
	}
}

// ManualRevoke implements provider.ManualRevoker: a person pipes the token
// in; its token-id is computed from it.
func (*Provider) ManualRevoke() provider.ManualRevoke {
	return provider.ManualRevoke{
		Token:  true,
		How:    "GitHub revokes an installation token with the token itself (DELETE /installation/token)",
		Inputs: []inputs.Input{APIURL},
		Rebuild: func(s *provider.Saved) {
			if s.ID == "" && s.Token != "" {
				s.ID = TokenID(s.Token)
			}
		},
		Hint: func(s provider.Saved) string {
			if api := s.Destination(APIURL); api != "" && api != DefaultAPIURL {
				return " " + inputs.FlagNames.Setting(APIURL, api)
			}
			return ""
		},
	}
}
