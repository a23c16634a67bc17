package cloudid

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/jobtoken/jobtoken/pkg/provider/api"
	"github.com/jobtoken/jobtoken/pkg/provider/apierror"
)

// AWSAudience is the audience AWS documents for GitHub Actions' OIDC
// tokens (the IAM OIDC identity provider's client ID).
const AWSAudience = "sts.amazonaws.com"

// ServiceSTS is who answers a role exchange, as errors name it.
const ServiceSTS = "AWS STS"

// The variables the AWS SDKs and CLI read, read here through the step's
// Getenv.
const (
	EnvAWSRegion        = "AWS_REGION"
	EnvAWSDefaultRegion = "AWS_DEFAULT_REGION"
	EnvAWSEndpointSTS   = "AWS_ENDPOINT_URL_STS"
	EnvAWSEndpointKMS   = "AWS_ENDPOINT_URL_KMS"
)

// AWSRoleRE is an IAM role ARN.
var AWSRoleRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)

// AWSRegionRE is an AWS region name.
var AWSRegionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)

// STSEndpoint is STS's regional endpoint, or AWS_ENDPOINT_URL_STS.
func STSEndpoint(getenv func(string) string, region string) string {
	if e := strings.TrimSpace(getenv(EnvAWSEndpointSTS)); e != "" {
		return strings.TrimRight(e, "/")
	}
	return "https://sts." + region + ".amazonaws.com"
}

// AWSWebIdentity is an IAM role assumed with a CI system's OIDC token
// (STS AssumeRoleWithWebIdentity, which needs no AWS credentials: the
// token is the credential). Its credentials are fetched once and kept
// until a minute before they expire.
type AWSWebIdentity struct {
	RoleARN string
	// Endpoint is STS's (STSEndpoint).
	Endpoint string
	// Token returns the web identity token: the job's OIDC token for
	// AWSAudience, or a file's (AWS_WEB_IDENTITY_TOKEN_FILE).
	Token       func(ctx context.Context) (string, error)
	SessionName string
	HTTP        *http.Client
	// Redact is told of the token and the credentials.
	Redact func(values ...string)
	Now    func() time.Time

	mu    sync.Mutex
	creds aws.Credentials
}

// Retrieve implements aws.CredentialsProvider.
func (w *AWSWebIdentity) Retrieve(ctx context.Context) (aws.Credentials, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.creds.AccessKeyID != "" && w.Now().Before(w.creds.Expires.Add(-time.Minute)) {
		return w.creds, nil
	}
	tok, err := w.Token(ctx)
	if err != nil {
		return aws.Credentials{}, err
	}
	w.Redact(tok)
	form := url.Values{
		"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
		"RoleArn": {w.RoleARN}, "RoleSessionName": {w.SessionName}, "WebIdentityToken": {tok},
		// The shortest STS allows: the key signs one JWT or two.
		"DurationSeconds": {"900"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.Endpoint+"/", strings.NewReader(form.Encode()))
	if err != nil {
		return aws.Credentials{}, errors.New("failed to build the request: the STS endpoint is not a URL")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", api.UserAgent)
	svc := api.Service{Name: ServiceSTS, HTTP: w.HTTP, Refusal: w.refusal}
	resp, body, err := svc.Send(req)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = svc.Refuse(resp, body)
	}
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("failed to assume %s with the OIDC token: %w", w.RoleARN, err)
	}
	creds := xmlElement(body, "Credentials")
	id, secret, session := xmlElement(creds, "AccessKeyId"), xmlElement(creds, "SecretAccessKey"), xmlElement(creds, "SessionToken")
	exp, err := time.Parse(time.RFC3339, string(xmlElement(creds, "Expiration")))
	if len(id) == 0 || len(secret) == 0 || len(session) == 0 || err != nil {
		return aws.Credentials{}, fmt.Errorf("failed to assume %s with the OIDC token: AWS STS's answer was not the expected XML", w.RoleARN)
	}
	w.Redact(string(secret), string(session))
	w.creds = aws.Credentials{AccessKeyID: string(id), SecretAccessKey: string(secret), SessionToken: string(session),
		CanExpire: true, Expires: exp, Source: "AssumeRoleWithWebIdentity"}
	return w.creds, nil
}

// refusal reads STS's <ErrorResponse><Error><Code>, <Message>, and
// explains the answers a role exchange meets (AssumeRoleWithWebIdentity's
// documented errors).
func (w *AWSWebIdentity) refusal(resp *http.Response, body []byte) error {
	errElem := xmlElement(body, "Error")
	e := apierror.New(ServiceSTS, resp.StatusCode, xmlText(xmlElement(errElem, "Message")))
	e.Code = xmlText(xmlElement(errElem, "Code"))
	return apierror.ExplainCodes(e, ServiceSTS, []apierror.Reason{
		{Code: "AccessDenied", Cause: "the role's trust policy does not trust this job's OIDC token", Fix: "allow sts:AssumeRoleWithWebIdentity to the token's issuer (the IAM OIDC identity provider), with conditions on aud (" + AWSAudience + " on GitHub) and sub that match this job"},
		{Code: "InvalidIdentityToken", Cause: "AWS could not accept the OIDC token: the account has no IAM OIDC identity provider for its issuer, or the provider's audience differs", Fix: "add an IAM OIDC identity provider for the issuer with audience " + AWSAudience + " on GitHub (api://AzureADTokenExchange on Azure Pipelines)"},
		{Code: "ExpiredTokenException", Cause: "the OIDC token expired before STS saw it", Fix: "rerun the job; if it recurs, synchronise the runner's clock"},
		{Code: "RegionDisabledException", Cause: "STS is not activated in this region", Fix: "activate it in IAM → Account settings, or use another aws-region"},
	})
}

