package azdo_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/provider/azdo"
	"github.com/jobtoken/jobtoken/pkg/provider/providertest"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// TestPATCreateAnswerLost: when Azure DevOps created the PAT but its answer
// was lost or unreadable on every try, the step fails and the PATs nobody
// holds are found by the step's display name and revoked.
func TestPATCreateAnswerLost(t *testing.T) {
	for _, f := range []testutil.Fault{testutil.Malformed, testutil.CutShort} {
		t.Run(string(f), func(t *testing.T) {
			w := newPATWorld(t)
			ft := (&testutil.FaultTransport{}).Add(testutil.Rule{Name: "create", Method: "POST", Path: testutil.PathSuffix("/_apis/tokens/pats"), Fault: f})
			req := request("github", w.inputs("vso.code"), nil, ft)
			m, ps := azdo.New().Prepare(req)
			require.Empty(t, ps)
			tok, err := m.Mint(context.Background())
			require.Error(t, err)
			assert.Nil(t, tok)
			assert.NotEmpty(t, w.api.All(), "the fault hits the answer, after Azure DevOps created the PAT")
			assert.Empty(t, w.api.Live(), "no PAT whose value never reached jobtoken stays alive")
			assert.Contains(t, req.Log.(*providertest.Log).String(), "created by a request whose answer was lost")
		})
	}
}
