package ghapp_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
)

func TestMintSeveralOwnersOneTokenEach(t *testing.T) {
	f := newFake(t)
	req := request(t, f, inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.Repositories.Key: "acme/one, app, octo/docs"}))
	m, ps := ghapp.New().Prepare(req)
	require.Empty(t, ps, ps.Error())
	assert.Equal(t, []string{"acme: acme/one", "octo: octo/app, octo/docs"}, m.Plan().Tokens, "one line per account, in the order named")
	tok, err := m.Mint(context.Background())
	require.NoError(t, err)

	first := f.Lookup(tok.Value)
	require.NotNil(t, first)
	assert.Equal(t, int64(88), first.Installation, "the first account named is token's")
	assert.Equal(t, []string{"one"}, first.Repos)

	var byOwner map[string]string
	require.NoError(t, json.Unmarshal([]byte(tok.Outputs[ghapp.OutTokens]), &byOwner))
	assert.Equal(t, tok.Value, byOwner["acme"])
	second := f.Lookup(byOwner["octo"])
	require.NotNil(t, second)
	assert.Equal(t, int64(77), second.Installation)
	assert.Equal(t, []string{"app", "docs"}, second.Repos, "each token limited to its account's repositories")
	assert.Equal(t, map[string]string{"contents": "read", "metadata": "read"}, second.Permissions)

	for _, s := range []string{byOwner["octo"], testBasic(byOwner["octo"]), tok.Outputs[ghapp.OutTokens]} {
		assert.Contains(t, tok.Secrets, s, "every token, its git form and the JSON are masked")
	}

	saved := provider.Saved{Provider: ghapp.Name, Token: tok.Value, ID: tok.ID, State: tok.State, Destinations: destinations(t, req)}
	require.NoError(t, ghapp.New().Revoke(context.Background(), req, saved))
	assert.Empty(t, f.Live(), "revoking revokes every account's token")
	assert.ErrorIs(t, ghapp.New().Revoke(context.Background(), req, saved), provider.ErrAlreadyRevoked)
}

func TestMintSeveralOwnersBroaderSecondGrantComesBack(t *testing.T) {
	f := newFake(t)
	f.Grant = func(tk *ghfake.Token) {
		if tk.Installation == 88 {
			tk.Permissions["issues"] = "write"
		}
	}
	req := request(t, f, inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read", ghapp.Owner.Key: "octo, acme", ghapp.Repositories.Key: "app, acme/one"}))
	m, ps := ghapp.New().Prepare(req)
	require.Empty(t, ps, ps.Error())
	tok, err := m.Mint(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "acme: ")
	assert.Contains(t, err.Error(), "issues:write (not asked)")
	require.NotNil(t, tok, "what was minted comes back to be revoked")
	require.Len(t, f.Live(), 2)
	saved := provider.Saved{Provider: ghapp.Name, Token: tok.Value, ID: tok.ID, State: tok.State, Destinations: destinations(t, req)}
	require.NoError(t, ghapp.New().Revoke(context.Background(), req, saved))
	assert.Empty(t, f.Live())
}

func TestSingleOwnerTokensOutput(t *testing.T) {
	f := newFake(t)
	tok, err := mint(t, request(t, f, inputs.ValuesOf(map[string]string{inputs.Permissions.Key: "contents:read"})))
	require.NoError(t, err)
	assert.JSONEq(t, `{"octo":"`+tok.Value+`"}`, tok.Outputs[ghapp.OutTokens])
	assert.Contains(t, tok.Secrets, tok.Outputs[ghapp.OutTokens], "masked")
	assert.Nil(t, tok.State)
}
