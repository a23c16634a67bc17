// Package release knows what a release ships and builds its binaries: the
// platforms, the shim files of dist/, the pinned Go toolchain, the build
// flags that make two builds of one commit byte-identical, and the SHA256SUMS
// list the shim checks every binary against. .ci/release, the Dockerfile
// (through ./pkg/release/build) and the Azure extension packer all use it,
// so the GitHub action, the CLI downloads, the image and the .vsix carry the
// same bytes.
package release

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Platform is one OS and architecture a release ships a binary for.
type Platform struct {
	GOOS, GOARCH string
	// Name is the folder under bin/, as the shim computes it from Node's
	// process.platform (win32 → windows) and process.arch.
	Name string
}

// Platforms are every platform a release ships, in a fixed order. The shim
// (dist/shim.js) holds the same list; a test keeps them equal.
var Platforms = []Platform{
	{"linux", "amd64", "linux-x64"},
	{"linux", "arm64", "linux-arm64"},
	{"darwin", "amd64", "darwin-x64"},
	{"darwin", "arm64", "darwin-arm64"},
	{"windows", "amd64", "windows-x64"},
	{"windows", "arm64", "windows-arm64"},
}

// Exe is the binary's file name on p.
func (p Platform) Exe() string {
	if p.GOOS == "windows" {
		return "jobtoken.exe"
	}
	return "jobtoken"
}

// BinPath is where the binary of p lives in a release tree (the action, the
// Azure task folder), slash-separated as SHA256SUMS lists it.
func (p Platform) BinPath() string { return "bin/" + p.Name + "/" + p.Exe() }

// CLIName is the binary's name among the CLI downloads, in Go's names
// (jobtoken-linux-amd64, jobtoken-windows-arm64.exe), as `go env GOOS GOARCH`
// prints them.
func (p Platform) CLIName() string {
	n := "jobtoken-" + p.GOOS + "-" + p.GOARCH
	if p.GOOS == "windows" {
		n += ".exe"
	}
	return n
}

// ForGo returns the platform of a Go target.
func ForGo(goos, goarch string) (Platform, bool) {
	for _, p := range Platforms {
		if p.GOOS == goos && p.GOARCH == goarch {
			return p, true
		}
	}
	return Platform{}, false
}

// ParsePlatforms reads a list of platform names (linux-x64, …) separated by
// commas or spaces; empty means every platform.
func ParsePlatforms(s string) ([]Platform, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
	if len(fields) == 0 {
		return Platforms, nil
	}
	var out []Platform
	seen := map[string]bool{}
	for _, f := range fields {
		p, ok := lookup(f)
		if !ok {
			return nil, fmt.Errorf("unknown platform %q, valid platforms are %s", f, strings.Join(Names(), ", "))
		}
		if !seen[p.Name] {
			seen[p.Name] = true
			out = append(out, p)
		}
	}
	return out, nil
}

func lookup(name string) (Platform, bool) {
	for _, p := range Platforms {
		if p.Name == name {
			return p, true
		}
	}
	return Platform{}, false
}

// Names lists the platform names in order.
func Names() []string {
	n := make([]string, len(Platforms))
	for i, p := range Platforms {
		n[i] = p.Name
	}
	return n
}

// ShimFiles are the files of the shim, relative to the repository root and
// to a release tree alike: the action runs dist/main.js and dist/post.js,
// the Azure task names the same two in task.json, and both require
// dist/shim.js. They are committed once and copied as they are.
var ShimFiles = []string{"dist/main.js", "dist/post.js", "dist/shim.js"}

// SumsFile is the checksum list at the root of a release tree.
const SumsFile = "SHA256SUMS"

// CopyShim copies the shim files from the repository at root into the tree
// at dir, byte for byte.
func CopyShim(root, dir string) error {
	for _, f := range ShimFiles {
		if err := CopyFile(filepath.Join(root, filepath.FromSlash(f)), filepath.Join(dir, filepath.FromSlash(f)), 0o644); err != nil {
			return fmt.Errorf("failed to copy the shim: %w", err)
		}
	}
	return nil
}

// CopyFile copies src to dst with mode, creating dst's folder.
func CopyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	// OpenFile applies the umask; a release tree's modes must not depend on it.
	return os.Chmod(dst, mode)
}

// PinnedGo returns the Go toolchain release builds use, as `go env GOVERSION`
// prints it (go1.26.8): go.mod's toolchain line if it has one, else its go
// line. It is the same rule actions/setup-go follows for go-version-file, so
// the release workflow installs exactly this version.
func PinnedGo(gomod []byte) (string, error) {
	if m := regexp.MustCompile(`(?m)^toolchain\s+(go1\.\d+(?:\.\d+)?)\s*$`).FindSubmatch(gomod); m != nil {
		return string(m[1]), nil
	}
	m := regexp.MustCompile(`(?m)^go\s+(1\.\d+\.\d+)\s*$`).FindSubmatch(gomod)
	if m == nil {
		return "", fmt.Errorf("go.mod pins no toolchain: it needs a `go 1.N.P` line (with the patch release) or a `toolchain go1.N.P` line")
	}
	return "go" + string(m[1]), nil
}
