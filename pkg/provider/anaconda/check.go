package anaconda

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

var _ provider.Checker = (*minter)(nil)

// Check implements provider.Checker with read-only calls: who the parent
// credential is, whether the organization exists, and whether anaconda.org
// knows every scope asked.
func (m *minter) Check(ctx context.Context) ([]string, error) {
	c := m.client()
	var user struct {
		Login    string `json:"login"`
		UserType string `json:"user_type"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/user", m.cred.Header(), nil, &user, http.StatusOK); err != nil {
		if ae, ok := apierror.As(err); ok && ae.Status == http.StatusUnauthorized {
			m.explainRejected(ae)
			return nil, fmt.Errorf("failed to check %s: %w", m.name(Credential), err)
		}
		return nil, fmt.Errorf("failed to check %s: %w", m.name(Credential), err)
	}
	out := []string{fmt.Sprintf("%s authenticated as %s (Authorization: %s)", m.cred.Type, user.Login, m.cred.Type.Scheme())}
	if m.org != "" {
		var org struct {
			Login    string `json:"login"`
			UserType string `json:"user_type"`
		}
		_, err := c.do(ctx, http.MethodGet, "/user/"+url.PathEscape(m.org), "", nil, &org, http.StatusOK)
		switch {
		case apierror.StatusOf(err) == http.StatusNotFound:
			return out, fmt.Errorf("organization %s does not exist on anaconda.org; check %s", m.org, m.name(Organization))
		case err != nil:
			return out, fmt.Errorf("failed to look up organization %s: %w", m.org, err)
		case org.UserType != "" && org.UserType != "org":
			return out, fmt.Errorf("%s is a %s account, not an organization; leave %s empty to own the token with %s", m.org, org.UserType, m.name(Organization), user.Login)
		}
		out = append(out, "organization "+m.org+" exists")
	}
	var known map[string]any
	if _, err := c.do(ctx, http.MethodGet, "/scopes", "", nil, &known, http.StatusOK); err != nil {
		return out, fmt.Errorf("failed to list anaconda.org's scopes: %w", err)
	}
	var unknown []string
	for _, s := range m.scopes {
		if _, ok := known[s]; !ok {
			unknown = append(unknown, s)
		}
	}
	if len(unknown) > 0 {
		return out, fmt.Errorf("anaconda.org does not know the scopes %s; ask for others in %s", strings.Join(unknown, ", "), m.name(inputs.Permissions))
	}
	return append(out, "anaconda.org knows every scope asked"), nil
}
