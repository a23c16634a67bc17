package azdo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/microsoft/azure-devops-go-api/azuredevops/v7"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/api"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// APIVersion is the PAT lifecycle API's version.
const APIVersion = "7.1-preview.1"

// DefaultAPIURL is the PAT lifecycle API's host.
const DefaultAPIURL = "https://vssps.dev.azure.com"

// azure-devops-go-api v7 has no client for the PAT lifecycle API (area
// "Tokens", resource "pats"); tokenadmin only lists and revokes for
// administrators. This is that missing client, written on the library's
// Connection and Client helpers, in the one API idiom (package api). It
// does not use Client.Send, which resolves routes through an OPTIONS call to
// the server's resource locations (a round trip that the documented URL
// makes unnecessary), nor Client.SendRequest, which discards the body of an
// error answer that may carry a patTokenError.

// patToken is the PatToken model.
type patToken struct {
	AuthorizationID string   `json:"authorizationId"`
	DisplayName     string   `json:"displayName"`
	Scope           string   `json:"scope"`
	TargetAccounts  []string `json:"targetAccounts"`
	Token           string   `json:"token"`
	ValidFrom       adoTime  `json:"validFrom"`
	ValidTo         adoTime  `json:"validTo"`
}

// adoTime reads Azure DevOps dates, which come with or without a zone
// ("0001-01-01T00:00:00" in refused results); a date without one is UTC.
type adoTime struct{ time.Time }

func (t *adoTime) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		t.Time = time.Time{}
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("unreadable date %q", s)
}

// patTokenResult is the PatTokenResult model.
type patTokenResult struct {
	PatToken      *patToken `json:"patToken"`
	PatTokenError string    `json:"patTokenError"`
}

// patTokenCreateRequest is the PatTokenCreateRequest model.
type patTokenCreateRequest struct {
	DisplayName string `json:"displayName"`
	Scope       string `json:"scope"`
	ValidTo     string `json:"validTo"`
	AllOrgs     bool   `json:"allOrgs"`
}

// pagedPatTokens is the PagedPatTokens model.
type pagedPatTokens struct {
	ContinuationToken string     `json:"continuationToken"`
	PatTokens         []patToken `json:"patTokens"`
}

type tokensClient struct {
	c      *azuredevops.Client
	svc    api.Service
	base   string // {api}/{org}/_apis/tokens/pats
	naming inputs.Naming
}

// newTokensClient builds a client authenticated with an Entra bearer token,
// whose errors name inputs as n spells them. NewPatConnection would send
// Basic auth, which this API refuses. Every call goes through hc, the
// retrying client.
func newTokensClient(hc *http.Client, apiURL, org, bearer string, n inputs.Naming) *tokensClient {
	conn := &azuredevops.Connection{
		AuthorizationString: "Bearer " + bearer,
		BaseUrl:             apiURL,
		UserAgent:           api.UserAgent,
		// Without it, an unauthenticated call answers 203 with an HTML
		// sign-in page instead of 401.
		SuppressFedAuthRedirect: true,
	}
	t := &tokensClient{
		c:      azuredevops.NewClientWithOptions(conn, apiURL, azuredevops.WithHTTPClient(hc)),
		base:   apiURL + "/" + url.PathEscape(org) + "/_apis/tokens/pats",
		naming: n,
	}
	t.svc = api.Service{Name: serviceDevOps, HTTP: hc, Refusal: t.refusal}
	return t
}

// refusal reads an error answer: a patTokenError when its body carries
// one, else Azure DevOps' short message.
func (t *tokensClient) refusal(resp *http.Response, body []byte) error {
	var r patTokenResult
	if json.Unmarshal(body, &r) == nil && r.PatTokenError != "" && r.PatTokenError != "none" {
		return patError(r.PatTokenError, resp.StatusCode, t.naming)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return fromWrapped(t.c.UnwrapError(resp), resp.StatusCode)
}

// do sends one request and decodes a success into out. An error answer is
// summarised; a body that carries a patTokenError becomes a patError.
func (t *tokensClient) do(ctx context.Context, method string, q url.Values, body, out any) error {
	if q == nil {
		q = url.Values{}
	}
	q.Set("api-version", APIVersion)
	var rd io.Reader
	media := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd, media = bytes.NewReader(b), azuredevops.MediaTypeApplicationJson
	}
	req, err := t.c.CreateRequestMessage(ctx, method, t.base+"?"+q.Encode(), "", rd, media, azuredevops.MediaTypeApplicationJson, nil)
	if err != nil {
		return err
	}
	resp, data, err := t.svc.Send(req)
	switch {
	case err != nil:
		return err
	case resp.StatusCode == http.StatusNonAuthoritativeInfo:
		// A sign-in page in a success's clothes.
		return apierror.New(serviceDevOps, resp.StatusCode, "")
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return t.svc.Refuse(resp, data)
	case out == nil || len(bytes.TrimSpace(data)) == 0:
		return nil
	}
	// The library's decoder drops a byte order mark first.
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if err := t.c.UnmarshalBody(resp, out); err != nil {
		return fmt.Errorf("failed to decode Azure DevOps' answer (%d): not the documented JSON", resp.StatusCode)
	}
	return nil
}

// create is Pats - Create.
func (t *tokensClient) create(ctx context.Context, r patTokenCreateRequest) (*patToken, error) {
	var res patTokenResult
	if err := t.do(ctx, http.MethodPost, nil, r, &res); err != nil {
		return nil, err
	}
	if res.PatTokenError != "" && res.PatTokenError != "none" {
		return nil, patError(res.PatTokenError, http.StatusOK, t.naming)
	}
	if res.PatToken == nil || res.PatToken.Token == "" || res.PatToken.AuthorizationID == "" {
		return nil, fmt.Errorf("Azure DevOps answered without a PAT")
	}
	return res.PatToken, nil
}

// revoke is Pats - Revoke.
func (t *tokensClient) revoke(ctx context.Context, authorizationID string) error {
	return t.do(ctx, http.MethodDelete, url.Values{"authorizationId": {authorizationID}}, nil, nil)
}

// list is Pats - List: one page of active PATs, newest first.
func (t *tokensClient) list(ctx context.Context, top int) ([]patToken, error) {
	q := url.Values{
		"displayFilterOption": {"active"},
		"sortByOption":        {"displayDate"},
		"isSortAscending":     {"false"},
		"$top":                {fmt.Sprint(top)},
	}
	var res pagedPatTokens
	if err := t.do(ctx, http.MethodGet, q, nil, &res); err != nil {
		return nil, err
	}
	return res.PatTokens, nil
}

// listAll is Pats - List over every page of active PATs, following
// continuationToken; maxPages bounds a server that never stops paging.
func (t *tokensClient) listAll(ctx context.Context) ([]patToken, error) {
	const maxPages = 100
	var all []patToken
	next := ""
	for range maxPages {
		q := url.Values{"displayFilterOption": {"active"}, "$top": {"100"}}
		if next != "" {
			q.Set("continuationToken", next)
		}
		var res pagedPatTokens
		if err := t.do(ctx, http.MethodGet, q, nil, &res); err != nil {
			return nil, err
		}
		all = append(all, res.PatTokens...)
		if res.ContinuationToken == "" || res.ContinuationToken == next {
			return all, nil
		}
		next = res.ContinuationToken
	}
	return all, fmt.Errorf("Azure DevOps kept paging after %d pages of PATs", maxPages)
}
