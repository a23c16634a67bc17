// Package serve is `jobtoken serve`, the federation service: a CI job
// presents its OIDC token and names a trust policy; the service verifies
// the token, evaluates the policy read from the organization's policy
// repository, mints a GitHub App installation token no broader than the
// policy's ceiling and the job's ask, and audits the decision. Jobs hold
// no secret; the App's key never leaves the service.
package serve

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/oidcverify"
	"github.com/jobtoken/jobtoken/pkg/policy"
	"github.com/jobtoken/jobtoken/pkg/provider/api"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/retry"
)

// Limits of the API.
const (
	MaxBody     = 64 << 10
	MaxInFlight = 64
	userAgent   = api.UserAgent
)

// Retry is the policy of the service's own GitHub calls: a job waits for
// the answer, so the budget is far shorter than a step's.
var Retry = retry.Policy{Attempts: 3, Base: 250 * time.Millisecond, Max: 2 * time.Second, Deadline: 20 * time.Second, AttemptTimeout: 10 * time.Second}

// Options are what a Server takes from outside its config.
type Options struct {
	// HTTP is the client for GitHub and the issuers' keys (default: the
	// one network client with Retry).
	HTTP *http.Client
	// Signer is the App's key (default: read from private_key_file).
	Signer crypto.Signer
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Audit receives one JSON line per token request (stdout).
	Audit io.Writer
	// Log receives what operators should know (stderr).
	Log io.Writer
	// Getenv reads proxy and CA settings for the default client, and the
	// cloud settings a signing_key uses (AWS_REGION, endpoints, …).
	Getenv func(string) string
	// Redact is told of the cloud credentials a signing_key's identity
	// yields, so that no output prints them.
	Redact func(values ...string)
}

// Server is the service. Make one with New.
type Server struct {
	set      *Settings
	app      *ghapp.App
	hc       *http.Client
	verifier *oidcverify.Verifier
	sources  []*source
	now      func() time.Time
	sem      chan struct{}

	outMu sync.Mutex
	audit io.Writer
	log   io.Writer

	instMu   sync.Mutex
	installs map[string]installEntry
	wg       sync.WaitGroup
}

type installEntry struct {
	id int64
	at time.Time
}

// New builds a server from checked settings.
func New(set *Settings, o Options) (*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Audit == nil {
		o.Audit = io.Discard
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	if o.HTTP == nil {
		settings, ca := network.Capture(o.Getenv)
		o.HTTP = network.Client(network.Base(network.Options{Settings: settings, CA: ca}), Retry, nil)
	}
	if o.Redact == nil {
		o.Redact = func(...string) {}
	}
	switch {
	case o.Signer != nil:
	case set.SigningKey != nil:
		signer, who, err := openSigningKey(context.Background(), *set.SigningKey, o.HTTP, o.Getenv, o.Now, o.Redact)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(o.Log, "jobtoken serve: signing the App's JWTs with %s (public key %s) as %s\n", set.SigningKey, signer.Fingerprint(), who)
		o.Signer = signer
	default:
		k, err := readKey(set.KeyFile)
		if err != nil {
			return nil, err
		}
		o.Signer = k
	}
	app := ghapp.NewApp(set.APIURL, o.HTTP, set.AppIssuer, o.Signer)
	app.Now = o.Now
	var issuers []oidcverify.Issuer
	for _, is := range set.Issuers {
		issuers = append(issuers, oidcverify.Issuer{URL: is.URL, JWKSURL: is.JWKSURL})
	}
	s := &Server{
		set: set, app: app, hc: o.HTTP, now: o.Now, audit: o.Audit, log: o.Log,
		verifier: oidcverify.New(set.Audience, issuers, o.HTTP, o.Now),
		sem:      make(chan struct{}, MaxInFlight), installs: map[string]installEntry{},
	}
	for _, src := range set.Sources {
		s.sources = append(s.sources, &source{Source: src})
	}
	return s, nil
}

// Handler is the service's HTTP API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/token", s.token)
	mux.HandleFunc("GET /.well-known/jobtoken", s.wellKnown)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, apiError{Code: "not_found", Message: "no such endpoint; the API is POST /v1/token"})
	})
	return mux
}

// Discovery is GET /.well-known/jobtoken, as the federation minter reads it.
type Discovery = ghapp.FederationDiscovery

