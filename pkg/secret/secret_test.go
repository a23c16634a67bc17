package secret_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/jobtoken/jobtoken/pkg/secret"
)

// redacting returns a writer that masks secrets, and what it let through.
func redacting(secrets ...string) (*secret.Writer, *bytes.Buffer) {
	set := &secret.Set{}
	set.Add(secrets...)
	var out bytes.Buffer
	return secret.NewWriter(&out, set), &out
}

func TestWriterRedacts(t *testing.T) {
	w, out := redacting("ghs_supersecret", "abc") // abc: too short to be treated as a secret
	_, _ = w.Write([]byte("token ghs_supersecret here, abc stays\n"))
	assert.Equal(t, "token *** here, abc stays\n", out.String())
}

func TestWriterCatchesSecretSplitAcrossWrites(t *testing.T) {
	w, out := redacting("ghs_supersecret")
	_, _ = w.Write([]byte("a ghs_sup"))
	_, _ = w.Write([]byte("ersecret b"))
	assert.Empty(t, out.String(), "an incomplete line is held back")
	_, _ = w.Write([]byte("\n"))
	assert.Equal(t, "a *** b\n", out.String())
	_, _ = w.Write([]byte("tail ghs_supersecret"))
	assert.NoError(t, w.Flush())
	assert.Equal(t, "a *** b\ntail ***", out.String())
}

func TestWriteRawCarriesTheSecret(t *testing.T) {
	w, out := redacting("ghs_supersecret")
	_, _ = w.Write([]byte("held ghs_supersecret"))
	assert.NoError(t, w.WriteRaw("::add-mask::ghs_supersecret\n"))
	// The held partial line is ended, so the command starts a line of its
	// own (glued to "held …" the runner would print it, secret and all).
	assert.Equal(t, "held ***\n::add-mask::ghs_supersecret\n", out.String())
}

func TestMultiLineSecretRegistersLines(t *testing.T) {
	set := &secret.Set{}
	key := "-----BEGIN KEY-----\nline-one-secret\nline-two-secret\n-----END KEY-----"
	added := set.Add(key)
	assert.Equal(t, []string{"line-one-secret", "line-two-secret"}, added, "armour lines are not secret")
	assert.Equal(t, "x *** y", set.Redact("x "+key+" y"))
	assert.Equal(t, "*** only", set.Redact("line-two-secret only"))
}

func TestLongestFirst(t *testing.T) {
	set := &secret.Set{}
	set.Add("secret1", "secret1-longer")
	assert.Equal(t, "***", set.Redact("secret1-longer"))
}

func TestBasicAuth(t *testing.T) {
	assert.Equal(t, "eC1hY2Nlc3MtdG9rZW46dA==", secret.BasicAuth("x-access-token", "t"))
	assert.True(t, strings.HasPrefix(secret.BasicAuth("", "pat"), "OnBhdA"))
}

func TestEscapedFormsAreRedacted(t *testing.T) {
	set := &secret.Set{}
	added := set.Add("pa%ss;wo]rd:x,y")
	assert.Equal(t, []string{"pa%ss;wo]rd:x,y"}, added, "only the value itself goes to the host's mask command")
	for _, line := range []string{
		"::warning::pa%25ss;wo]rd:x,y",             // GitHub message escaping
		"::warning title=pa%25ss;wo]rd%3Ax%2Cy::m", // GitHub property escaping
		"##vso[task.logissue type=warning]pa%AZP25ss%3Bwo%5Drd:x,y",
	} {
		assert.NotContains(t, set.Redact(line), "pa%", line)
		assert.Contains(t, set.Redact(line), "***", line)
	}
}
