package azpipelines_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines/agenttest"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil/fuzzcorpus"
)

// catalog is built once: building it for every input would slow fuzzing.
var catalog = registry.Default().Catalog()

func cmd(name, data string, props ...[2]string) azpipelines.Command {
	return azpipelines.Command{Name: name, Props: props, Data: data}
}

// FuzzAzureHostCommands: whatever the values and text, everything the host
// prints reads, by the agent's rules, as exactly the logging commands
// jobtoken meant to write, each with exactly its properties and data; text
// printed as a plain line (Infof, Noticef) never becomes a command.
func FuzzAzureHostCommands(f *testing.F) {
	for _, v := range hostile {
		f.Add(v, v)
	}
	fuzzcorpus.Add(f)
	f.Fuzz(func(t *testing.T, value, text string) {
		var buf bytes.Buffer
		w := secret.NewWriter(&buf, &secret.Set{})
		h := azpipelines.New(w, nil, func(string) string { return "" }, catalog)
		h.Mask(value)
		require.NoError(t, h.SaveState("jobtoken", value))
		require.NoError(t, h.SetOutput("token", value, true))
		require.NoError(t, h.SetOutput("permissions", value, false))
		require.NoError(t, h.ExportEnv("GH_TOKEN", value, true))
		h.Debugf("%s", text)
		h.Infof("%s", text)
		h.Noticef("minted token %s", text)
		h.Warningf("%s", text)
		h.Errorf("%s", text)
		h.Finish(false)
		require.NoError(t, w.Flush())

		var want []azpipelines.Command
		if len(bytes.TrimSpace([]byte(value))) > 0 {
			want = append(want, cmd("task.setsecret", value))
		}
		want = append(want,
			cmd("task.settaskvariable", value, [2]string{"variable", "jobtoken"}, [2]string{"issecret", "true"}),
			cmd("task.setvariable", value, [2]string{"variable", "token"}, [2]string{"issecret", "true"}, [2]string{"isoutput", "true"}),
			cmd("task.setvariable", value, [2]string{"variable", "permissions"}, [2]string{"isoutput", "true"}),
			cmd("task.setvariable", value, [2]string{"variable", "GH_TOKEN"}, [2]string{"issecret", "true"}),
			cmd("task.debug", text),
			cmd("task.logissue", text, [2]string{"type", "warning"}),
			cmd("task.logissue", text, [2]string{"type", "error"}),
			cmd("task.complete", "jobtoken failed; see the errors above", [2]string{"result", "Failed"}),
		)
		assert.Equal(t, want, agenttest.Read(buf.String()).Commands(), "stdout:\n%s", buf.String())
	})
}

// FuzzAzureVariableNames: a variable name is either refused or comes back as
// exactly one command naming exactly that variable.
func FuzzAzureVariableNames(f *testing.F) {
	f.Add("token", "v")
	f.Add("a;issecret=false", "v")
	f.Add("a]b", "v")
	f.Add("a=b", "v")
	fuzzcorpus.Add(f)
	f.Fuzz(func(t *testing.T, name, value string) {
		var buf bytes.Buffer
		w := secret.NewWriter(&buf, &secret.Set{})
		h := azpipelines.New(w, nil, func(string) string { return "" }, catalog)
		err := h.ExportEnv(name, value, false)
		require.NoError(t, w.Flush())
		cs := agenttest.Read(buf.String()).Commands()
		if err != nil {
			assert.Empty(t, cs)
			return
		}
		require.Len(t, cs, 1, "stdout:\n%s", buf.String())
		assert.Equal(t, name, cs[0].Prop("variable"))
		assert.Equal(t, value, cs[0].Data)
		assert.Len(t, cs[0].Props, 1)
	})
}
