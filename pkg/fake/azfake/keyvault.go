package azfake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/jobtoken/jobtoken/pkg/fake/record"
)

// VaultResource is Key Vault's data-plane resource, the audience of the
// tokens it accepts.
const VaultResource = "https://vault.azure.net"

// VaultKey is one key in the fake vault.
type VaultKey struct {
	Name    string
	Version string
	Key     crypto.Signer // *rsa.PrivateKey, or an EC key to be refused
	Ops     []string      // key_ops; nil means sign and verify
	Enabled bool
}

// Vault fakes Azure Key Vault's key operations a signer uses, over TLS:
// GET /keys/{name}[/{version}] and POST /keys/{name}/{version}/sign. As the
// real service does, it answers a request without a token with 401 and the
// challenge that names the tenant and the resource, accepts only tokens its
// tenant issued for that resource, lets only identities given a role
// (Key Vault Crypto User) read and sign, and checks the algorithm and the
// digest's length. Its error bodies are Key Vault's: {"error": {"code",
// "message", "innererror"}}.
type Vault struct {
	*httptest.Server
	Tenant *Tenant
	// Authority is the Entra authority the challenge names.
	Authority string
	// Before runs first for every request; returning true means it answered.
	Before func(w http.ResponseWriter, r *http.Request) bool

	mu     sync.Mutex
	keys   map[string][]*VaultKey
	users  map[string]bool // appid → Key Vault Crypto User
	signed record.Log[string]
	reqs   record.Log[string]
}

