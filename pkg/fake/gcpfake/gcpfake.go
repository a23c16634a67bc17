// Package gcpfake fakes the Google Cloud calls keyless signing makes: STS's
// token exchange (workload identity federation), IAM Credentials'
// generateAccessToken (service account impersonation), and Cloud KMS's
// getPublicKey and asymmetricSign. Each checks what Google checks: the OIDC
// token's issuer, signature, expiry and audience against the pool
// provider and its attribute condition (here: the subject), the bearer
// token of every later call, who may impersonate whom and use which key,
// the key's algorithm and state, and the digest's length and CRC32C. Error
// answers have Google's shapes.
package gcpfake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jobtoken/jobtoken/pkg/fake/record"
)

// Pool is a workload identity pool provider: tokens from Issuer signed by
// Key, for one of Audiences, whose sub is Subject.
type Pool struct {
	Name      string // projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>
	Issuer    string
	Key       *rsa.PublicKey
	Audiences []string
	Subject   string
}

// Principal is the federated principal of a subject in a pool.
func (p Pool) Principal() string {
	pool := p.Name[:strings.Index(p.Name, "/providers/")]
	return "principal://iam.googleapis.com/" + pool + "/subject/" + p.Subject
}

// KeyVersion is a Cloud KMS key version.
type KeyVersion struct {
	Name      string
	Signer    crypto.Signer
	Algorithm string // RSA_SIGN_PKCS1_2048_SHA256 unless set
	State     string // ENABLED unless set
	// Signers are the principals with roles/cloudkms.signerVerifier.
	Signers []string
}

// Google is STS, IAM Credentials and Cloud KMS.
type Google struct {
	STS, IAM, KMS *httptest.Server
	Now           func() time.Time

	mu     sync.Mutex
	pools  []Pool
	users  map[string][]string // service account → principals allowed to impersonate it
	keys   map[string]*KeyVersion
	tokens map[string]string // access token → principal
	issued record.Log[string]
	signed record.Log[string]
}

// New starts the three services.
func New() *Google {
	g := &Google{Now: time.Now, users: map[string][]string{}, keys: map[string]*KeyVersion{}, tokens: map[string]string{}}
	g.STS = httptest.NewTLSServer(http.HandlerFunc(g.sts))
	g.IAM = httptest.NewTLSServer(http.HandlerFunc(g.iam))
	g.KMS = httptest.NewTLSServer(http.HandlerFunc(g.kms))
	return g
}

// Close stops them.
func (g *Google) Close() { g.STS.Close(); g.IAM.Close(); g.KMS.Close() }

// AddPool adds a workload identity pool provider.
func (g *Google) AddPool(p Pool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pools = append(g.pools, p)
}

// AllowImpersonation lets principal act as serviceAccount
// (roles/iam.workloadIdentityUser).
func (g *Google) AllowImpersonation(serviceAccount, principal string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.users[serviceAccount] = append(g.users[serviceAccount], principal)
}

// AddKey adds a key version.
func (g *Google) AddKey(k *KeyVersion) {
	if k.Algorithm == "" {
		k.Algorithm = "RSA_SIGN_PKCS1_2048_SHA256"
	}
	if k.State == "" {
		k.State = "ENABLED"
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.keys[k.Name] = k
}

// Issued returns every access token handed out.
func (g *Google) Issued() []string { return g.issued.All() }

// Signed returns the key version of every signature made.
func (g *Google) Signed() []string { return g.signed.All() }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}

func googleError(w http.ResponseWriter, status int, state, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg, "status": state}})
}

func (g *Google) mint(principal string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := fmt.Sprintf("ya29.%x", b)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tokens[tok] = principal
	g.issued.Add(tok)
	return tok
}

func (g *Google) sts(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/token" {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "not found")
		return
	}
	_ = r.ParseForm()
	f := r.PostForm
	switch {
	case f.Get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange":
		oauthError(w, "unsupported_grant_type", "Invalid value for \"grant_type\".")
		return
	case f.Get("subject_token_type") != "urn:ietf:params:oauth:token-type:jwt" && f.Get("subject_token_type") != "urn:ietf:params:oauth:token-type:id_token":
		oauthError(w, "invalid_request", "Invalid value for \"subject_token_type\".")
		return
	case f.Get("requested_token_type") != "urn:ietf:params:oauth:token-type:access_token":
		oauthError(w, "invalid_request", "Invalid value for \"requested_token_type\".")
		return
	}
	aud := strings.TrimPrefix(f.Get("audience"), "//iam.googleapis.com/")
	g.mu.Lock()
	var pool *Pool
	for i := range g.pools {
		if g.pools[i].Name == aud {
			pool = &g.pools[i]
		}
	}
	g.mu.Unlock()
	if pool == nil {
		oauthError(w, "invalid_target", "The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.")
		return
	}
	tok, now := f.Get("subject_token"), g.Now()
	c := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(tok, c, func(*jwt.Token) (any, error) { return pool.Key, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(pool.Issuer), jwt.WithTimeFunc(func() time.Time { return now }), jwt.WithExpirationRequired()); err != nil {
		oauthError(w, "invalid_grant", "The given token is invalid or was not signed by the provider's keys: "+strings.SplitN(err.Error(), ":", 2)[0])
		return
	}
	auds, _ := c.GetAudience()
	if !slices.ContainsFunc(auds, func(a string) bool { return slices.Contains(pool.Audiences, a) }) {
		oauthError(w, "invalid_grant", fmt.Sprintf("The audience in ID Token [%s] does not match the expected audience.", strings.Join(auds, ",")))
		return
	}
	if sub, _ := c["sub"].(string); sub != pool.Subject {
		oauthError(w, "unauthorized_client", "The given credential is rejected by the attribute condition.")
		return
	}
	at := g.mint(pool.Principal())
	writeJSON(w, http.StatusOK, map[string]any{"access_token": at, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "token_type": "Bearer", "expires_in": 3600})
}