func (s *Server) wellKnown(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, Discovery{Audience: s.set.Audience, Providers: policy.Providers})
}

// readyz is ready when the config loaded (it did: the server exists), the
// issuers' keys can be read and at least one policy source reads.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	checks := map[string]string{"config": "ok"}
	ready := true
	if err := s.verifier.Ready(ctx); err != nil {
		checks["issuer_keys"], ready = summarize(err), false
	} else {
		checks["issuer_keys"] = "ok"
	}
	loaded := 0
	for _, src := range s.sources {
		snap, stale, err := s.snapshot(ctx, src)
		switch {
		case err != nil:
			checks["policy_source "+src.URL] = summarize(err)
		case stale:
			checks["policy_source "+src.URL] = "stale copy of commit " + short(snap.commit)
			loaded++
		default:
			checks["policy_source "+src.URL] = fmt.Sprintf("ok: commit %s, %d policies, %d broken", short(snap.commit), len(snap.policies), len(snap.broken))
			loaded++
		}
	}
	if loaded == 0 {
		ready = false
	}
	out := map[string]any{"status": "ready", "checks": checks}
	var warnings []string
	for _, is := range s.set.Issuers {
		if is.JWKSURL != "" {
			warnings = append(warnings, fmt.Sprintf("issuer %s reads its keys from jwks_url %s, an override meant for tests", is.URL, is.JWKSURL))
		}
	}
	if warnings != nil {
		out["warnings"] = warnings
	}
	code := http.StatusOK
	if !ready {
		out["status"], code = "not ready", http.StatusServiceUnavailable
	}
	writeJSON(w, code, out)
}

// TokenRequest is the body of POST /v1/token.
type TokenRequest struct {
	Policy       string      `json:"policy"`
	Provider     string      `json:"provider"`
	Owner        string      `json:"owner"`
	Repositories []string    `json:"repositories"`
	Permissions  Permissions `json:"permissions"`
	Lifetime     string      `json:"lifetime"`
}

// Permissions is {"contents": "write"}, as the API documents it; the
// step's own spellings ("contents:write, issues:read" or a list of
// name:level) are accepted too.
type Permissions map[string]string

// UnmarshalJSON reads an object, a "name:level, …" string or a list.
func (p *Permissions) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err == nil {
		*p = m
		return nil
	}
	var list []string
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		list = strings.FieldsFunc(one, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
	} else if err := json.Unmarshal(b, &list); err != nil {
		return errors.New(`permissions must be an object such as {"contents": "read"}`)
	}
	out := Permissions{}
	for _, it := range list {
		name, level, ok := strings.Cut(it, ":")
		if !ok {
			return fmt.Errorf("permission %q is not name:level", it)
		}
		out[strings.TrimSpace(name)] = strings.TrimSpace(level)
	}
	*p = out
	return nil
}

// TokenResponse is a 200 answer, as the federation minter reads it.
type TokenResponse = ghapp.FederationAnswer

// apiError is the body's error: code and message always, the rest when
// they say something.
type apiError struct {
	Code         string           `json:"code"`
	Message      string           `json:"message"`
	Policy       string           `json:"policy,omitempty"`
	FailedClaims []policy.Failure `json:"failed_claims,omitempty"`
	AboveCeiling []string         `json:"above_ceiling,omitempty"`
	status       int
}

// ErrorBody is every error answer: {"error": {...}}.
type ErrorBody struct {
	Error struct {
		Code         string           `json:"code"`
		Message      string           `json:"message"`
		Policy       string           `json:"policy,omitempty"`
		FailedClaims []policy.Failure `json:"failed_claims,omitempty"`
		AboveCeiling []string         `json:"above_ceiling,omitempty"`
	} `json:"error"`
}

