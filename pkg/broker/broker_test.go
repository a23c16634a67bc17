package broker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/seal"
)

func token(v string, exp time.Time, accounts ...provider.Account) *provider.Token {
	return &provider.Token{Value: v, ID: "id-" + v, ExpiresAt: exp, Accounts: accounts, Revocable: true}
}

func acct(name, tok string, exp time.Time, repos ...string) provider.Account {
	return provider.Account{Name: name, Token: tok, ExpiresAt: exp, Repositories: repos}
}

func testBroker(now time.Time) *Broker {
	exp := now.Add(time.Hour)
	first := token("t1", exp, acct("octo", "t1", exp, "app", "docs"), acct("acme", "t2", exp))
	return New(Config{Key: "k", GitHost: "github.com", Until: now.Add(6 * time.Hour), Now: func() time.Time { return now }}, first)
}

func TestAnswer(t *testing.T) {
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	b := testBroker(now)
	git := func(proto, host, path string) Request {
		return Request{Key: "k", Op: OpGit, Protocol: proto, Host: host, Path: path}
	}
	tests := []struct {
		name string
		req  Request
		tok  string
		err  string
	}{
		{"no key", Request{Op: OpToken}, "", "wrong broker key"},
		{"wrong key", Request{Key: "K", Op: OpToken}, "", "wrong broker key"},
		{"first account", Request{Key: "k", Op: OpToken}, "t1", ""},
		{"named account", Request{Key: "k", Op: OpToken, Owner: "ACME"}, "t2", ""},
		{"unknown account", Request{Key: "k", Op: OpToken, Owner: "other"}, "", `no token for account "other"; this job's accounts: octo, acme`},
		{"git named repository", git("https", "github.com", "octo/app.git"), "t1", ""},
		{"git without .git", git("https", "GitHub.com", "octo/docs"), "t1", ""},
		{"git lfs path", git("https", "github.com", "octo/app.git/info/lfs"), "t1", ""},
		{"git every repository", git("https", "github.com", "acme/anything.git"), "t2", ""},
		{"git repository not named", git("https", "github.com", "octo/secret.git"), "", ""},
		{"git other account", git("https", "github.com", "evil/app.git"), "", ""},
		{"git other host", git("https", "gitlab.com", "octo/app.git"), "", ""},
		{"git look-alike host", git("https", "github.com.evil.example", "octo/app.git"), "", ""},
		{"git in clear", git("http", "github.com", "octo/app.git"), "", ""},
		{"git without path", git("https", "github.com", ""), "", ""},
		{"git owner only", git("https", "github.com", "octo"), "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := b.Answer(tc.req)
			assert.Equal(t, tc.tok, resp.Token)
			if tc.err == "" {
				assert.Empty(t, resp.Error)
			} else {
				assert.Contains(t, resp.Error, tc.err)
			}
		})
	}
}

func TestAnswerExpired(t *testing.T) {
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	b := testBroker(now)
	b.cfg.Now = func() time.Time { return now.Add(2 * time.Hour) }
	resp := b.Answer(Request{Key: "k", Op: OpToken})
	assert.Empty(t, resp.Token)
	assert.Contains(t, resp.Error, "expired at 2026-11-29T11:00:00Z and refreshing it failed")
}

func TestGitHTTPOnLoopbackOnly(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	b := New(Config{Key: "k", GitHost: "127.0.0.1:8080", Until: exp}, token("t", exp, acct("octo", "t", exp)))
	assert.Equal(t, "t", b.Answer(Request{Key: "k", Op: OpGit, Protocol: "http", Host: "127.0.0.1:8080", Path: "octo/x"}).Token)
	assert.True(t, Loopback("[::1]:80"))
	assert.True(t, Loopback("localhost"))
	assert.False(t, Loopback("10.0.0.1:80"))
}

