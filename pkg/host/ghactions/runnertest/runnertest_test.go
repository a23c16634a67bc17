package runnertest_test

import (
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions/runnertest"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// TestStepEnvReadsBack: the host reads the step's inputs as given, defaults
// filled in, and finds its file commands empty.
func TestStepEnvReadsBack(t *testing.T) {
	env := runnertest.StepEnv(t, map[string]string{"provider": "github", "client-id": "Iv23abc", "lifetime": "30m"})
	h := ghactions.New(secret.NewWriter(io.Discard, &secret.Set{}), testutil.Getenv(env), registry.Default().Catalog())
	in := h.Inputs()
	assert.Equal(t, "30m", in.Get(inputs.Lifetime))
	assert.Equal(t, "Iv23abc", in.Get(ghapp.ClientID))
	assert.True(t, in.Given(inputs.Revoke), "the runner passes a default as a value")
	assert.Equal(t, "true", in.Get(inputs.Revoke))
	assert.False(t, in.Given(ghapp.PrivateKey), "an input without a default is passed empty")
	assert.Equal(t, "", env["INPUT_PRIVATE-KEY"])
	for _, v := range runnertest.FileCommands {
		b, err := os.ReadFile(env[v])
		require.NoError(t, err)
		assert.Empty(t, b, v)
	}
}

func TestNewStepEnvRefusesAnUndeclaredInput(t *testing.T) {
	yml, err := runnertest.ActionYML()
	require.NoError(t, err)
	_, err = runnertest.NewStepEnv(t.TempDir(), yml, map[string]string{"client_id": "Iv23abc"})
	assert.EqualError(t, err, "input client_id is not in action.yml")
}
