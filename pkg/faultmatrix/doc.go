// Package faultmatrix holds the fault matrix test: every HTTP call jobtoken
// makes, for every provider, under every fault a CI network sees (resets,
// timeouts, 5xx, 429, rate-limit 403s, malformed, cut-short and stalled
// bodies), run through the real CLI, orchestrator and hosts against the
// fakes. Each cell asserts the outcome (success after retries, or one clear
// error), that no minted token is left live, and that no secret reaches any
// output; the matrix is printed in the test log (go test -v ./pkg/faultmatrix).
//
// The package has no code of its own; the test is in faultmatrix_test.go.
package faultmatrix
