package release_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/release"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

func TestPinnedGo(t *testing.T) {
	for _, tc := range []struct{ gomod, want, err string }{
		{"module x\n\ngo 1.26.8\n", "go1.26.8", ""},
		{"module x\n\ngo 1.26.0\n\ntoolchain go1.26.8\n", "go1.26.8", ""},
		{"module x\n\ngo 1.26\n", "", "patch release"},
		{"module x\n", "", "pins no toolchain"},
	} {
		got, err := release.PinnedGo([]byte(tc.gomod))
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}
}

// The repository's pin is what the Dockerfile's default base image and the
// machine's toolchain say, so a release builds here and in the container.
func TestTheToolchainPinAgrees(t *testing.T) {
	gomod, err := os.ReadFile(filepath.Join(testutil.Root(), "go.mod"))
	require.NoError(t, err)
	pin, err := release.PinnedGo(gomod)
	require.NoError(t, err)
	for _, name := range []string{"Dockerfile", "container/service.Dockerfile"} {
		df, err := os.ReadFile(filepath.Join(testutil.Root(), name))
		require.NoError(t, err)
		m := regexp.MustCompile(`(?m)^ARG GO_IMAGE=golang:(\S+)-\S+$`).FindSubmatch(df)
		require.NotNil(t, m, "%s's GO_IMAGE default is a golang:<version>-<variant> tag", name)
		assert.Equal(t, pin, "go"+string(m[1]), "%s's default GO_IMAGE must carry the Go that go.mod pins", name)
	}
}

// The service image runs jobtoken serve as a non-root user, from the CLI
// binary (the step binary has no serve); the action's image keeps root.
func TestServiceImageIsNonRoot(t *testing.T) {
	df, err := os.ReadFile(filepath.Join(testutil.Root(), "container", "service.Dockerfile"))
	require.NoError(t, err)
	text := string(df)
	final := text[strings.LastIndex(text, "\nFROM "):]
	assert.Contains(t, final, "USER 65532:65532")
	assert.Contains(t, final, `ENTRYPOINT ["/jobtoken", "serve"]`)
	// The image holds the CLI binary, which has serve, under the name the
	// builder's -cli folder gives it (Go's GOARCH, not the platform's x64).
	assert.Contains(t, text, `cp "/release/cli/jobtoken-linux-$(go env GOARCH)" /image/jobtoken`)
	for _, p := range release.Platforms {
		if p.GOOS == "linux" {
			assert.Equal(t, "jobtoken-linux-"+p.GOARCH, p.CLIName(), "the service Dockerfile copies the CLI binary by this name")
		}
	}
	action, err := os.ReadFile(filepath.Join(testutil.Root(), "Dockerfile"))
	require.NoError(t, err)
	assert.NotContains(t, string(action), "\nUSER ", "the action's image runs as the runner expects (root)")
}

// fakeGo is a go command that reports version and records its builds.
func fakeGo(t *testing.T, version string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake go command is a shell script")
	}
	dir := t.TempDir()
	script := "#!/bin/sh\nif [ \"$1\" = env ]; then echo " + version + "; exit 0; fi\n" +
		"out=''; prev=''; for a in \"$@\"; do [ \"$prev\" = -o ] && out=\"$a\"; prev=\"$a\"; done\n" +
		"env | grep -E '^(GO[A-Z0-9]*|CGO_ENABLED)=' | sort > \"$out.env\"\n" +
		"echo \"$@\" > \"$out.args\"\nprintf 'binary %s' \"$GOOS-$GOARCH\" > \"$out\"\n"
	p := filepath.Join(dir, "go")
	require.NoError(t, os.WriteFile(p, []byte(script), 0o755))
	return p
}

func TestBuilderRefusesAnotherToolchain(t *testing.T) {
	b := &release.Builder{Root: testutil.Root(), Version: "v1.0.0", Go: fakeGo(t, "go1.26.7")}
	_, err := b.Build(context.Background(), t.TempDir(), release.Platforms[:1])
	require.Error(t, err)
	assert.Regexp(t, `release builds use the toolchain go.mod pins, go1\.\d+\.\d+, but the go command is go1\.26\.7: install go1\.\d+\.\d+ \(or run with GOTOOLCHAIN=go1\.\d+\.\d+, which downloads it\), or change the pin in go\.mod`, err.Error())
}

