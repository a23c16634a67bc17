// Package awsfake fakes the AWS calls keyless signing makes: STS
// AssumeRoleWithWebIdentity (query API, XML answers) and KMS GetPublicKey
// and Sign (JSON 1.1 API). Each checks what AWS checks: the web identity
// token's issuer (an IAM OIDC identity provider), signature, expiry and
// audience, the role's trust in its subject; every KMS request's Signature
// Version 4 signature, date and session token; the key policy (which
// principals may use the key), its usage and state, and the algorithm and
// digest length. Error answers have AWS's shapes and codes.
package awsfake

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/jobtoken/jobtoken/pkg/fake/minted"
	"github.com/jobtoken/jobtoken/pkg/fake/record"
)

// Account is the fake's AWS account.
const Account = "111122223333"

// Provider is an IAM OIDC identity provider: tokens from Issuer, signed by
// Key, for one of Audiences.
type Provider struct {
	Issuer    string
	Key       *rsa.PublicKey
	Audiences []string
}

// Role trusts web identity tokens from Issuer whose sub matches Subject
// (StringLike: * matches anything) and whose aud is Audience.
type Role struct {
	ARN      string
	Issuer   string
	Audience string
	Subject  string
}

// Key is a KMS key.
type Key struct {
	ID      string
	Alias   string // "alias/name", or ""
	Signer  crypto.Signer
	Usage   string // SIGN_VERIFY unless set
	Enabled bool
	// Users are the principals (role ARNs) the key policy allows to use it.
	Users []string
}

// ARN is the key's ARN.
func (k *Key) ARN(region string) string {
	return "arn:aws:kms:" + region + ":" + Account + ":key/" + k.ID
}

type session struct {
	creds     aws.Credentials
	principal string // role ARN, or a user ARN
	assumed   string // arn:aws:sts::…:assumed-role/<name>/<session>
}

// AWS is STS and KMS in one region.
type AWS struct {
	Region string
	STS    *httptest.Server
	KMS    *httptest.Server
	Now    func() time.Time
	// KMSBefore runs first for every KMS request; returning true means it
	// answered.
	KMSBefore func(w http.ResponseWriter, r *http.Request) bool

	mu        sync.Mutex
	providers []Provider
	roles     map[string]*Role
	keys      []*Key
	sessions  map[string]*session
	issued    record.Log[string]
	signed    record.Log[string]
}

// New starts both services for region.
func New(region string) *AWS {
	a := &AWS{Region: region, Now: time.Now, roles: map[string]*Role{}, sessions: map[string]*session{}}
	a.STS = httptest.NewTLSServer(http.HandlerFunc(a.sts))
	a.KMS = httptest.NewTLSServer(http.HandlerFunc(a.kms))
	return a
}

// Close stops both.
func (a *AWS) Close() { a.STS.Close(); a.KMS.Close() }

// TrustProvider adds an IAM OIDC identity provider.
func (a *AWS) TrustProvider(p Provider) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.providers = append(a.providers, p)
}

// AddRole adds a role.
func (a *AWS) AddRole(r Role) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.roles[r.ARN] = &r
}

// AddKey adds a key, enabled, for signing.
func (a *AWS) AddKey(alias string, signer crypto.Signer, users ...string) *Key {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	x := hex.EncodeToString(b)
	k := &Key{ID: x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32], Alias: alias, Signer: signer, Usage: "SIGN_VERIFY", Enabled: true, Users: users}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.keys = append(a.keys, k)
	return k
}

// AddUser returns long-term credentials of an IAM user (what a person has
// in ~/.aws/credentials).
func (a *AWS) AddUser(arn string) aws.Credentials {
	c := aws.Credentials{AccessKeyID: "AKIA" + strings.ToUpper(chars(16)), SecretAccessKey: chars(40)}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sessions[c.AccessKeyID] = &session{creds: c, principal: arn, assumed: arn}
	return c
}

// Issued returns every secret STS handed out (secret keys, session tokens).
func (a *AWS) Issued() []string { return a.issued.All() }

// Signed returns the key ARN of every signature made.
func (a *AWS) Signed() []string { return a.signed.All() }

// chars is n random letters and digits, as AWS's keys and tokens are made of.
func chars(n int) string {
	return minted.Chars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", n)
}

// stsError writes STS's XML error answer.
func stsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		code, xmlText(msg), chars(8))
}

