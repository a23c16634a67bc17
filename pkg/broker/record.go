package broker

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/jobtoken/jobtoken/pkg/seal"
)

// Minted is one token the record holds: what revoking it needs.
type Minted struct {
	Run       string          `json:"run"`
	Token     string          `json:"token"`
	ID        string          `json:"id"`
	ExpiresAt time.Time       `json:"expires_at"`
	State     json.RawMessage `json:"state,omitempty"`
}

// Record is the file every token minted for a job is appended to before
// anyone gets it, each line sealed with the step's state key (package
// seal): the post stage revokes from it even when the broker crashed or
// was killed, and ignores any line it cannot verify (a later step of the
// job can write to the file, but cannot seal).
type Record struct {
	Path string
	Key  []byte
	mu   sync.Mutex
}

// Append seals m and appends it, synced to disk.
func (r *Record) Append(m Minted) error {
	line, err := seal.Seal(r.Key, m)
	if err != nil {
		return fmt.Errorf("failed to record the token: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f, err := os.OpenFile(r.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("failed to record the token: %w", err)
	}
	_, err = f.WriteString(line + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("failed to record the token: %w", err)
	}
	return nil
}

// Read returns the tokens of run that verify against the key, each once,
// and how many lines did not verify. Without a key (the step has no
// parent-credential input to seal with), nothing verifies and every line of
// run is read.
func (r *Record) Read(run string) (tokens []Minted, ignored int, err error) {
	f, err := os.Open(r.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("failed to read the record: %w", err)
	}
	defer f.Close()
	seen := map[string]bool{}
	// A job's record holds a few lines per hour; a later step can write
	// to it, so reading is bounded.
	sc := bufio.NewScanner(io.LimitReader(f, 16<<20))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var m Minted
		auth, err := seal.Open(r.Key, sc.Text(), &m)
		if err != nil || (!auth && r.Key != nil) || m.Run != run || m.Token == "" {
			ignored++
			continue
		}
		if !seen[m.Token] {
			seen[m.Token] = true
			tokens = append(tokens, m)
		}
	}
	if err := sc.Err(); err != nil {
		return tokens, ignored, fmt.Errorf("failed to read the record: %w", err)
	}
	return tokens, ignored, nil
}
