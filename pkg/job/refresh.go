package job

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/broker"
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// startProcess starts `jobtoken broker` (this executable) detached from the
// step: its own session or process group, stdio on nothing but the stdin
// pipe the handoff goes through, the step's environment without its
// credentials. The runner ends it with the job's other processes.
func startProcess(handoff []byte) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, "broker")
	cmd.Env = brokerEnv(os.Environ())
	cmd.SysProcAttr = detached()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	_, werr := stdin.Write(handoff)
	cerr := stdin.Close()
	if werr != nil || cerr != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("failed to hand the broker its inputs: %w", errors.Join(werr, cerr))
	}
	// Reap it if it exits while this stage still runs; the stage does not
	// wait for it.
	go func() { _ = cmd.Wait() }()
	return nil
}

// brokerInfo is what the post stage needs to stop the broker and revoke
// every token it minted; sealed with the rest of the state.
type brokerInfo struct {
	Dir    string `json:"dir"`
	Socket string `json:"socket"`
	Key    string `json:"key"`
	Record string `json:"record"`
	Log    string `json:"log"`
}

// Handoff is what the main stage hands the broker process over its stdin
// pipe (never argv, the environment or a file): the step's inputs,
// parent credential included, and what to serve.
type Handoff struct {
	Inputs       map[string]string `json:"inputs"`
	Destinations map[string]string `json:"destinations,omitempty"`
	Token        *servedToken      `json:"token"`
	Refresh      bool              `json:"refresh"`
	Until        time.Time         `json:"until"`
	GitHost      string            `json:"git_host,omitempty"`
	Run          string            `json:"run"`
	Broker       brokerInfo        `json:"broker"`
	// OIDC holds the host's variables that requesting a fresh OIDC token
	// needs (host.OIDCHandoff), for a federated minter: the broker's
	// environment has none of them.
	OIDC        map[string]string `json:"oidc,omitempty"`
	OIDCSecrets []string          `json:"oidc_secrets,omitempty"`
}

// servedToken is what the broker needs of a token.
type servedToken struct {
	Value     string             `json:"value"`
	ID        string             `json:"id"`
	ExpiresAt time.Time          `json:"expires_at"`
	State     json.RawMessage    `json:"state,omitempty"`
	Accounts  []provider.Account `json:"accounts"`
	// Unrevocable tokens (Entra's) are neither recorded nor revoked.
	Unrevocable bool `json:"unrevocable,omitempty"`
}

func (s *servedToken) token() *provider.Token {
	return &provider.Token{Value: s.Value, ID: s.ID, ExpiresAt: s.ExpiresAt, State: s.State, Accounts: s.Accounts, Revocable: !s.Unrevocable}
}

// maxSocketPath keeps the socket's path within sun_path (104 bytes on
// macOS, 108 on Linux).
const maxSocketPath = 100

// brokerWanted reports whether the step leaves a broker running.
func brokerWanted(c Common) bool { return c.Refresh || c.GitCredentials }

// BrokerInput is the input a problem with the broker names: refresh, or
// git-credentials alone.
func BrokerInput(c Common) inputs.Input {
	if !c.Refresh {
		return inputs.GitCredentials
	}
	return inputs.Refresh
}

// BrokerProblems finds, offline and wherever the step runs, what stops it
// from leaving a broker; plan shares them.
func BrokerProblems(c Common, prov provider.Provider, req provider.Request) inputs.Problems {
	var ps inputs.Problems
	if !brokerWanted(c) {
		return nil
	}
	n := req.Naming
	in := BrokerInput(c)
	r, ok := prov.(provider.Refresher)
	if !ok {
		ps.Add(in, "is not available for provider %s: only GitHub App tokens and Azure DevOps Entra tokens are refreshed and served; remove it", prov.Name())
		return ps
	}
	if why := r.NoRefresh(req); why != "" && c.Refresh {
		ps.Add(inputs.Refresh, "%s", why)
		return ps
	}
	if c.GitCredentials && r.GitHost(req) == "" {
		ps.Add(inputs.GitCredentials, "is not available for provider %s: jobtoken serves git only GitHub's repositories; remove it and pass the token from jobtoken token to git yourself", prov.Name())
	}
	if !c.Revoke {
		// A post step told not to revoke also leaves the broker running:
		// stopping it is part of revoking, for Entra tokens the only part.
		ps.Add(in, "needs %s: the post step stops the broker and revokes what it minted; remove %s", n.Setting(inputs.Revoke, "true"), n.Setting(inputs.Revoke, "false"))
	}
	return ps
}

