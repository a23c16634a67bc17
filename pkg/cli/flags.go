package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/host/local"
	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// flags is one command's flag set. Its help is generated: the command's own
// flags as declared, then the catalog inputs the command uses with their
// descriptions, defaults and INPUT_* variables, so that help, flags and the
// CI inputs cannot drift apart.
type flags struct {
	fs       *flag.FlagSet
	name     string
	synopsis string
	about    string
	own      []flagHelp
	in       *inputFlags
}

type flagHelp struct{ name, arg, usage string }

func newFlags(name, synopsis, about string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flags{fs: fs, name: name, synopsis: synopsis, about: about}
}

func (f *flags) String(name, arg, usage string) *string {
	f.own = append(f.own, flagHelp{name, arg, usage})
	return f.fs.String(name, "", usage)
}

func (f *flags) Bool(name, usage string) *bool {
	f.own = append(f.own, flagHelp{name, "", usage})
	return f.fs.Bool(name, false, usage)
}

// inputFlags are the catalog's inputs as flags, named like the GitHub inputs.
type inputFlags struct {
	cat *inputs.Catalog
	// keys are the inputs the command uses, in catalog order.
	keys  []string
	given map[string]string
	// files maps a credential input to the file it is read from
	// (--private-key-file): a credential on the command line would be in the
	// shell history and the process list.
	files map[string]string
}

// Inputs adds one flag per input of cat the command uses (every input
// when use is empty), plus --KEY-file for credentials.
func (f *flags) Inputs(cat *inputs.Catalog, use ...inputs.Input) *inputFlags {
	in := &inputFlags{cat: cat, given: map[string]string{}, files: map[string]string{}}
	for _, c := range cat.Inputs() {
		if len(use) > 0 && !slices.ContainsFunc(use, func(u inputs.Input) bool { return u.Key == c.Key }) {
			continue
		}
		in.keys = append(in.keys, c.Key)
		key := c.Key
		set := func(s string) error { in.given[key] = s; return nil }
		if c.Type == inputs.TypeBool {
			f.fs.Var(boolFlag(set), key, c.Description)
		} else {
			f.fs.Func(key, c.Description, set)
		}
		if c.Secret {
			f.fs.Func(key+"-file", "read "+key+" from this file", func(s string) error { in.files[key] = s; return nil })
		}
	}
	f.in = in
	return in
}

// boolFlag lets `--allow-broad-scopes` stand alone, as boolean flags do.
type boolFlag func(string) error

func (b boolFlag) Set(s string) error { return b(s) }
func (boolFlag) String() string       { return "" }
func (boolFlag) IsBoolFlag() bool     { return true }

// parse parses args. done means the command should return code now: help
// was printed, or the command line was wrong.
func (f *flags) parse(e *Env, args []string) (code int, done bool) {
	err := f.fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		f.help(e.Stdout)
		return 0, true
	case err != nil:
		fmt.Fprintf(e.Stderr, "jobtoken %s: %s\nrun jobtoken %s --help for the flags\n", f.name, err, f.name)
		return 2, true
	case f.fs.NArg() > 0:
		fmt.Fprintf(e.Stderr, "jobtoken %s: unexpected argument %q; every value is given with a flag (jobtoken %s --help)\n", f.name, f.fs.Arg(0), f.name)
		return 2, true
	}
	return 0, false
}

// usageError reports a wrong command line and returns its exit code.
func (f *flags) usageError(e *Env, format string, args ...any) int {
	fmt.Fprintf(e.Stderr, "jobtoken %s: %s\n", f.name, fmt.Sprintf(format, args...))
	return 2
}

// values merges the inputs: INPUT_* variables, then flags over them, then
// credential files. Every credential is registered as a secret at once.
func (in *inputFlags) values(e *Env) (inputs.Values, error) {
	v := local.FromEnv(in.cat, e.Getenv)
	for k, s := range in.given {
		if s = strings.TrimSpace(s); s != "" {
			v.Set(k, s)
		} else {
			v.Delete(k)
		}
	}
	for _, k := range sortedKeys(in.files) {
		b, err := os.ReadFile(in.files[k])
		if err != nil {
			return inputs.Values{}, fmt.Errorf("failed to read --%s-file: %w", k, err)
		}
		v.Set(k, strings.TrimSpace(string(b)))
	}
	e.Secrets.Add(in.cat.SecretValues(v)...)
	return v, nil
}

