package agenttest_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agenttest"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// TestStepEnv: every task.json input is there under the agent's name (the
// value given, else the default, else ""), the host reads the job's run,
// and the agent's directories exist.
func TestStepEnv(t *testing.T) {
	env := agenttest.StepEnv(t, map[string]string{"clientId": "Iv23abc", "lifetime": "30m"})
	for k, want := range map[string]string{"INPUT_CLIENTID": "Iv23abc", "INPUT_LIFETIME": "30m", "INPUT_REVOKE": "true", "INPUT_PRIVATEKEY": ""} {
		got, ok := env[k]
		assert.True(t, ok, k)
		assert.Equal(t, want, got, k)
	}
	h := azpipelines.New(nil, nil, testutil.Getenv(env), registry.Default().Catalog())
	assert.Equal(t, host.Run{Repository: "octo/app", RepoName: "octo/app", RunID: "812", Attempt: "1", CollectionURI: "https://dev.azure.com/octo/"}, h.Run())
	for _, v := range []string{"AGENT_TEMPDIRECTORY", "SYSTEM_DEFAULTWORKINGDIRECTORY"} {
		fi, err := os.Stat(env[v])
		require.NoError(t, err, v)
		assert.True(t, fi.IsDir(), v)
	}

	task, err := agenttest.TaskJSON()
	require.NoError(t, err)
	_, err = agenttest.NewStepEnv(t.TempDir(), task, map[string]string{"client-id": "Iv23abc"})
	assert.EqualError(t, err, "input client-id is not in task.json", "the GitHub spelling")
}
