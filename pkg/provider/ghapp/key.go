package ghapp

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
)

// Key errors never include any part of the key.
var (
	errKeyEmpty   = errors.New("is empty; set it to the App's private key (the .pem file from the App's settings), e.g. from a secret")
	errKeyNotPEM  = errors.New("is not a PEM private key; paste the whole .pem file GitHub generated, including the -----BEGIN/END----- lines (base64 of it also works)")
	errKeyParse   = errors.New("holds a PEM block that is not a valid PKCS#1 or PKCS#8 private key; generate a new private key in the App's settings")
	errKeyNotRSA  = errors.New("is not an RSA key; GitHub Apps sign with RSA keys generated in the App's settings")
	errKeyPublic  = errors.New("is a public key; use the private key (the .pem file GitHub downloaded)")
	errKeyEncrypt = errors.New("is an encrypted PEM key; decrypt it first (openssl rsa -in key.pem -out plain.pem)")
)

// ParsePrivateKey accepts a PEM key (PKCS#1 or PKCS#8), with real newlines or
// literal \n escapes, or the whole PEM base64-encoded once more — the forms in
// which keys end up in CI secrets.
func ParsePrivateKey(s string) (*rsa.PrivateKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errKeyEmpty
	}
	s = strings.ReplaceAll(s, `\r\n`, "\n")
	s = strings.ReplaceAll(s, `\n`, "\n")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if !strings.Contains(s, "-----BEGIN") {
		compact := strings.Join(strings.Fields(s), "")
		dec, err := base64.StdEncoding.DecodeString(compact)
		if err != nil {
			dec, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(compact, "="))
		}
		if err != nil || !strings.Contains(string(dec), "-----BEGIN") {
			return nil, errKeyNotPEM
		}
		s = string(dec)
	}
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errKeyNotPEM
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		if _, ok := block.Headers["DEK-Info"]; ok {
			return nil, errKeyEncrypt
		}
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errKeyParse
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errKeyParse
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errKeyNotRSA
		}
		return rk, nil
	case "ENCRYPTED PRIVATE KEY":
		return nil, errKeyEncrypt
	case "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
		return nil, errKeyPublic
	case "EC PRIVATE KEY", "OPENSSH PRIVATE KEY":
		return nil, errKeyNotRSA
	}
	return nil, errKeyNotPEM
}
