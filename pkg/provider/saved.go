package provider

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// Saved is what the main stage hands to the post stage.
type Saved struct {
	Provider  string    `json:"provider"`
	Token     string    `json:"token"`
	ID        string    `json:"id"`
	ExpiresAt time.Time `json:"expires_at"`
	Revoke    bool      `json:"revoke"`
	Revocable bool      `json:"revocable"`
	// Destinations are where revoking sends credentials, by input key
	// (Provider.Destinations), as whoever hands Saved to Revoke decided.
	Destinations map[string]string `json:"destinations,omitempty"`
	// State is the provider's own (Token.State), opaque to everyone else.
	State json.RawMessage `json:"state,omitempty"`
	// Pending marks the state saved before the create: no token is known,
	// and State names what a create whose answer was lost would have left
	// (a display name, a note), for Revoke to find with the parent.
	Pending bool `json:"pending,omitempty"`
	// Authenticated is set by whoever hands Saved to Revoke: true when it
	// comes from this step's own main stage (verified) or from a person at
	// a terminal; false when nothing proves who wrote it. Revoke then does
	// nothing that needs the parent credential.
	Authenticated bool `json:"-"`
}

// Destination returns the destination decided for in.
func (s Saved) Destination(in inputs.Input) string { return s.Destinations[in.Key] }

// ErrNotAuthenticated is returned by Revoke when only the parent credential
// could revoke and the state is not authenticated.
var ErrNotAuthenticated = errors.New("the state is not authenticated, so the parent credential is not used to revoke")

// ErrAlreadyRevoked is returned by Revoke when the provider says the token no
// longer works: the goal is reached, so it is reported as a notice.
var ErrAlreadyRevoked = errors.New("token was already revoked or expired")

// Destination is one thing that decides where a credential goes: an API URL,
// an organization. The post stage resolves them from its own inputs, with
// the code and checks the main stage used, and the state keeps main's.
type Destination struct {
	Input inputs.Input // the input that sets it
	Value string
	// URL marks a host credentials are sent to (not only a path on it).
	URL bool
}

// LostFinder is a minter whose token, should the create's answer be lost,
// can be found later by a name chosen before the create. The main stage
// saves LostState (with the destinations) before minting, so that the post
// stage can find such a token even when the main stage was cancelled.
type LostFinder interface {
	LostState() json.RawMessage
}

// ErrMaybeLost is wrapped by Mint errors after which a token may exist that
// no answer brought back and that Mint could not make sure was revoked: the
// post stage should look for it.
var ErrMaybeLost = errors.New("a token whose answer was lost may still exist")

// CleanupTimeout bounds clean-up (revoking a token that cannot be handed
// over, finding one whose answer was lost). It runs detached from the step's
// context, which may be cancelled: the CI system gives a cancelled step a
// few seconds before it kills it, and the post step looks again.
const CleanupTimeout = 30 * time.Second

// CleanupContext is ctx without its cancellation, bounded by CleanupTimeout.
func CleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
}

// MarshalState marshals a provider's state; a state that cannot be
// marshalled is a programming error.
func MarshalState(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("provider: state does not marshal: " + err.Error())
	}
	return b
}

// UnmarshalState reads a provider's state into v; an empty state leaves v
// as it is.
func UnmarshalState(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// DestinationMap keys destinations by input key, as Saved holds them.
func DestinationMap(dests []Destination) map[string]string {
	if len(dests) == 0 {
		return nil
	}
	m := make(map[string]string, len(dests))
	for _, d := range dests {
		m[d.Input.Key] = d.Value
	}
	return m
}
