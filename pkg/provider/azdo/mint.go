package azdo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
	"github.com/jobtoken/jobtoken/pkg/retry"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

var (
	_ provider.Minter     = (*patMinter)(nil)
	_ provider.LostFinder = (*patMinter)(nil)
)

// Mint implements provider.Minter.
func (m *patMinter) Mint(ctx context.Context) (*provider.Token, error) {
	parent, err := m.parentToken(ctx)
	if err != nil {
		return nil, err
	}
	validTo := m.req.Now().Add(m.req.Lifetime).UTC().Truncate(time.Second)
	c := newTokensClient(m.req.HTTP, m.apiURL, m.org, parent, m.req.Naming)
	createCtx, tries := retry.Track(ctx)
	pt, err := c.create(createCtx, patTokenCreateRequest{
		DisplayName: m.displayName,
		Scope:       strings.Join(m.scopes, " "),
		ValidTo:     validTo.Format(time.RFC3339),
		AllOrgs:     false,
	})
	if err != nil {
		lost := mayHaveCreated(err)
		err = fmt.Errorf("failed to create the PAT: %w", explainAuth(err, m.req.Naming))
		if lost {
			// The answer was lost or unreadable (or the step was
			// cancelled while waiting for it), not a refusal: Azure DevOps
			// may have created PATs nobody holds. They carry this step's
			// display name, so find and revoke them now, whether or not
			// the step is being cancelled.
			cctx, cancel := provider.CleanupContext(ctx)
			defer cancel()
			if !m.dropDuplicates(cctx, c, "") {
				err = fmt.Errorf("%w (%w)", err, provider.ErrMaybeLost)
			}
		}
		return nil, err
	}
	tok := m.token(pt, parent)
	// Only a create that was sent more than once can have left a twin; the
	// common case costs no listing.
	if tries.Load() > 1 {
		cctx, cancel := provider.CleanupContext(ctx)
		defer cancel()
		m.dropDuplicates(cctx, c, pt.AuthorizationID)
	}
	if err := m.verify(pt, validTo); err != nil {
		return tok, err
	}
	return tok, nil
}

func (m *patMinter) token(pt *patToken, parent string) *provider.Token {
	exp := pt.ValidTo.Time
	secrets := []string{secret.BasicAuth("", pt.Token)}
	if m.useCLI {
		secrets = append(secrets, parent)
	}
	return &provider.Token{
		Value:     pt.Token,
		ID:        pt.AuthorizationID,
		ExpiresAt: exp,
		Granted:   pt.Scope,
		Secrets:   secrets,
		State:     state{Credential: CredentialPAT}.raw(),
		Summary: [][2]string{
			{"Credential", "PAT (" + m.req.Setting(Credential, CredentialPAT) + ")"},
			{"Organization", m.org},
			{"Display name", pt.DisplayName},
		},
		Revocable: true,
	}
}

// verify compares the PAT with what was asked: scopes, organizations and
// validTo. A PAT valid in every organization, in more than the one asked,
// without a stated end or for longer is broader. It reports what it found;
// the caller revokes the token and says so.
func (m *patMinter) verify(pt *patToken, validTo time.Time) error {
	if err := scopeMismatch(compareScopes(m.scopes, pt.Scope)); err != nil {
		return err
	}
	switch n := len(pt.TargetAccounts); {
	case n == 0:
		return fmt.Errorf("Azure DevOps granted more than asked: the PAT is valid in every organization of the user, not only %s. Report this", m.org)
	case n > 1:
		return fmt.Errorf("Azure DevOps granted more than asked: the PAT is valid in %d organizations, not only %s. Report this", n, m.org)
	}
	switch {
	case pt.ValidTo.IsZero():
		return fmt.Errorf("Azure DevOps granted more than asked: its answer gives the PAT no validTo, so nothing says it ends at %s. Report this", validTo.Format(time.RFC3339))
	case pt.ValidTo.After(validTo.Add(validToSlack)):
		return fmt.Errorf("Azure DevOps granted more than asked: the PAT is valid until %s, not %s. Report this", pt.ValidTo.UTC().Format(time.RFC3339), validTo.Format(time.RFC3339))
	}
	if !pt.ValidTo.IsZero() && pt.ValidTo.Before(validTo.Add(-validToSlack)) {
		m.req.Log.Warningf("Azure DevOps shortened the PAT's life: valid until %s, not %s", pt.ValidTo.UTC().Format(time.RFC3339), validTo.Format(time.RFC3339))
	}
	return nil
}

// mayHaveCreated reports whether a failed create may still have created a
// PAT: anything but a refusal (a patTokenError or a 4xx answer).
func mayHaveCreated(err error) bool {
	if e, ok := apierror.As(err); ok && e.Code != "" {
		return false
	}
	s := apierror.StatusOf(err)
	return s == 0 || s >= 500
}

// dropDuplicates revokes any other active PAT with this run's display name:
// the create call is retried on 5xx and network errors, and a first try that
// reached Azure DevOps before failing may have created a PAT nobody holds.
// Best effort: failures are warnings. It reports whether every such PAT is
// known to be gone.
func (m *patMinter) dropDuplicates(ctx context.Context, c *tokensClient, keep string) bool {
	_, ok := dropNamed(ctx, c, m.displayName, keep, m.req.Log, func(err error) string {
		return fmt.Sprintf("could not list PATs to find one a lost answer may have left (%s); the post step looks again. Else run `jobtoken sweep --provider azure-devops --run %s.%s --revoke` or revoke PATs named %q by hand", err, m.req.Run.RunID, m.req.Run.Attempt, m.displayName)
	})
	return ok
}

// dropNamed revokes the active PATs named name, but keep. It returns how
// many it revoked, and whether every one is known to be gone.
func dropNamed(ctx context.Context, c *tokensClient, name, keep string, log provider.Logger, listFailed func(error) string) (int, bool) {
	list, err := c.list(ctx, 50)
	if err != nil {
		log.Warningf("%s", listFailed(err))
		return 0, false
	}
	n, ok := 0, true
	for _, p := range list {
		if p.DisplayName != name || (keep != "" && strings.EqualFold(p.AuthorizationID, keep)) {
			continue
		}
		if err := c.revoke(ctx, p.AuthorizationID); err != nil {
			ok = false
			log.Warningf("failed to revoke PAT %s, created by a request whose answer was lost: %s; run jobtoken sweep, or revoke it by hand (User settings → Personal access tokens)", p.AuthorizationID, err)
			continue
		}
		n++
		log.Infof("revoked PAT %s, created by a request whose answer was lost", p.AuthorizationID)
	}
	return n, ok
}

// LostState implements provider.LostFinder: what the post step needs to
// find a PAT whose create's answer was lost.
func (m *patMinter) LostState() json.RawMessage {
	return state{Credential: CredentialPAT, DisplayName: m.displayName}.raw()
}
