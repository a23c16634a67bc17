package main_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/release"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// releaseTree builds this platform's binary exactly as a release does (the
// release builder: pinned toolchain, static, trimmed, stripped) into a tree
// with the shim, so the numbers are those of what runners download. A
// benchmark with sub-benchmarks runs once, so this builds once per run.
func releaseTree(b *testing.B) (tree, bin string) {
	b.Helper()
	p := testutil.HostPlatform(b)
	tree = filepath.Join(b.TempDir(), "jobtoken", "jobtoken", "v1")
	builder := &release.Builder{Root: testutil.Root(), Version: "bench"}
	if _, err := builder.Build(context.Background(), tree, []release.Platform{p}); err != nil {
		b.Fatal(err)
	}
	if err := release.CopyShim(testutil.Root(), tree); err != nil {
		b.Fatal(err)
	}
	bin = filepath.Join(tree, filepath.FromSlash(p.BinPath()))
	if err := os.Symlink(p.Exe(), filepath.Join(filepath.Dir(bin), "jobtoken-post")); err != nil {
		b.Fatal(err)
	}
	return tree, bin
}

// stage is one step as the runner starts it: INPUT_* with hyphens kept,
// fresh file-command files.
type stage struct {
	dir   string
	env   []string
	files map[string]string
}

func newStage(b *testing.B, dir string, in map[string]string) *stage {
	s := &stage{dir: dir, files: map[string]string{}}
	s.env = []string{"GITHUB_ACTIONS=true", "GITHUB_REPOSITORY=octo/app", "GITHUB_RUN_ID=42", "GITHUB_RUN_ATTEMPT=1", "HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	for _, n := range []string{"OUTPUT", "ENV", "STATE", "STEP_SUMMARY"} {
		p := filepath.Join(dir, strings.ToLower(n))
		if err := os.WriteFile(p, nil, 0o666); err != nil {
			b.Fatal(err)
		}
		s.files[n] = p
		s.env = append(s.env, "GITHUB_"+n+"="+p)
	}
	for k, v := range in {
		s.env = append(s.env, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	return s
}

func (s *stage) run(b *testing.B, argv []string, extra ...string) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append([]string{}, s.env...), extra...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out.String())
	}
}