// Whatever the caller's environment says, a release binary is built one way.
func TestBuilderFixesTheBuild(t *testing.T) {
	gomod, err := os.ReadFile(filepath.Join(testutil.Root(), "go.mod"))
	require.NoError(t, err)
	pin, err := release.PinnedGo(gomod)
	require.NoError(t, err)
	env := append(os.Environ(), "GOFLAGS=-race -tags=debug", "GOAMD64=v3", "CGO_ENABLED=1", "GOEXPERIMENT=nocoverageredesign", "GOFIPS140=latest")
	b := &release.Builder{Root: testutil.Root(), Version: "v1.2.3", Go: fakeGo(t, pin), Env: env, Tags: release.StepTags}
	dir := t.TempDir()
	built, err := b.Build(context.Background(), dir, release.Platforms)
	require.NoError(t, err)
	require.Len(t, built, len(release.Platforms))
	for _, x := range built {
		args, err := os.ReadFile(x.Path + ".args")
		require.NoError(t, err)
		assert.Equal(t, "build -trimpath -buildvcs=false -tags jobtoken_step -ldflags -s -w -buildid= -X github.com/jobtoken/jobtoken/pkg/cli.Version=v1.2.3 -o "+x.Path+" ./cmd/jobtoken\n", string(args))
		benv, err := os.ReadFile(x.Path + ".env")
		require.NoError(t, err)
		for _, kv := range []string{"CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOAMD64=v1", "GOARM64=v8.0", "GOEXPERIMENT=", "GOFIPS140=off", "GOOS=" + x.Platform.GOOS, "GOARCH=" + x.Platform.GOARCH} {
			assert.Contains(t, strings.Split(string(benv), "\n"), kv)
		}
		assert.NotContains(t, string(benv), "-race")
	}
	sums, err := release.VerifyTree(dir)
	require.NoError(t, err)
	assert.Len(t, sums, len(release.Platforms))

	for _, bad := range []string{"", "v1 2", "$(x)", "-X main.y=1"} {
		b.Version = bad
		_, err := b.Build(context.Background(), t.TempDir(), release.Platforms[:1])
		assert.ErrorContains(t, err, "must be letters, digits", bad)
	}
}

func TestSums(t *testing.T) {
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	text := release.FormatSums([]release.Sum{{Path: "bin/z/jobtoken", SHA256: a}, {Path: "bin/a/jobtoken.exe", SHA256: b}})
	assert.Equal(t, b+"  bin/a/jobtoken.exe\n"+a+"  bin/z/jobtoken\n", string(text), "sha256sum's format, sorted")
	got, err := release.ParseSums(append(text, []byte(b+" *x\r\n\n")...))
	require.NoError(t, err)
	assert.Equal(t, []release.Sum{{"bin/a/jobtoken.exe", b}, {"bin/z/jobtoken", a}, {"x", b}}, got)
	for _, bad := range []string{
		"not a line\n",
		strings.Repeat("A", 64) + "  x\n",
		a + "  /etc/passwd\n",
		a + "  ../x\n",
		a + "  bin/../../x\n",
		a + "  x\n" + b + "  x\n",
	} {
		_, err := release.ParseSums([]byte(bad))
		assert.Error(t, err, bad)
	}
}

func TestParsePlatforms(t *testing.T) {
	all, err := release.ParsePlatforms(" ")
	require.NoError(t, err)
	assert.Equal(t, release.Platforms, all)
	two, err := release.ParsePlatforms("windows-arm64, linux-x64,linux-x64")
	require.NoError(t, err)
	assert.Equal(t, []string{"windows-arm64", "linux-x64"}, []string{two[0].Name, two[1].Name})
	_, err = release.ParsePlatforms("linux-amd64")
	assert.ErrorContains(t, err, `unknown platform "linux-amd64", valid platforms are linux-x64, linux-arm64, darwin-x64, darwin-arm64, windows-x64, windows-arm64`)
	p, _ := release.ForGo("windows", "arm64")
	assert.Equal(t, "bin/windows-arm64/jobtoken.exe", p.BinPath())
	assert.Equal(t, "jobtoken-windows-arm64.exe", p.CLIName())
}

// sourceCopy copies the repository's files (tracked, and new ones not
// ignored) to dir, as a fresh clone at another path would hold them.
func sourceCopy(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", testutil.Root(), "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(testutil.Root(), filepath.FromSlash(f))
		st, err := os.Stat(src)
		if err != nil {
			continue // deleted in the work tree
		}
		require.NoError(t, release.CopyFile(src, filepath.Join(dir, filepath.FromSlash(f)), st.Mode().Perm()))
	}
	return dir
}