// world is a broker over a real socket with a provider that counts.
type world struct {
	mu      sync.Mutex
	n       int
	revoked []string
	mintErr error
	cover   []provider.Account // what a mint returns, if set
	life    time.Duration
	// minting, when set, is closed when the first mint starts, which then
	// waits for release.
	minting, release chan struct{}
	once             sync.Once
}

func (w *world) mint(ctx context.Context) (*provider.Token, error) {
	if w.minting != nil {
		w.once.Do(func() { close(w.minting) })
		<-w.release
		if ctx.Err() != nil {
			return nil, ctx.Err() // what an HTTP client does when cancelled
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	v := "t" + string(rune('0'+w.n))
	exp := time.Now().Add(w.life)
	acc := []provider.Account{acct("octo", v, exp, "app")}
	if w.cover != nil {
		acc = w.cover
	}
	return token(v, exp, acc...), w.mintErr
}

func (w *world) revoke(_ context.Context, m Minted) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.revoked = append(w.revoked, m.Token)
	return nil
}

func (w *world) revokedList() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.revoked...)
}

func start(t testing.TB, w *world, cfg Config) (*Broker, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "bk")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	cfg.Key, cfg.Mint, cfg.Revoke, cfg.Run = "k", w.mint, w.revoke, "run"
	cfg.Record = &Record{Path: filepath.Join(dir, "record"), Key: seal.Key([2]string{"private-key", "pem"})}
	if cfg.Until.IsZero() {
		cfg.Until = time.Now().Add(time.Minute)
	}
	if cfg.Dir == "" {
		cfg.Dir = dir
	}
	exp := time.Now().Add(w.life)
	b := New(cfg, token("t0", exp, acct("octo", "t0", exp, "app")))
	done := make(chan struct{})
	go func() { _ = b.Run(context.Background(), ln); close(done) }()
	t.Cleanup(func() {
		_, _ = Ask(sock, Request{Key: "k", Op: OpStop})
		<-done
	})
	return b, sock
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRefreshRecordsThenServesThenRevokesSuperseded(t *testing.T) {
	w := &world{life: 2 * time.Second}
	var mu sync.Mutex
	var logged []string
	b, sock := start(t, w, Config{Log: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, fmt.Sprintf(format, args...))
	}})
	eventually(t, "two refreshes", func() bool { return len(w.revokedList()) >= 2 })
	mu.Lock()
	assert.Contains(t, logged, "revoked superseded account octo's token", "an account's token is named by its account, not as a token ID")
	mu.Unlock()
	resp, err := Ask(sock, Request{Key: "k", Op: OpToken})
	require.NoError(t, err)
	assert.NotEqual(t, "t0", resp.Token)
	assert.Equal(t, []string{"t0", "t1"}, w.revokedList()[:2], "superseded tokens are revoked in order")
	got, ignored, err := b.cfg.Record.Read("run")
	require.NoError(t, err)
	assert.Zero(t, ignored)
	var vals []string
	for _, m := range got {
		vals = append(vals, m.Token)
	}
	assert.Contains(t, vals, resp.Token, "the served token was recorded")
}

func TestRefreshBroaderCoverageIsRevokedAndNotServed(t *testing.T) {
	w := &world{life: 2 * time.Second}
	w.cover = []provider.Account{acct("octo", "wide", time.Now().Add(time.Hour))} // every repository
	_, sock := start(t, w, Config{})
	eventually(t, "a refused successor revoked", func() bool { return len(w.revokedList()) >= 1 })
	resp, err := Ask(sock, Request{Key: "k", Op: OpToken})
	if err == nil {
		assert.Equal(t, "t0", resp.Token, "the first token stays until it expires")
	}
	assert.NotContains(t, w.revokedList(), "t0")
}

func TestRefreshErrorRevokesWhatCameBack(t *testing.T) {
	w := &world{life: 2 * time.Second, mintErr: errors.New("more than asked")}
	_, _ = start(t, w, Config{})
	eventually(t, "the broader token revoked", func() bool { return len(w.revokedList()) >= 1 })
	assert.Equal(t, "t1", w.revokedList()[0])
}

