package apierror

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		e    *Error
		want string
	}{
		{New("GitHub", 503, ""), "GitHub answered 503 Service Unavailable"},
		{New("GitHub", 404, "Not Found"), "GitHub answered 404 Not Found"},
		{New("Azure DevOps", 203, "").Explain("a sign-in page", ""), "Azure DevOps answered 203 Non-Authoritative Information — a sign-in page"},
		{New("GitHub", 401, "A JSON web token could not be decoded").Explain("the key is not this App's", "generate one"),
			"GitHub answered 401 Unauthorized: A JSON web token could not be decoded — the key is not this App's; generate one"},
		{&Error{Service: "Azure DevOps", Status: 200, Code: "patLifespanPolicyViolation", Cause: "the policy caps lifetimes", Fix: "shorten lifetime"},
			"Azure DevOps answered patLifespanPolicyViolation — the policy caps lifetimes; shorten lifetime"},
		{&Error{Service: "Microsoft Entra", Status: 400, Code: "AADSTS700213", Message: "AADSTS700213: No matching federated identity record found"},
			"Microsoft Entra answered 400 Bad Request: AADSTS700213: No matching federated identity record found"},
		{&Error{Service: "anaconda.org", Status: 403, Fix: "ask an owner"}, "anaconda.org answered 403 Forbidden — ask an owner"},
		{&Error{Service: "anaconda.org", Status: 401, Cause: "the token expired"}, "anaconda.org answered 401 Unauthorized — the token expired"},
	} {
		assert.Equal(t, c.want, c.e.Error())
	}
}

// A service's words stay on one line and bounded, however long the body.
func TestSummarize(t *testing.T) {
	e := New("GitHub", 400, "line one\r\nline two\n::error::x "+strings.Repeat("é", 400))
	assert.NotContains(t, e.Error(), "\n")
	assert.NotContains(t, e.Error(), "\r")
	assert.LessOrEqual(t, len(e.Message), MaxMessage+len("…"))
	assert.True(t, strings.HasSuffix(e.Message, "…"))
	assert.True(t, strings.HasPrefix(e.Message, "line one line two"))
}

func TestMatch(t *testing.T) {
	known := []Known{
		{Status: 401, Text: "could not be decoded", Explain: func(*Error) (string, string) { return "a", "b" }},
		{Text: "AADSTS700213", Explain: func(e *Error) (string, string) { return "subject " + e.Code, "fix" }},
	}
	e := New("GitHub", 401, "A JSON web token could NOT be decoded")
	assert.True(t, ExplainKnown(e, known))
	assert.Equal(t, "a", e.Cause)
	e = New("GitHub", 400, "A JSON web token could not be decoded")
	assert.False(t, ExplainKnown(e, known), "the status must match too")
	e = &Error{Service: "Microsoft Entra", Status: 400, Code: "AADSTS700213"}
	assert.True(t, ExplainKnown(e, known), "codes match too")
	assert.Equal(t, "subject AADSTS700213", e.Cause)
	e = New("GitHub", 401, "A JSON web token could not be decoded").Explain("kept", "")
	ExplainKnown(e, known)
	assert.Equal(t, "kept", e.Cause, "a cause set by the caller wins")
}

func TestExplainCodes(t *testing.T) {
	reasons := []Reason{{Code: "NotFoundException", Cause: "no such key", Fix: "check the key"}}
	e := &Error{Service: "AWS KMS", Status: 400, Code: "NotFoundException"}
	err := fmt.Errorf("failed to sign: %w", e)
	assert.Same(t, err, ExplainCodes(err, "AWS KMS", reasons))
	assert.Equal(t, "no such key", e.Cause)
	assert.Equal(t, "check the key", e.Fix)

	e = &Error{Service: "AWS KMS", Status: 400, Code: "ThrottlingException"}
	ExplainCodes(e, "AWS KMS", reasons)
	assert.Empty(t, e.Cause+e.Fix, "an unknown code is left unexplained")
	sts := &Error{Service: "AWS STS", Status: 400, Code: "NotFoundException"}
	ExplainCodes(fmt.Errorf("x: %w", sts), "AWS KMS", reasons)
	assert.Empty(t, sts.Cause, "another service's refusal is left as it is")
	plain := errors.New("no answer")
	assert.Same(t, plain, ExplainCodes(plain, "AWS KMS", reasons))
}

func TestAs(t *testing.T) {
	err := fmt.Errorf("failed to mint: %w", New("GitHub", 422, "x"))
	e, ok := As(err)
	assert.True(t, ok)
	assert.Equal(t, 422, e.Status)
	assert.Equal(t, 422, StatusOf(err))
	assert.Zero(t, StatusOf(errors.New("x")))
}
