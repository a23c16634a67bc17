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
	var inst *Installation
	var err error
	if m.instID != 0 {
		inst, err = m.app.Installation(ctx, m.instID)
		err = m.explained(err)
	} else {
		inst, err = m.lookup(ctx)
	}
	if err != nil {
		if e, ok := apierror.As(err); ok && e.Status == http.StatusUnauthorized && e.Cause == "" {
			e.Explain("GitHub did not accept the App's JWT", fmt.Sprintf("check %s/%s and that %s belongs to that App", m.req.Name(ClientID), m.req.Name(AppID), m.req.Name(PrivateKey)))
		}
		return nil, err
	}
	out := []string{fmt.Sprintf("App authenticated; installation %d (%s) on %s, repository access: %s", inst.ID, inst.AppSlug, inst.Account.Login, inst.RepositorySelection)}
	if lacking := Lacking(inst, m.perms); len(lacking) > 0 {
		return out, fmt.Errorf("the installation lacks %s; add them to the App and accept them on the installation, or ask for less", strings.Join(lacking, ", "))
	}
	return append(out, "installation grants every permission asked"), nil
}
