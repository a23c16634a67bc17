package local

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

func TestEnvNames(t *testing.T) {
	assert.Equal(t, []string{"INPUT_CLIENT-ID", "INPUT_CLIENT_ID", "INPUT_CLIENTID"}, EnvNames(ghapp.ClientID))
	assert.Equal(t, []string{"INPUT_PROVIDER"}, EnvNames(inputs.Provider))
}

func TestFromEnv(t *testing.T) {
	v := FromEnv(registry.Default().Catalog(), testutil.Getenv(map[string]string{
		"INPUT_CLIENT-ID":    "runner-spelling",
		"INPUT_CLIENT_ID":    "shell-spelling",
		"INPUT_PRIVATE_KEY":  "key",
		"INPUT_EXPORTENV":    "AGENT_SPELLING",
		"INPUT_PERMISSIONS":  "  contents:read  ",
		"INPUT_OWNER":        "",
		"INPUT_NOT_AN_INPUT": "ignored",
	}))
	assert.Equal(t, inputs.ValuesOf(map[string]string{
		ghapp.ClientID.Key:     "runner-spelling", // the runner's spelling wins
		ghapp.PrivateKey.Key:   "key",
		inputs.ExportEnv.Key:   "AGENT_SPELLING",
		inputs.Permissions.Key: "contents:read",
	}), v)
}

func TestOutputs(t *testing.T) {
	var out, errb bytes.Buffer
	set := &secret.Set{}
	h := New(Options{Stdout: secret.NewWriter(&out, set), Stderr: secret.NewWriter(&errb, set), Secrets: set})
	h.Mask("ghs_secretvalue")
	require.NoError(t, h.SetOutput(inputs.OutToken, "ghs_secretvalue", true))
	require.NoError(t, h.SetOutput(inputs.OutTokenID, "sha256:abc", false))
	require.NoError(t, h.SetOutput(ghapp.OutAppSlug, "", false))
	h.Infof("the token is ghs_secretvalue")
	h.Debugf("hidden unless JOBTOKEN_DEBUG is set")
	require.NoError(t, h.SaveState("jobtoken", "{}"))
	v, ok := h.State("jobtoken")
	assert.True(t, ok)
	assert.Equal(t, "{}", v)
	assert.Equal(t, "ghs_secretvalue\n", out.String(), "stdout holds the token and nothing else")
	assert.Equal(t, "token-id: sha256:abc\nthe token is ***\n", errb.String(), "Mask registers the value with the redacting writers")
	assert.Implements(t, (*host.Terminal)(nil), h, "a person's own sign-ins count here")
	assert.NotImplements(t, (*host.OIDCHost)(nil), h)
	assert.Equal(t, inputs.FlagNames, h.Naming())
}
