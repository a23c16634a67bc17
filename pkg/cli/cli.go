// Package cli picks the command, host and stage and runs them. cmd/jobtoken
// only calls Main, so everything here is testable in-process.
package cli

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/job"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
	"github.com/jobtoken/jobtoken/pkg/retry"
	"github.com/jobtoken/jobtoken/pkg/secret"
)

// Version is stamped at build time with -ldflags "-X …/pkg/cli.Version=v1.2.3".
var Version = ""

// version falls back to the module version in the build info.
func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Env is the process as the CLI sees it; tests fill it in.
type Env struct {
	Args   []string // os.Args, argv[0] included
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer // redacted
	Stderr io.Writer // redacted
	// Raw streams, for the few commands that must carry a secret (add-mask).
	RawStdout *secret.Writer
	RawStderr *secret.Writer
	Secrets   *secret.Set
	// Providers, when set, replaces the providers jobtoken ships (a test
	// adds its own).
	Providers *provider.Registry
	// Transport and Retry are injected by tests.
	Transport http.RoundTripper
	Retry     *retry.Policy
	Now       func() time.Time
	// Setenv changes the process environment (value "" unsets); set by
	// Main, nil in tests. See job.Env.Setenv.
	Setenv func(key, value string)
	// Dial, when set, replaces the dialer of the stages' transport (the
	// demo keeps them on loopback). See job.Env.Dial.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// StartBroker, when set, replaces starting the broker process (the
	// fault matrix runs it in-process, over its faulty transport).
	StartBroker func(handoff []byte) error
	// Terminal says stdout is a terminal (set by Main), where the demo
	// may colour its transcript.
	Terminal bool

	// process is set by Main: the run is the process's own, so process-wide
	// output (the standard log package) is routed through the writers.
	process bool
}

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, e *Env, args []string) int
}

// providers is the providers the commands know: Env.Providers, else every
// provider jobtoken ships.
func (e *Env) providers() *provider.Registry {
	if e.Providers != nil {
		return e.Providers
	}
	return registry.Default()
}