func fail(status int, code, format string, a ...any) *apiError {
	return &apiError{status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

// ParseRequest reads and checks a token request's body offline.
func ParseRequest(body []byte) (*TokenRequest, *apiError) {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	var req TokenRequest
	if err := dec.Decode(&req); err != nil {
		return nil, fail(http.StatusBadRequest, "bad_request", "the body is not the request JSON {policy, provider, owner, repositories, permissions, lifetime}: %s", jsonError(err))
	}
	if dec.More() {
		return nil, fail(http.StatusBadRequest, "bad_request", "the body holds more than one JSON value")
	}
	if req.Policy == "" {
		return nil, fail(http.StatusBadRequest, "bad_request", "policy is required: the name of the trust policy to apply")
	}
	if len(req.Policy) > 64 || strings.ContainsAny(req.Policy, "/\\ \t\r\n") {
		return nil, fail(http.StatusBadRequest, "bad_request", "policy is not a policy name")
	}
	perms := map[string]string{}
	for k, v := range req.Permissions {
		perms[strings.ReplaceAll(strings.ToLower(k), "-", "_")] = strings.ToLower(v)
	}
	req.Permissions = perms
	for i, r := range req.Repositories {
		if owner, name, ok := strings.Cut(r, "/"); ok {
			if !strings.EqualFold(owner, req.Owner) {
				return nil, fail(http.StatusBadRequest, "bad_request", "repository %q is not owned by %s; one token covers one owner", r, req.Owner)
			}
			req.Repositories[i] = name
		}
	}
	pr := policy.Request{Provider: req.Provider, Owner: req.Owner, Repositories: req.Repositories, Permissions: req.Permissions}
	if err := pr.Validate(); err != nil {
		return nil, fail(http.StatusBadRequest, "bad_request", "%s", err)
	}
	req.Provider = pr.Provider
	if req.Lifetime != "" {
		d, err := time.ParseDuration(req.Lifetime)
		if err != nil || d <= 0 || d > time.Hour {
			return nil, fail(http.StatusBadRequest, "bad_request", "lifetime %q must be a duration up to 1h (GitHub fixes installation tokens at one hour)", req.Lifetime)
		}
	}
	return &req, nil
}

func jsonError(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.TrimPrefix(s, "json: ")
}

// token is POST /v1/token.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	rec := &auditRecord{Time: s.now().UTC(), Decision: "error"}
	defer func() { s.writeAudit(rec) }()
	reply := func(e *apiError) {
		rec.Status, rec.Code, rec.Message = e.status, e.Code, e.Message
		if e.Code == "denied" {
			rec.Decision = "deny"
			rec.FailedClaims, rec.AboveCeiling = e.FailedClaims, e.AboveCeiling
		}
		if e.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "5")
		}
		writeError(w, e.status, *e)
	}
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	default:
		reply(fail(http.StatusTooManyRequests, "rate_limited", "the service is answering %d requests; retry in a few seconds with a fresh OIDC token", MaxInFlight))
		return
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(raw) == "" {
		reply(fail(http.StatusUnauthorized, "missing_token", "send the job's OIDC token as Authorization: Bearer <token> (GitHub Actions: permissions: id-token: write)"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		reply(fail(http.StatusBadRequest, "bad_request", "the body is larger than %d KiB", MaxBody>>10))
		return
	}
	req, e := ParseRequest(body)
	if e != nil {
		reply(e)
		return
	}
	rec.Asked = &grantRecord{Owner: req.Owner, Repositories: req.Repositories, Permissions: req.Permissions}
	rec.Policy = req.Policy
	tok, err := s.verifier.Verify(r.Context(), strings.TrimSpace(raw))
	if err != nil {
		var ve *oidcverify.Error
		if errors.As(err, &ve) && ve.Code == oidcverify.CodeUnavailable {
			reply(fail(http.StatusBadGateway, ve.Code, "%s", ve.Message))
			return
		}
		code := oidcverify.CodeInvalid
		if errors.As(err, &ve) {
			code = ve.Code
		}
		reply(fail(http.StatusUnauthorized, code, "%s", err))
		return
	}
	rec.identity(tok)
	p, src, snap, e := s.findPolicy(r.Context(), req)
	if e != nil {
		reply(e)
		return
	}
	rec.PolicySource, rec.PolicyCommit = src.URL, snap.commit
	if repo, _ := tok.Claims["repository"].(string); strings.EqualFold(repo, src.Repository()) {
		reply(&apiError{status: http.StatusForbidden, Code: "denied", Policy: p.Name,
			Message: fmt.Sprintf("policy %s: a job of the policy repository %s cannot use its own policies", p.Name, src.Repository())})
		return
	}
	if failed := p.Match(tok.Issuer, tok.Claims); len(failed) > 0 {
		reply(&apiError{status: http.StatusForbidden, Code: "denied", Policy: p.Name, FailedClaims: failed,
			Message: fmt.Sprintf("policy %s does not trust this job: %s", p.Name, joinFailures(failed))})
		return
	}
	grant, above := p.Authorize(policy.Request{Provider: req.Provider, Owner: req.Owner, Repositories: req.Repositories, Permissions: req.Permissions})
	if len(above) > 0 {
		reply(&apiError{status: http.StatusForbidden, Code: "denied", Policy: p.Name, AboveCeiling: above,
			Message: fmt.Sprintf("policy %s does not allow this ask: %s", p.Name, strings.Join(above, "; "))})
		return
	}
	if repo := s.writesPolicyRepo(grant); repo != "" {
		reply(&apiError{status: http.StatusForbidden, Code: "denied", Policy: p.Name,
			Message: fmt.Sprintf("policy %s: write access to the policy repository %s is never granted", p.Name, repo)})
		return
	}
	// The mint finishes even if the caller leaves meanwhile: a token GitHub
	// made for a request cancelled halfway could not be found again; this
	// way it is revoked below.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 45*time.Second)
	defer cancel()
	out, e := s.mint(mctx, grant)
	if e != nil {
		reply(e)
		return
	}
	rec.Granted = &grantRecord{Owner: grant.Owner, Repositories: out.Repositories, Permissions: out.Permissions}
	rec.TokenSHA256, rec.TokenID = sha256Of(out.Token), out.TokenID
	if err := r.Context().Err(); err != nil {
		s.revoke(out.Token, "an answer the caller left before")
		rec.Code, rec.Message = "undelivered", "the caller left before the answer; the token was revoked"
		return
	}
	if err := writeJSON(w, http.StatusOK, out); err != nil {
		s.revoke(out.Token, "an answer that could not be delivered")
		rec.Code, rec.Message = "undelivered", "the answer could not be delivered; the token was revoked"
		return
	}
	rec.Decision, rec.Status = "allow", http.StatusOK
}

func joinFailures(fs []policy.Failure) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.String()
	}
	return strings.Join(parts, "; ")
}