// NewVault starts an empty vault of tenant, whose challenge names
// authority (the fake Entra's URL).
func NewVault(tenant *Tenant, authority string) *Vault {
	v := &Vault{Tenant: tenant, Authority: strings.TrimRight(authority, "/"), keys: map[string][]*VaultKey{}, users: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /keys/{name}/{version}", v.getKey)
	mux.HandleFunc("GET /keys/{name}/{$}", v.getKey)
	mux.HandleFunc("GET /keys/{name}", v.getKey)
	mux.HandleFunc("POST /keys/{name}/{version}/sign", v.sign)
	v.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.reqs.Add(r.Method + " " + r.URL.Path)
		if v.Before != nil && v.Before(w, r) {
			return
		}
		if r.URL.Query().Get("api-version") == "" {
			vaultError(w, http.StatusBadRequest, "BadParameter", "The 'api-version' query parameter is missing.", "")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	return v
}

// Import adds a key version (the latest of its name), enabled and allowed
// to sign unless the fields say otherwise.
func (v *Vault) Import(name string, key crypto.Signer) *VaultKey {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	k := &VaultKey{Name: name, Version: hex.EncodeToString(b), Key: key, Enabled: true}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.keys[name] = append(v.keys[name], k)
	return k
}

// Grant gives the application (client ID) the Key Vault Crypto User role.
func (v *Vault) Grant(clientID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.users[clientID] = true
}

// URI is the signing-key URI of name.
func (v *Vault) URI(name string) string {
	return "azurekms://" + strings.TrimPrefix(v.URL, "https://") + "/" + name
}

// Signed returns, for every signature made, "name/version".
func (v *Vault) Signed() []string { return v.signed.All() }

// Requests returns "METHOD /path" for every request received.
func (v *Vault) Requests() []string { return v.reqs.All() }

func vaultError(w http.ResponseWriter, code int, errCode, msg, inner string) {
	e := map[string]any{"code": errCode, "message": msg}
	if inner != "" {
		e["innererror"] = map[string]any{"code": inner}
	}
	writeJSON(w, code, map[string]any{"error": e})
}

// caller checks the bearer token; with none it sends the challenge.
func (v *Vault) caller(w http.ResponseWriter, r *http.Request, action string) bool {
	tok, ok := bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="%s/%s", resource="%s"`, v.Authority, v.Tenant.ID, VaultResource))
		vaultError(w, http.StatusUnauthorized, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", "")
		return false
	}
	c, err := v.Tenant.Verify(tok)
	if err != nil {
		vaultError(w, http.StatusUnauthorized, "Unauthorized", "AKV10032: Invalid issuer or signature.", "")
		return false
	}
	if aud, _ := c.GetAudience(); len(aud) != 1 || strings.TrimRight(aud[0], "/") != VaultResource {
		vaultError(w, http.StatusUnauthorized, "Unauthorized", "AKV10022: Invalid audience.", "")
		return false
	}
	v.mu.Lock()
	ok = v.users[str(c, "appid")]
	v.mu.Unlock()
	if !ok {
		vaultError(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("Caller is not authorized to perform action on resource. If role assignments, deny assignments or role definitions were changed recently, please observe propagation time. Caller: appid=%s;oid=%s Action: 'Microsoft.KeyVault/vaults/keys/%s/action'", str(c, "appid"), str(c, "oid"), action), "ForbiddenByRbac")
		return false
	}
	return true
}

func (v *Vault) find(w http.ResponseWriter, r *http.Request) *VaultKey {
	name, version := r.PathValue("name"), r.PathValue("version")
	v.mu.Lock()
	defer v.mu.Unlock()
	vs := v.keys[name]
	for i := len(vs) - 1; i >= 0; i-- {
		if version == "" || strings.EqualFold(vs[i].Version, version) {
			return vs[i]
		}
	}
	vaultError(w, http.StatusNotFound, "KeyNotFound", fmt.Sprintf("A key with (name/id) %s was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command.", name), "")
	return nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (v *Vault) kid(k *VaultKey) string { return v.URL + "/keys/" + k.Name + "/" + k.Version }

// key is the key a request names, when its caller may act on it; nil when
// the vault answered (the caller is checked first, then the key).
func (v *Vault) key(w http.ResponseWriter, r *http.Request, action string) *VaultKey {
	if !v.caller(w, r, action) {
		return nil
	}
	return v.find(w, r)
}

func (v *Vault) getKey(w http.ResponseWriter, r *http.Request) {
	k := v.key(w, r, "read")
	if k == nil {
		return
	}
	ops := k.Ops
	if ops == nil {
		ops = []string{"sign", "verify"}
	}
	jwk := map[string]any{"kid": v.kid(k), "key_ops": ops}
	switch pub := k.Key.Public().(type) {
	case *rsa.PublicKey:
		jwk["kty"], jwk["n"], jwk["e"] = "RSA-HSM", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	default:
		jwk["kty"], jwk["crv"], jwk["x"], jwk["y"] = "EC-HSM", "P-256", b64([]byte{1}), b64([]byte{2})
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": jwk, "attributes": map[string]any{
		"enabled": k.Enabled, "created": 1700000000, "updated": 1700000000, "recoveryLevel": "Recoverable", "exportable": false,
	}})
}

func (v *Vault) sign(w http.ResponseWriter, r *http.Request) {
	k := v.key(w, r, "sign")
	if k == nil {
		return
	}
	var body struct {
		Alg   string `json:"alg"`
		Value string `json:"value"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
		vaultError(w, http.StatusBadRequest, "BadParameter", "The request body is not valid JSON.", "")
		return
	}
	digest, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(body.Value, "="))
	switch {
	case !k.Enabled:
		vaultError(w, http.StatusForbidden, "Forbidden", "Operation sign is not allowed on a disabled key.", "KeyDisabled")
		return
	case k.Ops != nil && !strings.Contains(" "+strings.Join(k.Ops, " ")+" ", " sign "):
		vaultError(w, http.StatusForbidden, "Forbidden", "Operation sign is not allowed on this key.", "")
		return
	case body.Alg != "RS256":
		vaultError(w, http.StatusBadRequest, "BadParameter", fmt.Sprintf("Invalid algorithm %q for this operation.", body.Alg), "")
		return
	case err != nil || len(digest) != 32:
		vaultError(w, http.StatusBadRequest, "BadParameter", "Invalid digest length for algorithm RS256.", "")
		return
	}
	rk, ok := k.Key.(*rsa.PrivateKey)
	if !ok {
		vaultError(w, http.StatusBadRequest, "BadParameter", "Key and signing algorithm are incompatible.", "")
		return
	}
	sig, err := rsa.SignPKCS1v15(nil, rk, crypto.SHA256, digest)
	if err != nil {
		vaultError(w, http.StatusInternalServerError, "InternalError", "signing failed", "")
		return
	}
	v.signed.Add(k.Name + "/" + k.Version)
	writeJSON(w, http.StatusOK, map[string]any{"kid": v.kid(k), "value": b64(sig)})
}
