package ghapp

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"regexp"
	"strings"
)

// Key errors never include any part of the key. Each names what the value
// is and how to make it the PEM key GitHub generated.
var (
	errKeyEmpty   = errors.New("is empty; set it to the App's private key (the .pem file from the App's settings), e.g. from a secret")
	errKeyNotPEM  = errors.New("is not a PEM private key; paste the whole .pem file GitHub generated, including the -----BEGIN/END----- lines (base64 of it also works)")
	errKeyParse   = errors.New("holds a PEM block that is not a valid PKCS#1 or PKCS#8 private key; generate a new private key in the App's settings")
	errKeyNotRSA  = errors.New("is not an RSA key; GitHub Apps sign with RSA keys generated in the App's settings")
	errKeyPublic  = errors.New("is a public key; use the private key (the .pem file GitHub downloaded)")
	errKeyEncrypt = errors.New("is an encrypted (passphrase-protected) private key, which a CI step cannot unlock; decrypt it once with openssl rsa -in key.pem -out plain.pem (it asks for the passphrase) and store plain.pem in the secret")
	errKeySpaces  = errors.New("is a PEM key whose line breaks became spaces (it went through a one-line field); store the .pem file as it is, e.g. gh secret set APP_PRIVATE_KEY < key.pem, or its base64 (base64 -w0 key.pem), which jobtoken accepts too")
	errKeyOpenSSH = errors.New("is an OpenSSH private key (BEGIN OPENSSH PRIVATE KEY), not a PEM one; convert an RSA key with ssh-keygen -p -m PEM -f key (it rewrites key as PEM), though a GitHub App's key is the .pem generated in the App's settings, not an SSH key")
	errKeySSHPub  = errors.New("is an SSH public key; use the App's private key (the .pem file generated in the App's settings)")
)

// spacedPEM is a PEM header followed by a space where a line break belongs.
var spacedPEM = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]+-----[ \t]+\S`)

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
	switch {
	case strings.HasPrefix(s, "ssh-rsa ") || strings.HasPrefix(s, "ssh-ed25519 ") || strings.HasPrefix(s, "ecdsa-sha2-"):
		return nil, errKeySSHPub
	case spacedPEM.MatchString(s):
		return nil, errKeySpaces
	}
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
	if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, errKeyEncrypt
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
	case "OPENSSH PRIVATE KEY":
		return nil, errKeyOpenSSH
	case "EC PRIVATE KEY":
		return nil, errKeyNotRSA
	}
	return nil, errKeyNotPEM
}