func TestAnswerMakesNoRequestWhileFresh(t *testing.T) {
	w := &world{life: time.Hour}
	_, sock := start(t, w, Config{GitHost: "github.com"})
	for range 50 {
		resp, err := Ask(sock, Request{Key: "k", Op: OpGit, Protocol: "https", Host: "github.com", Path: "octo/app.git"})
		require.NoError(t, err)
		require.Equal(t, "t0", resp.Token)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Zero(t, w.n, "no mint while the token is fresh")
}

// TestStopDuringAMintRecordsIt: a stop that arrives while a refresh is
// minting waits for the mint, whose token is recorded for the post stage
// (cancelling it would lose a token GitHub may have minted).
func TestStopDuringAMintRecordsIt(t *testing.T) {
	w := &world{life: 2 * time.Second, minting: make(chan struct{}), release: make(chan struct{})}
	b, sock := start(t, w, Config{})
	<-w.minting
	stopped := make(chan error)
	go func() { _, err := Ask(sock, Request{Key: "k", Op: OpStop}); stopped <- err }()
	// The stop has cancelled the broker once its socket no longer answers.
	eventually(t, "the stop to reach the broker", func() bool {
		_, err := Ask(sock, Request{Key: "k", Op: OpStatus})
		return err != nil
	})
	close(w.release)
	require.NoError(t, <-stopped)
	got, _, err := b.cfg.Record.Read("run")
	require.NoError(t, err)
	require.Len(t, got, 1, "the token minted during the stop is recorded")
	assert.Equal(t, "t1", got[0].Token)
}

func TestStopWaitsAndEnds(t *testing.T) {
	w := &world{life: time.Hour}
	b, sock := start(t, w, Config{})
	_, err := Ask(sock, Request{Key: "k", Op: OpStop})
	require.NoError(t, err)
	<-b.Stopped()
	_, err = Ask(sock, Request{Key: "k", Op: OpStatus})
	assert.ErrorIs(t, err, ErrNoBroker)
	assert.Regexp(t, `^no jobtoken broker runs for this job: the broker stopped at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(the post step stopped it\)$`, err.Error())
}

func TestStopsAtRefreshUntil(t *testing.T) {
	w := &world{life: time.Hour}
	b, sock := start(t, w, Config{Until: time.Now().Add(100 * time.Millisecond)})
	<-b.Stopped()
	_, err := Ask(sock, Request{Key: "k", Op: OpToken})
	require.ErrorIs(t, err, ErrNoBroker)
	assert.Contains(t, err.Error(), "(refresh-until passed)")
	require.NoError(t, os.RemoveAll(filepath.Dir(sock)))
	_, err = Ask(sock, Request{Key: "k", Op: OpToken})
	assert.Contains(t, err.Error(), "the broker's folder is gone (the post step ran, or the job ended)")
}

func TestStopsWhenItsFolderIsGone(t *testing.T) {
	w := &world{life: time.Hour}
	dir := t.TempDir()
	b, _ := start(t, w, Config{Dir: dir, WatchEvery: 10 * time.Millisecond})
	require.NoError(t, os.RemoveAll(dir))
	<-b.Stopped()
}

func TestWrongKeyOverTheSocket(t *testing.T) {
	w := &world{life: time.Hour}
	_, sock := start(t, w, Config{})
	_, err := Ask(sock, Request{Key: "guess", Op: OpToken})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "wrong broker key")
	c, err := net.Dial("unix", sock)
	require.NoError(t, err)
	defer c.Close()
	_, _ = c.Write([]byte(strings.Repeat("x", MaxLine+10) + "\n"))
	line, err := ReadLine(bufio.NewReader(c))
	require.NoError(t, err)
	assert.Contains(t, string(line), "failed to read the request")
}

