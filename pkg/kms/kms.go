// Package kms signs a GitHub App's JWTs with an RSA key that never leaves a
// cloud KMS: Azure Key Vault (azurekv), AWS KMS (awskms) and Google Cloud
// KMS (gcpkms). It parses the key URIs supply-chain tools use (cosign's
// forms) and turns a KMS key into a crypto.Signer: the SHA-256 digest is
// computed locally and only the digest is sent, the key's public key is
// fetched once and checked (RSA, 2048 bits or more, allowed to sign RS256),
// and every signature is verified against it before it is used, so that a
// wrong key fails here, with the fix, rather than at GitHub as "A JSON web
// token could not be decoded".
//
// Use: ParseKey, then Open with the Credentials of the key's cloud (package
// cloudid makes them from a CI job's OIDC token, or from each cloud's own
// sign-in at a terminal or on a server); NewSigner takes any Backend. The
// backends (azurekv, awskms, gcpkms) know nothing of hosts or inputs.
package kms

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
)

// MinBits is the smallest RSA key GitHub Apps are given and jobtoken signs
// with.
const MinBits = 2048

// Backend is one KMS key as its cloud's API offers it.
type Backend interface {
	// PublicKey fetches the key's public key. It refuses, with the fix, a
	// key its KMS does not allow to make RS256 signatures (disabled, not a
	// signing key, another algorithm).
	PublicKey(ctx context.Context) (crypto.PublicKey, error)
	// SignDigest signs a SHA-256 digest with RSASSA-PKCS1-v1_5 (RS256):
	// only the digest is sent.
	SignDigest(ctx context.Context, digest []byte) ([]byte, error)
}

// Signer is a KMS key as a crypto.Signer for RS256. Its calls use the
// context it was opened with.
type Signer struct {
	ctx context.Context
	b   Backend
	key Key
	pub *rsa.PublicKey
}

var _ crypto.Signer = (*Signer)(nil)

// NewSigner fetches b's public key (once) and checks it: an RSA key of at
// least MinBits. Calls made through the Signer use ctx. Open makes the
// backend from a key and credentials; NewSigner takes any backend.
func NewSigner(ctx context.Context, key Key, b Backend) (*Signer, error) {
	pk, err := b.PublicKey(ctx)
	if err != nil {
		return nil, err
	}
	rk, ok := pk.(*rsa.PublicKey)
	switch {
	case !ok:
		return nil, fmt.Errorf("%s is not an RSA key (%s); GitHub Apps sign with RSA keys: import the App's private key (the .pem GitHub generated) into the KMS as an RSA signing key", key, keyKind(pk))
	case rk.N.BitLen() < MinBits:
		return nil, fmt.Errorf("%s is a %d-bit RSA key; GitHub Apps' keys have at least %d bits: import the App's private key (the .pem GitHub generated)", key, rk.N.BitLen(), MinBits)
	}
	return &Signer{ctx: ctx, b: b, key: key, pub: rk}, nil
}

func keyKind(pk crypto.PublicKey) string {
	switch pk.(type) {
	case nil:
		return "no public key"
	case interface{ Equal(crypto.PublicKey) bool }:
		return fmt.Sprintf("%T", pk)
	}
	return "unknown type"
}

// Public implements crypto.Signer: the public key fetched by Open.
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Key is the key the Signer signs with.
func (s *Signer) Key() Key { return s.key }

// Fingerprint is the public key's fingerprint as GitHub shows an App's keys
// (SHA256: and the base64 SHA-256 of the DER public key), so that a person
// can tell which of the App's keys this is.
func (s *Signer) Fingerprint() string { return Fingerprint(s.pub) }

// Fingerprint is pub's fingerprint as GitHub shows an App's keys: "SHA256:"
// and the base64 SHA-256 of its DER SubjectPublicKeyInfo (GitHub's
// "Verifying private keys": openssl rsa -pubout -outform DER | openssl
// sha256 -binary | openssl base64).
func Fingerprint(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.StdEncoding.EncodeToString(sum[:])
}

// ErrNotRS256 is a signing request for anything but a SHA-256 digest.
var ErrNotRS256 = errors.New("a KMS signer makes RS256 signatures of SHA-256 digests only")

// Sign implements crypto.Signer: digest is a SHA-256 digest, signed in the
// KMS with RSASSA-PKCS1-v1_5, and the signature is verified against the
// public key before it is returned.
func (s *Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil || opts.HashFunc() != crypto.SHA256 || len(digest) != sha256.Size {
		return nil, ErrNotRS256
	}
	if _, pss := opts.(*rsa.PSSOptions); pss {
		return nil, ErrNotRS256
	}
	sig, err := s.b.SignDigest(s.ctx, digest)
	if err != nil {
		return nil, err
	}
	if err := rsa.VerifyPKCS1v15(s.pub, crypto.SHA256, digest, sig); err != nil {
		return nil, fmt.Errorf("the signature %s made does not verify with the key's public key (%s): the KMS did not sign with RSASSA-PKCS1-v1_5 SHA-256 as asked; check that the key is an RSA signing key and report this if it is", s.key, s.Fingerprint())
	}
	return sig, nil
}
