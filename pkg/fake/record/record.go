// Package record keeps what a fake saw and did for its tests to read: the
// requests it answered, the credentials it issued, the signatures it made,
// the calls made with its tokens. A fake's handlers run concurrently; a Log
// takes its own lock, so that a fake adds to it without holding its own.
package record

import (
	"sync"
)

// Log is a list that handlers add to and tests read. The zero Log is empty
// and ready. Its methods unlock without defer: neither can panic, and the
// demo links the fakes into the CLI, where every defer costs space.
type Log[T any] struct {
	mu      sync.Mutex
	entries []T
}

// Add records vs, in order.
func (l *Log[T]) Add(vs ...T) {
	l.mu.Lock()
	l.entries = append(l.entries, vs...)
	l.mu.Unlock()
}

// All returns a copy of what was recorded, in order.
func (l *Log[T]) All() []T {
	l.mu.Lock()
	all := append([]T(nil), l.entries...)
	l.mu.Unlock()
	return all
}
