//go:build jobtoken_step

package cli

import (
	"context"
	"fmt"
)

// The federation service and its policy tools are not in the binary CI
// steps run: a step only asks a service, and every job downloads it.
func serveCommand() command {
	return command{"not in this build: the federation service is in the CLI download and the service image", runServerAbsent("serve")}
}

func policyCommand() command {
	return command{"not in this build: policy check|test are in the CLI download", runServerAbsent("policy")}
}

func runServerAbsent(name string) func(context.Context, *Env, []string) int {
	return func(_ context.Context, e *Env, _ []string) int {
		fmt.Fprintf(e.Stderr, "jobtoken %s: this is the binary the GitHub Action and the Azure Pipelines task run, built without the federation service "+
			"to keep every job's download small; run it from the CLI download (jobtoken-<os>-<arch>, see the README's \"Install and pin\"), "+
			"the service image, or from source: go run github.com/jobtoken/jobtoken/cmd/jobtoken@latest %s\n", name, name)
		return 2
	}
}
