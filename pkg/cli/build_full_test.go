//go:build !jobtoken_step

package cli_test

// stepBuild: these tests run against the CLI download's command set (with
// the demo); build_step_test.go is the step binaries' (-tags jobtoken_step).
const stepBuild = false
