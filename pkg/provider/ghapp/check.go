package ghapp

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

var _ provider.Checker = (*minter)(nil)

// Check implements provider.Checker: authenticate as the App and look the
// installation up, without minting.
func (m *minter) Check(ctx context.Context) ([]string, error) {
	var out []string
	if m.kl != nil {
		// Sign one JWT in the KMS and authenticate as the App with it, so
		// that a key that is not the App's shows as such.
		if err := m.openKey(ctx); err != nil {
			return nil, err
		}
		info, err := m.app.Authenticate(ctx)
		if err != nil {
			// jwtAnswers name a key that is not the App's by its fingerprint.
			return nil, fmt.Errorf("failed to authenticate as the App: %w", m.explained(err))
		}
		out = append(out, fmt.Sprintf("JWT signed in %s with %s (public key %s); GET /app: App %s (%d)", m.kl.cloud(), m.kl.uri, m.kl.signer.Fingerprint(), info.Slug, info.ID))
	}
	var repo string
	if len(m.repos) > 0 {
		repo = m.repos[0]
	}
	inst, lacking, err := m.app.Check(ctx, m.instID, m.owner, repo, m.perms)
	if err != nil {
		err = m.explained(err)
		if e, ok := apierror.As(err); ok && e.Status == http.StatusNotFound && e.Cause == "" && m.instID == 0 {
			m.notInstalled(e, repo)
			err = fmt.Errorf("failed to find the installation: %w", err)
		}
		if e, ok := apierror.As(err); ok && e.Status == http.StatusUnauthorized && e.Cause == "" {
			e.Explain("GitHub did not accept the App's JWT", fmt.Sprintf("check %s/%s and that %s belongs to that App", m.req.Name(ClientID), m.req.Name(AppID), m.req.Name(PrivateKey)))
		}
		return nil, err
	}
	out = append(out, fmt.Sprintf("App authenticated; installation %d (%s) on %s, repository access: %s", inst.ID, inst.AppSlug, inst.Account.Login, inst.RepositorySelection))
	if len(lacking) > 0 {
		return out, fmt.Errorf("the installation lacks %s; add them to the App and accept them on the installation, or ask for less", strings.Join(lacking, ", "))
	}
	return append(out, "installation grants every permission asked"), nil
}