func xmlText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func (a *AWS) sts(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		stsError(w, http.StatusBadRequest, "InvalidAction", "Could not find operation")
		return
	}
	if err := r.ParseForm(); err != nil {
		stsError(w, http.StatusBadRequest, "MalformedQueryString", "bad form")
		return
	}
	f := r.PostForm
	if f.Get("Action") != "AssumeRoleWithWebIdentity" || f.Get("Version") != "2011-06-15" {
		stsError(w, http.StatusBadRequest, "InvalidAction", "Could not find operation "+f.Get("Action")+" for version "+f.Get("Version"))
		return
	}
	if r.Header.Get("Authorization") != "" {
		// Not an error at AWS, but jobtoken must not send credentials here.
		stsError(w, http.StatusBadRequest, "InvalidParameterValue", "AssumeRoleWithWebIdentity is unsigned; the fake refuses an Authorization header")
		return
	}
	roleARN, tok, name := f.Get("RoleArn"), f.Get("WebIdentityToken"), f.Get("RoleSessionName")
	if !sessionNameRE.MatchString(name) {
		stsError(w, http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint")
		return
	}
	if d, err := strconv.Atoi(f.Get("DurationSeconds")); f.Get("DurationSeconds") != "" && (err != nil || d < 900 || d > 43200) {
		stsError(w, http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900")
		return
	}
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
		stsError(w, http.StatusBadRequest, "InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements")
		return
	}
	iss, _ := c["iss"].(string)
	a.mu.Lock()
	var prov *Provider
	for i := range a.providers {
		if a.providers[i].Issuer == iss {
			prov = &a.providers[i]
		}
	}
	role := a.roles[roleARN]
	a.mu.Unlock()
	if prov == nil {
		stsError(w, http.StatusBadRequest, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for "+iss)
		return
	}
	now := a.Now()
	if _, err := jwt.ParseWithClaims(tok, jwt.MapClaims{}, func(*jwt.Token) (any, error) { return prov.Key, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now }), jwt.WithExpirationRequired()); err != nil {
		if strings.Contains(err.Error(), "expired") {
			stsError(w, http.StatusBadRequest, "ExpiredTokenException", "Token is expired")
			return
		}
		stsError(w, http.StatusBadRequest, "InvalidIdentityToken", "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.")
		return
	}
	aud, _ := c.GetAudience()
	if !slices.ContainsFunc(aud, func(x string) bool { return slices.Contains(prov.Audiences, x) }) {
		stsError(w, http.StatusBadRequest, "InvalidIdentityToken", "Incorrect token audience")
		return
	}
	sub, _ := c["sub"].(string)
	if role == nil || role.Issuer != iss || !slices.Contains(aud, role.Audience) || !like(role.Subject, sub) {
		stsError(w, http.StatusForbidden, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
		return
	}
	creds := aws.Credentials{AccessKeyID: "ASIA" + strings.ToUpper(chars(16)), SecretAccessKey: chars(40), SessionToken: "IQoJb3JpZ2luX2Vj" + chars(300)}
	exp := now.Add(15 * time.Minute).UTC()
	roleName := roleARN[strings.LastIndex(roleARN, "/")+1:]
	assumed := "arn:aws:sts::" + Account + ":assumed-role/" + roleName + "/" + name
	a.mu.Lock()
	a.sessions[creds.AccessKeyID] = &session{creds: creds, principal: roleARN, assumed: assumed}
	a.issued.Add(creds.SecretAccessKey, creds.SessionToken)
	a.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>%s</SubjectFromWebIdentityToken><Audience>%s</Audience><AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROA%s:%s</AssumedRoleId></AssumedRoleUser><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials><Provider>%s</Provider></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`,
		xmlText(sub), xmlText(role.Audience), assumed, strings.ToUpper(chars(12)), name, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, exp.Format(time.RFC3339), xmlText(iss), chars(8))
}

// like is IAM's StringLike with * only.
func like(pattern, s string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
	return regexp.MustCompile(re).MatchString(s)
}

func kmsError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", typ+":")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)/(\d{8})/([a-z0-9-]+)/kms/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$`)

// caller checks the request's Signature Version 4 signature the way AWS
// does, by signing it again with the secret key of its access key ID.
func (a *AWS) caller(w http.ResponseWriter, r *http.Request, body []byte) *session {
	m := authRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		kmsError(w, http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token")
		return nil
	}
	a.mu.Lock()
	s := a.sessions[m[1]]
	a.mu.Unlock()
	if s == nil {
		kmsError(w, http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return nil
	}
	if r.Header.Get("X-Amz-Security-Token") != s.creds.SessionToken {
		kmsError(w, http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return nil
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || when.Sub(a.Now()).Abs() > 5*time.Minute {
		kmsError(w, http.StatusBadRequest, "InvalidSignatureException", "Signature expired or not yet current.")
		return nil
	}
	if m[3] != a.Region {
		kmsError(w, http.StatusBadRequest, "InvalidSignatureException", "Credential should be scoped to a valid region.")
		return nil
	}
	again, _ := http.NewRequest(r.Method, "https://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	for _, h := range strings.Split(m[4], ";") {
		if h == "host" {
			continue
		}
		again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	again.Header.Del("Authorization")
	sum := sha256.Sum256(body)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), s.creds, again, hex.EncodeToString(sum[:]), "kms", m[3], when); err != nil ||
		again.Header.Get("Authorization") != r.Header.Get("Authorization") {
		kmsError(w, http.StatusBadRequest, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
		return nil
	}
	return s
}

func (a *AWS) kms(w http.ResponseWriter, r *http.Request) {
	if a.KMSBefore != nil && a.KMSBefore(w, r) {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		kmsError(w, http.StatusBadRequest, "SerializationException", "Start of structure or map found where not expected.")
		return
	}
	s := a.caller(w, r, body)
	if s == nil {
		return
	}
	var in struct {
		KeyID            string `json:"KeyId"`
		Message          []byte `json:"Message"`
		MessageType      string `json:"MessageType"`
		SigningAlgorithm string `json:"SigningAlgorithm"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		kmsError(w, http.StatusBadRequest, "SerializationException", "Could not parse the request body.")
		return
	}
	action := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	k := a.find(in.KeyID)
	if action != "GetPublicKey" && action != "Sign" {
		kmsError(w, http.StatusBadRequest, "UnknownOperationException", "")
		return
	}
	if k == nil {
		kmsError(w, http.StatusBadRequest, "NotFoundException", fmt.Sprintf("Key '%s' does not exist", in.KeyID))
		return
	}
	if !slices.Contains(k.Users, s.principal) {
		kmsError(w, http.StatusBadRequest, "AccessDeniedException", fmt.Sprintf("User: %s is not authorized to perform: kms:%s on resource: %s because no resource-based policy allows the kms:%s action", s.assumed, action, k.ARN(a.Region), action))
		return
	}
	if !k.Enabled {
		kmsError(w, http.StatusBadRequest, "DisabledException", k.ARN(a.Region)+" is disabled.")
		return
	}
	rk, isRSA := k.Signer.(*rsa.PrivateKey)
	spec, algs := "ECC_NIST_P256", []string{"ECDSA_SHA_256"}
	if isRSA {
		spec = fmt.Sprintf("RSA_%d", rk.N.BitLen())
		algs = []string{"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch action {
	case "GetPublicKey":
		der, _ := x509.MarshalPKIXPublicKey(k.Signer.Public())
		_ = json.NewEncoder(w).Encode(map[string]any{"KeyId": k.ARN(a.Region), "PublicKey": der, "KeySpec": spec, "CustomerMasterKeySpec": spec,
			"KeyUsage": k.Usage, "SigningAlgorithms": algs})
	case "Sign":
		switch {
		case k.Usage != "SIGN_VERIFY":
			kmsError(w, http.StatusBadRequest, "InvalidKeyUsageException", "You cannot perform this operation on a "+k.Usage+" key.")
		case !slices.Contains(algs, in.SigningAlgorithm):
			kmsError(w, http.StatusBadRequest, "InvalidKeyUsageException", "Signing algorithm "+in.SigningAlgorithm+" is not supported for key "+k.ARN(a.Region))
		case in.MessageType != "DIGEST":
			kmsError(w, http.StatusBadRequest, "ValidationException", "the fake expects MessageType DIGEST: jobtoken sends digests only")
		case len(in.Message) != 32:
			kmsError(w, http.StatusBadRequest, "ValidationException", "Digest is invalid length for algorithm "+in.SigningAlgorithm+".")
		default:
			sig, _ := rsa.SignPKCS1v15(nil, rk, crypto.SHA256, in.Message)
			a.signed.Add(k.ARN(a.Region))
			_ = json.NewEncoder(w).Encode(map[string]any{"KeyId": k.ARN(a.Region), "Signature": sig, "SigningAlgorithm": in.SigningAlgorithm})
		}
	}
}

// find resolves a key ID, alias, key ARN or alias ARN.
func (a *AWS) find(id string) *Key {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range a.keys {
		arn := k.ARN(a.Region)
		aliasARN := "arn:aws:kms:" + a.Region + ":" + Account + ":" + k.Alias
		if id == k.ID || id == arn || (k.Alias != "" && (id == k.Alias || id == aliasARN)) {
			return k
		}
	}
	return nil
}
