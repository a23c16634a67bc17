package ghapp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

func TestParsePrivateKey(t *testing.T) {
	pkcs1 := testutil.AppKeyPEM(t)
	pkcs8, err := os.ReadFile(testutil.Testdata("keys", "app-pkcs8.pem"))
	require.NoError(t, err)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecPKCS8 := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))
	want := testutil.AppKey(t)
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&want.PublicKey)}))

	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"pkcs1", pkcs1, ""},
		{"pkcs8", string(pkcs8), ""},
		{"literal newlines", strings.ReplaceAll(pkcs1, "\n", `\n`), ""},
		{"crlf", strings.ReplaceAll(pkcs1, "\n", "\r\n"), ""},
		{"base64 of pem", base64.StdEncoding.EncodeToString([]byte(pkcs1)), ""},
		{"base64 wrapped at 76", wrap(base64.StdEncoding.EncodeToString([]byte(pkcs1)), 76), ""},
		{"surrounding spaces", "\n  " + pkcs1 + "  \n", ""},
		{"empty", "  ", "is empty"},
		{"garbage", "not a key at all", "is not a PEM private key"},
		{"truncated", pkcs1[:200], "is not a PEM private key"},
		{"corrupt body", strings.Replace(pkcs1, "MII", "MIX", 1), "not a valid PKCS#1 or PKCS#8"},
		{"public key", pub, "is a public key"},
		{"ec key", ecPKCS8, "is not an RSA key"},
		{"encrypted pkcs8", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n", "is an encrypted (passphrase-protected) private key, which a CI step cannot unlock; decrypt it once with openssl rsa -in key.pem -out plain.pem"},
		{"encrypted pkcs1", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00112233445566778899AABBCCDDEEFF"}, Bytes: []byte("ciphertext")})),
			"openssl rsa -in key.pem -out plain.pem"},
		{"line breaks became spaces", strings.ReplaceAll(strings.TrimSpace(pkcs1), "\n", " "), "is a PEM key whose line breaks became spaces (it went through a one-line field); store the .pem file as it is, e.g. gh secret set APP_PRIVATE_KEY < key.pem"},
		{"line breaks became spaces, pkcs8", strings.ReplaceAll(strings.TrimSpace(string(pkcs8)), "\n", " "), "line breaks became spaces"},
		{"openssh", string(pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte("openssh-key-v1\x00none")})), "is an OpenSSH private key (BEGIN OPENSSH PRIVATE KEY), not a PEM one; convert an RSA key with ssh-keygen -p -m PEM -f key"},
		{"ssh public key", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ user@host", "is an SSH public key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ghapp.ParsePrivateKey(tc.in)
			if tc.wantErr == "" {
				require.NoError(t, err)
				assert.True(t, want.Equal(k))
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			// The error must never echo any part of the key.
			testutil.AssertNoSecret(t, "error", err.Error(), pkcs1)
		})
	}
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

func TestParsePermissions(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]string
		wantErr []string
	}{
		{in: "contents:read, pull-requests:write", want: map[string]string{"contents": "read", "pull_requests": "write"}},
		{in: "contents:read pull_requests:write\nissues:read", want: map[string]string{"contents": "read", "pull_requests": "write", "issues": "read"}},
		{in: "Contents:READ", want: map[string]string{"contents": "read"}},
		{in: "contents: read, pull-requests: write", want: map[string]string{"contents": "read", "pull_requests": "write"}},
		{in: "repository_projects:admin", want: map[string]string{"repository_projects": "admin"}},
		{in: "workflows:write", want: map[string]string{"workflows": "write"}},
		{in: "organization_plan:read", want: map[string]string{"organization_plan": "read"}},
		{in: "", wantErr: []string{"is required for github"}},
		{in: "contens:read", wantErr: []string{`unknown GitHub App permission "contens"; did you mean "contents"?`}},
		{in: "pull-request:write", wantErr: []string{`did you mean "pull_requests"?`}},
		{in: "contents", wantErr: []string{`"contents" is not name:level`}},
		{in: "contents:admin", wantErr: []string{"contents:admin is not a level GitHub allows for contents; use read or write"}},
		{in: "workflows:read", wantErr: []string{"use write"}},
		{in: "organization_plan:write", wantErr: []string{"use read"}},
		{in: "contents:read, contents:write", wantErr: []string{"listed twice"}},
		{in: "contens:read, isues:write, contents", wantErr: []string{"contens", "isues", `"contents" is not name:level`}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ps := ghapp.ParsePermissions(strings.FieldsFunc(tc.in, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }))
			if len(tc.wantErr) == 0 {
				require.Empty(t, ps)
				assert.Equal(t, tc.want, got)
				return
			}
			require.Len(t, ps, len(tc.wantErr), ps.Error())
			for i, w := range tc.wantErr {
				assert.Contains(t, ps[i].Format(0), w)
				assert.True(t, strings.HasPrefix(ps[i].Format(0), "input permissions: "))
			}
		})
	}
}

func TestCatalogMatchesGitHub(t *testing.T) {
	assert.Len(t, ghapp.Catalog, 54)
	for name, levels := range ghapp.Catalog {
		switch name {
		case "repository_projects", "organization_projects", "organization_custom_properties", "enterprise_custom_properties_for_organizations":
			assert.Equal(t, []string{"read", "write", "admin"}, levels, name)
		case "workflows", "organization_copilot_seat_management", "profile":
			assert.Equal(t, []string{"write"}, levels, name)
		case "organization_plan", "organization_events":
			assert.Equal(t, []string{"read"}, levels, name)
		default:
			assert.Equal(t, []string{"read", "write"}, levels, name)
		}
	}
}
