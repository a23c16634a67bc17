package anaconda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// service is who answers, as errors name it.
const service = "anaconda.org"

// statusOf returns the HTTP status of anaconda.org's answer behind err, or 0.
func statusOf(err error) int { return apierror.StatusOf(err) }

// client makes anaconda.org calls through the retrying HTTP client.
type client struct {
	hc  *http.Client
	api string // base URL without a trailing slash
}

// do sends one request. auth is the whole Authorization value ("" for none).
// A status outside want becomes an *apierror.Error with anaconda.org's
// {"error": "…"} message; out, when set, receives the
// JSON body of a wanted answer.
func (c client) do(ctx context.Context, method, path, auth string, body, out any, want ...int) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.api+path, rd)
	if err != nil {
		return nil, fmt.Errorf("failed to build the request: %s", summarizeNet(err))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "jobtoken")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	hc := c.hc
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, errors.New(summarizeNet(err))
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if !slices.Contains(want, resp.StatusCode) {
		return resp, apierror.New(service, resp.StatusCode, errorMessage(data))
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp, fmt.Errorf("anaconda.org answered %d with a body that is not the expected JSON", resp.StatusCode)
		}
	}
	return resp, nil
}

// errorMessage extracts anaconda.org's {"error": "…"} message, on one line and
// bounded, or "" when the body is not that shape (an HTML proxy page…).
func errorMessage(body []byte) string {
	var e struct {
		Error any `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	msg, ok := e.Error.(string)
	if !ok {
		return ""
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "…"
	}
	return msg
}

// summarizeNet keeps a transport error to its cause: url.Error repeats the
// method and URL, which add nothing for the user.
func summarizeNet(err error) string { return provider.NetSummary(err) }