func (g *Google) bearer(w http.ResponseWriter, r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	g.mu.Lock()
	p, known := g.tokens[tok]
	g.mu.Unlock()
	if !ok || !known {
		googleError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return "", false
	}
	return p, true
}

func (g *Google) iam(w http.ResponseWriter, r *http.Request) {
	const prefix = "/v1/projects/-/serviceAccounts/"
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, prefix) || !strings.HasSuffix(r.URL.Path, ":generateAccessToken") {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "not found")
		return
	}
	who, ok := g.bearer(w, r)
	if !ok {
		return
	}
	sa := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, prefix), ":generateAccessToken")
	g.mu.Lock()
	allowed := false
	for _, p := range g.users[sa] {
		allowed = allowed || p == who
	}
	g.mu.Unlock()
	if !allowed {
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
		return
	}
	at := g.mint("serviceAccount:" + sa)
	writeJSON(w, http.StatusOK, map[string]any{"accessToken": at, "expireTime": g.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
}

func crc(b []byte) string { return fmt.Sprint(crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))) }

func (g *Google) kms(w http.ResponseWriter, r *http.Request) {
	who, ok := g.bearer(w, r)
	if !ok {
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	name, action := path, ""
	if i := strings.LastIndex(path, ":"); i > 0 {
		name, action = path[:i], path[i+1:]
	} else if strings.HasSuffix(path, "/publicKey") {
		name, action = strings.TrimSuffix(path, "/publicKey"), "publicKey"
	}
	g.mu.Lock()
	k := g.keys[name]
	g.mu.Unlock()
	if k == nil {
		googleError(w, http.StatusNotFound, "NOT_FOUND", name+" not found.")
		return
	}
	allowed := false
	for _, p := range k.Signers {
		allowed = allowed || p == who
	}
	perm := map[string]string{"publicKey": "cloudkms.cryptoKeyVersions.viewPublicKey", "asymmetricSign": "cloudkms.cryptoKeyVersions.useToSign"}[action]
	switch {
	case perm == "":
		googleError(w, http.StatusNotFound, "NOT_FOUND", "not found")
		return
	case !allowed:
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED", fmt.Sprintf("Permission '%s' denied on resource '%s' (or it may not exist).", perm, name))
		return
	case k.State != "ENABLED":
		googleError(w, http.StatusBadRequest, "FAILED_PRECONDITION", name+" is not enabled, current state is: "+k.State+".")
		return
	}
	if action == "publicKey" && r.Method == http.MethodGet {
		der, _ := x509.MarshalPKIXPublicKey(k.Signer.Public())
		p := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		writeJSON(w, http.StatusOK, map[string]any{"pem": p, "algorithm": k.Algorithm, "pemCrc32c": crc([]byte(p)), "name": name, "protectionLevel": "HSM"})
		return
	}
	if r.Method != http.MethodPost {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "not found")
		return
	}
	var in struct {
		Digest struct {
			SHA256 []byte `json:"sha256"`
		} `json:"digest"`
		DigestCrc32c string `json:"digestCrc32c"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.")
		return
	}
	switch {
	case len(in.Digest.SHA256) != 32:
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The request digest type sha256 does not match key algorithm "+k.Algorithm+" or has the wrong length.")
		return
	case in.DigestCrc32c != "" && in.DigestCrc32c != crc(in.Digest.SHA256):
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The checksum in field digest_crc32c did not match the data in field digest.")
		return
	}
	rk, isRSA := k.Signer.(*rsa.PrivateKey)
	if !isRSA || !strings.HasPrefix(k.Algorithm, "RSA_SIGN_PKCS1_") {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "the fake signs RSA_SIGN_PKCS1_* only")
		return
	}
	sig, _ := rsa.SignPKCS1v15(nil, rk, crypto.SHA256, in.Digest.SHA256)
	g.signed.Add(name)
	writeJSON(w, http.StatusOK, map[string]any{"signature": sig, "signatureCrc32c": crc(sig), "verifiedDigestCrc32c": in.DigestCrc32c != "", "name": name, "protectionLevel": "HSM"})
}