func runRelease(t *testing.T, src string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(src, ".ci", "release")}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

// files maps every file under dir (slash paths) to its bytes and mode.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		m[filepath.ToSlash(rel)] = st.Mode().Perm().String() + " " + string(b)
		return nil
	}))
	return m
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestReleaseIsReproducible runs .ci/release in its fast form (this
// platform only) twice, from two copies of the repository at different
// paths, and requires byte-identical trees, CLI downloads and action
// archive. With JOBTOKEN_REPRO_COLD=1 (.ci/run sets it) the second run starts
// from an empty Go build cache, so nothing is shared but the module cache. It
// also checks what the tree holds, that it runs, and that the .vsix carries
// the tree's very shim and binaries.
func TestReleaseIsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the release twice")
	}
	if runtime.GOOS == "windows" {
		t.Skip(".ci/release is a bash script for Linux and macOS")
	}
	p := testutil.HostPlatform(t)
	tmp := t.TempDir()
	src1 := sourceCopy(t, filepath.Join(tmp, "a", "jobtoken"))
	src2 := sourceCopy(t, filepath.Join(tmp, "b", "elsewhere", "src"))
	out1, out2 := filepath.Join(tmp, "out1"), filepath.Join(tmp, "out2")
	const version = "v1.98.7-test"

	vsix := "--no-vsix"
	if _, err := exec.LookPath("npm"); err == nil {
		vsix = "" // pack installs tfx-cli once into the user cache
	}
	args1 := []string{"--platforms", p.Name, "--no-image"}
	if vsix != "" {
		args1 = append(args1, vsix)
	}
	log := runRelease(t, src1, nil, append(args1, out1, version)...)
	var env2 []string
	if os.Getenv("JOBTOKEN_REPRO_COLD") == "1" {
		env2 = append(env2, "GOCACHE="+filepath.Join(tmp, "cold-gocache"))
	}
	runRelease(t, src2, env2, "--platforms", p.Name, "--no-image", "--no-vsix", out2, version)

	// Byte-identical, file by file and as archives.
	a1, a2 := files(t, filepath.Join(out1, "action")), files(t, filepath.Join(out2, "action"))
	assert.Equal(t, keys(a1), keys(a2))
	for k := range a1 {
		assert.True(t, a1[k] == a2[k], "action/%s differs between two builds of the same source", k)
	}
	assert.Equal(t, files(t, filepath.Join(out1, "cli")), files(t, filepath.Join(out2, "cli")))
	tgz1, err := os.ReadFile(filepath.Join(out1, "action.tar.gz"))
	require.NoError(t, err)
	tgz2, err := os.ReadFile(filepath.Join(out2, "action.tar.gz"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(tgz1, tgz2), "action.tar.gz differs between two builds of the same source")

	// What the tree holds: exactly what the action needs, as committed.
	assert.Equal(t, []string{"LICENSE", "README.md", "SHA256SUMS", "action.yml", p.BinPath(), "container/action.yml", "dist/main.js", "dist/post.js", "dist/shim.js"}, keys(a1))
	for _, f := range append([]string{"LICENSE", "README.md", "action.yml", "container/action.yml"}, release.ShimFiles...) {
		want, err := os.ReadFile(filepath.Join(testutil.Root(), filepath.FromSlash(f)))
		require.NoError(t, err)
		assert.Equal(t, "-rw-r--r-- "+string(want), a1[f], f)
	}
	assert.True(t, strings.HasPrefix(a1[p.BinPath()], "-rwxr-xr-x "), "the binary is executable in the tree")
	_, err = release.VerifyTree(filepath.Join(out1, "action"))
	require.NoError(t, err)
	assert.Equal(t, []string{"SHA256SUMS", p.CLIName()}, keys(files(t, filepath.Join(out1, "cli"))))
	_, err = release.VerifyTree(filepath.Join(out1, "cli"))
	require.NoError(t, err)
	bin := filepath.Join(out1, "action", filepath.FromSlash(p.BinPath()))
	ver, err := exec.Command(bin, "version").Output()
	require.NoError(t, err)
	assert.Equal(t, "jobtoken "+version+"\n", string(ver))
	assert.Regexp(t, `action tree, compressed: \d+ bytes`, log)

	// Two flavours: the tree holds the step binary (no demo, smaller), the
	// CLI download the full one.
	stepOut, err := exec.Command(bin, "demo", "--provider", "anaconda", "--json").CombinedOutput()
	require.Error(t, err, "the step binary has no demo")
	assert.Contains(t, string(stepOut), "built without the demo")
	cliBin := filepath.Join(out1, "cli", p.CLIName())
	demoOut, err := exec.Command(cliBin, "demo", "--provider", "anaconda", "--json").CombinedOutput()
	require.NoError(t, err, "%s", demoOut)
	assert.Contains(t, string(demoOut), `"ok": true`)
	stepInfo, err := os.Stat(bin)
	require.NoError(t, err)
	cliInfo, err := os.Stat(cliBin)
	require.NoError(t, err)
	assert.Less(t, stepInfo.Size(), cliInfo.Size(), "the step binary leaves the demo's fakes out")
	assert.LessOrEqual(t, cliInfo.Size(), int64(12<<20), "every binary stays within 12 MiB (.ci/release checks all six platforms)")

	// The tree runs as the runner runs it (when there is a node).
	t.Run("runs", func(t *testing.T) {
		node := testutil.FirstNode(t)
		cmd := exec.Command(node.Path, filepath.Join(out1, "action", "dist", "post.js"))
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GITHUB_ACTIONS=true", "INPUT_PROVIDER=github"}
		run, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", run)
		assert.Contains(t, string(run), "Skipping revocation")
	})

	// The .vsix carries the tree's shim, binaries and SHA256SUMS, byte for byte.
	if vsix == "" {
		zr, err := zip.OpenReader(filepath.Join(out1, "jobtoken-1.98.7.vsix"))
		require.NoError(t, err)
		defer zr.Close()
		inZip := map[string]string{}
		for _, f := range zr.File {
			rc, err := f.Open()
			require.NoError(t, err)
			b, err := io.ReadAll(rc)
			rc.Close()
			require.NoError(t, err)
			inZip[f.Name] = string(b)
		}
		for _, f := range append([]string{"SHA256SUMS", p.BinPath()}, release.ShimFiles...) {
			got, ok := inZip["JobTokenV1/"+f]
			require.True(t, ok, "the .vsix lacks JobTokenV1/%s", f)
			assert.True(t, strings.HasSuffix(a1[f], " "+got) && len(a1[f]) == len(got)+11, "JobTokenV1/%s differs from action/%s", f, f)
		}
	} else {
		t.Log("npm not found: the .vsix part is skipped")
	}
}