func TestRecordIgnoresWhatItCannotVerify(t *testing.T) {
	dir := t.TempDir()
	key := seal.Key([2]string{"private-key", "pem"})
	r := &Record{Path: filepath.Join(dir, "record"), Key: key}
	require.NoError(t, r.Append(Minted{Run: "run", Token: "a", ID: "1"}))
	require.NoError(t, r.Append(Minted{Run: "run", Token: "a", ID: "1"}))
	require.NoError(t, r.Append(Minted{Run: "other run", Token: "b"}))
	forged := &Record{Path: r.Path, Key: seal.Key([2]string{"private-key", "other"})}
	require.NoError(t, forged.Append(Minted{Run: "run", Token: "planted"}))
	f, err := os.OpenFile(r.Path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, _ = f.WriteString("not json\n")
	f.Close()
	got, ignored, err := r.Read("run")
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "a", got[0].Token)
	assert.Equal(t, 3, ignored)
	fi, err := os.Stat(r.Path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

// TestRecordWithoutKeyReadsEveryLineOfTheRun: a step with no parent
// credential (signing-key, federation-url) has no key to seal with; its
// post stage still revokes what the broker recorded.
func TestRecordWithoutKeyReadsEveryLineOfTheRun(t *testing.T) {
	r := &Record{Path: filepath.Join(t.TempDir(), "record")}
	require.NoError(t, r.Append(Minted{Run: "run", Token: "a", ID: "1"}))
	require.NoError(t, r.Append(Minted{Run: "run", Token: "b", ID: "2"}))
	require.NoError(t, r.Append(Minted{Run: "other run", Token: "c"}))
	got, ignored, err := r.Read("run")
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, []string{"a", "b"}, []string{got[0].Token, got[1].Token})
	assert.Equal(t, 1, ignored)
}

func TestGitProtocol(t *testing.T) {
	g, err := ReadGitRequest(strings.NewReader("protocol=https\nhost=github.com\npath=octo/app.git\nwwwauth[]=Basic\n\nignored=1\n"))
	require.NoError(t, err)
	assert.Equal(t, GitRequest{Protocol: "https", Host: "github.com", Path: "octo/app.git"}, g)
	_, err = ReadGitRequest(strings.NewReader("nonsense\n"))
	assert.Error(t, err)
	var b strings.Builder
	require.NoError(t, WriteGitCredential(&b, Response{Token: "ghs_x", ExpiresAt: time.Unix(1700000000, 0)}))
	assert.Equal(t, "username=x-access-token\npassword=ghs_x\npassword_expiry_utc=1700000000\n", b.String())
	assert.Error(t, WriteGitCredential(&b, Response{Token: "a\nusername=evil"}))
	assert.Equal(t, map[string]string{
		"GIT_CONFIG_COUNT": "5",
		"GIT_CONFIG_KEY_2": "credential.https://github.com.helper", "GIT_CONFIG_VALUE_2": "",
		"GIT_CONFIG_KEY_3": "credential.https://github.com.helper", "GIT_CONFIG_VALUE_3": "!'/opt/it'\\''s/jobtoken' credential",
		"GIT_CONFIG_KEY_4": "credential.https://github.com.useHttpPath", "GIT_CONFIG_VALUE_4": "true",
	}, GitConfig(2, "https://github.com", HelperCommand("/opt/it's/jobtoken")))
	assert.Equal(t, "!'C:/a b/jobtoken.exe' credential", HelperCommand(`C:\a b\jobtoken.exe`))
}

func TestParseRequest(t *testing.T) {
	_, err := ParseRequest([]byte(`{"key":"k","op":"token"}`))
	assert.NoError(t, err)
	for _, bad := range []string{``, `{}`, `{"op":"shell"}`, `{"op":"token","extra":1}`, `{"op":"token"}{"op":"stop"}`, `[1]`} {
		_, err := ParseRequest([]byte(bad))
		assert.Error(t, err, bad)
	}
}
