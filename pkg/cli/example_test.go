package cli_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
	"github.com/jobtoken/jobtoken/pkg/testutil"
)

// fixedNow keeps expiry times in examples and golden files stable.
var fixedNow = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// fakeToken is the token the example fake issues; it looks like GitHub's.
const fakeToken = "ghs_EXAMPLEtoken0123456789abcdefABCDEF"

// exampleFake is a fake GitHub with one App installed on octo/app and
// octo/docs, a fixed clock and fixed tokens.
func exampleFake() *ghfake.Server {
	pemBytes, err := os.ReadFile(testutil.Testdata("keys", "app-pkcs1.pem"))
	if err != nil {
		panic(err)
	}
	key, err := ghapp.ParsePrivateKey(string(pemBytes))
	if err != nil {
		panic(err)
	}
	fake := ghfake.New(key, &ghfake.Installation{ID: 77, Account: "octo",
		Permissions: map[string]string{"contents": "write", "pull_requests": "write", "metadata": "read"},
		Repos:       []string{"app", "docs"}})
	fake.Now = func() time.Time { return fixedNow }
	fake.TokenFunc = func() string { return fakeToken }
	return fake
}

// refusingFake is exampleFake answering every request as GitHub does when
// the App lacks a permission: 403 Resource not accessible by integration.
func refusingFake() *ghfake.Server {
	fake := exampleFake()
	fake.Before = func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"Resource not accessible by integration"}`))
		return true
	}
	return fake
}

// runCLI runs jobtoken in-process as a terminal would (runWith), over the
// real transport.
func runCLI(env map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	return runWith(http.DefaultTransport, env, stdin, args...)
}

// jobtoken mint prints the token, and only the token, on stdout: everything a
// person needs to know (its ID, expiry, how to revoke it) goes to stderr.
func Example_mint() {
	fake := exampleFake()
	defer fake.Close()
	stdout, stderr, code := runCLI(map[string]string{"INPUT_GITHUB_API_URL": fake.URL}, "",
		"mint", "--provider", "github", "--client-id", fake.ClientID,
		"--private-key-file", testutil.Testdata("keys", "app-pkcs1.pem"),
		"--repository", "octo/app", "--permissions", "contents:read")
	fmt.Print("stdout:\n", stdout)
	fmt.Print("stderr:\n", strings.ReplaceAll(stderr, fake.URL, "$FAKE_GITHUB"))
	fmt.Println("exit status", code)
	// Output:
	// stdout:
	// ghs_EXAMPLEtoken0123456789abcdefABCDEF
	// stderr:
	// expires-at: 2026-11-27T10:00:00Z
	// token-id: sha256:df4eb8ac8c0a
	// permissions: contents:read, metadata:read
	// app-slug: jobtoken-test
	// installation-id: 77
	// minted github token sha256:df4eb8ac8c0a (contents:read, metadata:read), expires 2026-11-27T10:00:00Z
	// to revoke it, pipe the token into: jobtoken revoke --provider github --token-stdin --github-api-url $FAKE_GITHUB
	// exit status 0
}

// jobtoken revoke takes a github token on stdin, never as a flag, and revokes
// it with the token itself. Revoking it again is not an error: the goal is
// reached.
func Example_revoke() {
	fake := exampleFake()
	defer fake.Close()
	env := map[string]string{"GITHUB_API_URL": fake.URL}
	tok, _, _ := runCLI(env, "", "mint", "--provider", "github", "--client-id", fake.ClientID,
		"--private-key-file", testutil.Testdata("keys", "app-pkcs1.pem"),
		"--repository", "octo/app", "--permissions", "contents:read")
	fmt.Println("live tokens after mint:", len(fake.Live()))

	for range 2 {
		stdout, stderr, code := runCLI(env, tok, "revoke", "--provider", "github", "--token-stdin")
		fmt.Printf("stdout: %q\nstderr: %sexit status %d\n", stdout, stderr, code)
	}
	fmt.Println("live tokens after revoke:", len(fake.Live()))
	// Output:
	// live tokens after mint: 1
	// stdout: ""
	// stderr: revoked github token sha256:df4eb8ac8c0a
	// exit status 0
	// stdout: ""
	// stderr: github token sha256:df4eb8ac8c0a was already revoked or expired
	// exit status 0
	// live tokens after revoke: 0
}
