package anaconda

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/provider/api"
)

// service is who answers, as errors name it.
const service = "anaconda.org"

// client makes anaconda.org calls in the one API idiom (package api).
type client struct {
	svc api.Service
	api string // base URL without a trailing slash
}

func newClient(hc *http.Client, apiURL string) client {
	return client{svc: api.Service{Name: service, HTTP: hc, Message: errorMessage}, api: apiURL}
}

// do sends one request. auth is the whole Authorization value ("" for none).
// A status outside want becomes an *apierror.Error with anaconda.org's
// {"error": "…"} message; out, when set, receives the JSON body of a wanted
// answer.
func (c client) do(ctx context.Context, method, path, auth string, body, out any, want ...int) (*http.Response, error) {
	req, err := api.NewRequest(ctx, method, c.api+path, auth, body)
	if err != nil {
		return nil, err
	}
	return c.svc.Do(req, out, want...)
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
