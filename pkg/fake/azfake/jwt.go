// Package azfake holds in-process fakes of the Microsoft services the
// azure-devops provider calls: the Azure DevOps PAT lifecycle API, the
// Microsoft Entra token endpoint (over TLS, as azidentity requires), and the
// two OIDC issuers workload identity starts from (GitHub Actions'
// ACTIONS_ID_TOKEN_REQUEST_URL and Azure Pipelines' SYSTEM_OIDCREQUESTURI).
// Each checks what the real service checks: signatures, audiences, expiry,
// who may call, and answers in the real service's error shapes.
package azfake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jobtoken/jobtoken/pkg/fake/minted"
)

// ResourceID is Azure DevOps' application ID in Microsoft Entra.
const ResourceID = "499b84ac-1321-427f-aa17-267ca6975798"

// Audience is the audience Entra expects in federated assertions.
const Audience = "api://AzureADTokenExchange"

var (
	keyMu    sync.Mutex
	keyCache []*rsa.PrivateKey
	keyNext  int
)

// newKey returns an RSA key. Keys are generated once per test binary and
// handed out round-robin: generation is slow, and distinct fakes only need
// keys distinct from each other.
func newKey() *rsa.PrivateKey {
	keyMu.Lock()
	defer keyMu.Unlock()
	if len(keyCache) < 6 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keyCache = append(keyCache, k)
		return k
	}
	k := keyCache[keyNext%len(keyCache)]
	keyNext++
	return k
}

// Issuer signs JWTs as one token issuer.
type Issuer struct {
	URL   string
	Key   *rsa.PrivateKey
	KeyID string
}

// NewIssuer returns an issuer with its own key.
func NewIssuer(url string) *Issuer {
	k := newKey()
	sum := sha256.Sum256(k.PublicKey.N.Bytes())
	return &Issuer{URL: url, Key: k, KeyID: hex.EncodeToString(sum[:8])}
}

// Sign signs claims with RS256, adding iss.
func (i *Issuer) Sign(c jwt.MapClaims) string {
	if _, ok := c["iss"]; !ok {
		c["iss"] = i.URL
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = i.KeyID
	s, err := t.SignedString(i.Key)
	if err != nil {
		panic(err)
	}
	return s
}

// Verify checks a JWT's signature and time claims against now.
func (i *Issuer) Verify(tok string, now time.Time) (jwt.MapClaims, error) {
	c := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, c, func(*jwt.Token) (any, error) { return &i.Key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now }), jwt.WithExpirationRequired())
	return c, err
}

// unverified reads claims without checking the signature.
func unverified(tok string) (jwt.MapClaims, error) {
	c := jwt.MapClaims{}
	_, _, err := jwt.NewParser().ParseUnverified(tok, c)
	return c, err
}

func str(c jwt.MapClaims, k string) string {
	s, _ := c[k].(string)
	return s
}

// uuidFrom derives a stable UUID-shaped ID from s.
func uuidFrom(s string) string {
	h := sha256.Sum256([]byte(s))
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

func randomUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return uuidFrom(hex.EncodeToString(b))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// vssError writes Azure DevOps' error body shape.
func vssError(w http.ResponseWriter, code int, typeKey, msg string) {
	writeJSON(w, code, map[string]any{
		"$id": "1", "innerException": nil, "message": msg,
		"typeName": "Microsoft.VisualStudio.Services.WebApi." + typeKey + ", Microsoft.VisualStudio.Services.WebApi",
		"typeKey":  typeKey, "errorCode": 0, "eventId": 3000,
	})
}

func bearer(r *http.Request) (string, bool) {
	a := r.Header.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:]), true
	}
	return "", false
}

// tokenChars is n random characters of lowercase base32, as Azure DevOps'
// PATs are made of.
func tokenChars(n int) string { return minted.Chars("abcdefghijklmnopqrstuvwxyz234567", n) }

// JWKS is the issuer's public key as a JSON Web Key Set (RFC 7517), as
// OIDC issuers publish it at their jwks_uri.
func (i *Issuer) JWKS() map[string]any {
	enc := base64.RawURLEncoding.EncodeToString
	pub := i.Key.PublicKey
	return map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": i.KeyID,
		"n": enc(pub.N.Bytes()), "e": enc(big.NewInt(int64(pub.E)).Bytes()),
	}}}
}
