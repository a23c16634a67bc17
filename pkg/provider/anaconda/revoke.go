package anaconda

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/provider"
)

// Revoke implements provider.Provider: DELETE /authentications with the token
// itself (201). A 401 means the token no longer works. Any other failure
// falls back to revoking it by name with the parent credential from the post
// stage's inputs, which only authenticated state may ask for: the parent
// can delete any token of its account.
func (*Provider) Revoke(ctx context.Context, req provider.Request, saved provider.Saved) error {
	api := strings.TrimRight(saved.State["api_url"], "/")
	if api == "" {
		api = DefaultAPIURL
	}
	if msg := provider.APIURLProblem(api, DefaultAPIURL); msg != "" {
		return fmt.Errorf("%s %s", req.Name(APIURL), msg)
	}
	c := client{hc: req.HTTP, api: api}
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
		case statusOf(err) == http.StatusUnauthorized:
			// "Authentication token has expired" or no longer valid: gone.
			return provider.ErrAlreadyRevoked
		}
	}
	credName := namingFor(req.Host).Name(Credential)
	if !saved.Authenticated {
		return fmt.Errorf("failed to revoke with the token itself (%s), and %w", err, provider.ErrNotAuthenticated)
	}
	now := time.Now
	if req.Now != nil {
		now = req.Now
	}
	parent, _ := ParseParent(req.Inputs.Get(Credential), now())
	if parent.Value == "" {
		return fmt.Errorf("failed to revoke with the token itself (%s), and the post step has no %s to revoke it by name", err, credName)
	}
	note := saved.State["note"]
	if note == "" {
		note = saved.ID
	}
	_, ferr := c.do(ctx, http.MethodDelete, namePath(saved.State["org"], note), parent.Header(), nil, nil, http.StatusCreated, http.StatusOK, http.StatusNoContent)
	switch {
	case ferr == nil:
		if req.Log != nil && !saved.Pending {
			req.Log.Infof("revoking token %s with itself failed (%s); revoked it by name with %s", note, err, credName)
		}
		return nil
	case statusOf(ferr) == http.StatusNotFound:
		return provider.ErrAlreadyRevoked
	}
	return fmt.Errorf("failed to revoke with the token itself (%s) or by name with %s (%s)", err, credName, ferr)
}
