package release_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agenttest"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/release"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// The shim tests put this test binary itself in the release tree, as
// bin/<platform>/jobtoken: started with JOBTOKEN_SHIM_HELPER set, it plays a
// binary that shows what the shim gave it.
const helperEnv = "JOBTOKEN_SHIM_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "echo":
		helperEcho()
	case "signals":
		helperSignals()
	}
	fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
	os.Exit(99)
}

// helperEcho prints its arguments, a few variables and its stdin, writes
// bytes a shim must not touch to stdout and stderr, and exits 3.
func helperEcho() {
	in, _ := io.ReadAll(os.Stdin)
	fmt.Printf("args=%q\n", os.Args[1:])
	for _, k := range []string{"INPUT_APP-ID", "INPUT_PRIVATE-KEY", "GITHUB_ACTIONS", "STATE_jobtoken"} {
		fmt.Printf("%s=%q\n", k, os.Getenv(k))
	}
	fmt.Printf("stdin=%q\n", in)
	os.Stdout.WriteString("::error::from the binary%0A\r\n\x00\xff no newline")
	os.Stderr.WriteString("##vso[task.logissue type=warning]stderr as is\n")
	os.Exit(3)
}

// helperSignals waits for SIGINT or SIGTERM, cleans up for a moment, and
// exits 7, as the binary revokes before it exits when a job is cancelled.
func helperSignals() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	fmt.Println("ready")
	select {
	case s := <-ch:
		time.Sleep(300 * time.Millisecond)
		fmt.Printf("cleaned up after %v\n", s)
		os.Exit(7)
	case <-time.After(20 * time.Second):
		fmt.Println("no signal")
		os.Exit(8)
	}
}

// helperTree is a release tree whose binary is this test binary.
func helperTree(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "jobtoken", "jobtoken", "v1")
	testutil.ReleaseTree(t, dir, self)
	return dir
}

// runShim runs node <tree>/dist/<script> as the runner or agent does, with
// env (and PATH and HOME) as the whole environment.
func runShim(t *testing.T, node testutil.Node, tree, script string, env []string, stdin string) testutil.NodeRun {
	t.Helper()
	return node.Run(t, tree, script, append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...), stdin)
}

// The shim hands the binary the stage, the environment, stdin, and gives
// back its stdout, stderr and exit code untouched.
func TestShimRunsTheBinaryUntouched(t *testing.T) {
	tree := helperTree(t)
	bin := filepath.Join(tree, filepath.FromSlash(testutil.HostPlatform(t).BinPath()))
	for _, node := range testutil.Nodes(t) {
		for _, stage := range []string{"main", "post"} {
			t.Run(node.Version+"/"+stage, func(t *testing.T) {
				env := []string{helperEnv + "=echo", "GITHUB_ACTIONS=true", "INPUT_APP-ID=42",
					"INPUT_PRIVATE-KEY=-----BEGIN\nline two\n-----END", "STATE_jobtoken=saved"}
				r := runShim(t, node, tree, stage+".js", env, "from stdin")
				assert.Equal(t, 3, r.Code, r.Stdout+r.Stderr)
				want := fmt.Sprintf("args=[%q]\n", stage) +
					"INPUT_APP-ID=\"42\"\n" +
					"INPUT_PRIVATE-KEY=\"-----BEGIN\\nline two\\n-----END\"\n" +
					"GITHUB_ACTIONS=\"true\"\n" +
					"STATE_jobtoken=\"saved\"\n" +
					"stdin=\"from stdin\"\n" +
					"::error::from the binary%0A\r\n\x00\xff no newline"
				assert.Equal(t, want, r.Stdout)
				assert.Equal(t, "##vso[task.logissue type=warning]stderr as is\n", r.Stderr)
			})
		}
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(bin)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o755), st.Mode().Perm(), "the shim restores the execute bit a .vsix or an artifact drops")
	}
}

// A cancelled job: the runner signals node only; the shim passes the signal
// on, waits for the binary to clean up and exits with its code.
func TestShimForwardsSignalsAndWaits(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows delivers Ctrl+C to the whole console; there is nothing to forward")
	}
	tree := helperTree(t)
	node := testutil.FirstNode(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(node.Path, filepath.Join(tree, "dist", "main.js"))
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), helperEnv + "=signals", "GITHUB_ACTIONS=true"}
			out, err := cmd.StdoutPipe()
			require.NoError(t, err)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			require.NoError(t, cmd.Start())
			rd := bufio.NewReader(out)
			line, err := rd.ReadString('\n')
			require.NoError(t, err, errb.String())
			require.Equal(t, "ready\n", line)
			require.NoError(t, cmd.Process.Signal(sig))
			rest, _ := io.ReadAll(rd)
			err = cmd.Wait()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "stdout: %s", rest)
			assert.Equal(t, 7, ee.ExitCode(), "node must exit with the binary's code, after it cleaned up: %s%s", rest, errb.String())
			assert.Equal(t, "cleaned up after "+sigName(sig)+"\n", string(rest))
			assert.Empty(t, errb.String())
		})
	}
}

