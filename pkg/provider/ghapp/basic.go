package ghapp

import "github.com/jobtoken/jobtoken/pkg/secret"

// basic is the git basic-auth form of a token, which must be masked too.
func basic(user, tok string) string { return secret.BasicAuth(user, tok) }
