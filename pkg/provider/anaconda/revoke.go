package anaconda

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// Revoke implements provider.Provider: DELETE /authentications with the token
// itself (201). A 401 means the token no longer works. Any other failure
// falls back to revoking it by name with the parent credential from the post
// stage's inputs, which only authenticated state may ask for: the parent
// can delete any token of its account.
func (*Provider) Revoke(ctx context.Context, req provider.Request, saved provider.Saved) error {
	var st state
	if err := provider.UnmarshalState(saved.State, &st); err != nil {
		return errors.New("the saved state is not this provider's")
	}
	api := strings.TrimRight(saved.Destination(APIURL), "/")
	if api == "" {
		api = DefaultAPIURL
	}
	if msg := provider.APIURLProblem(api, DefaultAPIURL); msg != "" {
		return fmt.Errorf("%s %s", req.Name(APIURL), msg)
	}
	c := newClient(req.HTTP, api)
	// Without the token (jobtoken revoke --token-id, or a create whose
	// answer was lost), go straight to the by-name revocation.
	err := errors.New("the token itself was not given")
	if saved.Pending {
		err = errors.New("the main step never received the token")
	}
	if saved.Token != "" {
		_, err = c.do(ctx, http.MethodDelete, "/authentications", "token "+saved.Token, nil, nil, http.StatusCreated, http.StatusOK, http.StatusNoContent)
		switch {
		case err == nil:
			return nil
		case apierror.StatusOf(err) == http.StatusUnauthorized:
			// "Authentication token has expired" or no longer valid: gone.
			return provider.ErrAlreadyRevoked
		}
	}
	credName := req.Name(Credential)
	if !saved.Authenticated {
		return fmt.Errorf("failed to revoke with the token itself (%s), and %w", err, provider.ErrNotAuthenticated)
	}
	parent, _ := ParseParent(req.Inputs.Get(Credential), req.Now())
	if parent.Value == "" {
		where := "the post step has no " + credName
		if req.Terminal {
			where = "no " + credName + " was given"
		}
		return fmt.Errorf("failed to revoke with the token itself (%s), and %s to revoke it by name", err, where)
	}
	note := st.Note
	if note == "" {
		note = saved.ID
	}
	_, ferr := c.do(ctx, http.MethodDelete, namePath(saved.Destination(Organization), note), parent.Header(), nil, nil, http.StatusCreated, http.StatusOK, http.StatusNoContent)
	switch {
	case ferr == nil:
		if !saved.Pending {
			req.Log.Infof("revoking token %s with itself failed (%s); revoked it by name with %s", note, err, credName)
		}
		return nil
	case apierror.StatusOf(ferr) == http.StatusNotFound:
		return provider.ErrAlreadyRevoked
	}
	return fmt.Errorf("failed to revoke with the token itself (%s) or by name with %s (%s)", err, credName, ferr)
}

// ManualRevoke implements provider.ManualRevoker: a person pipes the token
// in; with the parent credential, its note (the token-id) also revokes it.
func (*Provider) ManualRevoke() provider.ManualRevoke {
	return provider.ManualRevoke{
		Token:  true,
		How:    "anaconda.org revokes a token with the token itself (DELETE /authentications); with --anaconda-credential it falls back to revoking it by name (--token-id, the note)",
		Inputs: []inputs.Input{APIURL, Credential, Organization},
		Rebuild: func(s *provider.Saved) {
			s.State = state{Note: s.ID}.raw()
		},
		Hint: func(s provider.Saved) string {
			if api := s.Destination(APIURL); api != "" && api != DefaultAPIURL {
				return " " + inputs.FlagNames.Setting(APIURL, api)
			}
			return ""
		},
	}
}
