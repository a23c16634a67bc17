package demo

// SecretsOf exposes a run's secret values to the tests, which check that
// none is printed.
func SecretsOf(r *Result) []string { return r.secretValues() }
