package faultmatrix_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// entraRefreshCalls are the calls the broker makes to refresh an Entra
// token: the OIDC request and the exchange, on each host.
var entraRefreshCalls = []refreshCall{
	{name: "entra/github: OIDC request", world: entraWorldLife(false, 4*time.Second), method: "GET", path: testutil.PathSuffix("/idtoken"), afterMain: true},
	{name: "entra/github: exchange", world: entraWorldLife(false, 4*time.Second), method: "POST", path: testutil.PathSuffix("/oauth2/v2.0/token"), afterMain: true, mints: true},
	{name: "entra/azure: OIDC request", world: entraWorldLife(true, 4*time.Second), method: "POST", path: testutil.PathSuffix("/oidctoken"), afterMain: true},
	{name: "entra/azure: exchange", world: entraWorldLife(true, 4*time.Second), method: "POST", path: testutil.PathSuffix("/oauth2/v2.0/token"), afterMain: true, mints: true},
}

// TestEntraRefreshFaultMatrix: every fault on the OIDC request and the
// exchange a refresh of an Entra token makes, on both hosts, once and for
// good; main and post still succeed, the broker refreshes once a fault
// passes, and no secret (Entra token, OIDC token, the request's
// credential) is printed.
func TestEntraRefreshFaultMatrix(t *testing.T) {
	runRefreshMatrix(t, "entra refresh fault matrix", entraRefreshCalls, func(t *testing.T, _ refreshCall, k cellKey, o *outcome) {
		assert.Equal(t, "ok", o.kind, "a failed refresh is the broker log's, not a warning: %s", o.errText)
		if k.transient {
			assert.True(t, o.refreshed, "the broker refreshed once the fault passed")
		}
	})
}
