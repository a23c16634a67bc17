package minted_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jobtoken/jobtoken/pkg/fake/minted"
)

type token struct {
	Value string
	minted.Life
}

func TestTokens(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	byValue := map[string]*token{
		"b-live":    {Value: "b-live", Life: minted.Life{ExpiresAt: now.Add(time.Hour)}},
		"a-expired": {Value: "a-expired", Life: minted.Life{ExpiresAt: now.Add(-time.Second)}},
		"c-revoked": {Value: "c-revoked", Life: minted.Life{ExpiresAt: now.Add(time.Hour), Revoked: true}},
	}
	v := minted.View(&mu, byValue, func() time.Time { return now })

	assert.Equal(t, []string{"a-expired", "b-live", "c-revoked"}, v.Values())
	assert.Len(t, v.Minted(), 3)
	assert.Equal(t, []*token{byValue["b-live"]}, v.Live())
	assert.Same(t, byValue["c-revoked"], v.Lookup("c-revoked"))
	assert.Nil(t, v.Lookup("unknown"))

	v.Expire()
	assert.Empty(t, v.Live())
	assert.False(t, byValue["b-live"].Live(now))
	assert.True(t, byValue["b-live"].Live(now.Add(-2*time.Minute)), "expired a minute before the fake's now")
}

func TestChars(t *testing.T) {
	a, b := minted.Chars("ab", 64), minted.Chars("ab", 64)
	assert.Len(t, a, 64)
	assert.Empty(t, strings.Trim(a, "ab"), "only the alphabet's characters")
	assert.NotEqual(t, a, b)
}
