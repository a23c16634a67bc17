// Command build cross-compiles the release binaries the one way every
// release artifact is built (the action tree, the CLI downloads, the .vsix
// and the image): pinned toolchain, static, -trimpath, no build ID, no VCS
// stamp. It writes OUT/bin/<platform>/jobtoken[.exe] (the binary CI steps run,
// built with release.StepTags) and OUT/SHA256SUMS, and with -cli the full
// binaries (jobtoken demo included) under their download names.
//
//	go run ./pkg/release/build -out DIR [-version v1.2.3] [-platforms linux-x64,windows-arm64]
//
// .ci/release and the Dockerfile run it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/release"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	out := fs.String("out", "", "output `folder` (required)")
	version := fs.String("version", "dev", "version stamped into the binaries")
	platforms := fs.String("platforms", "", "platforms to build, comma-separated (default: all of "+strings.Join(release.Names(), ", ")+")")
	root := fs.String("root", ".", "repository root (where go.mod is)")
	shim := fs.Bool("shim", false, "also copy the shim (dist/) into -out, making it an action tree")
	cli := fs.String("cli", "", "also write the binaries under their download names, with SHA256SUMS, to this `folder`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return fmt.Errorf("usage: build -out DIR [-version V] [-platforms LIST]")
	}
	ps, err := release.ParsePlatforms(*platforms)
	if err != nil {
		return fmt.Errorf("-platforms: %w", err)
	}
	abs, err := filepath.Abs(*root)
	if err != nil {
		return err
	}
	// The tree under -out is what CI steps run (the action tree, the .vsix,
	// the container image); the CLI downloads are the full binary.
	b := &release.Builder{Root: abs, Version: *version, Log: stdout, Tags: release.StepTags}
	fmt.Fprintf(stdout, "step binaries (action tree, .vsix, image; -tags %s):\n", release.StepTags)
	if _, err := b.Build(ctx, *out, ps); err != nil {
		return err
	}
	if *shim {
		if err := release.CopyShim(abs, *out); err != nil {
			return err
		}
	}
	if *cli == "" {
		return nil
	}
	full, err := os.MkdirTemp("", "jobtoken-cli-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(full)
	b.Tags = ""
	fmt.Fprintf(stdout, "full binaries (CLI downloads, jobtoken demo included), copied to %s:\n", *cli)
	built, err := b.Build(ctx, full, ps)
	if err != nil {
		return err
	}
	return release.WriteCLI(built, *cli)
}
