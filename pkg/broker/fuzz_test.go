package broker

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/jobtoken/jobtoken/pkg/testutil/fuzzcorpus"
)

// FuzzBrokerRequest: no line makes the parser panic, accept an unknown operation,
// or the broker answer without the key.
func FuzzBrokerRequest(f *testing.F) {
	f.Add([]byte(`{"key":"k","op":"token","owner":"octo"}` + "\n"))
	f.Add([]byte(`{"key":"k","op":"git","protocol":"https","host":"github.com","path":"octo/app.git"}`))
	f.Add([]byte(`{"op":"stop"}`))
	f.Add([]byte("{\"key\":\"k\"\n,\"op\":\"token\"}"))
	f.Add([]byte(strings.Repeat("{", 100)))
	fuzzcorpus.Add(f)
	now := time.Now()
	b := testBroker(now)
	f.Fuzz(func(t *testing.T, data []byte) {
		line, err := ReadLine(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return
		}
		if len(line) > MaxLine+1 {
			t.Fatalf("line of %d bytes accepted", len(line))
		}
		req, err := ParseRequest(line)
		if err != nil {
			return
		}
		switch req.Op {
		case OpToken, OpGit, OpStatus, OpStop:
		default:
			t.Fatalf("operation %q accepted", req.Op)
		}
		if req.Op == OpStop {
			return // would stop the shared broker
		}
		resp := b.Answer(req)
		if req.Key != "k" && resp.Token != "" {
			t.Fatalf("a token for a caller without the key: %+v", req)
		}
	})
}

// FuzzGitCredentialRequest: git's side of the protocol never panics and never yields
// a field with a line break (which would forge a credential attribute).
func FuzzGitCredentialRequest(f *testing.F) {
	f.Add("protocol=https\nhost=github.com\npath=octo/app.git\n\n")
	f.Add("host=a\r\npath=b")
	fuzzcorpus.Add(f)
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ReadGitRequest(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, v := range []string{g.Protocol, g.Host, g.Path} {
			if strings.ContainsAny(v, "\n") {
				t.Fatalf("field with a line break: %q", v)
			}
		}
	})
}
