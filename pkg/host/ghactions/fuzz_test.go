package ghactions_test

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions/runnertest"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
	"github.com/jobtoken/jobtoken/pkg/secret"
	"github.com/jobtoken/jobtoken/pkg/testutil/fuzzcorpus"
)

// catalog is built once: building it for every input would slow fuzzing.
var catalog = registry.Default().Catalog()

// newHost returns a host whose file-command files are fresh empty files in
// dir, named by the map it returns, and whose stdout is buf. Calls within one
// fuzz process run one at a time, so one directory per target is reused (a
// temp dir per input would make fuzzing several times slower).
func newHost(t *testing.T, dir string, buf *bytes.Buffer) (*ghactions.Host, *secret.Writer, map[string]string) {
	files, err := runnertest.FileCommandEnv(dir)
	require.NoError(t, err)
	env := map[string]string{"GITHUB_ACTIONS": "true"}
	maps.Copy(env, files)
	w := secret.NewWriter(buf, &secret.Set{})
	return ghactions.New(w, func(k string) string { return env[k] }, catalog), w, files
}

func readEntries(t *testing.T, path string) []ghactions.Entry {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	es, err := ghactions.ParseFileCommand(string(b))
	require.NoError(t, err, "the runner could not read %s:\n%q", filepath.Base(path), b)
	return es
}

// FuzzGitHubFileCommands: whatever the values (and whatever delimiter the
// delimiter source offers), GITHUB_OUTPUT, GITHUB_ENV and GITHUB_STATE hold
// exactly the entries written, with exactly the values written, as the runner
// reads them; a write that cannot be made safely fails and leaves its file
// untouched.
func FuzzGitHubFileCommands(f *testing.F) {
	f.Add("ghs_token", "contents:read", "")
	f.Add("a\nb", "x\r\ny", "")
	f.Add("v\nEOF\nevil=1", "", "EOF")
	f.Add("name=x\nevil<<D\nD", "ghadelimiter_x", "ghadelimiter_x")
	f.Add("", "\n", "\n")
	fuzzcorpus.Add(f)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, v1, v2, delim string) {
		var buf bytes.Buffer
		h, w, files := newHost(t, dir, &buf)
		if delim != "" {
			// A fixed delimiter stands in for an unlucky random one.
			h.Delimiter = func() string { return delim }
		}
		want := map[string][]ghactions.Entry{}
		write := func(file, name, value string, fn func() error) {
			before, err := os.ReadFile(files[file])
			require.NoError(t, err)
			if err := fn(); err != nil {
				after, rerr := os.ReadFile(files[file])
				require.NoError(t, rerr)
				require.Equal(t, before, after, "a failed write must leave %s untouched", file)
				return
			}
			want[file] = append(want[file], ghactions.Entry{Name: name, Value: value})
		}
		write("GITHUB_OUTPUT", "token", v1, func() error { return h.SetOutput("token", v1, true) })
		write("GITHUB_OUTPUT", "permissions", v2, func() error { return h.SetOutput("permissions", v2, false) })
		write("GITHUB_ENV", "GH_TOKEN", v1, func() error { return h.ExportEnv("GH_TOKEN", v1, true) })
		write("GITHUB_STATE", "jobtoken", v2, func() error { return h.SaveState("jobtoken", v2) })
		require.NoError(t, h.Summary(v1+v2))
		require.NoError(t, w.Flush())
		if delim == "" {
			// With random delimiters every write succeeds.
			assert.Len(t, want["GITHUB_OUTPUT"], 2)
			assert.Len(t, want["GITHUB_ENV"], 1)
			assert.Len(t, want["GITHUB_STATE"], 1)
		}
		for _, file := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STATE"} {
			got := readEntries(t, files[file])
			if len(want[file]) == 0 {
				assert.Empty(t, got, file)
				continue
			}
			assert.Equal(t, want[file], got, file)
		}
		// File commands print nothing.
		assert.Empty(t, ghactions.ParseCommands(buf.String()))
	})
}

// FuzzGitHubFileCommandNames: a name is either refused or read back exactly,
// never splitting into a different entry.
func FuzzGitHubFileCommandNames(f *testing.F) {
	f.Add("token", "v")
	f.Add("a=b", "v")
	f.Add("a<<EOF", "v")
	f.Add(" token", "v")
	fuzzcorpus.Add(f)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, name, value string) {
		var buf bytes.Buffer
		h, _, files := newHost(t, dir, &buf)
		err := h.SetOutput(name, value, false)
		got := readEntries(t, files["GITHUB_OUTPUT"])
		if err != nil {
			assert.Empty(t, got)
			return
		}
		assert.Equal(t, []ghactions.Entry{{Name: name, Value: value}}, got)
	})
}

// FuzzGitHubLogCommands: whatever the text, stdout holds exactly the workflow
// commands jobtoken meant to write, each with exactly its message; text
// printed as a plain line (Infof) never becomes a command.
func FuzzGitHubLogCommands(f *testing.F) {
	f.Add("minted token", "ghs_secretvalue")
	f.Add("x\n::add-mask::y", "a\nb")
	f.Add("%0A::error::x", "%25")
	f.Add("\v::warning::x", "s\r::set-output name=x::y")
	f.Add("##[error]x", "")
	fuzzcorpus.Add(f)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text, mask string) {
		var buf bytes.Buffer
		h, w, _ := newHost(t, dir, &buf)
		h.Mask(mask)
		h.Debugf("%s", text)
		h.Noticef("%s", text)
		h.Warningf("%s", text)
		h.Infof("%s", text)
		h.Infof("minted github token %s (%s)", text, text)
		h.Errorf("%s", text)
		require.NoError(t, w.Flush())

		var got []ghactions.Command
		for _, c := range ghactions.ParseCommands(buf.String()) {
			c.Message = ghactions.UnescapeData(c.Message)
			got = append(got, c)
		}
		want := []ghactions.Command{{Name: "add-mask", Message: mask}, {Name: "debug", Message: text}, {Name: "notice", Message: text}, {Name: "warning", Message: text}, {Name: "error", Message: text}}
		assert.Equal(t, want, got, "stdout:\n%s", buf.String())
	})
}
