package serve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/jobtoken/jobtoken/pkg/kms"
	"github.com/jobtoken/jobtoken/pkg/policy"
)

// Config is `jobtoken serve --config FILE`, read strictly: an unknown key
// is an error, so a typo never silently drops a rule.
type Config struct {
	// Listen is the address to listen on: ":$PORT" when PORT is set, else ":8080".
	Listen string `yaml:"listen"`
	// Audience is the one aud a job's token must carry.
	Audience string `yaml:"audience"`
	// Issuers are the OIDC issuers trusted (default GitHub Actions').
	Issuers []IssuerConfig `yaml:"issuers"`
	GitHub  GitHubConfig   `yaml:"github"`
	// PolicySources are where policies are read, each bound to owners.
	PolicySources []SourceConfig `yaml:"policy_sources"`
	// PolicyTTL is how long a source's policies are kept (default 5m).
	PolicyTTL Duration `yaml:"policy_ttl"`
}

// IssuerConfig is one trusted issuer: its URL (a plain string in YAML is
// the URL alone) and, for tests, where its keys are.
type IssuerConfig struct {
	URL     string `yaml:"url"`
	JWKSURL string `yaml:"jwks_url"`
}

// UnmarshalYAML accepts `- https://…` as well as `- {url: …}`.
func (i *IssuerConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		i.URL = n.Value
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: an issuer is a URL or {url, jwks_url}", n.Line)
	}
	for k := 0; k+1 < len(n.Content); k += 2 {
		key, val := n.Content[k].Value, n.Content[k+1]
		switch key {
		case "url", "issuer":
			i.URL = val.Value
		case "jwks_url":
			i.JWKSURL = val.Value
		default:
			return fmt.Errorf("line %d: unknown issuer key %q; use url or jwks_url", n.Content[k].Line, key)
		}
	}
	return nil
}

// GitHubConfig is the App the service mints with.
type GitHubConfig struct {
	APIURL         string `yaml:"api_url"`
	ClientID       string `yaml:"client_id"`
	AppID          string `yaml:"app_id"`
	PrivateKeyFile string `yaml:"private_key_file"`
	SigningKey     string `yaml:"signing_key"`
}

// SourceConfig is one policy source.
type SourceConfig struct {
	URL    string   `yaml:"url"`
	Owners []string `yaml:"owners"`
}

// Duration is a Go duration in YAML ("5m").
type Duration time.Duration

// UnmarshalYAML reads a Go duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 5m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// Source is a parsed github://OWNER/REPO@REF/DIR.
type Source struct {
	URL    string
	Owner  string
	Repo   string
	Ref    string
	Dir    string
	Owners []string
}

// GitHubIssuer is GitHub Actions' OIDC issuer on github.com.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

