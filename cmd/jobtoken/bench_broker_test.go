package main_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jobtoken/jobtoken/pkg/broker"
	"github.com/jobtoken/jobtoken/pkg/provider"
)

// BenchmarkCredentialHelper measures what git waits for at each operation:
// starting the shipped binary as `jobtoken credential get`, its question to
// the broker over the socket, and its answer — with no network request
// while the token is fresh (the broker has no provider to call here).
func BenchmarkCredentialHelper(b *testing.B) {
	_, bin := releaseTree(b)
	dir, err := os.MkdirTemp("", "bb")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	tok := &provider.Token{Value: "ghs_bench", ExpiresAt: exp, Accounts: []provider.Account{{Name: "octo", Token: "ghs_bench", ExpiresAt: exp}}}
	br := broker.New(broker.Config{Key: "k", GitHost: "github.com", Until: exp, Record: &broker.Record{Path: filepath.Join(dir, "record")}}, tok)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); <-br.Stopped() }()
	go func() { _ = br.Run(ctx, ln) }()
	env := []string{broker.EnvSocket + "=" + sock, broker.EnvKey + "=k"}
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command(bin, "credential", "get")
		cmd.Env = env
		cmd.Stdin = strings.NewReader("protocol=https\nhost=github.com\npath=octo/app.git\n\n")
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), "password=ghs_bench") {
			b.Fatalf("%v: %s", err, out)
		}
	}
}
