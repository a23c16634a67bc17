package release

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Sum is one line of a SHA256SUMS file.
type Sum struct {
	Path   string // slash-separated, relative to the file's folder
	SHA256 string // lower-case hex
}

// FormatSums renders sums as sha256sum prints them ("<hex>  <path>"),
// sorted by path, so that `sha256sum -c` and `shasum -a 256 -c` check them.
func FormatSums(sums []Sum) []byte {
	s := append([]Sum(nil), sums...)
	sort.Slice(s, func(i, j int) bool { return s[i].Path < s[j].Path })
	var b bytes.Buffer
	for _, x := range s {
		fmt.Fprintf(&b, "%s  %s\n", x.SHA256, x.Path)
	}
	return b.Bytes()
}

var sumLine = regexp.MustCompile(`^([0-9a-f]{64}) [ *](.+)$`)

// ParseSums reads a SHA256SUMS file. It accepts what sha256sum writes (text
// or binary mode marker) and refuses anything else, a path that leaves the
// folder, and a path listed twice.
func ParseSums(data []byte) ([]Sum, error) {
	var out []Sum
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			continue
		}
		m := sumLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("%s line %d is not `<sha256>  <path>`", SumsFile, n)
		}
		p := m[2]
		if path.IsAbs(p) || p != path.Clean(p) || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, `\`) {
			return nil, fmt.Errorf("%s line %d: path %q must be relative and clean", SumsFile, n, p)
		}
		if seen[p] {
			return nil, fmt.Errorf("%s lists %s twice", SumsFile, p)
		}
		seen[p] = true
		out = append(out, Sum{Path: p, SHA256: m[1]})
	}
	return out, sc.Err()
}

// HashFile returns the SHA-256 (hex) and size of a file.
func HashFile(name string) (string, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// VerifyTree checks every file dir/SHA256SUMS lists against its checksum and
// returns the list.
func VerifyTree(dir string) ([]Sum, error) {
	data, err := os.ReadFile(filepath.Join(dir, SumsFile))
	if err != nil {
		return nil, err
	}
	sums, err := ParseSums(data)
	if err != nil {
		return nil, err
	}
	for _, s := range sums {
		got, _, err := HashFile(filepath.Join(dir, filepath.FromSlash(s.Path)))
		if err != nil {
			return nil, fmt.Errorf("failed to check %s: %w", s.Path, err)
		}
		if got != s.SHA256 {
			return nil, fmt.Errorf("%s does not match %s (sha256 %s, listed %s)", s.Path, SumsFile, got, s.SHA256)
		}
	}
	return sums, nil
}