// A release pins the container variant to the image it pushed.
func TestReleaseRefPinsTheImage(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("bash script")
	}
	tree := t.TempDir()
	require.NoError(t, release.CopyFile(filepath.Join(testutil.Root(), "container", "action.yml"), filepath.Join(tree, "container", "action.yml"), 0o644))
	script := filepath.Join(testutil.Root(), ".ci", "release-ref")
	digest := "sha256:" + strings.Repeat("0123456789abcdef", 4)
	out, err := exec.Command("bash", script, "--pin-image", digest, tree).CombinedOutput()
	require.NoError(t, err, "%s", out)
	b, err := os.ReadFile(filepath.Join(tree, "container", "action.yml"))
	require.NoError(t, err)
	assert.Contains(t, string(b), "\n  image: docker://ghcr.io/jobtoken/jobtoken@"+digest+"\n")
	assert.NotContains(t, string(b), "unreleased")
	assert.Contains(t, string(b), "pinned by digest")
	orig, err := os.ReadFile(filepath.Join(testutil.Root(), "container", "action.yml"))
	require.NoError(t, err)
	assert.Equal(t, strings.Count(string(orig), "\n"), strings.Count(string(b), "\n"), "only the image line and its comment change")

	// Pinning again replaces the digest; a malformed one is refused.
	digest2 := "sha256:" + strings.Repeat("f", 64)
	out, err = exec.Command("bash", script, "--pin-image", digest2, tree).CombinedOutput()
	require.NoError(t, err, "%s", out)
	b, _ = os.ReadFile(filepath.Join(tree, "container", "action.yml"))
	assert.Contains(t, string(b), "@"+digest2+"\n")
	for _, bad := range []string{"sha256:abc", "latest", "sha256:" + strings.Repeat("A", 64)} {
		out, err := exec.Command("bash", script, "--pin-image", bad, tree).CombinedOutput()
		assert.Error(t, err)
		assert.Contains(t, string(out), "must be sha256: and 64 hex digits")
	}
}

