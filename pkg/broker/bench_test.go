package broker

import (
	"testing"
	"time"
)

// BenchmarkAnswerGit is the broker's own work for one git request: key check,
// URL match, current token.
func BenchmarkAnswerGit(b *testing.B) {
	br := testBroker(time.Now())
	req := Request{Key: "k", Op: OpGit, Protocol: "https", Host: "github.com", Path: "octo/app.git"}
	for b.Loop() {
		if br.Answer(req).Token == "" {
			b.Fatal("no token")
		}
	}
}

// BenchmarkAskOverSocket is what `jobtoken credential get` waits for: a
// connection to the broker's socket, one request line, one answer line.
// While the token is fresh it makes no network request (counted).
func BenchmarkAskOverSocket(b *testing.B) {
	w := &world{life: time.Hour}
	_, sock := start(b, w, Config{GitHost: "github.com"})
	req := Request{Key: "k", Op: OpGit, Protocol: "https", Host: "github.com", Path: "octo/app.git"}
	for b.Loop() {
		if resp, err := Ask(sock, req); err != nil || resp.Token == "" {
			b.Fatal(err)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	b.ReportMetric(float64(w.n)/float64(b.N), "mints/op")
}
