// Command jobtoken mints a narrow, short-lived token for a CI job and revokes
// it when the job ends. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/jobtoken/jobtoken/pkg/cli"
)

func main() {
	ctx, done := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Stdout, os.Stderr, os.Stdin, os.Args, os.Getenv)
	done()
	os.Exit(code)
}
