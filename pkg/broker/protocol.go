// Package broker keeps a job's tokens fresh for as long as the job runs
// (refresh: true): a process the main stage leaves behind re-mints each
// token before it expires, records every token it mints for the post stage,
// and answers later steps — git's credential helper (`jobtoken
// credential`) and `jobtoken token` — over a Unix socket, to callers that
// present the job's random key.
//
// The protocol is one line of JSON each way per connection: a Request,
// then a Response. It is small on purpose (no HTTP server in the step
// binaries).
package broker

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// MaxLine bounds a request or response line: a caller cannot make the
// broker buffer more.
const MaxLine = 16 << 10

// Operations a Request asks for.
const (
	OpToken  = "token"  // the current token of Owner (the first account when empty)
	OpGit    = "git"    // the credential for a git URL (Protocol, Host, Path)
	OpStatus = "status" // whether the broker serves, and until when
	OpStop   = "stop"   // stop serving and exit (the post stage)
)

// Request is what a caller asks.
type Request struct {
	Key      string `json:"key"`
	Op       string `json:"op"`
	Owner    string `json:"owner,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	Host     string `json:"host,omitempty"`
	Path     string `json:"path,omitempty"`
}

// Response is the broker's answer. A git URL it does not serve gets
// neither Token nor Error: git then asks its other helpers.
type Response struct {
	Owner     string    `json:"owner,omitempty"`
	Token     string    `json:"token,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Until     time.Time `json:"until,omitzero"`
	PID       int       `json:"pid,omitempty"` // status: the broker's process
	Error     string    `json:"error,omitempty"`
}

// ErrTooLong is returned for a line longer than MaxLine.
var ErrTooLong = errors.New("line too long")

// ReadLine reads one line of at most MaxLine bytes, without its newline.
func ReadLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > MaxLine+1 {
			return nil, ErrTooLong
		}
		switch {
		case err == nil:
			return bytes.TrimRight(line, "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil
		default:
			return nil, err
		}
	}
}

// ParseRequest decodes a request line strictly: one JSON object, known
// fields only, a known operation.
func ParseRequest(line []byte) (Request, error) {
	var req Request
	d := json.NewDecoder(bytes.NewReader(line))
	d.DisallowUnknownFields()
	if err := d.Decode(&req); err != nil {
		return Request{}, fmt.Errorf("failed to parse the request: not a request object")
	}
	if d.More() {
		return Request{}, fmt.Errorf("failed to parse the request: more than one object")
	}
	switch req.Op {
	case OpToken, OpGit, OpStatus, OpStop:
	default:
		return Request{}, fmt.Errorf("failed to parse the request: unknown operation %q", truncate(req.Op))
	}
	return req, nil
}

// truncate keeps a caller's value short in a message.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// writeLine writes v as one JSON line.
func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