// checkBroker finds, offline, what stops a step from leaving a broker on
// this host.
func (e *Runner) checkBroker(c Common, prov provider.Provider, req provider.Request) inputs.Problems {
	ps := BrokerProblems(c, prov, req)
	if len(ps) > 0 {
		return ps
	}
	in := BrokerInput(c)
	bg, ok := e.Host.(host.Background)
	if !ok {
		ps.Add(in, "works in a GitHub Actions or Azure Pipelines step, where a broker can serve the job's later steps; by hand, run jobtoken mint again")
		return ps
	}
	if _, err := bg.BackgroundDir(); err != nil {
		ps.Add(in, "%s", err)
	}
	return ps
}

// startBroker leaves a broker serving tok (published and saved already)
// for the rest of the job, and tells later steps where it is.
func (e *Runner) startBroker(ctx context.Context, p *Prepared, tok *provider.Token) error {
	h := e.Host
	bg := h.(host.Background) // checked by Prepare
	base, err := bg.BackgroundDir()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(base, "jobtoken-")
	if err != nil {
		return fmt.Errorf("failed to make the broker's folder: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("failed to make the broker's folder: %w", err)
	}
	key, err := randomKey()
	if err != nil {
		return err
	}
	e.Mask(key)
	info := brokerInfo{Dir: dir, Socket: filepath.Join(dir, "s"), Key: key, Record: filepath.Join(dir, "record"), Log: filepath.Join(dir, "log")}
	if len(info.Socket) > maxSocketPath {
		return fmt.Errorf("failed to start the broker: its socket path %s is longer than %d bytes (the temporary folder's path is too long)", info.Socket, maxSocketPath)
	}
	run := h.Run().Label()
	rec := &broker.Record{Path: info.Record, Key: stateKey(e.Providers.Catalog(), p.Request.Inputs)}
	if tok.Revocable {
		if err := rec.Append(broker.Minted{Run: run, Token: tok.Value, ID: tok.ID, ExpiresAt: tok.ExpiresAt, State: tok.State}); err != nil {
			return err
		}
	}
	// The post stage must know the broker before it exists.
	e.broker = &info
	saved := savedFrom(p, tok)
	if err := e.saveState(p, saved); err != nil {
		return fmt.Errorf("failed to save state: %w", err)
	}

	until := e.now().Add(p.Common.RefreshUntil)
	if !p.Common.Refresh && tok.ExpiresAt.Before(until) {
		until = tok.ExpiresAt
	}
	raw := map[string]string{}
	for _, in := range e.Providers.Catalog().Inputs() {
		if v, ok := p.Request.Inputs.Raw(in.Key); ok {
			raw[in.Key] = v
		}
	}
	gitHost := p.Provider.(provider.Refresher).GitHost(p.Request)
	served := &servedToken{Value: tok.Value, ID: tok.ID, ExpiresAt: tok.ExpiresAt, State: tok.State, Accounts: tok.Accounts, Unrevocable: !tok.Revocable}
	hand := Handoff{Inputs: raw, Destinations: p.Destinations, Token: served, Refresh: p.Common.Refresh, Until: until, GitHost: gitHost, Run: run, Broker: info}
	if f, ok := p.Minter.(provider.Federated); ok && p.Common.Refresh {
		if conn, uses := f.OIDCConnection(); uses {
			if oh, ok := h.(host.OIDCHandoff); ok {
				hand.OIDC, hand.OIDCSecrets = oh.OIDCVariables(conn)
			}
		}
	}
	b, err := json.Marshal(hand)
	if err != nil {
		return fmt.Errorf("failed to start the broker: %w", err)
	}
	start := e.StartBroker
	if start == nil {
		start = startProcess
	}
	if err := start(b); err != nil {
		return fmt.Errorf("failed to start the broker: %w", err)
	}
	if err := waitForBroker(ctx, info); err != nil {
		return err
	}

	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("failed to find jobtoken's own path: %w", err)
	}
	if err := bg.AddPath(filepath.Dir(exe)); err != nil {
		return fmt.Errorf("failed to put jobtoken on PATH: %w", err)
	}
	env := map[string]string{broker.EnvSocket: info.Socket}
	if p.Common.GitCredentials {
		scheme := "https"
		if broker.Loopback(gitHost) {
			scheme = "http"
		}
		n, _ := strconv.Atoi(h.Getenv("GIT_CONFIG_COUNT"))
		for k, v := range broker.GitConfig(max(n, 0), scheme+"://"+gitHost, broker.HelperCommand(exe)) {
			env[k] = v
		}
	}
	keys := slices.Sorted(maps.Keys(env))
	for _, k := range keys {
		if err := h.ExportEnv(k, env[k], false); err != nil {
			return fmt.Errorf("failed to export %s: %w", k, err)
		}
	}
	if err := h.ExportEnv(broker.EnvKey, key, true); err != nil {
		return fmt.Errorf("failed to export %s: %w", broker.EnvKey, err)
	}
	what := "serves"
	if p.Common.Refresh {
		what = "refreshes and serves"
	}
	h.Infof("a broker %s the tokens until %s: later steps run jobtoken token%s", what, until.UTC().Format(time.RFC3339), map[bool]string{true: " and git (git-credentials)", false: ""}[p.Common.GitCredentials])
	return nil
}

func randomKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("failed to make the broker's key: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// waitForBroker waits until the broker answers, within a bound.
func waitForBroker(ctx context.Context, info brokerInfo) error {
	deadline := time.Now().Add(15 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(wait*2, 200*time.Millisecond) {
		if _, err := broker.Ask(info.Socket, broker.Request{Key: info.Key, Op: broker.OpStatus}); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("failed to start the broker: it did not answer within 15s (its log: %s)", info.Log)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// brokerEnv is the broker's environment: the step's, without what holds
// a credential (inputs, service connections, state, the runner's tokens).
func brokerEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		up := strings.ToUpper(k)
		switch {
		case strings.HasPrefix(up, "INPUT_"), strings.HasPrefix(up, "STATE_"), strings.HasPrefix(up, "ENDPOINT_"),
			strings.HasPrefix(up, "SECRET_"), strings.HasPrefix(up, "VSTS_TASKVARIABLE_"),
			up == "ACTIONS_ID_TOKEN_REQUEST_TOKEN", up == "ACTIONS_RUNTIME_TOKEN", up == "SYSTEM_ACCESSTOKEN", up == broker.EnvKey:
			continue
		}
		out = append(out, kv)
	}
	return out
}

// ReadHandoff reads what the main stage hands the broker, bounded.
func ReadHandoff(r io.Reader) (Handoff, error) {
	var h Handoff
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return h, fmt.Errorf("failed to read the handoff: %w", err)
	}
	if err := json.Unmarshal(b, &h); err != nil || h.Token == nil || h.Broker.Socket == "" {
		return h, errors.New("failed to read the handoff: jobtoken broker is started by the main stage of a step with refresh: true, not by hand")
	}
	return h, nil
}

// brokerHost is the broker's host: the CI host's inputs, run and
// environment, with the inputs from the handoff; it publishes nothing, and
// logs plain lines to the broker's log (redacted), which the post stage
// prints.
type brokerHost struct {
	host.Host
	in  inputs.Values
	log io.Writer
	dir string
}

func (h *brokerHost) Inputs() inputs.Values { return h.in }

// BackgroundDir implements host.Background: the broker is the process
// left behind.
func (h *brokerHost) BackgroundDir() (string, error) { return h.dir, nil }

// AddPath implements host.Background.
func (*brokerHost) AddPath(string) error { return errPublish }

// Mask only registers the value with the redacting writers (Runner.Mask):
// the log is no CI system that reads mask commands.
func (*brokerHost) Mask(string) {}

var errPublish = errors.New("the broker publishes nothing")

// withIdentities gives bh the ways to a workload identity that base has
// (the job's OIDC token, service connections), and only those: a minter
// tells the hosts apart by them.
func withIdentities(bh *brokerHost, base host.Host) host.Host {
	o, isO := base.(host.OIDCHost)
	c, isC := base.(host.ServiceConnectionHost)
	switch {
	case isO && isC:
		return struct {
			*brokerHost
			host.OIDCHost
			host.ServiceConnectionHost
		}{bh, o, c}
	case isO:
		return struct {
			*brokerHost
			host.OIDCHost
		}{bh, o}
	case isC:
		return struct {
			*brokerHost
			host.ServiceConnectionHost
		}{bh, c}
	}
	return bh
}

func (*brokerHost) SetOutput(string, string, bool) error { return errPublish }
func (*brokerHost) ExportEnv(string, string, bool) error { return errPublish }
func (*brokerHost) SaveState(string, string) error       { return errPublish }
func (*brokerHost) Summary(string) error                 { return errPublish }
func (h *brokerHost) line(level, f string, a ...any) {
	fmt.Fprintf(h.log, "%s %s: %s\n", time.Now().UTC().Format(time.RFC3339), level, strings.ReplaceAll(fmt.Sprintf(f, a...), "\n", " "))
}
func (h *brokerHost) Debugf(f string, a ...any)   {}
func (h *brokerHost) Infof(f string, a ...any)    { h.line("info", f, a...) }
func (h *brokerHost) Noticef(f string, a ...any)  { h.line("notice", f, a...) }
func (h *brokerHost) Warningf(f string, a ...any) { h.line("warning", f, a...) }
func (h *brokerHost) Errorf(f string, a ...any)   { h.line("error", f, a...) }

// RunBroker is the broker process (jobtoken broker): it reads the handoff
// from stdin, then serves and refreshes until refresh-until, the post
// stage's stop, or the end of the job. ciHost builds the CI host from the
// inherited environment with the handoff's OIDC variables over it, writing
// to out.
func RunBroker(ctx context.Context, e *Runner, stdin io.Reader, ciHost func(out *secret.Writer, env map[string]string) host.Host) error {
	hand, err := ReadHandoff(stdin)
	if err != nil {
		return err
	}
	info := hand.Broker
	f, err := os.OpenFile(info.Log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("failed to open the broker's log: %w", err)
	}
	defer f.Close()
	logw := secret.NewWriter(f, e.secrets())
	defer logw.Flush()
	base := ciHost(logw, hand.OIDC)
	if base == nil {
		return errors.New("jobtoken broker runs in a GitHub Actions or Azure Pipelines job")
	}
	v := e.Providers.Catalog().Read(func(in inputs.Input) (string, bool) {
		x, ok := hand.Inputs[in.Key]
		return x, ok
	})
	bh := &brokerHost{Host: base, in: v, log: logw, dir: info.Dir}
	e.Host = withIdentities(bh, base)
	e.Mask(hand.OIDCSecrets...)
	e.maskSecretInputs(v)
	e.Mask(info.Key)
	first := hand.Token.token()
	maskToken(e, first)
	prov, ok := e.Providers.Lookup(strings.ToLower(v.Get(inputs.Provider)))
	if !ok {
		return errors.New("failed to start the broker: unknown provider")
	}
	rec := &broker.Record{Path: info.Record, Key: stateKey(e.Providers.Catalog(), v)}
	cfg := broker.Config{
		Record: rec, Run: hand.Run, GitHost: hand.GitHost, Key: info.Key, Until: hand.Until, Dir: info.Dir, Now: e.now,
		Log: bh.Infof,
		Mint: func(ctx context.Context) (*provider.Token, error) {
			p, ps := e.Prepare()
			if len(ps) > 0 {
				return nil, ps
			}
			tok, err := p.Minter.Mint(ctx)
			maskToken(e, tok)
			return tok, err
		},
		Revoke: func(ctx context.Context, m broker.Minted) error {
			saved := provider.Saved{Provider: prov.Name(), Token: m.Token, ID: m.ID, ExpiresAt: m.ExpiresAt, Revoke: true, Revocable: true, Destinations: hand.Destinations, State: m.State, Authenticated: true}
			return prov.Revoke(ctx, e.Request(v), saved)
		},
	}
	if !hand.Refresh {
		cfg.Mint = nil
	}
	_ = os.Remove(info.Socket)
	ln, err := net.Listen("unix", info.Socket)
	if err != nil {
		bh.Errorf("failed to listen on %s: %s", info.Socket, err)
		return fmt.Errorf("failed to listen: %w", err)
	}
	_ = os.Chmod(info.Socket, 0o600)
	bh.Infof("serving %s until %s", hand.Token.ID, hand.Until.UTC().Format(time.RFC3339))
	err = broker.New(cfg, first).Run(ctx, ln)
	bh.Infof("stopped")
	return err
}

func maskToken(e *Runner, tok *provider.Token) {
	if tok == nil {
		return
	}
	e.Mask(append([]string{tok.Value}, tok.Secrets...)...)
	for _, a := range tok.Accounts {
		e.Mask(a.Token)
	}
}

// postBroker stops the broker, revokes every token its record holds (but
// the main stage's, which Post revokes), prints its log, and removes its
// folder. The record is read whatever the broker says: it may have crashed
// or been killed.
func (e *Runner) postBroker(ctx context.Context, prov provider.Provider, req provider.Request, main provider.Saved, st sealed) {
	h := e.Host
	info := *st.Broker
	e.Mask(info.Key)
	if _, err := broker.Ask(info.Socket, broker.Request{Key: info.Key, Op: broker.OpStop}); err != nil {
		h.Infof("The broker was not running (%s); revoking what its record holds", firstLine(err.Error()))
	}
	rec := &broker.Record{Path: info.Record, Key: stateKey(e.Providers.Catalog(), h.Inputs())}
	tokens, ignored, err := rec.Read(st.Run)
	if err != nil {
		h.Warningf("%s", err)
	}
	if ignored > 0 {
		h.Noticef("Ignored %d line(s) of the broker's record that this step's main stage did not seal", ignored)
	}
	for _, m := range tokens {
		e.Mask(m.Token)
	}
	e.printBrokerLog(info.Log)
	revoked, gone := 0, 0
	for _, m := range tokens {
		if m.Token == main.Token {
			continue
		}
		s := main
		s.Token, s.ID, s.ExpiresAt, s.State = m.Token, m.ID, m.ExpiresAt, m.State
		switch err := prov.Revoke(ctx, req, s); {
		case err == nil:
			revoked++
		case errors.Is(err, provider.ErrAlreadyRevoked):
			gone++
		default:
			h.Warningf("Failed to revoke token %s the broker minted: %s; it stays valid until %s", m.ID, err, m.ExpiresAt.UTC().Format(time.RFC3339))
		}
	}
	if len(tokens) > 1 {
		// One record line per refresh, whose tokens (one per account) are
		// revoked together.
		h.Infof("Revoked the tokens of %d refresh(es) by the broker; those of %d were already revoked or expired", revoked, gone)
	}
	if err := os.RemoveAll(info.Dir); err != nil {
		h.Debugf("failed to remove the broker's folder: %s", err)
	}
}

// brokerFolder checks the broker named by state that cannot be
// authenticated (the step has no parent-credential input: Entra through
// workload identity, signing-key, federation-url): its folder is used only
// when it is one a broker would have, directly in the host's background
// folder and named as startBroker names it, and its files are that
// folder's, whatever the state says.
func (e *Runner) brokerFolder(info brokerInfo) (brokerInfo, bool) {
	h := e.Host
	bg, ok := h.(host.Background)
	if !ok {
		return info, false
	}
	base, err := bg.BackgroundDir()
	dir := filepath.Clean(info.Dir)
	if err != nil || filepath.Dir(dir) != filepath.Clean(base) || !strings.HasPrefix(filepath.Base(dir), "jobtoken-") {
		h.Noticef("Skipping the broker: the state names a folder outside the runner's temporary folder")
		return info, false
	}
	return brokerInfo{Dir: dir, Socket: filepath.Join(dir, "s"), Key: info.Key, Record: filepath.Join(dir, "record"), Log: filepath.Join(dir, "log")}, true
}

// stopBroker stops a broker whose tokens cannot be revoked (Entra's), prints
// its log and removes its folder (brokerFolder: such a step's state cannot
// be authenticated).
func (e *Runner) stopBroker(info brokerInfo) {
	h := e.Host
	info, ok := e.brokerFolder(info)
	if !ok {
		return
	}
	dir := info.Dir
	e.Mask(info.Key)
	if _, err := broker.Ask(info.Socket, broker.Request{Key: info.Key, Op: broker.OpStop}); err != nil {
		h.Infof("The broker was not running (%s)", firstLine(err.Error()))
	}
	e.printBrokerLog(info.Log)
	h.Noticef("The tokens the broker obtained cannot be revoked either: Microsoft Entra tokens expire on their own, within about an hour of the last refresh")
	if err := os.RemoveAll(dir); err != nil {
		h.Debugf("failed to remove the broker's folder: %s", err)
	}
}

// printBrokerLog shows the broker's log (redacted when written, and again
// here) in the post step, its last lines when long.
func (e *Runner) printBrokerLog(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	// Its end only: a later step can write to the file.
	const tail = 64 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > tail {
		_, _ = f.Seek(fi.Size()-tail, io.SeekStart)
	}
	b, err := io.ReadAll(io.LimitReader(f, tail))
	if err != nil || len(b) == 0 {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	const keep = 40
	if len(lines) > keep {
		e.Host.Infof("broker log: %d earlier line(s) left out", len(lines)-keep)
		lines = lines[len(lines)-keep:]
	}
	for _, l := range lines {
		e.Host.Infof("broker log: %s", e.secrets().Redact(l))
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
