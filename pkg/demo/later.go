package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// laterScript names the stand-in step in the job log and the pipeline.
const laterScript = "./later-step.sh"

// later stands in for the user's own step after jobtoken's: it reads the
// token from the variable jobtoken published, echoes it once (as a careless
// script might; the CI system masks it), then makes each call once against
// the fake and prints the answer. It returns the lines the step printed, raw:
// the CI system masks them as it shows them.
func later(ctx context.Context, dial *loopback, base, name, token string, calls []Call) []string {
	if token == "" {
		return []string{name + " is empty: the jobtoken step published no token, so there is nothing to call with"}
	}
	client := &http.Client{
		Transport: &http.Transport{DialContext: dial.DialContext, Proxy: nil},
		// A later step's tool would follow redirects; the fakes send none.
		Timeout: 10 * time.Second,
	}
	defer client.CloseIdleConnections()
	out := []string{name + "=" + token}
	mw, pw := 0, 0
	for _, c := range calls {
		mw, pw = max(mw, len(c.Method)), max(pw, len(pathOnly(c.Path)))
	}
	for _, c := range calls {
		status, msg := do(ctx, client, base, token, c)
		out = append(out, fmt.Sprintf("%-*s %-*s  %d %s", mw, c.Method, pw, pathOnly(c.Path), status, msg))
	}
	return out
}

// pathOnly drops the query: a log line shows where a call went.
func pathOnly(p string) string {
	path, _, _ := strings.Cut(p, "?")
	return path
}

// do makes one call and summarises the answer: its status and the service's
// own message (a "message" field, as GitHub and Azure DevOps send it, or
// "error"), or the status text.
func do(ctx context.Context, client *http.Client, base, token string, c Call) (int, string) {
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, base+c.Path, body)
	if err != nil {
		return 0, err.Error()
	}
	for k, v := range c.Header {
		req.Header.Set(k, v)
	}
	req.Header.Set("Authorization", c.Auth(token))
	resp, err := client.Do(req)
	if err != nil {
		return 0, "failed: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var m struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	msg := http.StatusText(resp.StatusCode)
	if resp.StatusCode >= 300 && json.Unmarshal(b, &m) == nil {
		msg = strings.TrimSpace(m.Message + m.Error)
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
	}
	return resp.StatusCode, msg
}
