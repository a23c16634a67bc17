package anaconda

import (
	"encoding/json"

	"github.com/jobtoken/jobtoken/pkg/provider"
)

// state is what revoking needs beyond the token, its ID and the
// destinations (API URL, organization): the note, by which the parent
// revokes a token it does not hold.
type state struct {
	Note string `json:"note"`
}

func (s state) raw() json.RawMessage { return provider.MarshalState(s) }
