package release

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// VersionVar is the variable the version is stamped into.
const VersionVar = "github.com/jobtoken/jobtoken/pkg/cli.Version"

var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$`)

// Builder cross-compiles cmd/jobtoken the one way a release does.
type Builder struct {
	// Root is the repository root (where go.mod is).
	Root string
	// Version is stamped into the binary (jobtoken version prints it).
	Version string
	// Go is the go command; "go" from PATH when empty.
	Go string
	// Env is the environment the go command starts from; os.Environ() when
	// nil. What would change the output (GOFLAGS, GOAMD64, GOEXPERIMENT, …)
	// is replaced, whatever it holds.
	Env []string
	// Log receives one line per binary.
	Log io.Writer
	// Tags are the build tags of the flavour being built: StepTags for the
	// binaries CI steps run (the action tree, the .vsix, the container
	// variant's image), none for the CLI downloads.
	Tags string
}

// StepTags builds the binary a CI step runs: without the commands no step
// needs (jobtoken demo and its embedded fakes), because every job downloads
// six of them and the action tree must stay under 25 MB (.ci/release checks it).
const StepTags = "jobtoken_step"

// buildEnvOverrides are set for every build, replacing what the caller's
// environment says: each one changes the bytes of the binary.
func buildEnv(base []string, p Platform) []string {
	drop := map[string]bool{
		"GOFLAGS": true, "GOOS": true, "GOARCH": true, "CGO_ENABLED": true, "GOEXPERIMENT": true,
		"GOAMD64": true, "GOARM64": true, "GOARM": true, "GO386": true, "GOFIPS140": true,
	}
	var env []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	return append(env,
		"CGO_ENABLED=0",
		"GOOS="+p.GOOS,
		"GOARCH="+p.GOARCH,
		"GOAMD64=v1",
		"GOARM64=v8.0",
		"GOEXPERIMENT=",
		"GOFIPS140=off",
		"GOFLAGS=-mod=readonly",
	)
}

// BuildArgs are the go build arguments of a release binary of the flavour
// tags, written to out.
func BuildArgs(version, tags, out string) []string {
	args := []string{"build", "-trimpath", "-buildvcs=false"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	return append(args, "-ldflags", "-s -w -buildid= -X "+VersionVar+"="+version,
		"-o", out, "./cmd/jobtoken")
}

func (b *Builder) goCmd() string {
	if b.Go != "" {
		return b.Go
	}
	return "go"
}

func (b *Builder) env() []string {
	if b.Env != nil {
		return b.Env
	}
	return os.Environ()
}

// CheckToolchain fails unless the go command is the toolchain go.mod pins.
func (b *Builder) CheckToolchain(ctx context.Context) error {
	gomod, err := os.ReadFile(filepath.Join(b.Root, "go.mod"))
	if err != nil {
		return fmt.Errorf("failed to read go.mod: %w", err)
	}
	want, err := PinnedGo(gomod)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, b.goCmd(), "env", "GOVERSION")
	cmd.Dir, cmd.Env = b.Root, b.env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("failed to run go env GOVERSION: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	got := strings.TrimSpace(out.String())
	if got != want {
		return fmt.Errorf("release builds use the toolchain go.mod pins, %s, but the go command is %s: install %s (or run with GOTOOLCHAIN=%s, which downloads it), or change the pin in go.mod in its own commit", want, got, want, want)
	}
	return nil
}

// Built is one binary a build wrote.
type Built struct {
	Platform Platform
	Path     string // absolute
	Size     int64
	SHA256   string
}

// Build checks the toolchain, then writes the binary of every platform to
// dir/bin/<platform>/jobtoken[.exe] and dir/SHA256SUMS listing them.
func (b *Builder) Build(ctx context.Context, dir string, platforms []Platform) ([]Built, error) {
	if !versionRE.MatchString(b.Version) {
		return nil, fmt.Errorf("version %q must be letters, digits and . _ + - (e.g. v1.2.3 or dev)", b.Version)
	}
	if len(platforms) == 0 {
		return nil, fmt.Errorf("no platform to build")
	}
	if err := b.CheckToolchain(ctx); err != nil {
		return nil, err
	}
	var built []Built
	var sums []Sum
	for _, p := range platforms {
		out := filepath.Join(dir, filepath.FromSlash(p.BinPath()))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, b.goCmd(), BuildArgs(b.Version, b.Tags, out)...)
		cmd.Dir, cmd.Env = b.Root, buildEnv(b.env(), p)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("failed to build %s: %w\n%s", p.Name, err, msg)
		}
		if err := os.Chmod(out, 0o755); err != nil {
			return nil, err
		}
		sum, size, err := HashFile(out)
		if err != nil {
			return nil, err
		}
		built = append(built, Built{Platform: p, Path: out, Size: size, SHA256: sum})
		sums = append(sums, Sum{Path: p.BinPath(), SHA256: sum})
		if b.Log != nil {
			fmt.Fprintf(b.Log, "built %-26s %9d bytes  sha256:%s\n", p.BinPath(), size, sum)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, SumsFile), FormatSums(sums), 0o644); err != nil {
		return nil, fmt.Errorf("failed to write %s: %w", SumsFile, err)
	}
	return built, nil
}

// WriteCLI copies built binaries to dir under their download names
// (jobtoken-linux-amd64, …) with a SHA256SUMS of its own, for people who run
// the CLI.
func WriteCLI(built []Built, dir string) error {
	var sums []Sum
	for _, b := range built {
		name := b.Platform.CLIName()
		if err := CopyFile(b.Path, filepath.Join(dir, name), 0o755); err != nil {
			return fmt.Errorf("failed to write %s: %w", name, err)
		}
		sums = append(sums, Sum{Path: name, SHA256: b.SHA256})
	}
	if err := os.WriteFile(filepath.Join(dir, SumsFile), FormatSums(sums), 0o644); err != nil {
		return fmt.Errorf("failed to write %s: %w", SumsFile, err)
	}
	return nil
}
