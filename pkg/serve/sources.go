package serve

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/jobtoken/jobtoken/pkg/policy"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
)

// MaxStale is how long a source's last good copy is served while GitHub
// fails to answer for a fresh one.
const MaxStale = time.Hour

// snapshot is one read of a source: its policies at one commit.
type snapshot struct {
	commit   string
	policies map[string]*policy.Policy
	broken   map[string]error // policy name -> why it does not load
	at       time.Time
}

// source keeps one policy source's latest snapshot.
type source struct {
	Source
	mu   sync.Mutex
	snap *snapshot
}

// get returns the source's policies, reading them again once ttl has
// passed. While GitHub fails, the last good copy is served for up to
// MaxStale, and said so.
func (s *Server) snapshot(ctx context.Context, src *source) (*snapshot, bool, error) {
	src.mu.Lock()
	defer src.mu.Unlock()
	now := s.now()
	if src.snap != nil && now.Sub(src.snap.at) < s.set.TTL {
		return src.snap, false, nil
	}
	// The read serves every later caller too, and mints a token of its
	// own: it does not end with the caller that started it.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 45*time.Second)
	defer cancel()
	snap, err := s.read(rctx, src.Source, src.snap)
	if err == nil {
		src.snap = snap
		return snap, false, nil
	}
	if src.snap != nil && now.Sub(src.snap.at) < MaxStale {
		s.logf("policy source %s: failed to read it again (%s); serving the copy of commit %s read %s ago", src.URL, err, short(src.snap.commit), now.Sub(src.snap.at).Round(time.Second))
		return src.snap, true, nil
	}
	return nil, false, err
}

// read reads a source through the contents API with a token of the
// service's own App limited to contents:read on the source repository,
// revoked as soon as the read is done. When the ref still points at prev's
// commit, prev's policies are kept (one call instead of one per file).
func (s *Server) read(ctx context.Context, src Source, prev *snapshot) (snap *snapshot, err error) {
	id, err := s.installationID(ctx, src.Owner, src.Repo)
	if err != nil {
		return nil, fmt.Errorf("failed to find the App's installation on %s: %w", src.Repository(), err)
	}
	tok, err := s.app.Mint(ctx, id, []string{src.Repo}, map[string]string{"contents": "read"})
	if tok != nil {
		defer s.revoke(tok.Token, "policy read of "+src.URL)
	}
	if err != nil {
		s.forgetInstallation(src.Owner, src.Repo)
		return nil, fmt.Errorf("failed to get a token to read %s: %w", src.Repository(), err)
	}
	gh := github.NewClient(s.hc).WithAuthToken(tok.Token)
	gh.BaseURL, _ = url.Parse(s.set.APIURL + "/")
	gh.UserAgent = userAgent
	sha, _, err := gh.Repositories.GetCommitSHA1(ctx, src.Owner, src.Repo, src.Ref, "")
	if err != nil {
		return nil, fmt.Errorf("failed to resolve %s@%s: %w", src.Repository(), src.Ref, ghError(err))
	}
	if prev != nil && prev.commit == sha {
		return &snapshot{commit: sha, policies: prev.policies, broken: prev.broken, at: s.now()}, nil
	}
	opt := &github.RepositoryContentGetOptions{Ref: sha}
	_, entries, _, err := gh.Repositories.GetContents(ctx, src.Owner, src.Repo, src.Dir, opt)
	if err != nil {
		return nil, fmt.Errorf("failed to list %s: %w", src.URL, ghError(err))
	}
	snap = &snapshot{commit: sha, policies: map[string]*policy.Policy{}, broken: map[string]error{}, at: s.now()}
	for _, e := range entries {
		n := e.GetName()
		if e.GetType() != "file" || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			continue
		}
		name := strings.TrimSuffix(strings.TrimSuffix(n, ".yaml"), ".yml")
		if e.GetSize() > policy.MaxSize {
			snap.broken[name] = fmt.Errorf("%s: %d bytes, larger than the %d a policy may have", n, e.GetSize(), policy.MaxSize)
			continue
		}
		fc, _, _, err := gh.Repositories.GetContents(ctx, src.Owner, src.Repo, path.Join(src.Dir, n), opt)
		if err != nil {
			return nil, fmt.Errorf("failed to read %s/%s: %w", src.URL, n, ghError(err))
		}
		if fc == nil {
			continue
		}
		text, err := fc.GetContent()
		if err != nil {
			snap.broken[name] = fmt.Errorf("%s: %s", n, err)
			continue
		}
		p, err := policy.Parse(n, []byte(text))
		if err != nil {
			snap.broken[name] = err
			continue
		}
		if err := bound(p, src); err != nil {
			snap.broken[name] = fmt.Errorf("%s: %w", n, err)
			continue
		}
		snap.policies[name] = p
	}
	for name, err := range snap.broken {
		s.logf("policy source %s at %s: policy %s does not load and grants nothing: %s", src.URL, short(sha), name, err)
	}
	return snap, nil
}

// bound refuses a policy that grants for an owner its source is not bound
// to: org A's policy repository can never grant for org B.
func bound(p *policy.Policy, src Source) error {
	for i, g := range p.Grants {
		ok := false
		for _, o := range src.Owners {
			if strings.EqualFold(o, g.Owner) {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("grants[%d] is for owner %s, but the source %s is bound to %s only", i, g.Owner, src.URL, strings.Join(src.Owners, ", "))
		}
	}
	return nil
}

// ghError is GitHub's refusal as the one API error type, so that upstream
// tells a rate limit (429 for the step, which retries) from a failure; any
// other error summarised.
func ghError(err error) error {
	if e := ghapp.APIError(err); e != nil {
		return e
	}
	return errors.New(summarize(err))
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
