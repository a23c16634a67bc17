//go:build !jobtoken_step

package cli

import (
	"context"
	"fmt"
)

func serveCommand() command {
	return command{"run the federation service: jobs present their CI OIDC token, a trust policy decides, the service mints", runServe}
}

func runServe(_ context.Context, e *Env, _ []string) int {
	fmt.Fprintln(e.Stderr, "jobtoken serve: not yet")
	return 2
}