var (
	accountRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,38})$`)
	repoRE    = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	refRE     = regexp.MustCompile(`^[A-Za-z0-9._-]{1,255}$`)
)

// ParseSource reads github://OWNER/REPO@REF/DIR. REF is a branch, tag or
// commit SHA without a slash; DIR may be empty (the repository's root).
func ParseSource(raw string) (Source, error) {
	rest, ok := strings.CutPrefix(raw, "github://")
	if !ok {
		return Source{}, fmt.Errorf("%q must be github://OWNER/REPO@REF/DIR", raw)
	}
	repoPart, refDir, ok := strings.Cut(rest, "@")
	if !ok {
		return Source{}, fmt.Errorf("%q names no ref; write github://OWNER/REPO@REF/DIR (REF a branch, tag or commit SHA, e.g. main)", raw)
	}
	owner, repo, ok := strings.Cut(repoPart, "/")
	if !ok || !accountRE.MatchString(owner) || !repoRE.MatchString(repo) {
		return Source{}, fmt.Errorf("%q: %q is not OWNER/REPO", raw, repoPart)
	}
	ref, dir, _ := strings.Cut(refDir, "/")
	if !refRE.MatchString(ref) {
		return Source{}, fmt.Errorf("%q: ref %q must be a branch, tag or commit SHA without a slash", raw, ref)
	}
	dir = strings.Trim(dir, "/")
	for _, seg := range strings.Split(dir, "/") {
		if dir != "" && (seg == "" || seg == "." || seg == "..") {
			return Source{}, fmt.Errorf("%q: directory %q must be a plain path", raw, dir)
		}
	}
	return Source{URL: raw, Owner: owner, Repo: repo, Ref: ref, Dir: dir}, nil
}

// Repository is the source's OWNER/REPO.
func (s Source) Repository() string { return s.Owner + "/" + s.Repo }

// Settings is a checked config.
type Settings struct {
	Listen    string
	Audience  string
	Issuers   []IssuerConfig
	APIURL    string
	AppIssuer string
	KeyFile   string
	// SigningKey is github.signing_key, parsed; nil with a key file.
	SigningKey *kms.Key
	Sources    []Source
	TTL        time.Duration
}

// LoadConfig reads and checks the config file; getenv supplies PORT.
func LoadConfig(path string, getenv func(string) string) (*Settings, error) {
	data, err := readFile("--config", path)
	if err != nil {
		return nil, err
	}
	s, err := ParseConfig(data, getenv)
	if err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	return s, nil
}

// readFile reads the file at path, which name (a flag or setting, as the
// operator writes it) gives. Its errors say why without Go's "open <path>"
// prefix, and never quote the file.
func readFile(name, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("failed to read %s %s: %w", name, path, err)
	}
	return data, nil
}

// ParseConfig checks a config and lists every problem, one a line.
func ParseConfig(data []byte, getenv func(string) string) (*Settings, error) {
	if len(data) > 1<<20 {
		return nil, errors.New("larger than 1 MiB")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty file; it needs at least audience, github and policy_sources")
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, errors.New(strings.Join(te.Errors, "; "))
		}
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var problems []string
	add := func(f string, a ...any) { problems = append(problems, fmt.Sprintf(f, a...)) }
	s := &Settings{Listen: c.Listen, Audience: c.Audience, TTL: time.Duration(c.PolicyTTL)}
	if s.Listen == "" {
		s.Listen = ":8080"
		if p := getenv("PORT"); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				add("PORT %q is not a port number", p)
			}
			s.Listen = ":" + p
		}
	}
	switch {
	case s.Audience == "":
		add("audience is required: the one value every job's token must carry, e.g. the service's URL")
	case strings.ContainsAny(s.Audience, " \t\n"):
		add("audience %q has white space", s.Audience)
	}
	if s.TTL == 0 {
		s.TTL = 5 * time.Minute
	}
	if s.TTL < 10*time.Second || s.TTL > time.Hour {
		add("policy_ttl %s must be between 10s and 1h", s.TTL)
	}
	s.Issuers = c.Issuers
	if len(s.Issuers) == 0 {
		s.Issuers = []IssuerConfig{{URL: GitHubIssuer}}
	}
	for _, is := range s.Issuers {
		if !strings.HasPrefix(is.URL, "https://") || strings.ContainsAny(is.URL, " @") {
			add("issuers: %q must be an https URL", is.URL)
		}
		if !policy.GitHubIssuer(is.URL) {
			add("issuers: %q is not a GitHub Actions issuer (https://token.actions.githubusercontent.com or https://HOST/_services/token); this version serves GitHub Actions jobs only", is.URL)
		}
		if is.JWKSURL != "" {
			if u, err := url.Parse(is.JWKSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				add("issuers: jwks_url %q must be an http(s) URL", is.JWKSURL)
			}
		}
	}
	g := c.GitHub
	s.APIURL = strings.TrimRight(g.APIURL, "/")
	if s.APIURL == "" {
		s.APIURL = "https://api.github.com"
	}
	if u, err := url.Parse(s.APIURL); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) || u.User != nil {
		add("github.api_url %q must be an https URL (http only to this machine)", g.APIURL)
	}
	switch {
	case g.ClientID != "" && g.AppID != "":
		add("github: give client_id or app_id, not both")
	case g.ClientID != "":
		s.AppIssuer = g.ClientID
	case g.AppID != "":
		if _, err := strconv.ParseInt(g.AppID, 10, 64); err != nil {
			add("github.app_id %q is not a number; the App's client ID goes in client_id", g.AppID)
		}
		s.AppIssuer = g.AppID
	default:
		add("github.client_id (or app_id) is required: the App the service mints with")
	}
	switch {
	case g.PrivateKeyFile != "" && g.SigningKey != "":
		add("github: give private_key_file or signing_key, not both")
	case g.SigningKey != "":
		k, err := kms.ParseKey(g.SigningKey)
		if err != nil {
			add("github.signing_key: %s", err)
		} else {
			s.SigningKey = &k
		}
	case g.PrivateKeyFile == "":
		add("github.private_key_file (or signing_key, a KMS key URI) is required: the App's private key (PEM), mounted as a secret file")
	}
	s.KeyFile = g.PrivateKeyFile
	if len(c.PolicySources) == 0 {
		add("policy_sources is required: at least one {url: github://OWNER/REPO@REF/DIR, owners: [OWNER]}")
	}
	for i, sc := range c.PolicySources {
		src, err := ParseSource(sc.URL)
		if err != nil {
			add("policy_sources[%d].url %s", i, err)
			continue
		}
		if len(sc.Owners) == 0 {
			add("policy_sources[%d].owners is required: the accounts this source may grant for (usually %s)", i, src.Owner)
		}
		for _, o := range sc.Owners {
			if !accountRE.MatchString(o) {
				add("policy_sources[%d].owners: %q is not a GitHub account name", i, o)
			}
		}
		src.Owners = sc.Owners
		s.Sources = append(s.Sources, src)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return s, nil
}

func loopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
