//go:build jobtoken_step

package cli

import (
	"context"
	"fmt"
)

// demoCommand stands for the demo in the binary CI steps run (the action
// tree, the .vsix, the container image), which is built without the demo
// and its embedded fakes: every job downloads six of them. The command
// still answers, and says where the demo is.
func demoCommand() command {
	return command{"not in this build: the demo is in the CLI download and in go run", runDemoAbsent}
}

func runDemoAbsent(_ context.Context, e *Env, _ []string) int {
	fmt.Fprintln(e.Stderr, "jobtoken demo: this is the binary the GitHub Action and the Azure Pipelines task run, built without the demo "+
		"to keep every job's download small; run it from the CLI download (jobtoken-<os>-<arch>, see the README's \"Install and pin\") "+
		"or from source: go run github.com/jobtoken/jobtoken/cmd/jobtoken@latest demo")
	return 2
}