// xmlElement returns the content of the first <name>…</name> in doc, or
// nil. STS answers in XML; its few fields are found by name rather than by
// linking encoding/xml (about 0.1 MB in every binary) for them. Values are
// text without child elements, as STS documents them.
func xmlElement(doc []byte, name string) []byte {
	open, end := []byte("<"+name+">"), []byte("</"+name+">")
	i := bytes.Index(doc, open)
	if i < 0 {
		return nil
	}
	rest := doc[i+len(open):]
	j := bytes.Index(rest, end)
	if j < 0 {
		return nil
	}
	return bytes.TrimSpace(rest[:j])
}

// xmlText unescapes XML's predefined entities.
func xmlText(b []byte) string {
	return xmlEntities.Replace(string(b))
}

var xmlEntities = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "&amp;", "&")

// AWSStatic is credentials given as they are (environment variables, a
// shared credentials file).
type AWSStatic struct {
	Creds aws.Credentials
}

// Retrieve implements aws.CredentialsProvider.
func (s AWSStatic) Retrieve(context.Context) (aws.Credentials, error) { return s.Creds, nil }

// ErrNoAWSCredentials is a terminal without AWS credentials jobtoken reads.
var ErrNoAWSCredentials = errors.New("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE, or keys in ~/.aws/credentials; for SSO or role profiles, run eval \"$(aws configure export-credentials --format env)\" first")

// AWSDefault is the part of the AWS SDKs' default credential chain that
// jobtoken reads, through getenv: environment keys, a web identity token
// file (EKS, CI systems), then a shared credentials file's static keys for
// AWS_PROFILE (or default). Profiles that use SSO, a role or a process are
// the AWS CLI's to resolve (aws configure export-credentials). It returns
// the provider and what it is, for the plan, or why there is none.
func AWSDefault(getenv func(string) string, region string, hc *http.Client, redact func(...string), now func() time.Time) (aws.CredentialsProvider, string, error) {
	if id, key := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && key != "" {
		redact(key, getenv("AWS_SESSION_TOKEN"))
		return AWSStatic{aws.Credentials{AccessKeyID: id, SecretAccessKey: key, SessionToken: getenv("AWS_SESSION_TOKEN"), Source: "environment"}},
			"AWS credentials from the environment (AWS_ACCESS_KEY_ID " + id + ")", nil
	}
	if file, role := getenv("AWS_WEB_IDENTITY_TOKEN_FILE"), getenv("AWS_ROLE_ARN"); file != "" && role != "" {
		session := getenv("AWS_ROLE_SESSION_NAME")
		if session == "" {
			session = "jobtoken"
		}
		return &AWSWebIdentity{RoleARN: role, Endpoint: STSEndpoint(getenv, region), SessionName: session, HTTP: hc, Redact: redact, Now: now,
			Token: func(context.Context) (string, error) { return TokenFile("AWS_WEB_IDENTITY_TOKEN_FILE", file) }}, "role " + role + " with the web identity token of AWS_WEB_IDENTITY_TOKEN_FILE", nil
	}
	profile := getenv("AWS_PROFILE")
	if profile == "" {
		profile = "default"
	}
	file := getenv("AWS_SHARED_CREDENTIALS_FILE")
	if file == "" && getenv("HOME") != "" {
		file = filepath.Join(getenv("HOME"), ".aws", "credentials")
	}
	if file == "" {
		return nil, "", ErrNoAWSCredentials
	}
	b, err := readSmall(file)
	if err != nil {
		return nil, "", ErrNoAWSCredentials
	}
	kv := iniSection(string(b), profile)
	if kv["aws_access_key_id"] == "" || kv["aws_secret_access_key"] == "" {
		return nil, "", fmt.Errorf("profile %s has no access keys in %s; %w", profile, file, ErrNoAWSCredentials)
	}
	redact(kv["aws_secret_access_key"], kv["aws_session_token"])
	return AWSStatic{aws.Credentials{AccessKeyID: kv["aws_access_key_id"], SecretAccessKey: kv["aws_secret_access_key"], SessionToken: kv["aws_session_token"], Source: "shared credentials"}},
		"AWS profile " + profile + " (" + file + ")", nil
}

// TokenFile reads the token in file (a projected service account token),
// which the variable env names.
func TokenFile(env, file string) (string, error) {
	b, err := readSmall(file)
	if err != nil {
		return "", fmt.Errorf("failed to read %s: %s", env, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// readSmall reads a file of credentials, bounded.
func readSmall(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

// iniSection returns the keys of [name] in an AWS shared credentials file.
func iniSection(text, name string) map[string]string {
	out := map[string]string{}
	in := false
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			in = strings.TrimSpace(line[1:len(line)-1]) == name
		case in:
			if k, v, ok := strings.Cut(line, "="); ok {
				out[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
	}
	return out
}
