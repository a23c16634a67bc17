package ghapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/provider"
)

// OutTokens is the output that maps each account to its token.
const OutTokens = "tokens"

// state is what revoking needs beyond the first account's token: the
// other accounts' tokens.
type state struct {
	Others []ownerToken `json:"others,omitempty"`
}

// ownerToken is one account's token.
type ownerToken struct {
	Owner     string    `json:"owner"`
	Token     string    `json:"token"`
	ID        string    `json:"id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Mint implements provider.Minter: one token per account, each limited to
// the repositories named for it. The first account's is the token; the
// others travel in its State (so that revoking revokes them all) and in
// the tokens output (which a step of one account sets too, so that a
// workflow reads it alike whatever the number of accounts). When any mint fails or is broader than asked, what was
// minted comes back with the error, and the job revokes all of it.
func (m *minter) Mint(ctx context.Context) (*provider.Token, error) {
	tok, err := m.mintOne(ctx)
	if tok == nil {
		return nil, err
	}
	if len(m.others) == 0 {
		m.oneAccount(tok)
		return tok, err
	}
	tok.Accounts = []provider.Account{{Name: m.owner, Token: tok.Value, Repositories: m.repos, ExpiresAt: tok.ExpiresAt}}
	all := []ownerToken{{Owner: m.owner, Token: tok.Value, ID: tok.ID, ExpiresAt: tok.ExpiresAt}}
	var st state
	for _, t := range m.others {
		if err != nil {
			break
		}
		sub := *m
		sub.owner, sub.repos, sub.others, sub.inst, sub.instID = t.owner, t.repos, nil, nil, 0
		var ot *provider.Token
		ot, err = sub.mintOne(ctx)
		if ot == nil {
			if err != nil {
				err = fmt.Errorf("%s: %w", t.owner, err)
			}
			break
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", t.owner, err)
		}
		o := ownerToken{Owner: t.owner, Token: ot.Value, ID: ot.ID, ExpiresAt: ot.ExpiresAt}
		all, st.Others = append(all, o), append(st.Others, o)
		tok.Accounts = append(tok.Accounts, provider.Account{Name: t.owner, Token: ot.Value, Repositories: t.repos, ExpiresAt: ot.ExpiresAt})
		tok.Secrets = append(tok.Secrets, ot.Value)
		tok.Secrets = append(tok.Secrets, ot.Secrets...)
		tok.Summary = append(tok.Summary, [2]string{"Account " + t.owner, ot.ID + ", expires " + ot.ExpiresAt.UTC().Format(time.RFC3339)})
		for _, row := range ot.Summary {
			tok.Summary = append(tok.Summary, [2]string{row[0] + " (" + t.owner + ")", row[1]})
		}
		if ot.ExpiresAt.Before(tok.ExpiresAt) {
			tok.ExpiresAt = ot.ExpiresAt
		}
	}
	tok.State = provider.MarshalState(st)
	tok.Outputs[OutTokens] = tokensJSON(all)
	tok.Secrets = append(tok.Secrets, tok.Outputs[OutTokens])
	return tok, err
}

// oneAccount completes a token minted for m's one account, however it was
// minted (an App key, a KMS key, a federation service): its Accounts (a
// broker serves tokens by account) and the tokens output.
func (m *minter) oneAccount(tok *provider.Token) {
	tok.Accounts = []provider.Account{{Name: m.owner, Token: tok.Value, Repositories: m.repos, ExpiresAt: tok.ExpiresAt}}
	tok.Outputs[OutTokens] = tokensJSON([]ownerToken{{Owner: m.owner, Token: tok.Value}})
	tok.Secrets = append(tok.Secrets, tok.Outputs[OutTokens])
}

// tokensJSON is the tokens output: {"owner": "token", …} in the order the
// accounts were listed.
func tokensJSON(all []ownerToken) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, t := range all {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(t.Owner)
		v, _ := json.Marshal(t.Token)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.String()
}

// savedTokens lists every token a Saved holds: the first account's, then
// the others' from the state.
func savedTokens(saved provider.Saved) ([]ownerToken, error) {
	all := []ownerToken{{Token: saved.Token, ID: saved.ID, ExpiresAt: saved.ExpiresAt}}
	var st state
	if err := provider.UnmarshalState(saved.State, &st); err != nil {
		return all, fmt.Errorf("failed to read the state: %w", err)
	}
	return append(all, st.Others...), nil
}

// revokeAll revokes every token of saved with revoke. All already gone is
// ErrAlreadyRevoked; any other failure is returned, joined.
func revokeAll(ctx context.Context, saved provider.Saved, revoke func(ctx context.Context, token string) error) error {
	all, err := savedTokens(saved)
	gone := 0
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, t := range all {
		if t.Token == "" {
			continue
		}
		switch rerr := revoke(ctx, t.Token); {
		case rerr == nil:
		case errors.Is(rerr, provider.ErrAlreadyRevoked):
			gone++
		case len(all) > 1:
			errs = append(errs, fmt.Errorf("token %s: %w", TokenID(t.Token), rerr))
		default:
			errs = append(errs, rerr)
		}
	}
	switch {
	case len(errs) > 0:
		return errors.Join(errs...)
	case gone == len(all):
		return provider.ErrAlreadyRevoked
	}
	return nil
}
