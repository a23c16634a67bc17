package azdo

import (
	"encoding/json"

	"github.com/jobtoken/jobtoken/pkg/provider"
)

// state is what revoking needs beyond the token, its ID and the
// destinations (API URL, organization).
type state struct {
	Credential string `json:"credential"` // CredentialPAT or CredentialEntra
	// DisplayName names a PAT whose create's answer may be lost: the post
	// stage looks for it by that name (provider.Saved.Pending).
	DisplayName string `json:"display_name,omitempty"`
}

func (s state) raw() json.RawMessage { return provider.MarshalState(s) }

func stateOf(saved provider.Saved) (state, error) {
	var s state
	err := provider.UnmarshalState(saved.State, &s)
	return s, err
}
