package anaconda

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func jwtFor(t *testing.T, payload string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("signature-bytes"))
}

func TestParseCredential(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	live := jwtFor(t, `{"sub":"ana","exp":1780000000}`)
	noExp := jwtFor(t, `{"sub":"ana"}`)
	expired := jwtFor(t, `{"sub":"ana","exp":1700000000}`)
	orgTok := "ab-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
	tests := []struct {
		name    string
		in      string
		kind    CredentialType
		value   string
		forced  bool
		wantErr string
	}{
		{name: "anaconda.org token", in: orgTok, kind: OrgToken, value: orgTok},
		{name: "token with surrounding space", in: "  " + orgTok + "\n", kind: OrgToken, value: orgTok},
		{name: "API key (JWT)", in: live, kind: APIKey, value: live},
		{name: "API key without exp", in: noExp, kind: APIKey, value: noExp},
		{name: "Bearer prefix forces API key", in: "Bearer " + live, kind: APIKey, value: live, forced: true},
		{name: "bearer prefix any case", in: "bearer " + orgTok, kind: APIKey, value: orgTok, forced: true},
		{name: "token prefix forces anaconda.org token", in: "token " + live, kind: OrgToken, value: live, forced: true},
		{name: "Bearer with unreadable JWT is sent as given", in: "Bearer a.b.c", kind: APIKey, value: "a.b.c", forced: true},
		{name: "empty", in: "  ", wantErr: "is required for anaconda"},
		{name: "inner whitespace", in: "ab-12 34", wantErr: "whitespace"},
		{name: "header injection", in: "ab-12\r\nX-Evil: 1", wantErr: "whitespace or control"},
		{name: "three parts that are not a JWT", in: "not.a.jwt", wantErr: "not a readable JWT"},
		{name: "expired API key", in: expired, kind: APIKey, wantErr: "expired at 2023-11-14T22:13:20Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseParent(tt.in, now)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				if v := strings.TrimSpace(tt.in); len(v) > 8 {
					assert.NotContains(t, err.Error(), v, "an error must never hold the credential")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.kind, c.Type)
			assert.Equal(t, tt.value, c.Value)
			assert.Equal(t, tt.forced, c.Forced)
			assert.Equal(t, tt.kind.Scheme()+" "+tt.value, c.Header())
		})
	}
}

func TestParseCredentialReadsExpiry(t *testing.T) {
	c, err := ParseParent(jwtFor(t, `{"exp":1780000000}`), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Equal(t, time.Unix(1780000000, 0).UTC(), c.Expires)
}
