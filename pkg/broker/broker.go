package broker

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jobtoken/jobtoken/pkg/provider"
)

// Timing of refreshes, for GitHub's one-hour tokens: a successor is minted
// ten minutes before a token expires (a third of its life for shorter
// ones), so that a token git gets has that long to live, and the token it
// replaces is revoked a minute later (a quarter of its life at most), once
// git operations that fetched it have had time to finish.
const (
	refreshLead = 10 * time.Minute
	graceMax    = time.Minute
	retryMax    = time.Minute
	// watchEvery is how often the broker checks that the job is still
	// there (its folder in the runner's temp folder).
	watchEvery = 30 * time.Second
	// connTimeout bounds one conversation with a caller.
	connTimeout = 10 * time.Second
	// stopWait bounds how long a stop waits for the broker to finish (a
	// refresh under way, superseded tokens revoked).
	stopWait = 40 * time.Second
)

// Config is what a Broker works with.
type Config struct {
	// Mint mints a successor: the step's inputs prepared and minted again,
	// checked as the main stage checks its token. A token returned with
	// an error must not be used; the broker revokes it.
	Mint func(ctx context.Context) (*provider.Token, error)
	// Revoke revokes one token the broker minted.
	Revoke func(ctx context.Context, m Minted) error
	Record *Record
	Run    string // the run the record's entries name
	// GitHost is the host whose git URLs the tokens are credentials for.
	GitHost string
	Key     string    // what callers must present
	Until   time.Time // the broker exits then
	// Dir is the broker's folder: when it is gone (the runner emptied its
	// temp folder at the end of the job), the broker exits.
	Dir string
	// WatchEvery is how often it checks Dir (default 30s).
	WatchEvery time.Duration
	Now        func() time.Time
	Log        func(format string, args ...any)
}

// Broker serves the current tokens and refreshes them.
type Broker struct {
	cfg Config

	mu      sync.Mutex
	cur     *provider.Token
	got     time.Time          // when cur came: its life is ExpiresAt - got
	first   []provider.Account // what every successor must cover, exactly
	stop    context.CancelFunc
	asked   bool // a caller asked it to stop
	stopped chan struct{}
}

// New returns a broker whose current token is first (the main stage's,
// already recorded).
func New(cfg Config, first *provider.Token) *Broker {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	return &Broker{cfg: cfg, cur: first, got: cfg.Now(), first: first.Accounts, stopped: make(chan struct{})}
}

// superseded is a token replaced by its successor, revoked after the grace.
type superseded struct {
	m  Minted
	at time.Time
	// what names it in the log: an account's token has no ID of its own
	// here (providers derive them), so it is named by its account.
	what string
}

// Run serves ln and refreshes until ctx ends, Until passes, a caller asks
// it to stop, or its folder is gone. Superseded tokens still waiting for
// their grace are revoked before it returns; the current one is the post
// stage's to revoke (from the record).
func (b *Broker) Run(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithDeadline(ctx, b.cfg.Until)
	defer cancel()
	b.mu.Lock()
	b.stop = cancel
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		_ = ln.Close()
	}()
	go b.accept(ctx, ln)

	var old []superseded
	next := b.refreshAt(b.current(), b.got)
	every := b.cfg.WatchEvery
	if every <= 0 {
		every = watchEvery
	}
	watch := time.NewTicker(every)
	defer watch.Stop()
	for {
		wait := next.Sub(b.cfg.Now())
		if len(old) > 0 {
			if w := old[0].at.Sub(b.cfg.Now()); w < wait {
				wait = w
			}
		}
		timer := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			reason := "it was stopped"
			switch {
			case errors.Is(ctx.Err(), context.DeadlineExceeded):
				reason = "refresh-until passed"
			case b.stopAsked():
				reason = "the post step stopped it"
			}
			b.cfg.Log("%s: stopped serving", reason)
			_ = ln.Close() // before Stopped says so
			b.markStopped(reason)
			b.revokeAll(old)
			close(b.stopped)
			return nil
		case <-watch.C:
			timer.Stop()
			if b.cfg.Dir != "" {
				if _, err := os.Stat(b.cfg.Dir); errors.Is(err, os.ErrNotExist) {
					b.cfg.Log("the job's folder is gone: the job ended; stopping")
					cancel()
				}
			}
			continue
		case <-timer.C:
		}
		now := b.cfg.Now()
		for len(old) > 0 && !old[0].at.After(now) {
			b.revokeAll(old[:1])
			old = old[1:]
		}
		if now.Before(next) {
			continue
		}
		prev := b.current()
		b.mu.Lock()
		prevGot := b.got
		b.mu.Unlock()
		tok, err := b.refresh(ctx)
		if err != nil {
			b.cfg.Log("failed to refresh: %s", err)
			next = now.Add(b.retryIn(prev))
			continue
		}
		now = b.cfg.Now()
		b.mu.Lock()
		b.cur, b.got = tok, now
		b.mu.Unlock()
		b.cfg.Log("refreshed: token %s replaces %s, expires %s", tok.ID, prev.ID, tok.ExpiresAt.UTC().Format(time.RFC3339))
		for _, a := range prev.Accounts {
			if !prev.Revocable {
				break // Entra's: each expires on its own
			}
			old = append(old, superseded{m: Minted{Run: b.cfg.Run, Token: a.Token, ID: a.Name, ExpiresAt: a.ExpiresAt}, at: now.Add(b.grace(prev, prevGot)), what: "account " + a.Name + "'s token"})
		}
		next = b.refreshAt(tok, now)
	}
}

