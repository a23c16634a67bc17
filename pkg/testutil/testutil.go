// Package testutil holds helpers shared by tests: a fake environment that
// fails the test on unexpected reads, test keys, and leak checks.
package testutil

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Root returns the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Testdata returns a path under testdata/.
func Testdata(parts ...string) string {
	return filepath.Join(append([]string{Root(), "testdata"}, parts...)...)
}

// AppKeyPEM returns the test App's private key (PKCS#1 PEM).
func AppKeyPEM(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(Testdata("keys", "app-pkcs1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// AppKey returns the parsed test App key.
func AppKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode([]byte(AppKeyPEM(t)))
	if block == nil {
		t.Fatal("the test App key is not PEM")
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var otherKey = sync.OnceValues(func() (string, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})), nil
})

// OtherKeyPEM returns a valid RSA key that is not the test App's: the key of
// another App.
func OtherKeyPEM(t testing.TB) string {
	t.Helper()
	k, err := otherKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Getenv returns a getenv over m.
func Getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// Reporter is the part of testing.TB the assertions need, so that checks
// running in goroutines can collect failures and report them later.
type Reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// AssertNoSecret fails when text holds any secret, or any line of a
// multi-line secret.
func AssertNoSecret(t Reporter, where, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, part := range append([]string{s}, strings.Split(s, "\n")...) {
			part = strings.TrimSpace(part)
			if len(part) < 8 {
				continue
			}
			if strings.Contains(text, part) {
				t.Errorf("%s holds a secret unmasked (%.12s…)", where, part)
			}
		}
	}
}