func sigName(s syscall.Signal) string {
	if s == syscall.SIGINT {
		return "interrupt"
	}
	return "terminated"
}

// shimFailure is one way the shim cannot run the binary.
type shimFailure struct {
	name string
	// setup breaks the tree at dir (a full helper tree) and returns extra
	// environment.
	setup func(t *testing.T, dir string) []string
	want  []string // in the one line reported
}

var platformRE = regexp.MustCompile(`platform [a-z0-9]+-[a-z0-9]+`)

func shimFailures(t *testing.T) []shimFailure {
	p := testutil.HostPlatform(t)
	preload := func(t *testing.T, js string) []string {
		f := filepath.Join(t.TempDir(), "pretend.js")
		require.NoError(t, os.WriteFile(f, []byte(js), 0o644))
		return []string{"NODE_OPTIONS=--require " + f}
	}
	rm := func(t *testing.T, dir string, paths ...string) {
		for _, x := range paths {
			require.NoError(t, os.RemoveAll(filepath.Join(dir, filepath.FromSlash(x))))
		}
	}
	return []shimFailure{
		{
			name:  "source ref",
			setup: func(t *testing.T, dir string) []string { rm(t, dir, "bin", "SHA256SUMS"); return nil },
			want:  []string{"source ref", "no prebuilt binaries", "platform " + p.Name, "jobtoken/jobtoken@v1", "full commit SHA of a release", "jobtoken/jobtoken/container@v1", "install the .vsix of a release"},
		},
		{
			name:  "SHA256SUMS missing",
			setup: func(t *testing.T, dir string) []string { rm(t, dir, "SHA256SUMS"); return nil },
			want:  []string{"SHA256SUMS is missing", "binary for platform " + p.Name + " cannot be verified", "jobtoken/jobtoken@v1"},
		},
		{
			name: "unsupported architecture",
			setup: func(t *testing.T, dir string) []string {
				return preload(t, "Object.defineProperty(process, 'arch', { value: 'ia32' });\n")
			},
			want: []string{"no binary for platform " + p.GOOS + "-ia32", "jobtoken ships linux-x64, linux-arm64, darwin-x64, darwin-arm64, windows-x64, windows-arm64", "run the job on one of those"},
		},
		{
			name: "unsupported OS",
			setup: func(t *testing.T, dir string) []string {
				return preload(t, "Object.defineProperty(process, 'platform', { value: 'freebsd' });\n")
			},
			want: []string{"no binary for platform freebsd-" + strings.TrimPrefix(p.Name, p.GOOS+"-")},
		},
		{
			name: "platform not in this tree",
			setup: func(t *testing.T, dir string) []string {
				other := release.Platforms[0]
				if other == p {
					other = release.Platforms[1]
				}
				sums := release.FormatSums([]release.Sum{{Path: other.BinPath(), SHA256: strings.Repeat("ab", 32)}})
				require.NoError(t, os.WriteFile(filepath.Join(dir, "SHA256SUMS"), sums, 0o644))
				return nil
			},
			want: []string{"no binary for platform " + p.Name, "does not list " + p.BinPath(), "jobtoken/jobtoken@v1"},
		},
		{
			name:  "binary missing",
			setup: func(t *testing.T, dir string) []string { rm(t, dir, p.BinPath()); return nil },
			want:  []string{"binary for platform " + p.Name + " is missing", p.BinPath(), "run the job again"},
		},
		{
			name: "checksum mismatch",
			setup: func(t *testing.T, dir string) []string {
				f, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(p.BinPath())), os.O_APPEND|os.O_WRONLY, 0)
				require.NoError(t, err)
				_, err = f.WriteString("tampered")
				require.NoError(t, err)
				require.NoError(t, f.Close())
				return nil
			},
			want: []string{"binary for platform " + p.Name + " does not match its SHA-256 in SHA256SUMS", "so it was not run", "damaged or was altered"},
		},
		{
			name: "SHA256SUMS malformed",
			setup: func(t *testing.T, dir string) []string {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte("not a checksum\n"), 0o644))
				return nil
			},
			want: []string{"SHA256SUMS line 1", "platform " + p.Name, "damaged"},
		},
	}
}

// hostReport is how one host shows the shim's own failure.
type hostReport struct {
	name string
	env  []string
	// line checks the output and returns the one message reported.
	line func(t *testing.T, r testutil.NodeRun) string
}

