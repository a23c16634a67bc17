package cloudid

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestEntraText: errors from azidentity/MSAL that carry no Entra answer are
// summarised to their cause, without the request URL or a raw body (both
// seen in the fault matrix).
func TestEntraText(t *testing.T) {
	for in, want := range map[string]string{
		`ClientAssertionCredential: json decode error: unexpected EOF raw message was: {"token": "<html>Service Unavailable`:                                                                 "Microsoft Entra's answer was not the expected JSON",
		`ClientAssertionCredential: unable to resolve an endpoint: json decode error: unexpected EOF json message bytes were: {"token": "<html>`:                                             "Microsoft Entra's answer was not the expected JSON",
		`ClientAssertionCredential: server response error: Post "https://127.0.0.1:33485/621c3cce-18da-18bf-3239-4af938862ef7/oauth2/v2.0/token": read tcp: read: connection reset by peer`:  "read tcp: read: connection reset by peer",
		`ClientAssertionCredential: unable to resolve an endpoint: server response error: Get "https://127.0.0.1:1/t/v2.0/.well-known/openid-configuration?": no complete answer within 30s`: "unable to resolve an endpoint: no complete answer within 30s",
		"ClientAssertionCredential: something\nTo troubleshoot, visit https://aka.ms/azsdk/go/identity/troubleshoot":                                                                         "something",
	} {
		assert.Equal(t, want, EntraText(in))
	}
}
