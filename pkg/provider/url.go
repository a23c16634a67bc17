package provider

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/network"
)

// APIURLProblem checks an API base URL: https, or plain http only to a
// loopback address (tests, local fakes), because credentials travel in every
// request. It returns "" when raw is fine, else the problem and its fix,
// never echoing a user:password part. It is the one URL check: every
// provider and every command applies it to every URL it sends a credential
// to (and the transport refuses a credential over plain http besides).
func APIURLProblem(raw, example string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		// url.Parse quotes the whole URL in its error: say less.
		return fmt.Sprintf("is not a URL; use e.g. %s", example)
	case u.User != nil || strings.Contains(raw, "@"):
		// Never echo it: the user part is a credential (an API URL never
		// needs an @, and "user:pw@host" without a scheme parses as
		// something else).
		return fmt.Sprintf("holds credentials (user:password@host); remove them and use e.g. %s", example)
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Sprintf("%q is not an https URL; use e.g. %s", raw, example)
	case u.Scheme == "http" && !network.Loopback(u.Hostname()):
		return fmt.Sprintf("%q would send credentials unencrypted; use https", raw)
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
		return fmt.Sprintf("%q has a query or fragment; use e.g. %s", raw, example)
	}
	return ""
}