// run describes the terminal's run: the repository comes from --repository
// or GITHUB_REPOSITORY, as a runner would set it.
func (e *Env) localRun(repository string) host.Run {
	if repository == "" {
		repository = e.Getenv("GITHUB_REPOSITORY")
	}
	return host.Run{Repository: repository, RepoName: repository, APIURL: e.Getenv("GITHUB_API_URL")}
}

// ciMask is, inside a CI job, the CI system's mask command written to
// stderr (both runners read commands from a step's stderr too), so that
// stdout carries the token alone; nil outside CI.
func (e *Env) ciMask() func(string) {
	if e.RawStderr == nil {
		return nil
	}
	if h := e.ciHost(e.RawStderr); h != nil {
		return h.Mask
	}
	return nil
}

func (f *flags) help(w io.Writer) {
	b := &strings.Builder{}
	fmt.Fprintf(b, "usage: jobtoken %s %s\n\n%s\n", f.name, f.synopsis, wrap(f.about, 0))
	if len(f.own) > 0 {
		fmt.Fprintf(b, "\nflags:\n")
		for _, o := range f.own {
			writeFlag(b, o.name, o.arg, o.usage)
		}
	}
	if f.in != nil {
		example := "INPUT_PROVIDER"
		for _, k := range f.in.keys {
			if k != inputs.Provider.Key {
				example = envName(k)
				break
			}
		}
		fmt.Fprintf(b, "\ninputs (the action's inputs, as flags; each is also read from INPUT_<NAME>, e.g. %s):\n", example)
		group := ""
		for _, k := range f.in.keys {
			c, _ := f.in.cat.Lookup(k)
			if c.Group != group {
				group = c.Group
				fmt.Fprintf(b, "\n  %s:\n", group)
			}
			arg := "VALUE"
			switch {
			case c.Type == inputs.TypeBool:
				arg = ""
			case len(c.Options) > 0:
				arg = strings.Join(c.Options, "|")
			case c.Type == inputs.TypeMultiLine && !c.Secret:
				arg = "LIST"
			}
			usage := plain(f.in.cat.Description(c, inputs.OnCLI))
			var extra []string
			switch u := c.RequiredUnless; {
			case u != nil:
				extra = append(extra, "required, except with --"+u.Key+" "+u.Value)
			case c.Required:
				extra = append(extra, "required")
			}
			if c.Default != "" {
				extra = append(extra, "default "+c.Default)
			}
			if !c.DeclaredOn(inputs.OnGitHub) {
				extra = append(extra, "Azure Pipelines only")
			}
			// The spelling a shell can export.
			extra = append(extra, envName(c.Key))
			usage += " (" + strings.Join(extra, "; ") + ")"
			writeFlag(b, c.Key, arg, usage)
			if c.Secret {
				writeFlag(b, c.Key+"-file", "FILE", "Read "+c.Key+" from FILE, which keeps it out of the shell history and the process list.")
			}
		}
	}
	_, _ = io.WriteString(w, b.String())
}

// envName is the INPUT_* variable a shell can export for an input.
func envName(key string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// inputsWhere lists the inputs for which keep is true.
func (e *Env) inputsWhere(keep func(inputs.Input) bool) []inputs.Input {
	var out []inputs.Input
	for _, in := range e.providers().Catalog().Inputs() {
		if keep(in) {
			out = append(out, in)
		}
	}
	return out
}

func writeFlag(b *strings.Builder, name, arg, usage string) {
	head := "  --" + name
	if arg != "" {
		head += " " + arg
	}
	fmt.Fprintf(b, "%s\n%s\n", head, wrap(usage, 8))
}

// plain turns the catalog's markdown into terminal text.
func plain(s string) string {
	return strings.NewReplacer("`", "", "**", "").Replace(s)
}

// wrap folds s at 80 columns with indent spaces before each line.
func wrap(s string, indent int) string {
	pad := strings.Repeat(" ", indent)
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(pad)+len(line)+1+len(w) > 80 {
			lines = append(lines, pad+line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, pad+line)
	}
	return strings.Join(lines, "\n")
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
