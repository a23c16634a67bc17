package serve

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jobtoken/jobtoken/pkg/oidcverify"
	"github.com/jobtoken/jobtoken/pkg/policy"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
)

var errAlreadyRevoked = provider.ErrAlreadyRevoked

// auditRecord is the one JSON line written per token request: who asked
// (from the verified token only), under which policy at which commit, what
// was decided and why, asked against granted, and the token's SHA-256 —
// never a token.
type auditRecord struct {
	Time           time.Time        `json:"time"`
	Issuer         string           `json:"issuer,omitempty"`
	Subject        string           `json:"sub,omitempty"`
	Repository     string           `json:"repository,omitempty"`
	JobWorkflowRef string           `json:"job_workflow_ref,omitempty"`
	RunID          string           `json:"run_id,omitempty"`
	Policy         string           `json:"policy,omitempty"`
	PolicySource   string           `json:"policy_source,omitempty"`
	PolicyCommit   string           `json:"policy_commit,omitempty"`
	Decision       string           `json:"decision"`
	Status         int              `json:"status"`
	Code           string           `json:"code,omitempty"`
	Message        string           `json:"message,omitempty"`
	FailedClaims   []policy.Failure `json:"failed_claims,omitempty"`
	AboveCeiling   []string         `json:"above_ceiling,omitempty"`
	Asked          *grantRecord     `json:"asked,omitempty"`
	Granted        *grantRecord     `json:"granted,omitempty"`
	TokenSHA256    string           `json:"token_sha256,omitempty"`
	TokenID        string           `json:"token_id,omitempty"`
}

type grantRecord struct {
	Owner        string            `json:"owner"`
	Repositories []string          `json:"repositories"`
	Permissions  map[string]string `json:"permissions"`
}

func (a *auditRecord) identity(t *oidcverify.Token) {
	a.Issuer, a.Subject = t.Issuer, t.Subject
	a.Repository, _ = t.Claims["repository"].(string)
	a.JobWorkflowRef, _ = t.Claims["job_workflow_ref"].(string)
	a.RunID, _ = t.Claims["run_id"].(string)
}

func (s *Server) writeAudit(a *auditRecord) {
	b, err := json.Marshal(a)
	if err != nil {
		return
	}
	s.outMu.Lock()
	defer s.outMu.Unlock()
	_, _ = s.audit.Write(append(b, '\n'))
}

// readKey reads the App's private key file. Its errors never quote it.
func readKey(path string) (*rsa.PrivateKey, error) {
	data, err := readFile("github.private_key_file", path)
	if err != nil {
		return nil, err
	}
	k, err := ghapp.ParsePrivateKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("github.private_key_file %s: %w", path, err)
	}
	return k, nil
}