// Main runs jobtoken as the process and returns the exit code. Panics are
// recovered and reported through the redacting writer, so even they cannot
// print a secret; so is everything the standard log package prints (a
// library's debug output).
func Main(ctx context.Context, stdout, stderr io.Writer, stdin io.Reader, args []string, getenv func(string) string) (code int) {
	e := &Env{Args: args, Getenv: getenv, Stdin: stdin, Setenv: processSetenv, Terminal: isTerminal(stdout), process: true}
	return MainEnv(ctx, e, stdout, stderr)
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func processSetenv(k, v string) {
	if v == "" {
		_ = os.Unsetenv(k)
		return
	}
	_ = os.Setenv(k, v)
}

// logWriter takes the standard log package's lines (one Write each) to the
// redacting writer, neutralised so that none is read as a CI command.
type logWriter struct{ w io.Writer }

func (l logWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(l.w, Neutralize(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Neutralize makes text that is not meant as a CI command safe to print in
// a GitHub step and in an Azure Pipelines task alike: no line of it starts a
// workflow command (::name::), a logging command (##vso[) or a formatting
// command (##[), and no lone CR ends a line early.
func Neutralize(s string) string {
	return ghactions.Neutralize(azpipelines.Neutralize(s))
}

// MainEnv is Main for an Env that already holds the process (Args, Getenv,
// Stdin) and what tests inject (Transport, Retry, Now): it puts the
// redacting writers, over stdout and stderr, under everything the run
// prints, and recovers panics through them.
func MainEnv(ctx context.Context, e *Env, stdout, stderr io.Writer) (code int) {
	set := &secret.Set{}
	out := secret.NewWriter(stdout, set)
	errw := secret.NewWriter(stderr, set)
	defer func() {
		if r := recover(); r != nil {
			// One line: a panic value could hold line breaks or a
			// workflow command; the writer redacts the secrets in it.
			msg := strings.NewReplacer("\r", " ", "\n", " ", "##", "# #", "::", ": :").Replace(fmt.Sprint(r))
			fmt.Fprintf(errw, "jobtoken: internal error: %s\n", msg)
			code = 2
		}
		_ = out.Flush()
		_ = errw.Flush()
	}()
	e.Stdout, e.Stderr, e.RawStdout, e.RawStderr, e.Secrets = out, errw, out, errw, set
	if e.process {
		// Libraries that print through the log package (net/http's
		// HTTP/2 debug logger among them) go through the redacting writer
		// too, neutralised.
		log.SetOutput(logWriter{errw})
	}
	return e.Run(ctx)
}

// Run dispatches on argv[0] and the first argument.
func (e *Env) Run(ctx context.Context) int {
	name := strings.TrimSuffix(filepath.Base(e.Args[0]), ".exe")
	args := e.Args[1:]
	// The docker action's post-entrypoint is a second path to the same
	// binary; its name says which stage to run.
	if strings.HasSuffix(name, "-post") {
		return e.stage(ctx, "post")
	}
	if len(args) == 0 && e.ciHost(nil) != nil {
		return e.stage(ctx, "main")
	}
	if len(args) > 0 && (args[0] == "main" || args[0] == "post") {
		return e.stage(ctx, args[0])
	}
	// A command (not a stage, whose hosts write CI commands on purpose):
	// nothing it prints, such as a name an API listed, may become a CI
	// command.
	for _, w := range []io.Writer{e.Stdout, e.Stderr} {
		if f, ok := w.(interface{ SetFilter(func(string) string) }); ok {
			f.SetFilter(Neutralize)
		}
	}
	if len(args) == 0 {
		e.usage(e.Stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "--help", "-help":
		switch {
		case len(args) > 2:
			fmt.Fprintf(e.Stderr, "jobtoken help: unexpected argument %q; ask for one command: jobtoken help COMMAND\n", args[2])
			return 2
		case len(args) == 1 || args[1] == "help" || args[1] == "version":
			e.usage(e.Stdout)
			return 0
		}
		if c, ok := commands()[args[1]]; ok {
			return c.run(ctx, e, []string{"--help"})
		}
		return e.unknownCommand(args[1])
	case "version", "--version":
		if len(args) > 1 {
			fmt.Fprintf(e.Stderr, "jobtoken version: unexpected argument %q; it takes none\n", args[1])
			return 2
		}
		fmt.Fprintln(e.Stdout, "jobtoken", version())
		return 0
	}
	c, ok := commands()[args[0]]
	if !ok {
		return e.unknownCommand(args[0])
	}
	return c.run(ctx, e, args[1:])
}

// unknownCommand reports a command name jobtoken does not know: a usage
// error, whether it came as `jobtoken nope` or `jobtoken help nope`.
func (e *Env) unknownCommand(name string) int {
	fmt.Fprintf(e.Stderr, "jobtoken: unknown command %q%s, valid commands are %s\n", name, inputs.DidYouMean(name, commandNames()), strings.Join(commandNames(), ", "))
	return 2
}

func commandNames() []string {
	names := []string{"help", "version"}
	for n := range commands() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (e *Env) usage(w io.Writer) {
	fmt.Fprintf(w, `jobtoken %s: mint the narrowest, shortest-lived token a CI job needs, and revoke it when the job ends.

In a GitHub Actions or Azure Pipelines step it runs by itself (main, then post).
By hand:

`, version())
	for _, n := range commandNames() {
		s := "print this help (help COMMAND for a command's flags)"
		if n == "version" {
			s = "print the version"
		}
		if c, ok := commands()[n]; ok {
			s = c.summary
		}
		fmt.Fprintf(w, "  jobtoken %-10s %s\n", n, s)
	}
	fmt.Fprintln(w, "\nExit status: 0 success; 1 the command ran and failed (plan: a step has problems; mint, revoke,\nsweep: a service refused or could not be reached; demo: a check failed; policy: a policy is\ninvalid or one of its tests fails; serve: the service could not start); 2 the command line is\nwrong (an unknown command or flag, a value refused before any call, a file that cannot be read).\n\nDocumentation: https://github.com/jobtoken/jobtoken#readme")
}

// stage runs the main or post stage on the CI host.
func (e *Env) stage(ctx context.Context, stage string) int {
	h := e.ciHost(e.RawStdout)
	if h == nil {
		fmt.Fprintf(e.Stderr, "jobtoken: the %s stage runs inside GitHub Actions or Azure Pipelines (GITHUB_ACTIONS or TF_BUILD is not set); by hand, use jobtoken plan, mint or revoke\n", stage)
		return 2
	}
	r := e.runner(h)
	r.Setenv = e.Setenv
	run := job.Main
	if stage == "post" {
		run = job.Post
	}
	err := run(ctx, r)
	if f, ok := h.(host.Finisher); ok {
		f.Finish(err != nil)
	}
	if err != nil {
		return 1
	}
	return 0
}

// runner is what a stage or a command runs with on host h: the providers,
// and what tests inject.
func (e *Env) runner(h host.Host) *job.Runner {
	return &job.Runner{Host: h, Providers: e.providers(), Transport: e.Transport, Retry: e.Retry, Now: e.Now, Secrets: e.Secrets, Dial: e.Dial, StartBroker: e.StartBroker}
}
