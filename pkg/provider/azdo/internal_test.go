package azdo

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
)

// Locally the Azure CLI login is the parent; it gets the same checks as an
// input token, and is masked with the PAT.
func TestLocalParentFromAzureCLI(t *testing.T) {
	t.Parallel()
	tenant := azfake.NewTenant()
	api := azfake.NewPATs(tenant, "contoso")
	defer api.Close()
	req := providertest.Request(t, New(), inputs.ValuesOf(map[string]string{Organization.Key: "contoso", APIURL.Key: api.URL}), nil)
	req.Run, req.Permissions = host.Run{}, []string{"vso.code"}
	m, ps := preparePAT(req)
	require.Empty(t, ps)
	pm := m.(*patMinter)
	assert.True(t, pm.useCLI)
	assert.Regexp(t, `^jobtoken local run 0\.1 [0-9a-f]{6}$`, pm.displayName)

	user := tenant.UserToken("me@contoso.com", time.Hour)
	pm.cliCredential = func(context.Context) (string, error) { return user, nil }
	tok, err := pm.Mint(context.Background())
	require.NoError(t, err)
	assert.Contains(t, tok.Secrets, user)
	require.Len(t, api.Live(), 1)

	// `az login --service-principal` gives an app-only token: refused before any call.
	before := len(api.Requests())
	pm.cliCredential = func(context.Context) (string, error) { return tenant.AppToken("sp", time.Hour, true), nil }
	_, err = pm.Mint(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the Azure CLI login's token is an app-only token")
	assert.Equal(t, before, len(api.Requests()))

	pm.cliCredential = func(context.Context) (string, error) {
		return "", errors.New("failed to get a token from the Azure CLI: run `az login`")
	}
	_, err = pm.Mint(context.Background())
	assert.ErrorContains(t, err, "az login")
}

func TestShortenKeepsRunes(t *testing.T) {
	t.Parallel()
	s := apierror.Summarize(strings.Repeat("é", 10), 5)
	assert.True(t, strings.HasSuffix(s, "…"))
	assert.Equal(t, "éé…", s)
	assert.Equal(t, "a b", apierror.Summarize("a\n  b", apierror.MaxMessage))
}

func TestClaims(t *testing.T) {
	t.Parallel()
	tenant := azfake.NewTenant()
	now := time.Now()
	c, err := checkParent(tenant.UserToken("u@x.y", time.Hour), now, inputs.GitHubNames)
	require.NoError(t, err)
	assert.Equal(t, "u@x.y", c.user())
	assert.False(t, c.appOnly())
	for _, tok := range []string{tenant.AppToken("a", time.Hour, true), tenant.AppToken("a", time.Hour, false)} {
		c, err = checkParent(tok, now, inputs.GitHubNames)
		require.Error(t, err)
		assert.True(t, c.appOnly())
	}
	_, err = decodeClaims("a.b")
	assert.ErrorIs(t, err, errNotJWT)
	_, err = decodeClaims("a.%%%.c")
	assert.ErrorIs(t, err, errNotJWT)
}
