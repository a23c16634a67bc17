// Package api is the one way jobtoken calls a service: build the request,
// send it through the one HTTP client (package network: retries, no
// redirect elsewhere, no credential in clear, answers capped), read the
// answer within MaxAnswer, decode a wanted answer's JSON, and turn any other
// into the one error type (package apierror) with the service's words.
// Transport failures read as one line without the URL (network.Summary).
package api

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

	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// MaxAnswer bounds what is read of an answer: more than any documented one.
const MaxAnswer = 1 << 20

// UserAgent names jobtoken to the services.
const UserAgent = "jobtoken"

// Service is one service as jobtoken calls it.
type Service struct {
	// Name is who answers, as errors name it ("Azure DevOps").
	Name string
	HTTP *http.Client
	// Refusal turns an answer outside the wanted statuses into the error;
	// nil makes an *apierror.Error with the words Message finds.
	Refusal func(resp *http.Response, body []byte) error
	// Message finds the service's words in an error answer's body ("" when
	// it holds none); nil reads {"message": "…"}.
	Message func(body []byte) string
}

// NewRequest builds a JSON request: body, when not nil, is encoded as JSON.
// auth is the whole Authorization value, "" for none.
func NewRequest(ctx context.Context, method, url, auth string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		// The URL is in the error; say less.
		return nil, errors.New("failed to build the request: the URL is not valid")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return req, nil
}

// Do sends req and decodes the JSON of an answer whose status is one of
// want (any 2xx when none) into out, when out is not nil. The answer comes back
// with its body read (resp.Body is closed); errors never hold a URL, a
// header or a raw body.
func (s Service) Do(req *http.Request, out any, want ...int) (*http.Response, error) {
	resp, body, err := s.send(req)
	if err != nil {
		return resp, err
	}
	ok := slices.Contains(want, resp.StatusCode)
	if len(want) == 0 {
		ok = resp.StatusCode >= 200 && resp.StatusCode <= 299
	}
	if !ok {
		return resp, s.refusal(resp, body)
	}
	if out != nil && len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			return resp, fmt.Errorf("%s answered %d with a body that is not the expected JSON", s.Name, resp.StatusCode)
		}
	}
	return resp, nil
}

// Send sends req and reads its answer within MaxAnswer, whatever its
// status, for callers whose service answers in its own way (a refusal in a
// success's body); Refusal turns the answer into the error when needed.
func (s Service) Send(req *http.Request) (*http.Response, []byte, error) { return s.send(req) }

func (s Service) send(req *http.Request) (*http.Response, []byte, error) {
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return nil, nil, &NetError{Summary: network.Summary(err), err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer))
	if err != nil {
		return resp, nil, fmt.Errorf("failed to read %s's answer: %s", s.Name, network.Summary(err))
	}
	return resp, body, nil
}

// NetError is a call that got no answer: the transport's failure in one
// line, without the URL.
type NetError struct {
	Summary string
	err     error
}

func (e *NetError) Error() string { return e.Summary }
func (e *NetError) Unwrap() error { return e.err }

// Refuse is the error for an answer the caller does not want.
func (s Service) Refuse(resp *http.Response, body []byte) error { return s.refusal(resp, body) }

func (s Service) refusal(resp *http.Response, body []byte) error {
	if s.Refusal != nil {
		return s.Refusal(resp, body)
	}
	msg := s.Message
	if msg == nil {
		msg = Message
	}
	return apierror.New(s.Name, resp.StatusCode, msg(body))
}

// Message reads {"message": "…"}, the shape GitHub, Azure DevOps and the
// CI systems' token endpoints answer errors in, without its final full
// stop; "" for any other body.
func Message(body []byte) string { return strings.TrimRight(Field(body, "message"), ".") }

// Field reads a string field of a JSON object, "" when the body is not an
// object with that string field (an HTML proxy page…).
func Field(body []byte, name string) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}
