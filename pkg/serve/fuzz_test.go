package serve_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/jobtoken/jobtoken/pkg/serve"
	"github.com/jobtoken/jobtoken/pkg/testutil/fuzzcorpus"
)

func FuzzServeRequest(f *testing.F) {
	f.Add([]byte(`{"policy":"release","provider":"github","owner":"octo-org","repositories":["app"],"permissions":{"contents":"write"},"lifetime":"30m"}`))
	f.Add([]byte(`{"policy":"release","owner":"octo-org","repositories":["*"],"permissions":{"pull-requests":"read"}}`))
	f.Add([]byte(`{"policy":"../x","owner":"o","permissions":{}}`))
	f.Add([]byte(`{} {}`))
	fuzzcorpus.Add(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := serve.ParseRequest(body)
		if err != nil {
			if req != nil {
				t.Fatal("a request and an error")
			}
			// The error shape holds and never echoes more than a bounded
			// piece of the body.
			b, _ := json.Marshal(err)
			if len(b) > 4096 {
				t.Fatalf("an error of %d bytes", len(b))
			}
			return
		}
		// A request that parses is whole: a policy name, an owner, known
		// permissions with valid levels, repositories without owner/.
		if req.Policy == "" || req.Owner == "" || len(req.Permissions) == 0 || req.Provider != "github" {
			t.Fatalf("incomplete request accepted: %+v", req)
		}
		for _, r := range req.Repositories {
			if strings.Contains(r, "/") {
				t.Fatalf("repository %q accepted", r)
			}
		}
	})
}