// findPolicy finds req.Policy in the sources bound to req.Owner, in the
// config's order.
func (s *Server) findPolicy(ctx context.Context, req *TokenRequest) (*policy.Policy, *source, *snapshot, *apiError) {
	var bound []*source
	for _, src := range s.sources {
		if slices.ContainsFunc(src.Owners, func(o string) bool { return strings.EqualFold(o, req.Owner) }) {
			bound = append(bound, src)
		}
	}
	if len(bound) == 0 {
		return nil, nil, nil, &apiError{status: http.StatusForbidden, Code: "denied", Policy: req.Policy,
			Message: fmt.Sprintf("no policy source of this service is bound to owner %s", req.Owner)}
	}
	for _, src := range bound {
		snap, _, err := s.snapshot(ctx, src)
		if err != nil {
			return nil, nil, nil, s.upstream(fmt.Errorf("policy source %s: %w", src.URL, err), "policy_unavailable")
		}
		if err, ok := snap.broken[req.Policy]; ok {
			return nil, nil, nil, &apiError{status: http.StatusForbidden, Code: "denied", Policy: req.Policy,
				Message: fmt.Sprintf("policy %s in %s (commit %s) does not load, so it grants nothing: %s", req.Policy, src.URL, short(snap.commit), err)}
		}
		if p, ok := snap.policies[req.Policy]; ok {
			return p, src, snap, nil
		}
	}
	return nil, nil, nil, &apiError{status: http.StatusForbidden, Code: "denied", Policy: req.Policy,
		Message: fmt.Sprintf("no policy named %s in the policy sources bound to owner %s", req.Policy, req.Owner)}
}

// writesPolicyRepo names a policy source repository the grant could write
// to ("" when none): whoever writes policies decides every grant.
func (s *Server) writesPolicyRepo(g *policy.Grant) string {
	writes := false
	for _, level := range g.Permissions {
		if level != "read" {
			writes = true
		}
	}
	if !writes {
		return ""
	}
	for _, src := range s.sources {
		if !strings.EqualFold(src.Owner, g.Owner) {
			continue
		}
		for _, r := range g.Repositories {
			if r == "*" || strings.EqualFold(r, src.Repo) {
				return src.Repository()
			}
		}
	}
	return ""
}

