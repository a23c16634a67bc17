package ghfake

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// Repositories may hold files (a policy repository, say), committed on one
// branch, main; every change is a new commit and old commits stay readable
// by their SHA, as the contents API reads them with ?ref=.
type repoFiles struct {
	head    string
	commits map[string]map[string]string // commit SHA -> path -> content
}

// WriteFiles commits files to owner/repo's main branch (an empty content
// deletes the path) and returns the new commit's SHA.
func (s *Server) WriteFiles(owner, repo string, files map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files == nil {
		s.files = map[string]*repoFiles{}
	}
	key := strings.ToLower(owner + "/" + repo)
	rf := s.files[key]
	if rf == nil {
		rf = &repoFiles{commits: map[string]map[string]string{}}
		s.files[key] = rf
	}
	tree := maps.Clone(rf.commits[rf.head])
	if tree == nil {
		tree = map[string]string{}
	}
	for p, c := range files {
		if c == "" {
			delete(tree, p)
		} else {
			tree[p] = c
		}
	}
	sum := sha1.Sum(fmt.Appendf(nil, "%s %d %v", rf.head, len(rf.commits), tree))
	rf.head = hex.EncodeToString(sum[:])
	rf.commits[rf.head] = tree
	return rf.head
}

// tree returns owner/repo's files at ref (main, HEAD or a commit SHA), or
// nil when the repository has no files or the ref is unknown.
func (s *Server) tree(owner, repo, ref string) (map[string]string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rf := s.files[strings.ToLower(owner+"/"+repo)]
	if rf == nil {
		return nil, ""
	}
	switch ref {
	case "", "main", "HEAD", "refs/heads/main":
		return rf.commits[rf.head], rf.head
	}
	if t, ok := rf.commits[ref]; ok {
		return t, ref
	}
	return nil, ""
}

func blobSHA(body string) string {
	sum := sha1.Sum(fmt.Appendf(nil, "blob %d\x00%s", len(body), body))
	return hex.EncodeToString(sum[:])
}

// repoContents is "Get repository content" on a repository that holds
// files: a file's JSON, or a directory's listing.
func (s *Server) repoContents(w http.ResponseWriter, r *http.Request) (int, bool) {
	owner, repo := r.PathValue("owner"), r.PathValue("repo")
	if s.hasNoFiles(owner, repo) {
		return 0, false
	}
	tree, _ := s.tree(owner, repo, r.URL.Query().Get("ref"))
	if tree == nil {
		message(w, http.StatusNotFound, "No commit found for the ref "+r.URL.Query().Get("ref"))
		return http.StatusNotFound, true
	}
	path := strings.Trim(r.PathValue("path"), "/")
	if body, ok := tree[path]; ok {
		writeJSON(w, http.StatusOK, map[string]any{
			"type": "file", "encoding": "base64", "name": path[strings.LastIndex(path, "/")+1:], "path": path,
			"size": len(body), "sha": blobSHA(body), "content": base64.StdEncoding.EncodeToString([]byte(body)),
		})
		return http.StatusOK, true
	}
	prefix := path + "/"
	if path == "" {
		prefix = ""
	}
	seen := map[string]bool{}
	var list []map[string]any
	for _, p := range slices.Sorted(maps.Keys(tree)) {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		name, _, isDir := strings.Cut(rest, "/")
		if seen[name] {
			continue
		}
		seen[name] = true
		e := map[string]any{"name": name, "path": prefix + name, "type": "file", "size": len(tree[p]), "sha": blobSHA(tree[p])}
		if isDir {
			e["type"], e["size"], e["sha"] = "dir", 0, blobSHA(name)
		}
		list = append(list, e)
	}
	if list == nil {
		message(w, http.StatusNotFound, "Not Found")
		return http.StatusNotFound, true
	}
	writeJSON(w, http.StatusOK, list)
	return http.StatusOK, true
}

func (s *Server) hasNoFiles(owner, repo string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[strings.ToLower(owner+"/"+repo)] == nil
}

// getCommit is "Get a commit" with the SHA media type: the ref's commit
// SHA as plain text.
func (s *Server) getCommit(w http.ResponseWriter, r *http.Request, _ *Token) int {
	_, sha := s.tree(r.PathValue("owner"), r.PathValue("repo"), r.PathValue("ref"))
	if sha == "" {
		message(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+r.PathValue("ref"))
		return http.StatusUnprocessableEntity
	}
	if !strings.Contains(r.Header.Get("Accept"), "sha") {
		writeJSON(w, http.StatusOK, map[string]any{"sha": sha})
		return http.StatusOK
	}
	w.Header().Set("Content-Type", "application/vnd.github.sha; charset=utf-8")
	_, _ = w.Write([]byte(sha))
	return http.StatusOK
}