// StoppedFile is the file in the broker's folder that says when and why it
// stopped, for the callers that find no broker.
const StoppedFile = "stopped"

func (b *Broker) markStopped(reason string) {
	if b.cfg.Dir == "" {
		return
	}
	_ = os.WriteFile(filepath.Join(b.cfg.Dir, StoppedFile), []byte(b.cfg.Now().UTC().Format(time.RFC3339)+": "+reason), 0o600)
}

func (b *Broker) stopAsked() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.asked
}

// current returns the current token.
func (b *Broker) current() *provider.Token {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cur
}

// life is how long tok lives from got, when it came: at least a second.
func life(tok *provider.Token, got time.Time) time.Duration {
	return max(tok.ExpiresAt.Sub(got), time.Second)
}

func (b *Broker) refreshAt(tok *provider.Token, got time.Time) time.Time {
	if b.cfg.Mint == nil {
		return b.cfg.Until // serves without refreshing (git-credentials alone)
	}
	return tok.ExpiresAt.Add(-min(refreshLead, life(tok, got)/3))
}

func (b *Broker) grace(tok *provider.Token, got time.Time) time.Duration {
	return min(graceMax, life(tok, got)/4)
}

func (b *Broker) retryIn(tok *provider.Token) time.Duration {
	return max(min(retryMax, tok.ExpiresAt.Sub(b.cfg.Now())/4), time.Second)
}

// refresh mints a successor, records it before anyone gets it, and checks
// that it covers exactly what the first token covered.
func (b *Broker) refresh(ctx context.Context) (*provider.Token, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	// A stop must not cut a mint short: GitHub may have minted a token
	// whose answer would then be lost, and so never recorded or revoked.
	// The mint runs to its end (bounded), and is recorded like any other.
	mctx, cancel := provider.CleanupContext(ctx)
	defer cancel()
	tok, err := b.cfg.Mint(mctx)
	if tok == nil {
		if err == nil {
			err = errors.New("the provider answered without a token")
		}
		return nil, err
	}
	if !tok.Revocable {
		// Nothing can revoke it (an Entra token): nothing to record.
	} else if rerr := b.cfg.Record.Append(Minted{Run: b.cfg.Run, Token: tok.Value, ID: tok.ID, ExpiresAt: tok.ExpiresAt, State: tok.State}); rerr != nil {
		// Unrecorded, the post stage would not know it: revoke it now.
		b.revokeToken(tok)
		return nil, rerr
	}
	if err == nil && !sameCoverage(b.first, tok.Accounts) {
		err = errors.New("the successor covers other accounts or repositories than the first token")
	}
	if err != nil {
		b.revokeToken(tok)
		return nil, err
	}
	return tok, nil
}

func (b *Broker) revokeToken(tok *provider.Token) {
	if !tok.Revocable {
		return
	}
	b.revokeAll([]superseded{{m: Minted{Run: b.cfg.Run, Token: tok.Value, ID: tok.ID, ExpiresAt: tok.ExpiresAt, State: tok.State}, what: "token " + tok.ID}})
}

func (b *Broker) revokeAll(list []superseded) {
	for _, s := range list {
		ctx, cancel := provider.CleanupContext(context.Background())
		err := b.cfg.Revoke(ctx, s.m)
		cancel()
		switch {
		case err == nil, errors.Is(err, provider.ErrAlreadyRevoked):
			b.cfg.Log("revoked superseded %s", s.what)
		default:
			b.cfg.Log("failed to revoke superseded %s: %s; the post stage tries again", s.what, err)
		}
	}
}

