// Command build cross-compiles the release binaries the one way every
// release artifact is built (the action tree, the CLI downloads, the .vsix
// and the image): pinned toolchain, static, -trimpath, no build ID, no VCS
// stamp. It writes OUT/bin/<platform>/jobtoken[.exe] and OUT/SHA256SUMS.
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
	b := &release.Builder{Root: abs, Version: *version, Log: stdout}
	built, err := b.Build(ctx, *out, ps)
	if err != nil {
		return err
	}
	if *shim {
		if err := release.CopyShim(abs, *out); err != nil {
			return err
		}
	}
	if *cli != "" {
		return release.WriteCLI(built, *cli)
	}
	return nil
}
