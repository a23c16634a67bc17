package ghactions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/sethvargo/go-githubactions"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/provider/api"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// The runner's variables for the job's OIDC token. It sets them only when
// the job may ask for one (`permissions: id-token: write`).
const (
	envOIDCURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envOIDCToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// oidcEndpoint is who answers, as errors name it.
const oidcEndpoint = "GitHub's OIDC token endpoint"

var _ host.OIDCHost = (*Host)(nil)

// OIDC implements host.OIDCHost: the job's token, fetched by
// go-githubactions' GetIDToken through hc.
func (h *Host) OIDC(hc *http.Client) host.OIDC { return oidc{getenv: h.getenv, hc: hc} }

type oidc struct {
	getenv func(string) string
	hc     *http.Client
}

// NoIDToken is why a job cannot get an OIDC token: missing names the
// variable the runner did not set.
func NoIDToken(missing string) error {
	return fmt.Errorf("%s is not set: give the job `permissions: id-token: write` (workflows run from a fork's pull request never get one)", missing)
}

func (o oidc) Available() error {
	for _, v := range []string{envOIDCURL, envOIDCToken} {
		if o.getenv(v) == "" {
			return NoIDToken(v)
		}
	}
	return nil
}

func (o oidc) Credentials() []string {
	if t := o.getenv(envOIDCToken); t != "" {
		return []string{t}
	}
	return nil
}

func (o oidc) IDToken(ctx context.Context, audience string) (string, error) {
	a := githubactions.New(githubactions.WithGetenv(o.getenv), githubactions.WithHTTPClient(o.hc))
	tok, err := a.GetIDToken(ctx, audience)
	var missing *githubactions.EnvMissingError
	var refused *githubactions.RequestFailedError
	var ue *url.Error
	var se *json.SyntaxError
	switch {
	case err == nil && tok == "":
		return "", errors.New(oidcEndpoint + " answered without a token")
	case err == nil:
		return tok, nil
	case errors.As(err, &missing):
		return "", NoIDToken(missing.Name)
	case errors.As(err, &refused):
		e := apierror.New(oidcEndpoint, refused.StatusCode, api.Message([]byte(refused.Body)))
		if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
			e.Explain("the job's "+envOIDCToken+" was refused", "check the job has `permissions: id-token: write`")
		}
		return "", e
	case errors.As(err, &ue):
		return "", fmt.Errorf("failed to reach %s: %s", oidcEndpoint, network.Summary(err))
	case errors.As(err, &se):
		return "", errors.New(oidcEndpoint + " answered something other than JSON")
	}
	if inner := errors.Unwrap(err); inner != nil {
		err = inner // "failed to read response body: …"
	}
	return "", fmt.Errorf("failed to read %s's answer: %s", oidcEndpoint, network.Summary(err))
}

// PlannedOIDC stands in, in a plan, for the OIDC token a job will have:
// available when permitted (the job may ask for one, `permissions:
// id-token: write`), else refused as the runner would. It fetches nothing.
func PlannedOIDC(permitted bool) host.OIDC {
	if !permitted {
		return host.PlannedOIDC{Unavailable: NoIDToken(envOIDCURL)}
	}
	return host.PlannedOIDC{}
}

var _ host.OIDCHandoff = (*Host)(nil)

// OIDCVariables implements host.OIDCHandoff: the runner's request URL and
// token, which stay valid for the whole job.
func (h *Host) OIDCVariables(string) (map[string]string, []string) {
	vars := map[string]string{}
	for _, k := range []string{envOIDCURL, envOIDCToken} {
		if v := h.getenv(k); v != "" {
			vars[k] = v
		}
	}
	var secrets []string
	if t := vars[envOIDCToken]; t != "" {
		secrets = []string{t}
	}
	return vars, secrets
}