// mint mints the grant with the service's App.
func (s *Server) mint(ctx context.Context, g *policy.Grant) (*TokenResponse, *apiError) {
	id, err := s.installationID(ctx, g.Owner, "")
	if err != nil {
		return nil, s.upstream(fmt.Errorf("failed to find the App's installation on %s: %w", g.Owner, err), "github_failed")
	}
	var repos []string
	if !slices.Contains(g.Repositories, "*") {
		repos = g.Repositories
	}
	at, err := s.app.Mint(ctx, id, repos, g.Permissions)
	if err != nil {
		if at != nil {
			s.revoke(at.Token, "a grant other than asked")
		}
		if st := apierror.StatusOf(err); st == http.StatusNotFound || st == http.StatusUnprocessableEntity {
			s.forgetInstallation(g.Owner, "")
		}
		return nil, s.upstream(fmt.Errorf("failed to mint: %w", err), "github_failed")
	}
	out := &TokenResponse{Token: at.Token, ExpiresAt: at.ExpiresAt, TokenID: ghapp.TokenID(at.Token), Permissions: at.Permissions, Repositories: []string{}}
	for _, r := range at.Repositories {
		out.Repositories = append(out.Repositories, r.Name)
	}
	if len(out.Repositories) == 0 && repos == nil {
		out.Repositories = []string{"*"}
	}
	return out, nil
}

// upstream turns a GitHub failure into 502, or 429 when GitHub limited
// the rate.
func (s *Server) upstream(err error, code string) *apiError {
	msg := summarize(err)
	if e, ok := apierror.As(err); ok && (e.Status == http.StatusTooManyRequests || (e.Status == http.StatusForbidden && strings.Contains(strings.ToLower(e.Message), "rate limit"))) {
		return fail(http.StatusTooManyRequests, "rate_limited", "%s", msg)
	}
	s.logf("%s", msg)
	return fail(http.StatusBadGateway, code, "%s", msg)
}

// installationID finds (and remembers for ten minutes) the App's
// installation on owner, or on owner/repo.
func (s *Server) installationID(ctx context.Context, owner, repo string) (int64, error) {
	key := strings.ToLower(owner + "/" + repo)
	s.instMu.Lock()
	e, ok := s.installs[key]
	s.instMu.Unlock()
	if ok && s.now().Sub(e.at) < 10*time.Minute {
		return e.id, nil
	}
	inst, err := s.app.LookupInstallation(ctx, owner, repo)
	if err != nil {
		return 0, err
	}
	s.instMu.Lock()
	s.installs[key] = installEntry{id: inst.ID, at: s.now()}
	s.instMu.Unlock()
	return inst.ID, nil
}

func (s *Server) forgetInstallation(owner, repo string) {
	s.instMu.Lock()
	delete(s.installs, strings.ToLower(owner+"/"+repo))
	s.instMu.Unlock()
}

// revoke revokes a token the service will not hand out, on a deadline of
// its own (the request's may be gone).
func (s *Server) revoke(token, why string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.app.Revoke(ctx, token); err != nil && !errors.Is(err, errAlreadyRevoked) {
		s.logf("failed to revoke the token %s minted for %s (it expires within the hour): %s", ghapp.TokenID(token), why, summarize(err))
	}
}

func sha256Of(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func summarize(err error) string { return apierror.Summarize(network.Summary(err), 400) }

func (s *Server) logf(format string, a ...any) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	fmt.Fprintf(s.log, "jobtoken serve: %s\n", fmt.Sprintf(format, a...))
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, err = w.Write(append(b, '\n'))
	if err == nil {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	return err
}

func writeError(w http.ResponseWriter, status int, e apiError) {
	var b ErrorBody
	b.Error.Code, b.Error.Message, b.Error.Policy = e.Code, e.Message, e.Policy
	b.Error.FailedClaims, b.Error.AboveCeiling = e.FailedClaims, e.AboveCeiling
	_ = writeJSON(w, status, b)
}

// Run serves until ctx ends, then drains: requests in flight finish
// (within 25 s), new connections are refused.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          nil,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.logf("draining: no new connections, requests in flight finish")
	dctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if err := srv.Shutdown(dctx); err != nil {
		return fmt.Errorf("failed to drain: %w", err)
	}
	return nil
}
