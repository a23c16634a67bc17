package testutil

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/jobtoken/jobtoken/pkg/release"
)

// NodeEnv names the node binary the shim tests run first: .ci/run installs
// Node 24 (what the GitHub action runs) and points it here.
const NodeEnv = "JOBTOKEN_NODE"

// Node is one node binary a test runs the shim under.
type Node struct {
	Path, Version string
}

// Nodes returns every distinct node the shim tests should run under:
// $JOBTOKEN_NODE (Node 24 in CI) and the node on PATH (Debian's Node 20, the
// Azure agent's Node20_1 handler's version). It skips the test when there is
// none, and fails it when JOBTOKEN_NODE names a node that does not run.
func Nodes(t testing.TB) []Node {
	t.Helper()
	var out []Node
	seen := map[string]bool{}
	add := func(p string, must bool) {
		v, err := exec.Command(p, "--version").Output()
		if err != nil {
			if must {
				t.Fatalf("%s=%s does not run: %v", NodeEnv, p, err)
			}
			return
		}
		ver := strings.TrimSpace(string(v))
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, Node{Path: p, Version: ver})
		}
	}
	if p := os.Getenv(NodeEnv); p != "" {
		add(p, true)
	}
	if p, err := exec.LookPath("node"); err == nil {
		add(p, false)
	}
	if len(out) == 0 {
		t.Skipf("no node: install Node.js (or set %s) to run the shim tests", NodeEnv)
	}
	return out
}

// NodeRun is what one run of a node script gave.
type NodeRun struct {
	Stdout, Stderr string
	Code           int
}

// Run runs node <tree>/dist/<script> as the runner or agent does: from a
// fresh working directory, with env as its whole environment and stdin as
// its input.
func (n Node) Run(t testing.TB, tree, script string, env []string, stdin string) NodeRun {
	t.Helper()
	cmd := exec.Command(n.Path, filepath.Join(tree, "dist", script))
	cmd.Dir = t.TempDir()
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("failed to run node %s: %v", script, err)
	}
	return NodeRun{out.String(), errb.String(), code}
}

// FirstNode returns the node the runner would use: $JOBTOKEN_NODE when set,
// else the one on PATH.
func FirstNode(t testing.TB) Node {
	t.Helper()
	return Nodes(t)[0]
}

// ReleaseTree lays out in dir what a release ships to a runner or agent: the
// shim of dist/ (copied from this repository), binary at
// bin/<this platform>/jobtoken[.exe] and SHA256SUMS. The binary loses its
// execute bit, as it does in a .vsix or an artifact. It returns the
// binary's path in the tree.
func ReleaseTree(t testing.TB, dir, binary string) string {
	t.Helper()
	p := HostPlatform(t)
	if err := release.CopyShim(Root(), dir); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.FromSlash(p.BinPath()))
	if err := release.CopyFile(binary, dst, 0o644); err != nil {
		t.Fatal(err)
	}
	sum, _, err := release.HashFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, release.SumsFile), release.FormatSums([]release.Sum{{Path: p.BinPath(), SHA256: sum}}), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// HostPlatform is the release platform of this machine, or skips.
func HostPlatform(t testing.TB) release.Platform {
	t.Helper()
	p, ok := release.ForGo(runtime.GOOS, runtime.GOARCH)
	if !ok {
		t.Skipf("a release ships no binary for %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	return p
}
