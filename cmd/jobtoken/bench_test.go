package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// releaseBinary builds jobtoken as the Dockerfile does (static, trimmed,
// stripped), so the numbers are those of the shipped binary. A benchmark with
// sub-benchmarks runs once, so this builds once per run.
func releaseBinary(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(dir, "jobtoken"), ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	if err := os.Symlink("jobtoken", filepath.Join(dir, "jobtoken-post")); err != nil {
		b.Fatal(err)
	}
	return filepath.Join(dir, "jobtoken")
}

// stage is one run of the binary as the runner starts a docker action's
// stage: INPUT_* with hyphens kept, fresh file-command files.
type stage struct {
	env   []string
	files map[string]string
}

func newStage(b *testing.B, dir string, in map[string]string) *stage {
	s := &stage{files: map[string]string{}}
	s.env = []string{"GITHUB_ACTIONS=true", "GITHUB_REPOSITORY=octo/app", "GITHUB_RUN_ID=42", "GITHUB_RUN_ATTEMPT=1", "HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	for _, n := range []string{"OUTPUT", "ENV", "STATE", "STEP_SUMMARY"} {
		p := filepath.Join(dir, strings.ToLower(n))
		if err := os.WriteFile(p, nil, 0o644); err != nil {
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

func (s *stage) run(b *testing.B, bin string, extra ...string) {
	cmd := exec.Command(bin)
	cmd.Env = append(append([]string{}, s.env...), extra...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", filepath.Base(bin), err, out.String())
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

// BenchmarkColdStartGitHub measures what a job waits for: starting the
// shipped binary as the runner does, through minting one GitHub installation
// token against a loopback fake, until the process has written its outputs
// and exited (main), and the post stage revoking it (post). It reports the
// HTTP requests each stage makes and the binary's size.
func BenchmarkColdStartGitHub(b *testing.B) {
	bin := releaseBinary(b)
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
					s.run(b, bin)
					for k, v := range s.entries(b, "STATE") {
						state = append(state, "STATE_"+k+"="+v)
					}
				}
				before := fake.Requests()
				b.StartTimer()

				if isPost {
					s.run(b, post, state...)
				} else {
					s.run(b, bin)
				}

				b.StopTimer()
				requests += fake.Requests() - before
				if !isPost {
					if s.entries(b, "OUTPUT")["token"] == "" {
						b.Fatal("no token output")
					}
					s.run(b, post, "STATE_jobtoken="+s.entries(b, "STATE")["jobtoken"])
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
