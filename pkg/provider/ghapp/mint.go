package ghapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// mintOne mints the token of m's first account.
func (m *minter) mintOne(ctx context.Context) (*provider.Token, error) {
	if err := m.openKey(ctx); err != nil {
		return nil, err
	}
	id := m.instID
	if id == 0 {
		inst, err := m.lookup(ctx)
		if err != nil {
			return nil, err
		}
		m.inst, id = inst, inst.ID
	}
	at, err := m.app.Mint(ctx, id, m.repos, m.perms)
	var ge *GrantError
	switch {
	case at != nil && err != nil && !errors.As(err, &ge):
		// GitHub issued a token but its answer did not decode: hand the
		// token back so that it is revoked, not lost.
		return m.token(id, at), fmt.Errorf("failed to mint: %w", err)
	case at != nil:
		return m.token(id, at), err
	case err != nil:
		return nil, m.explainMintError(ctx, id, m.explained(err))
	}
	return nil, errors.New("failed to mint: GitHub answered without a token")
}

// openKey opens a KMS key (signing-key) as the App's signer, once, before
// the first JWT.
func (m *minter) openKey(ctx context.Context) error {
	if m.kl == nil || m.app.Signer != nil {
		return nil
	}
	s, err := m.kl.open(ctx)
	if err != nil {
		return err
	}
	m.app.Signer = s
	return nil
}

// lookup finds the installation the token is for.
func (m *minter) lookup(ctx context.Context) (*Installation, error) {
	var repo string
	if len(m.repos) > 0 {
		repo = m.repos[0]
	}
	inst, err := m.app.LookupInstallation(ctx, m.owner, repo)
	if err == nil {
		return inst, nil
	}
	err = m.explained(err)
	if e, ok := apierror.As(err); ok && e.Status == http.StatusNotFound && e.Cause == "" {
		m.notInstalled(e, repo)
	}
	return nil, fmt.Errorf("failed to find the installation: %w", err)
}

// notInstalled explains GitHub's 404 to an installation lookup.
func (m *minter) notInstalled(e *apierror.Error, repo string) {
	where := "account " + m.owner
	if repo != "" {
		where = "repository " + m.owner + "/" + repo
	}
	e.Explain(fmt.Sprintf("the GitHub App %s is not installed on %s", m.issuer, where),
		fmt.Sprintf("install it there (App settings → Install App) and give it access to the repository, or set %s", m.req.Name(InstallationID)))
}

func (m *minter) token(id int64, at *InstallationToken) *provider.Token {
	slug := ""
	if m.inst != nil {
		slug = m.inst.AppSlug
	}
	repos := make([]string, 0, len(at.Repositories))
	for _, r := range at.Repositories {
		repos = append(repos, m.owner+"/"+r.Name)
	}
	sort.Strings(repos)
	repoText := strings.Join(repos, ", ")
	if at.RepositorySelection == "all" || len(repos) == 0 {
		repoText = m.owner + "/* (all of the installation's)"
	}
	exp := at.ExpiresAt
	if exp.IsZero() {
		exp = m.req.Now().Add(TokenLife)
	}
	return &provider.Token{
		Value:     at.Token,
		ID:        TokenID(at.Token),
		ExpiresAt: exp.UTC(),
		Granted:   FormatPermissions(at.Permissions),
		// git's basic-auth form of the token.
		Secrets: m.secrets(at.Token),
		Outputs: map[string]string{
			OutInstallationID: strconv.FormatInt(id, 10),
			OutAppSlug:        slug,
		},
		Revocable: true,
		Summary: [][2]string{
			{"Installation", strconv.FormatInt(id, 10)},
			{"Repositories", repoText},
		},
	}
}

// secrets are the token's derived forms to mask with it, and what a KMS
// exchange made.
func (m *minter) secrets(token string) []string {
	s := []string{secret.BasicAuth("x-access-token", token)}
	if m.kl != nil {
		s = append(s, m.kl.issued()...)
	}
	return s
}

// explainMintError explains GitHub's refusal of a mint.
func (m *minter) explainMintError(ctx context.Context, id int64, err error) error {
	e, ok := apierror.As(err)
	if !ok || e.Cause != "" {
		return fmt.Errorf("failed to mint: %w", err)
	}
	switch e.Status {
	case http.StatusNotFound:
		e.Explain(fmt.Sprintf("installation %d does not exist for App %s", id, m.issuer),
			fmt.Sprintf("check %s (or leave it empty to look it up)", m.req.Name(InstallationID)))
	case http.StatusUnprocessableEntity:
		inst := m.inst
		if inst == nil {
			// Look the installation up to say precisely what it lacks.
			inst, _ = m.app.Installation(ctx, id)
		}
		m.explainGrant(e, inst)
	}
	return fmt.Errorf("failed to mint: %w", err)
}
