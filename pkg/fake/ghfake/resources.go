package ghfake

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/demo"
)

// The fake's resource surface: the two calls a later step of a job makes
// with an installation token, enough to show what the token may and may not
// do. They answer as GitHub documents for fine-grained actors (GitHub Apps):
//
//   - the token is checked first: unknown, revoked or expired answers 401
//     "Bad credentials";
//   - then the repository: one the token does not cover answers 404 "Not
//     Found", as any private repository the caller cannot see (GitHub does
//     not say it exists);
//   - then the permission: lacking it answers 403 "Resource not accessible
//     by integration", with the permissions the endpoint accepts in
//     X-Accepted-GitHub-Permissions.
//
// Routes (and the permission each needs):
//
//	GET  /repos/{owner}/{repo}/contents/{path...}  contents: read
//	POST /repos/{owner}/{repo}/issues              issues: write
//	GET  /repos/{owner}/{repo}/commits/{ref}       contents: read
//
// Every repository of an installation holds one file, README.md, unless
// WriteFiles gave it files of its own. Each call
// is recorded (see Uses), with why it was refused.
func (s *Server) routeResources(mux *http.ServeMux) {
	mux.HandleFunc("GET /repos/{owner}/{repo}/contents/{path...}", s.resource("contents", "read", s.getContents))
	mux.HandleFunc("POST /repos/{owner}/{repo}/issues", s.resource("issues", "write", s.createIssue))
	mux.HandleFunc("GET /repos/{owner}/{repo}/commits/{ref}", s.resource("contents", "read", s.getCommit))
}

// Why a resource call was refused, as Use.Refused says it.
const (
	RefusedCredentials = "credentials" // 401: no live token
	RefusedRepository  = "repository"  // 404: the token does not cover the repository
	RefusedPermission  = "permission"  // 403: the token lacks the permission
)

// Use is one resource call the fake answered.
// Refused is "" when served, else one of the Refused* reasons; Needs is the
// permission the route needs, e.g. "issues:write".
type Use = demo.TokenUse

// Uses returns the resource calls answered so far, in order.
func (s *Server) Uses() []Use { return s.uses.All() }

// installationToken reads the token a resource call carries, in either of
// the schemes GitHub accepts for it.
func installationToken(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	for _, scheme := range []string{"Bearer ", "token "} {
		if v, ok := strings.CutPrefix(auth, scheme); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// covers reports whether t reaches owner/repo: the token's own repositories,
// or all of its installation's when it names none.
func (s *Server) covers(t *Token, owner, repo string) bool {
	in := s.find(func(in *Installation) bool { return in.ID == t.Installation })
	if in == nil || !strings.EqualFold(in.Account, owner) {
		return false
	}
	repos := t.Repos
	if len(repos) == 0 {
		repos = s.repos(in)
	}
	return slices.ContainsFunc(repos, func(x string) bool { return strings.EqualFold(x, repo) })
}

// resource checks the token, the repository and the permission, in
// GitHub's order, then calls h.
func (s *Server) resource(perm, level string, h func(w http.ResponseWriter, r *http.Request, t *Token) int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		use := Use{Token: installationToken(r), Use: demo.Use{Method: r.Method, Path: r.URL.Path, Needs: perm + ":" + level}}
		defer func() { s.uses.Add(use) }()
		s.mu.Lock()
		t := s.tokens[use.Token]
		live := t != nil && t.Live(s.Now())
		s.mu.Unlock()
		switch {
		case !live:
			use.Status, use.Refused = http.StatusUnauthorized, RefusedCredentials
			message(w, use.Status, "Bad credentials")
		case !s.covers(t, r.PathValue("owner"), r.PathValue("repo")):
			use.Status, use.Refused = http.StatusNotFound, RefusedRepository
			message(w, use.Status, "Not Found")
		case rank[t.Permissions[perm]] < rank[level]:
			use.Status, use.Refused = http.StatusForbidden, RefusedPermission
			w.Header().Set("X-Accepted-GitHub-Permissions", perm+"="+level)
			writeJSON(w, use.Status, map[string]string{
				"message":           "Resource not accessible by integration",
				"documentation_url": "https://docs.github.com/rest",
				"status":            "403",
			})
		default:
			use.Status = h(w, r, t)
		}
	}
}

// readme is the one file of every repository.
func readme(repo string) string {
	return "# " + repo + "\n\nA repository of the fake GitHub.\n"
}

// getContents is "Get repository content" for a file.
func (s *Server) getContents(w http.ResponseWriter, r *http.Request, _ *Token) int {
	if code, ok := s.repoContents(w, r); ok {
		return code
	}
	path := r.PathValue("path")
	if path != "README.md" {
		message(w, http.StatusNotFound, "Not Found")
		return http.StatusNotFound
	}
	body := readme(r.PathValue("repo"))
	// A blob's SHA is Git's object ID: SHA-1 over "blob <size>\0" and the bytes.
	sum := sha1.Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(body), body)))
	writeJSON(w, http.StatusOK, map[string]any{
		"type": "file", "encoding": "base64", "name": path, "path": path,
		"size": len(body), "sha": hex.EncodeToString(sum[:]),
		"content": base64.StdEncoding.EncodeToString([]byte(body)),
	})
	return http.StatusOK
}

// createIssue is "Create an issue": a title is required.
func (s *Server) createIssue(w http.ResponseWriter, r *http.Request, _ *Token) int {
	var body struct {
		Title string `json:"title"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		message(w, http.StatusBadRequest, "Problems parsing JSON")
		return http.StatusBadRequest
	}
	if strings.TrimSpace(body.Title) == "" {
		message(w, http.StatusUnprocessableEntity, "Validation Failed")
		return http.StatusUnprocessableEntity
	}
	s.mu.Lock()
	s.issues++
	n := s.issues
	s.mu.Unlock()
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	writeJSON(w, http.StatusCreated, map[string]any{
		"number": n, "title": body.Title, "state": "open",
		"html_url": fmt.Sprintf("https://github.com/%s/%s/issues/%d", owner, repo, n),
	})
	return http.StatusCreated
}