func (s *stage) entries(b *testing.B, name string) map[string]string {
	data, err := os.ReadFile(s.files[name])
	if err != nil {
		b.Fatal(err)
	}
	es, err := ghactions.ParseFileCommand(string(data))
	if err != nil {
		b.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range es {
		m[e.Name] = e.Value
	}
	return m
}

func (s *stage) state(b *testing.B) []string {
	var st []string
	for k, v := range s.entries(b, "STATE") {
		st = append(st, "STATE_"+k+"="+v)
	}
	return st
}

// BenchmarkColdStartGitHub measures what a job waits for: starting the
// shipped binary as the runner does, through minting one GitHub installation
// token against a loopback fake, until the process has written its outputs
// and exited (main), and the post stage revoking it (post). It reports the
// HTTP requests each stage makes and the binary's size.
func BenchmarkColdStartGitHub(b *testing.B) {
	_, bin := releaseTree(b)
	post := filepath.Join(filepath.Dir(bin), "jobtoken-post")
	fi, err := os.Stat(bin)
	if err != nil {
		b.Fatal(err)
	}
	key := testutil.AppKeyPEM(b)
	for _, bc := range []struct {
		name  string
		extra map[string]string
	}{
		{"main/lookup", nil},
		{"main/installation-id", map[string]string{"installation-id": "5"}},
		{"post", nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fake := ghfake.New(testutil.AppKey(b), &ghfake.Installation{ID: 5, Account: "octo", Permissions: map[string]string{"contents": "write", "metadata": "read"}, Repos: []string{"app"}})
			defer fake.Close()
			in := map[string]string{"provider": "github", "client-id": fake.ClientID, "private-key": key, "permissions": "contents:read", "github-api-url": fake.URL}
			for k, v := range bc.extra {
				in[k] = v
			}
			isPost := bc.name == "post"
			requests := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := newStage(b, b.TempDir(), in)
				var state []string
				if isPost {
					s.run(b, []string{bin})
					state = s.state(b)
				}
				before := fake.Requests()
				b.StartTimer()

				if isPost {
					s.run(b, []string{post}, state...)
				} else {
					s.run(b, []string{bin})
				}

				b.StopTimer()
				requests += fake.Requests() - before
				if !isPost {
					if s.entries(b, "OUTPUT")["token"] == "" {
						b.Fatal("no token output")
					}
					s.run(b, []string{post}, s.state(b)...)
				}
				if n := len(fake.Live()); n != 0 {
					b.Fatalf("%d tokens left alive", n)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
			b.ReportMetric(float64(fi.Size()), "binary-bytes")
		})
	}
}

// BenchmarkActionGitHub measures one job's jobtoken steps, main then post,
// each way the action can run, against the fake GitHub:
//
//   - node-start: `node -e 0` twice, Node's own start-up cost of two steps;
//   - binary: the release binary started directly, twice (the floor);
//   - node-spawn: the least any Node shim does, node starting the binary
//     with child_process and exiting with its code (no checks);
//   - native: what the runner does for `uses: jobtoken/jobtoken@v1`: node
//     (JOBTOKEN_NODE, else the node on PATH) runs dist/main.js, then
//     dist/post.js with STATE_*, each checking and starting the binary;
//   - container: `docker run` of the image, main then post, as the runner
//     runs the container variant (only with a docker daemon and the image,
//     JOBTOKEN_IMAGE or jobtoken:local from .ci/docker-build).
//
// Every iteration runs each way once, in turn, so that a busy machine slows
// them alike; the metrics are medians in milliseconds, and ns/op is the
// native action's. shim-ms, the median of native − node-start − binary, is
// what the shim adds to Node's start and the binary's own work; checks-ms,
// native − node-spawn, what its checks (the platform, the SHA-256 against
// SHA256SUMS) cost.
func BenchmarkActionGitHub(b *testing.B) {
	tree, bin := releaseTree(b)
	key := testutil.AppKeyPEM(b)
	node := testutil.FirstNode(b)
	fake := ghfake.New(testutil.AppKey(b), &ghfake.Installation{ID: 5, Account: "octo", Permissions: map[string]string{"contents": "write", "metadata": "read"}, Repos: []string{"app"}})
	defer fake.Close()
	in := map[string]string{"provider": "github", "client-id": fake.ClientID, "private-key": key, "permissions": "contents:read", "github-api-url": fake.URL, "installation-id": "5"}

	type way struct {
		name       string
		main, post func(s *stage) []string
		container  bool
		mints      bool
	}
	ways := []way{
		{name: "node-start", main: func(*stage) []string { return []string{node.Path, "-e", "0"} }, post: func(*stage) []string { return []string{node.Path, "-e", "0"} }},
		{name: "binary", mints: true, main: func(*stage) []string { return []string{bin, "main"} }, post: func(*stage) []string { return []string{bin, "post"} }},
		{name: "node-spawn", mints: true, main: func(*stage) []string { return []string{node.Path, "-e", bareShim, bin, "main"} }, post: func(*stage) []string { return []string{node.Path, "-e", bareShim, bin, "post"} }},
		{name: "native", mints: true, main: func(*stage) []string { return []string{node.Path, filepath.Join(tree, "dist", "main.js")} }, post: func(*stage) []string { return []string{node.Path, filepath.Join(tree, "dist", "post.js")} }},
	}
	if img := benchImage(); img != "" {
		docker := func(entry string) func(s *stage) []string {
			return func(s *stage) []string {
				argv := []string{"docker", "run", "--rm", "--network", "host", "--entrypoint", entry, "-v", s.dir + ":" + s.dir}
				for _, kv := range s.env {
					k, _, _ := strings.Cut(kv, "=")
					if k != "PATH" && k != "HOME" {
						argv = append(argv, "-e", k)
					}
				}
				return append(argv, img)
			}
		}
		ways = append(ways, way{name: "container", mints: true, main: docker("/jobtoken"), post: docker("/jobtoken-post"), container: true})
	}
	samples := map[string][]float64{}
	mints := len(fake.Minted())
	perRun := 0
	for _, w := range ways {
		if w.mints {
			perRun++
		}
	}
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		for _, w := range ways {
			s := newStage(b, b.TempDir(), in)
			if w.container {
				// The container runs as root; the runner's files are
				// writable by it.
				_ = os.Chmod(s.dir, 0o777)
			}
			timed := func(f func()) time.Duration {
				if w.name == "native" {
					b.StartTimer()
				}
				start := time.Now()
				f()
				d := time.Since(start)
				b.StopTimer()
				return d
			}
			d := timed(func() { s.run(b, w.main(s)) })
			state := s.state(b)
			p := newStage(b, b.TempDir(), in)
			cmd := w.post(p)
			if w.container {
				for _, kv := range state {
					k, _, _ := strings.Cut(kv, "=")
					cmd = append(cmd[:len(cmd)-1], "-e", k, cmd[len(cmd)-1])
				}
			}
			d += timed(func() { p.run(b, cmd, state...) })
			samples[w.name] = append(samples[w.name], float64(d)/float64(time.Millisecond))
		}
	}
	if got := len(fake.Minted()) - mints; got != b.N*perRun {
		b.Fatalf("%d tokens minted in %d runs of %d ways", got, b.N, perRun)
	}
	if n := len(fake.Live()); n != 0 {
		b.Fatalf("%d tokens left alive", n)
	}
	for _, w := range ways {
		b.ReportMetric(median(samples[w.name]), w.name+"-ms")
	}
	diff := func(a string, minus ...string) []float64 {
		out := make([]float64, b.N)
		for i := range out {
			out[i] = samples[a][i]
			for _, m := range minus {
				out[i] -= samples[m][i]
			}
		}
		return out
	}
	b.ReportMetric(median(diff("native", "node-start", "binary")), "shim-ms")
	b.ReportMetric(median(diff("native", "node-spawn")), "checks-ms")
	b.Logf("node %s (%s)", node.Version, node.Path)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// bareShim is the least a Node shim can do: start the binary, inherit
// stdio, exit with its code.
const bareShim = `require('child_process').spawn(process.argv[1], [process.argv[2]], {stdio: 'inherit'}).on('exit', (c) => process.exit(c))`

// benchImage returns the action image to measure, or "" without Docker.
func benchImage() string {
	if _, err := exec.LookPath("docker"); err != nil {
		return ""
	}
	if exec.Command("docker", "info").Run() != nil {
		return ""
	}
	img := os.Getenv("JOBTOKEN_IMAGE")
	if img == "" {
		img = "jobtoken:local"
	}
	if exec.Command("docker", "image", "inspect", img).Run() != nil {
		return ""
	}
	return img
}
