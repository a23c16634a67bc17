package demo

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoopbackRefusesEverythingElse(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	lb := newLoopback()
	c, err := lb.DialContext(context.Background(), "tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	_ = c.Close()
	// Refused before any packet: TEST-NET-1, a name (no lookup either),
	// and an address that is no address.
	for _, addr := range []string{"192.0.2.1:443", "api.github.com:443", "localhost.example:80", "nonsense"} {
		_, err := lb.DialContext(context.Background(), "tcp", addr)
		assert.ErrorContains(t, err, "the demo refused to connect to "+addr, addr)
	}
	dialed, refused := lb.seen()
	assert.Equal(t, []string{srv.Listener.Addr().String()}, dialed)
	assert.Equal(t, []string{"192.0.2.1:443", "api.github.com:443", "localhost.example:80", "nonsense"}, refused)
	var _ func(context.Context, string, string) (net.Conn, error) = lb.DialContext
}

func TestMarkdownText(t *testing.T) {
	md := "### jobtoken\n\n| | |\n|---|---|\n| Provider | github |\n| Token ID | `sha256:abc` |\n| Note | a \\| b |\n\nSee **docs**.\n"
	assert.Equal(t, []string{
		"jobtoken",
		"  Provider   github",
		"  Token ID   sha256:abc",
		"  Note       a | b",
		"See docs.",
	}, markdownText(md))
}

func TestHangingWraps(t *testing.T) {
	text := strings.Repeat("word ", 40)
	got := hanging("  head  ", text, nil)
	for i, line := range strings.Split(got, "\n") {
		assert.LessOrEqual(t, len(line), width, "line %d", i)
		if i > 0 {
			assert.True(t, strings.HasPrefix(line, "        word"), "continuation lines hang under the text: %q", line)
		}
	}
	// Colour codes take no column.
	assert.Equal(t, hanging("  head  ", text, nil), visible(hanging("  head  ", text, style{color: true}.dim)))
}

func TestJoin(t *testing.T) {
	assert.Equal(t, "nothing", JoinList(nil))
	assert.Equal(t, "a", JoinList([]string{"a"}))
	assert.Equal(t, "a and b", JoinList([]string{"a", "b"}))
	assert.Equal(t, "a, b or c", joinOr([]string{"a", "b", "c"}))
}

// What judge cannot see (the verdict's own words, the JSON) is checked
// after it: a secret there fails the verdict, and the output is redacted
// whatever the verdict says.
func TestRecheckFindsASecretInTheVerdict(t *testing.T) {
	const tok = "ghs_0123456789abcdefSECRET"
	r := &Result{
		secrets: []Form{{"the token", tok}},
		Verdict: Verdict{OK: true, Checks: []Check{
			{Name: CheckMinted, OK: true, Detail: "granted " + tok},
			{Name: CheckNeverPrinted, OK: true, Detail: "nowhere"},
		}},
	}
	r.out = transcript{svc: named{name: "GitHub"}, c: &runner{}, provider: "github"}
	r.recheck()
	assert.False(t, r.Verdict.OK)
	assert.False(t, r.Verdict.Checks[1].OK)
	assert.Equal(t, "found the token in the verdict, the token in the JSON verdict", r.Verdict.Checks[1].Detail)
	var js strings.Builder
	require.NoError(t, r.JSON(&js))
	assert.NotContains(t, js.String(), tok)
	assert.Contains(t, js.String(), "granted ***")
}

// named is a world that says only its name: all the verdict's words need.
type named struct {
	Service
	name string
}

func (n named) Name() string { return n.name }
