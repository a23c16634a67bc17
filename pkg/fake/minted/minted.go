// Package minted is the bookkeeping the fakes share about the tokens they
// mint: when one stops working, and a locked view of them all for tests
// (every one, the live ones, one by value, all expired at once), so that a
// fake writes only what its service does.
package minted

import (
	"crypto/rand"
	"maps"
	"slices"
	"sync"
	"time"
)

// Chars is n random characters of alphabet, for a token's value in the
// service's own characters.
func Chars(alphabet string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Life is when a minted token stops working; a fake's token type embeds it.
type Life struct {
	ExpiresAt time.Time
	Revoked   bool
}

// Live reports whether the token still works at now.
func (l *Life) Live(now time.Time) bool { return !l.Revoked && now.Before(l.ExpiresAt) }

func (l *Life) life() *Life { return l }

// Token is a pointer to a fake's token type (a struct embedding Life).
type Token interface{ life() *Life }

// Tokens is a view of a fake's tokens by value. The map and the lock stay
// the fake's: its handlers, holding the lock, use the map directly; the
// view's methods, for tests, take the lock.
type Tokens[T Token] struct {
	mu      *sync.Mutex
	byValue map[string]T
	now     func() time.Time
}

// View returns the view of byValue, guarded by mu, with the fake's clock.
func View[T Token](mu *sync.Mutex, byValue map[string]T, now func() time.Time) Tokens[T] {
	return Tokens[T]{mu: mu, byValue: byValue, now: now}
}

// Minted returns every token minted, live or not.
func (v Tokens[T]) Minted() []T { return v.filter(func(T) bool { return true }) }

// Live returns the tokens that still work.
func (v Tokens[T]) Live() []T {
	now := v.now()
	return v.filter(func(t T) bool { return t.life().Live(now) })
}

// Values returns every token's value, sorted.
func (v Tokens[T]) Values() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Sorted(maps.Keys(v.byValue))
}

// Lookup returns a minted token by value (nil if none).
func (v Tokens[T]) Lookup(value string) T {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.byValue[value]
}

// Expire makes every token expired, as its lifetime passing would.
func (v Tokens[T]) Expire() {
	now := v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, t := range v.byValue {
		t.life().ExpiresAt = now.Add(-time.Minute)
	}
}

func (v Tokens[T]) filter(keep func(T) bool) []T {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []T
	for _, t := range v.byValue {
		if keep(t) {
			out = append(out, t)
		}
	}
	return out
}
