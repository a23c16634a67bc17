package testutil

import (
	"encoding/json"
	"os"
	"strings"
	"time"
)

// Heredocs parses GitHub file-command entries (name<<DELIM / value / DELIM)
// and returns the values by name and the text without the value lines, which
// is where a secret must never appear.
func Heredocs(t Reporter, text string) (values map[string]string, rest string) {
	t.Helper()
	values = map[string]string{}
	var keep []string
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		keep = append(keep, lines[i])
		if !ok {
			continue
		}
		var v []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			v = append(v, lines[i])
		}
		if i >= len(lines) {
			t.Errorf("heredoc %s is not closed", name)
			break
		}
		keep = append(keep, lines[i])
		values[name] = strings.Join(v, "\n")
	}
	return values, strings.Join(keep, "\n")
}

// WithoutGitHubMasks drops the ::add-mask:: lines, the only lines of a
// GitHub step's log that must carry a secret.
func WithoutGitHubMasks(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// ReadFile returns a file's text or fails the test.
func ReadFile(t Reporter, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("failed to read %s: %v", path, err)
	}
	return string(b)
}

// GitHubStep is what one GitHub step left behind, as a leak check sees it.
type GitHubStep struct {
	Stdout, Stderr, Summary string
	// Output and Env are the GITHUB_OUTPUT and GITHUB_ENV files.
	Output, Env string
}

// AssertGitHubStepClean fails when a secret appears anywhere a GitHub step
// leaves text but in its ::add-mask:: lines and the values of its output and
// env entries, the only places that must carry it.
func AssertGitHubStepClean(t Reporter, s GitHubStep, secrets ...string) {
	t.Helper()
	_, outRest := Heredocs(t, s.Output)
	_, envRest := Heredocs(t, s.Env)
	AssertNoSecret(t, "stdout", WithoutGitHubMasks(s.Stdout), secrets...)
	AssertNoSecret(t, "stderr", s.Stderr, secrets...)
	AssertNoSecret(t, "summary", s.Summary, secrets...)
	AssertNoSecret(t, "GITHUB_OUTPUT outside its values", outRest, secrets...)
	AssertNoSecret(t, "GITHUB_ENV outside its values", envRest, secrets...)
}

// TokenOutputs are the outputs every provider's main stage sets.
type TokenOutputs struct {
	Token, TokenID, Permissions string
	ExpiresAt                   time.Time
}

// AssertTokenOutputs checks the token outputs a GitHub main stage wrote to
// GITHUB_OUTPUT (the file at path): each as want has it, expires-at as
// RFC 3339 within a second of want's.
func AssertTokenOutputs(t Reporter, path string, want TokenOutputs) {
	t.Helper()
	outputs, _ := Heredocs(t, ReadFile(t, path))
	if outputs["token"] != want.Token {
		t.Errorf("output token is not the minted token")
	}
	for k, v := range map[string]string{"token-id": want.TokenID, "permissions": want.Permissions} {
		if outputs[k] != v {
			t.Errorf("output %s = %q, want %q", k, outputs[k], v)
		}
	}
	exp, err := time.Parse(time.RFC3339, outputs["expires-at"])
	switch {
	case err != nil:
		t.Errorf("output expires-at: %v", err)
	case exp.Sub(want.ExpiresAt).Abs() > time.Second:
		t.Errorf("output expires-at = %s, want %s (within a second)", exp, want.ExpiresAt)
	}
}

// StatePayload decodes the payload of the state jobtoken saved (a sealed
// envelope, see package seal) into v, without verifying it: tests read what
// the main stage recorded.
func StatePayload(t Reporter, raw string, v any) {
	t.Helper()
	var env struct {
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal([]byte(raw), &env); err != nil || len(env.Payload) == 0 {
		t.Errorf("the state is not a sealed envelope: %.40q", raw)
		return
	}
	if err := json.Unmarshal(env.Payload, v); err != nil {
		t.Errorf("the state's payload does not decode: %v", err)
	}
}