var hosts = []hostReport{
	{"github", []string{"GITHUB_ACTIONS=true"}, func(t *testing.T, r testutil.NodeRun) string {
		assert.Empty(t, r.Stderr)
		cmds := ghactions.ParseCommands(r.Stdout)
		require.Len(t, cmds, 1, r.Stdout)
		assert.Equal(t, "error", cmds[0].Name)
		assert.Equal(t, 1, strings.Count(r.Stdout, "\n"), "one line: %q", r.Stdout)
		return ghactions.UnescapeData(cmds[0].Message)
	}},
	{"azure", []string{"TF_BUILD=True", "AGENT_TEMPDIRECTORY=/tmp"}, func(t *testing.T, r testutil.NodeRun) string {
		assert.Empty(t, r.Stderr)
		out := agenttest.Read(r.Stdout)
		issues, done := out.Named("task.logissue"), out.Named("task.complete")
		require.Len(t, issues, 1, r.Stdout)
		require.Len(t, done, 1, r.Stdout)
		assert.Len(t, out.Commands(), 2, r.Stdout)
		assert.Empty(t, out.Plain())
		assert.Equal(t, "error", issues[0].Prop("type"))
		assert.Equal(t, "Failed", done[0].Prop("result"))
		assert.Equal(t, issues[0].Data, done[0].Data)
		return issues[0].Data
	}},
	{"terminal", nil, func(t *testing.T, r testutil.NodeRun) string {
		assert.Empty(t, r.Stdout)
		assert.Equal(t, 1, strings.Count(r.Stderr, "\n"), "one line: %q", r.Stderr)
		return strings.TrimSuffix(r.Stderr, "\n")
	}},
}

// Every way the shim cannot run the binary is one line in the host's own
// error format that names the platform and the fix, exit code 1, no stack
// trace, and the binary not started.
func TestShimFailures(t *testing.T) {
	nodes := testutil.Nodes(t)
	for _, f := range shimFailures(t) {
		for _, h := range hosts {
			for i, node := range nodes {
				if i > 0 && h.name != "github" {
					continue // every host on the first node; the GitHub format on each node
				}
				t.Run(f.name+"/"+h.name+"/"+node.Version, func(t *testing.T) {
					dir := helperTree(t)
					env := append(f.setup(t, dir), h.env...)
					env = append(env, helperEnv+"=echo")
					r := runShim(t, node, dir, "main.js", env, "")
					assert.Equal(t, 1, r.Code, r.Stdout+r.Stderr)
					assert.NotContains(t, r.Stdout+r.Stderr, "args=", "the binary must not run")
					for _, bad := range []string{"    at ", "node:internal", "Error:", "throw "} {
						assert.NotContains(t, r.Stdout+r.Stderr, bad, "a stack trace")
					}
					msg := h.line(t, r)
					assert.True(t, strings.HasPrefix(msg, "jobtoken: "), msg)
					assert.Regexp(t, platformRE, msg)
					for _, w := range f.want {
						assert.Contains(t, msg, w)
					}
				})
			}
		}
	}
}

// A path holding command syntax stays inside the one reported line.
func TestShimEscapesWhatItReports(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows paths cannot hold line breaks")
	}
	node := testutil.FirstNode(t)
	for _, h := range hosts[:2] {
		t.Run(h.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "a%0A\n::warning::x\r##vso[task.setvariable variable=x]y;z]%AZP25")
			require.NoError(t, release.CopyShim(testutil.Root(), dir))
			r := runShim(t, node, dir, "main.js", h.env, "")
			assert.Equal(t, 1, r.Code)
			msg := h.line(t, r)
			assert.Contains(t, msg, dir, "the message holds the path, unescaped exactly once")
		})
	}
}

// The action's main and post and the task's targets are the shim's entry
// points, and the shim loads nothing but Node's own modules.
func TestShimFiles(t *testing.T) {
	assert.Contains(t, release.ShimFiles, inputs.ShimMain)
	assert.Contains(t, release.ShimFiles, inputs.ShimPost)
	assert.Equal(t, inputs.ShimMain, inputs.TaskMainTarget)
	assert.Equal(t, inputs.ShimPost, inputs.TaskPostTarget)
	allowed := map[string]bool{"fs": true, "path": true, "crypto": true, "child_process": true, "./shim.js": true}
	for _, f := range release.ShimFiles {
		b, err := os.ReadFile(filepath.Join(testutil.Root(), f))
		require.NoError(t, err)
		for _, m := range regexp.MustCompile(`require\(\s*['"]([^'"]+)['"]\s*\)`).FindAllStringSubmatch(string(b), -1) {
			assert.True(t, allowed[m[1]], "%s requires %s", f, m[1])
		}
		assert.NotContains(t, string(b), "import ", "%s: CommonJS only", f)
	}
}

// The shim and pkg/release list the same platforms, in the same order.
func TestShimKnowsThePlatforms(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testutil.Root(), "dist", "shim.js"))
	require.NoError(t, err)
	m := regexp.MustCompile(`const PLATFORMS = \[([^\]]*)\]`).FindSubmatch(b)
	require.NotNil(t, m)
	var names []string
	for _, q := range regexp.MustCompile(`'([^']+)'`).FindAllSubmatch(m[1], -1) {
		names = append(names, string(q[1]))
	}
	assert.Equal(t, release.Names(), names)
}
