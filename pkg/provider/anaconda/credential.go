package anaconda

import (
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// CredentialType is the type of parent credential, which decides the Authorization
// scheme.
type CredentialType int

const (
	// OrgToken is an anaconda.org token, sent as `Authorization: token …`.
	OrgToken CredentialType = iota
	// APIKey is an anaconda.com API key (a JWT), sent as
	// `Authorization: Bearer …`.
	APIKey
)

// String describes the kind for plans and errors.
func (k CredentialType) String() string {
	if k == APIKey {
		return "anaconda.com API key"
	}
	return "anaconda.org token"
}

// Scheme is the Authorization scheme anaconda.org expects for the kind.
func (k CredentialType) Scheme() string {
	if k == APIKey {
		return "Bearer"
	}
	return "token"
}

// Parent is the parent credential, with its detected type.
type Parent struct {
	Value string
	Type  CredentialType
	// Forced is true when the user named the scheme with a prefix.
	Forced bool
	// Expires is the API key's exp claim, when it has one.
	Expires time.Time
}

// Header renders the Authorization header value.
func (c Parent) Header() string { return c.Type.Scheme() + " " + c.Value }

// ParseParent detects offline whether s is an anaconda.com API key (a JWT:
// three base64url parts whose header decodes) or an anaconda.org token. A
// leading "Bearer " or "token " (as copied from a curl line) names the scheme
// and wins over detection. Errors never contain the value.
func ParseParent(s string, now time.Time) (Parent, error) {
	s = strings.TrimSpace(s)
	var c Parent
	if rest, ok := cutPrefixFold(s, "Bearer "); ok {
		s, c.Type, c.Forced = strings.TrimSpace(rest), APIKey, true
	} else if rest, ok := cutPrefixFold(s, "token "); ok {
		s, c.Type, c.Forced = strings.TrimSpace(rest), OrgToken, true
	}
	c.Value = s
	switch {
	case s == "":
		return c, fmt.Errorf("is required for anaconda; pass an anaconda.com API key or an anaconda.org token from a secret")
	case strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return c, fmt.Errorf("contains whitespace or control characters; copy the key or token alone, on one line")
	}
	looksJWT := strings.Count(s, ".") == 2
	if !looksJWT || (c.Forced && c.Type == OrgToken) {
		return c, nil
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(s, claims); err != nil {
		if c.Forced {
			// The user said Bearer: send it as given and let the server judge.
			return c, nil
		}
		return c, fmt.Errorf("looks like an anaconda.com API key (three dot-separated parts) but is not a readable JWT; copy the whole key, or prefix an anaconda.org token with \"token \"")
	}
	c.Type = APIKey
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		c.Expires = exp.Time.UTC()
		// A minute of slack for clock skew between this machine and Anaconda.
		if c.Expires.Before(now.Add(-time.Minute)) {
			return c, fmt.Errorf("is an anaconda.com API key that expired at %s; create a new API key on anaconda.com and update the secret", c.Expires.Format(time.RFC3339))
		}
	}
	return c, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
