package demo

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"
)

// loopback is the demo's only way to the network: a dialer that connects to
// loopback addresses (where the fakes listen) and refuses every other,
// recording both. The stages get it as their transport's dialer, the later
// step as its client's, so that "no network beyond this machine" is enforced
// rather than hoped for.
type loopback struct {
	d net.Dialer

	mu      sync.Mutex
	dialed  []string
	refused []string
}

func newLoopback() *loopback { return &loopback{d: net.Dialer{Timeout: 5 * time.Second}} }

// DialContext has net.Dialer's signature.
func (l *loopback) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	if err != nil || ip == nil || !ip.IsLoopback() {
		l.mu.Lock()
		l.refused = append(l.refused, addr)
		l.mu.Unlock()
		return nil, fmt.Errorf("the demo refused to connect to %s: it talks only to its fakes on this machine", addr)
	}
	l.mu.Lock()
	if !slices.Contains(l.dialed, addr) {
		l.dialed = append(l.dialed, addr)
	}
	l.mu.Unlock()
	return l.d.DialContext(ctx, network, addr)
}

// seen returns the addresses connected to and refused.
func (l *loopback) seen() (dialed, refused []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.dialed), slices.Clone(l.refused)
}