// The release commit holds exactly the tree, with the binaries executable,
// on top of the previous release; the same inputs give the same commit.
func TestReleaseRefCommitsTheTree(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("bash script")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	repo := t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %s: %s", strings.Join(args, " "), out)
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	require.NoError(t, os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module x\n"), 0o644))
	git("add", ".")
	git("commit", "-q", "-m", "source")
	source := git("rev-parse", "HEAD")

	self, err := os.Executable()
	require.NoError(t, err)
	tree := filepath.Join(t.TempDir(), "action")
	testutil.ReleaseTree(t, tree, self)
	require.NoError(t, os.Chmod(filepath.Join(tree, filepath.FromSlash(testutil.HostPlatform(t).BinPath())), 0o755))
	require.NoError(t, release.CopyFile(filepath.Join(testutil.Root(), "action.yml"), filepath.Join(tree, "action.yml"), 0o644))

	script := filepath.Join(testutil.Root(), ".ci", "release-ref")
	refCmd := func(args ...string) (string, error) {
		cmd := exec.Command("bash", append([]string{script}, args...)...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null")
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	// A release needs every platform and a pinned image.
	out, err := refCmd(tree, "v1.2.3")
	require.Error(t, err)
	assert.Contains(t, out, "has no binary for")

	first, err := refCmd("--allow-incomplete", tree, "v1.2.3")
	require.NoError(t, err, first)
	assert.Regexp(t, `^[0-9a-f]{40}$`, first)
	assert.Equal(t, first, git("rev-parse", "releases/v1"))
	assert.Equal(t, source, git("rev-parse", "HEAD"), "the source branch is untouched")
	listing := git("ls-tree", "-r", first)
	assert.Contains(t, listing, "100755 blob")
	assert.Contains(t, listing, "\t"+testutil.HostPlatform(t).BinPath())
	assert.NotContains(t, listing, "go.mod", "the release commit holds the tree only")
	assert.Equal(t, 6, len(strings.Split(listing, "\n")), listing)
	msg := git("log", "-1", "--format=%B", first)
	assert.Contains(t, msg, "jobtoken v1.2.3")
	assert.Contains(t, msg, source)

	second, err := refCmd("--allow-incomplete", tree, "v1.2.4")
	require.NoError(t, err, second)
	assert.Equal(t, first, git("rev-parse", second+"^"), "a release commit follows the previous one")

	// Same source, tree and parent: the same commit.
	git("update-ref", "refs/heads/releases/v1", first)
	again, err := refCmd("--allow-incomplete", tree, "v1.2.4")
	require.NoError(t, err, again)
	assert.Equal(t, second, again)

	_, err = refCmd("--allow-incomplete", tree, "1.2.4")
	assert.Error(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(tree, filepath.FromSlash(testutil.HostPlatform(t).BinPath())), []byte("tampered"), 0o755))
	out, err = refCmd("--allow-incomplete", tree, "v1.2.5")
	require.Error(t, err)
	assert.Contains(t, out, "SHA256SUMS does not match")
}

// .ci/release empties OUTDIR, so it refuses one that holds anything but an
// earlier release, and one inside the repository; both before building.
func TestReleaseRefusesAnOutdirItWouldClobber(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("bash script")
	}
	script := filepath.Join(testutil.Root(), ".ci", "release")
	run := func(args ...string) (string, int) {
		cmd := exec.Command("bash", append([]string{script}, args...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		require.NoError(t, err, "%s", out)
		return string(out), 0
	}
	full := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(full, "precious"), []byte("x"), 0o644))
	out, code := run(full)
	assert.Equal(t, 2, code, out)
	assert.Contains(t, out, "is not empty and holds no earlier release; name a new folder")
	_, err := os.Stat(filepath.Join(full, "precious"))
	assert.NoError(t, err, "nothing was deleted")

	out, code = run(filepath.Join(testutil.Root(), "pkg"))
	assert.Equal(t, 2, code, out)
	assert.Contains(t, out, "OUTDIR must be outside the repository (or under build/)")

	out, code = run("--platforms")
	assert.Equal(t, 2, code, out)
	out, code = run("--frobnicate", t.TempDir())
	assert.Equal(t, 2, code, out)
	assert.Contains(t, out, "unknown flag --frobnicate")
}
