package testutil

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Spy is a server that must never be reached (an attacker's, or the target
// of a redirect): it records every request, Authorization and body
// included, and fails it.
type Spy struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

// NewSpy starts a Spy, over TLS when tlsServer is set; the test closes it.
func NewSpy(t testing.TB, tlsServer bool) *Spy {
	s := &Spy{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.seen = append(s.seen, r.Method+" "+r.URL.String()+" auth="+r.Header.Get("Authorization")+" body="+string(body))
		s.mu.Unlock()
		w.WriteHeader(http.StatusInternalServerError)
	})
	if tlsServer {
		s.Server = httptest.NewTLSServer(h)
	} else {
		s.Server = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s
}

// Requests returns what reached the spy.
func (s *Spy) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}
