// Package seal authenticates what the main stage leaves for the post stage.
//
// A later step of the same job can put any value where the post stage reads
// its state (GitHub's STATE_* variables come from the job environment, which
// $GITHUB_ENV writes; Azure task variables can be set by any step). The main
// stage therefore seals its state: an envelope with a version, the payload,
// and an HMAC-SHA256 whose key is derived from the step's parent-credential
// inputs, which the post stage receives again and a later step cannot read.
// The payload stays readable JSON, so that the CI system's masking of the
// token it holds keeps working where state is printed (debug logs).
package seal

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// Version is the envelope's version.
const Version = 1

// label binds the key to its one use.
const label = "jobtoken state mac v1"

// Envelope is the sealed state as written.
type Envelope struct {
	V       int             `json:"v"`
	Payload json.RawMessage `json:"payload"`
	// MAC is hex HMAC-SHA256 over the version and the payload's bytes as
	// written; empty when the step had no parent credential to key it.
	MAC string `json:"mac,omitempty"`
}

// Errors of Open.
var (
	// ErrMalformed: not an envelope jobtoken writes.
	ErrMalformed = errors.New("not state written by jobtoken")
	// ErrForged: the MAC is missing or does not match this step's key.
	ErrForged = errors.New("does not verify against this step's parent-credential inputs")
)

// Key derives the MAC key from the parent-credential inputs, given as
// name/value pairs in a fixed order. It is nil when no value is given: such
// state cannot be authenticated.
func Key(inputs ...[2]string) []byte {
	var secret []byte
	for _, in := range inputs {
		if in[1] == "" {
			continue
		}
		// Length-prefixed, so that no two input sets share an encoding.
		for _, part := range in {
			secret = binary.BigEndian.AppendUint32(secret, uint32(len(part)))
			secret = append(secret, part...)
		}
	}
	if len(secret) == 0 {
		return nil
	}
	k, err := hkdf.Key(sha256.New, secret, nil, label, sha256.Size)
	if err != nil {
		// Only a length beyond 255 hash sizes fails.
		panic(err)
	}
	return k
}

func mac(key []byte, payload []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%d\n", Version)
	m.Write(payload)
	return hex.EncodeToString(m.Sum(nil))
}

// Seal encodes payload in an envelope, with a MAC when key is not nil.
func Seal(key []byte, payload any) (string, error) {
	p, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	env := Envelope{V: Version, Payload: p}
	if key != nil {
		env.MAC = mac(key, p)
	}
	b, err := json.Marshal(env)
	return string(b), err
}

// Open decodes raw into payload. With a key, the MAC must verify
// (ErrForged otherwise) and authenticated is true; without one, the payload
// is decoded but nothing vouches for it.
func Open(key []byte, raw string, payload any) (authenticated bool, err error) {
	var env Envelope
	if json.Unmarshal([]byte(raw), &env) != nil || env.V == 0 || len(env.Payload) == 0 {
		return false, ErrMalformed
	}
	if env.V != Version {
		return false, fmt.Errorf("%w (envelope version %d; this jobtoken reads %d)", ErrMalformed, env.V, Version)
	}
	if key != nil {
		want := mac(key, env.Payload)
		if !hmac.Equal([]byte(want), []byte(env.MAC)) {
			return false, ErrForged
		}
	}
	if err := json.Unmarshal(env.Payload, payload); err != nil {
		return false, ErrMalformed
	}
	return key != nil, nil
}
