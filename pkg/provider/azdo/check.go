package azdo

import (
	"context"
	"fmt"
	"time"

	"github.com/jobtoken/jobtoken/pkg/provider"
)

var (
	_ provider.Checker = (*patMinter)(nil)
	_ provider.Checker = (*entraMinter)(nil)
)

// Check implements provider.Checker: decode the parent and list one PAT, a
// read-only call that proves the PAT lifecycle API accepts the parent.
func (m *patMinter) Check(ctx context.Context) ([]string, error) {
	parent, err := m.parentToken(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	if c, err := decodeClaims(parent); err == nil {
		line := "parent: Microsoft Entra user token for " + c.user()
		if exp := c.expiry(); !exp.IsZero() {
			line += ", expires " + exp.Format(time.RFC3339)
		}
		out = append(out, line)
	}
	c := newTokensClient(m.req.HTTP, m.apiURL, m.org, parent, m.req.Naming)
	list, err := c.list(ctx, 1)
	if err != nil {
		return out, fmt.Errorf("the PAT lifecycle API refused the parent token: %w", explainAuth(err, m.req.Naming))
	}
	out = append(out, fmt.Sprintf("PAT lifecycle API for %s accepts the parent token (%d active PAT(s) on the first page)", m.org, len(list)))
	return out, nil
}

// Check implements provider.Checker: one token exchange, whose token is
// dropped, proves the federation is set up.
func (m *entraMinter) Check(ctx context.Context) ([]string, error) {
	at, _, err := m.entraToken(ctx)
	if err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("workload identity federation works for %s (token dropped; it would expire %s)", m.identity(), at.ExpiresOn.UTC().Format(time.RFC3339))}, nil
}