// sameCoverage reports whether two tokens cover the same accounts and
// repositories.
func sameCoverage(a, b []provider.Account) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i].Name, b[i].Name) || !slices.EqualFunc(a[i].Repositories, b[i].Repositories, strings.EqualFold) {
			return false
		}
	}
	return true
}

func (b *Broker) accept(ctx context.Context, ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			b.cfg.Log("failed to accept: %s", err)
			return
		}
		go b.serve(c)
	}
}

// serve answers one caller.
func (b *Broker) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(connTimeout))
	line, err := ReadLine(bufio.NewReaderSize(c, 4096))
	if err != nil {
		_ = writeLine(c, Response{Error: "failed to read the request"})
		return
	}
	req, err := ParseRequest(line)
	if err != nil {
		_ = writeLine(c, Response{Error: err.Error()})
		return
	}
	_ = writeLine(c, b.Answer(req))
}

// Answer answers req.
func (b *Broker) Answer(req Request) Response {
	if subtle.ConstantTimeCompare([]byte(req.Key), []byte(b.cfg.Key)) != 1 {
		return Response{Error: "wrong broker key: JOBTOKEN_BROKER_KEY is not this job's"}
	}
	tok := b.current()
	switch req.Op {
	case OpStatus:
		return Response{Until: b.cfg.Until, ExpiresAt: tok.ExpiresAt, PID: os.Getpid()}
	case OpStop:
		b.mu.Lock()
		stop := b.stop
		b.asked = true
		b.mu.Unlock()
		if stop != nil {
			stop()
			// Answer once Run has returned: a refresh under way is then
			// recorded (or revoked) before the post stage reads the record.
			select {
			case <-b.stopped:
			case <-time.After(stopWait):
			}
		}
		return Response{Until: b.cfg.Now()}
	case OpToken:
		a, ok := account(tok, req.Owner)
		if !ok {
			return Response{Error: fmt.Sprintf("no token for account %q; this job's accounts: %s", truncate(req.Owner), names(tok))}
		}
		return b.answer(a)
	case OpGit:
		a, ok := b.gitAccount(tok, req)
		if !ok {
			return Response{}
		}
		return b.answer(a)
	}
	return Response{Error: "unknown operation"}
}

func (b *Broker) answer(a provider.Account) Response {
	if !b.cfg.Now().Before(a.ExpiresAt) {
		return Response{Error: fmt.Sprintf("the token of %s expired at %s and refreshing it failed (see the broker's log in the post step)", a.Name, a.ExpiresAt.UTC().Format(time.RFC3339))}
	}
	return Response{Owner: a.Name, Token: a.Token, ExpiresAt: a.ExpiresAt}
}

func account(tok *provider.Token, owner string) (provider.Account, bool) {
	for _, a := range tok.Accounts {
		if owner == "" || strings.EqualFold(a.Name, owner) {
			return a, true
		}
	}
	return provider.Account{}, false
}

func names(tok *provider.Token) string {
	var n []string
	for _, a := range tok.Accounts {
		n = append(n, a.Name)
	}
	return strings.Join(n, ", ")
}

// gitAccount finds the account whose token is git's credential for the URL
// req describes: the git host, over https (or http on this machine), and a
// path OWNER/REPO[.git][/…] naming a repository the token covers.
func (b *Broker) gitAccount(tok *provider.Token, req Request) (provider.Account, bool) {
	if b.cfg.GitHost == "" || !strings.EqualFold(req.Host, b.cfg.GitHost) {
		return provider.Account{}, false
	}
	switch req.Protocol {
	case "https":
	case "http":
		if !Loopback(req.Host) {
			return provider.Account{}, false
		}
	default:
		return provider.Account{}, false
	}
	parts := strings.SplitN(strings.TrimPrefix(req.Path, "/"), "/", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return provider.Account{}, false
	}
	owner, repo := parts[0], strings.TrimSuffix(parts[1], ".git")
	a, ok := account(tok, owner)
	if !ok || owner == "" {
		return provider.Account{}, false
	}
	if len(a.Repositories) > 0 && !slices.ContainsFunc(a.Repositories, func(r string) bool { return strings.EqualFold(r, repo) }) {
		return provider.Account{}, false
	}
	return a, true
}

// Loopback reports whether host (with an optional port) is this machine.
func Loopback(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Stopped is closed when Run has returned.
func (b *Broker) Stopped() <-chan struct{} { return b.stopped }
