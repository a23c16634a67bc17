//go:build jobtoken_step

package cli_test

// stepBuild: these tests run against the step binaries' command set
// (-tags jobtoken_step: no demo), so that what a job downloads is tested too.
const stepBuild = true
