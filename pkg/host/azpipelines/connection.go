package azpipelines

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/provider/api"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// What the agent gives a task for workload identity federation.
const (
	envOIDCRequestURI = "SYSTEM_OIDCREQUESTURI"
	envJobToken       = "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN"
)

// oidcEndpoint is who answers, as errors name it.
const oidcEndpoint = "the Azure Pipelines OIDC endpoint"

var _ host.ServiceConnectionHost = (*Host)(nil)

// ServiceConnection implements host.ServiceConnectionHost: the AzureRM
// service connection the agent exposes as ENDPOINT_* variables, and its
// OIDC token, requested through hc.
func (h *Host) ServiceConnection(id string, hc *http.Client) (host.ServiceConnection, error) {
	// The agent names the variables after the connection's ID as it prints a
	// GUID (lower case), with the parameter name upper-cased.
	lookup := func(prefix, suffix string) string {
		for _, v := range []string{id, strings.ToLower(id), strings.ToUpper(id)} {
			if s := h.getenv(prefix + v + suffix); s != "" {
				return s
			}
		}
		return ""
	}
	c := host.ServiceConnection{
		ID:       id,
		ClientID: lookup("ENDPOINT_AUTH_PARAMETER_", "_SERVICEPRINCIPALID"),
		TenantID: lookup("ENDPOINT_AUTH_PARAMETER_", "_TENANTID"),
		OIDC:     oidc{getenv: h.getenv, hc: hc, connection: id},
	}
	switch scheme := lookup("ENDPOINT_AUTH_SCHEME_", ""); {
	case c.ClientID == "" && scheme == "":
		return c, fmt.Errorf("service connection %s is not available to this job; check the name or ID and that the pipeline is authorized to use it", id)
	case scheme != "" && !strings.EqualFold(scheme, "WorkloadIdentityFederation"):
		return c, fmt.Errorf("service connection %s uses %s authentication; jobtoken needs workload identity federation (convert the connection in Project settings → Service connections)", id, scheme)
	case c.ClientID == "" || c.TenantID == "":
		return c, fmt.Errorf("service connection %s does not name a service principal and tenant; recreate it with workload identity federation", id)
	}
	return c, nil
}

// oidc fetches a service connection's OIDC token, as
// azidentity.AzurePipelinesCredential does: POST to SYSTEM_OIDCREQUESTURI
// with api-version 7.1 and the connection's ID, authenticated by the job's
// access token; the answer is {"oidcToken": jwt}. That credential reads the
// process environment and puts the endpoint's raw answer in its errors, so
// the host makes the request itself.
type oidc struct {
	getenv     func(string) string
	hc         *http.Client
	connection string
}

func (o oidc) Available() error {
	switch {
	case o.getenv(envOIDCRequestURI) == "":
		return fmt.Errorf("%s is not set; run on an agent that supports workload identity federation (agent 3.227 or later)", envOIDCRequestURI)
	case o.getenv(envJobToken) == "":
		return errors.New("the agent did not give this task the job's access token (System.AccessToken)")
	}
	return nil
}

func (o oidc) Credentials() []string {
	if t := o.getenv(envJobToken); t != "" {
		return []string{t}
	}
	return nil
}

func (o oidc) IDToken(ctx context.Context, audience string) (string, error) {
	if err := o.Available(); err != nil {
		return "", err
	}
	u, err := url.Parse(o.getenv(envOIDCRequestURI))
	if err != nil {
		return "", fmt.Errorf("%s is not a URL", envOIDCRequestURI)
	}
	q := u.Query()
	q.Set("api-version", "7.1")
	q.Set("serviceConnectionId", o.connection)
	u.RawQuery = q.Encode()
	req, err := api.NewRequest(ctx, http.MethodPost, u.String(), "Bearer "+o.getenv(envJobToken), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	// Answer 401 rather than redirect to a sign-in page.
	req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	var out struct {
		OIDCToken string `json:"oidcToken"`
	}
	svc := api.Service{Name: oidcEndpoint, HTTP: o.hc}
	if _, err := svc.Do(req, &out); err != nil {
		var ne *api.NetError
		if errors.As(err, &ne) {
			return "", fmt.Errorf("failed to reach %s: %s", oidcEndpoint, ne)
		}
		if e, ok := apierror.As(err); ok {
			switch e.Status {
			case http.StatusUnauthorized, http.StatusForbidden:
				e.Explain("the job's access token was refused", "check that the job's access token is available to the task (it is, unless a policy removed it)")
			case http.StatusBadRequest, http.StatusNotFound:
				e.Explain("", "check azureServiceConnection names a workload identity service connection this pipeline is authorized to use")
			}
		}
		return "", err
	}
	if out.OIDCToken == "" {
		return "", errors.New(oidcEndpoint + " answered without a token")
	}
	return out.OIDCToken, nil
}

// PlannedConnection stands in, in a plan, for the service connection a step
// names: the agent will describe it, so a plan assumes it is the kind
// jobtoken needs, and names its identity in words.
func PlannedConnection(id string) host.ServiceConnection {
	return host.ServiceConnection{ID: id, ClientID: "{the connection's service principal}", TenantID: "{its tenant}", OIDC: host.PlannedOIDC{}}
}

// PlannedCollection is how a plan names the organization a pipeline will run
// in (host.Run.CollectionURI, unknown until the run).
const PlannedCollection = "{the pipeline's organization}"

var _ host.OIDCHandoff = (*Host)(nil)

// OIDCVariables implements host.OIDCHandoff: the OIDC endpoint, the job's
// access token that authenticates to it, and the ENDPOINT_* variables that
// describe service connection id (under each spelling of its ID that
// ServiceConnection reads).
func (h *Host) OIDCVariables(id string) (map[string]string, []string) {
	vars := map[string]string{}
	keep := func(k string) {
		if v := h.getenv(k); v != "" {
			vars[k] = v
		}
	}
	keep(envOIDCRequestURI)
	keep(envJobToken)
	if id != "" {
		for _, v := range []string{id, strings.ToLower(id), strings.ToUpper(id)} {
			keep("ENDPOINT_AUTH_PARAMETER_" + v + "_SERVICEPRINCIPALID")
			keep("ENDPOINT_AUTH_PARAMETER_" + v + "_TENANTID")
			keep("ENDPOINT_AUTH_SCHEME_" + v)
		}
	}
	var secrets []string
	if t := vars[envJobToken]; t != "" {
		secrets = []string{t}
	}
	return vars, secrets
}
