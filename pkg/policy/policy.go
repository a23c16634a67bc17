// Package policy is trust policy v1: who (an OIDC issuer and claims) may
// mint what (ceilings per provider and owner) through `jobtoken serve`.
// A policy is one strict YAML file; anything it does not understand is a
// load error, and a policy that does not load grants nothing.
package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
)

// APIVersion and Kind are what every policy file declares.
const (
	APIVersion = "jobtoken.dev/v1"
	Kind       = "TrustPolicy"
)

// MaxSize is the largest policy file accepted: a policy is a page, not a
// data set, and the service reads every file of a source.
const MaxSize = 64 << 10

// OwnerIDClaim is the claim every policy for a GitHub issuer must pin: an
// owner's name can be re-registered after it is deleted, its ID cannot.
const OwnerIDClaim = "repository_owner_id"

// Policy is one trust policy.
type Policy struct {
	APIVersion string  `yaml:"apiVersion"`
	Kind       string  `yaml:"kind"`
	Name       string  `yaml:"name"`
	Who        Who     `yaml:"who"`
	Grants     []Grant `yaml:"grants"`
	Tests      []Test  `yaml:"tests"`
}

// Who is the identity a policy trusts: one issuer, and claims that must
// all match.
type Who struct {
	Issuer string             `yaml:"issuer"`
	Claims map[string]Matcher `yaml:"claims"`
}

// Grant is a ceiling: what a request matching Who may ask at most.
type Grant struct {
	Provider     string            `yaml:"provider" json:"provider"`
	Owner        string            `yaml:"owner" json:"owner"`
	Repositories []string          `yaml:"repositories" json:"repositories"`
	Permissions  map[string]string `yaml:"permissions" json:"permissions"`
}

// Test is one case `jobtoken policy test` runs: claims (and, optionally,
// an issuer other than Who's and a request) and the decision expected.
type Test struct {
	Name    string         `yaml:"name"`
	Issuer  string         `yaml:"issuer"`
	Claims  map[string]any `yaml:"claims"`
	Request *Request       `yaml:"request"`
	Allow   *bool          `yaml:"allow"`
}

// Request is what a job asks the service for, in the terms of the Grant
// that bounds it: the two stay one shape, so that every part of an ask has
// a ceiling to be held to.
type Request Grant

// Matcher is one claim's condition: an exact string, or any of pattern
// (RE2, anchored), one_of and not, which must all hold.
type Matcher struct {
	Exact   *string
	Pattern string
	OneOf   []string
	Not     []string
	re      *regexp.Regexp
}

// UnmarshalYAML reads a scalar as an exact value and a mapping strictly.
func (m *Matcher) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return errors.New("an empty matcher matches nothing; write the value, or {pattern: ...}, {one_of: [...]}, {not: [...]}")
		}
		v := n.Value
		m.Exact = &v
		return nil
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			return errors.New("an empty matcher matches nothing; use pattern, one_of or not")
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			var err error
			switch k.Value {
			case "pattern":
				if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
					return fmt.Errorf("line %d: pattern must be a string", v.Line)
				}
				m.Pattern = v.Value
			case "one_of":
				err = stringList(v, &m.OneOf)
			case "not":
				err = stringList(v, &m.Not)
			default:
				return fmt.Errorf("line %d: unknown matcher %q; use pattern, one_of or not", k.Line, k.Value)
			}
			if err != nil {
				return fmt.Errorf("line %d: %s %w", v.Line, k.Value, err)
			}
		}
		if m.Pattern != "" {
			re, err := regexp.Compile(`^(?:` + m.Pattern + `)$`)
			if err != nil {
				return fmt.Errorf("line %d: pattern %q is not RE2: %s", n.Line, m.Pattern, reError(err))
			}
			m.re = re
		}
		if m.Pattern == "" && len(m.OneOf) == 0 && len(m.Not) == 0 {
			return fmt.Errorf("line %d: the matcher matches nothing; give pattern, a non-empty one_of, or not", n.Line)
		}
		return nil
	}
	return fmt.Errorf("line %d: a claim matcher is a string or a mapping of pattern, one_of, not", n.Line)
}

func reError(err error) string { return strings.TrimPrefix(err.Error(), "error parsing regexp: ") }

func stringList(n *yaml.Node, out *[]string) error {
	if n.Kind != yaml.SequenceNode {
		return errors.New("must be a list of strings")
	}
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
			return errors.New("must be a list of strings")
		}
		*out = append(*out, c.Value)
	}
	return nil
}

// String shows what a matcher wants, as a denial names it.
func (m Matcher) String() string {
	if m.Exact != nil {
		return strconv.Quote(*m.Exact)
	}
	var parts []string
	if m.Pattern != "" {
		parts = append(parts, "pattern "+strconv.Quote(m.Pattern))
	}
	if len(m.OneOf) > 0 {
		parts = append(parts, "one of "+quoteAll(m.OneOf))
	}
	if len(m.Not) > 0 {
		parts = append(parts, "not "+quoteAll(m.Not))
	}
	return strings.Join(parts, " and ")
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// empty reports a matcher YAML left null (yaml.v3 calls no unmarshaler for
// a null value).
func (m Matcher) empty() bool {
	return m.Exact == nil && m.Pattern == "" && len(m.OneOf) == 0 && len(m.Not) == 0
}

// Match reports whether v (present says the claim exists) satisfies m. A
// missing claim never matches, not even a `not`.
func (m Matcher) Match(v string, present bool) bool {
	if !present || m.empty() {
		return false
	}
	if m.Exact != nil {
		return v == *m.Exact
	}
	if m.re != nil && !m.re.MatchString(v) {
		return false
	}
	if len(m.OneOf) > 0 && !slices.Contains(m.OneOf, v) {
		return false
	}
	return !slices.Contains(m.Not, v)
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$`)

// ownerRE is a GitHub account name; repoRE a repository name.
var (
	ownerRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,38})$`)
	repoRE  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
)

// Providers is what a v1 grant may name.
var Providers = []string{"github"}

// Parse reads one policy file. file is its name (`release.yaml`), which
// must be the policy's name; every problem found is returned, one a line.
func Parse(file string, data []byte) (*Policy, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: %d bytes, larger than the %d a policy may have", file, len(data), MaxSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Policy
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file", file)
		}
		return nil, fmt.Errorf("%s: %s", file, yamlError(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: one policy per file; found a second YAML document", file)
	}
	if errs := p.validate(file); len(errs) > 0 {
		return nil, fmt.Errorf("%s: %s", file, strings.Join(errs, "; "))
	}
	return &p, nil
}

func yamlError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// GitHubIssuer reports whether iss is a GitHub Actions issuer: github.com's
// (and its enterprise-scoped forms) or a GitHub Enterprise Server's.
func GitHubIssuer(iss string) bool {
	return iss == "https://token.actions.githubusercontent.com" ||
		strings.HasPrefix(iss, "https://token.actions.githubusercontent.com/") ||
		(strings.HasPrefix(iss, "https://") && strings.HasSuffix(iss, "/_services/token"))
}

func (p *Policy) validate(file string) []string {
	var errs []string
	add := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	if p.APIVersion != APIVersion {
		add("apiVersion is %q; write apiVersion: %s", p.APIVersion, APIVersion)
	}
	if p.Kind != Kind {
		add("kind is %q; write kind: %s", p.Kind, Kind)
	}
	base := strings.TrimSuffix(strings.TrimSuffix(path.Base(file), ".yaml"), ".yml")
	switch {
	case !nameRE.MatchString(p.Name):
		add("name %q must be lower-case letters, digits, '.', '-' or '_' (at most 64)", p.Name)
	case file != "" && base != p.Name:
		add("name is %q but the file is %s; name the file %s.yaml", p.Name, path.Base(file), p.Name)
	}
	if p.Who.Issuer == "" {
		add("who.issuer is required (GitHub Actions: https://token.actions.githubusercontent.com)")
	} else if !strings.HasPrefix(p.Who.Issuer, "https://") {
		add("who.issuer %q must be an https URL", p.Who.Issuer)
	}
	for _, name := range slices.Sorted(maps.Keys(p.Who.Claims)) {
		if p.Who.Claims[name].empty() {
			add("who.claims.%s: an empty matcher matches nothing; write the value, or {pattern: ...}, {one_of: [...]}, {not: [...]}", name)
		}
	}
	if GitHubIssuer(p.Who.Issuer) {
		m, ok := p.Who.Claims[OwnerIDClaim]
		switch {
		case !ok:
			add("who.claims.%s is required for a GitHub issuer: pin the owner's numeric ID (an account name can be re-registered), e.g. %s: \"65\"", OwnerIDClaim, OwnerIDClaim)
		case m.Exact == nil && len(m.OneOf) == 0:
			add("who.claims.%s must be an exact value or one_of, not a pattern or not", OwnerIDClaim)
		}
	}
	if len(p.Grants) == 0 {
		add("grants is empty: a policy must grant something")
	}
	for i, g := range p.Grants {
		for _, e := range g.validate() {
			add("grants[%d]: %s", i, e)
		}
	}
	for i, t := range p.Tests {
		if t.Allow == nil {
			add("tests[%d]: allow is required (true or false)", i)
		}
		if len(t.Claims) == 0 {
			add("tests[%d]: claims is required", i)
		}
		for k, v := range t.Claims {
			if _, ok := claimString(v); !ok {
				add("tests[%d]: claim %s must be a string, number or boolean", i, k)
			}
		}
		if t.Request != nil {
			if err := t.Request.Validate(); err != nil {
				add("tests[%d]: request: %s", i, err)
			}
		}
	}
	return errs
}

func (g Grant) validate() []string {
	var errs []string
	add := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	if !slices.Contains(Providers, g.Provider) {
		add("provider %q is not one this version grants; use %s", g.Provider, strings.Join(Providers, ", "))
	}
	if !ownerRE.MatchString(g.Owner) {
		add("owner %q is not a GitHub account name", g.Owner)
	}
	if len(g.Repositories) == 0 {
		add("repositories is required: name them, or [\"*\"] for every repository of the owner's installation")
	}
	for _, r := range g.Repositories {
		if r == "*" {
			if len(g.Repositories) > 1 {
				add("repositories: \"*\" stands alone")
			}
			continue
		}
		if strings.Contains(r, "/") || !repoRE.MatchString(r) {
			add("repository %q is not a repository name of owner %s (no owner/ prefix)", r, g.Owner)
		}
	}
	errs = append(errs, permissionErrors(g.Permissions)...)
	return errs
}

func permissionErrors(perms map[string]string) []string {
	var errs []string
	if len(perms) == 0 {
		errs = append(errs, "permissions is required (name: level, e.g. contents: read)")
	}
	for _, name := range slices.Sorted(maps.Keys(perms)) {
		levels, ok := ghapp.Catalog[name]
		if !ok {
			errs = append(errs, fmt.Sprintf("unknown GitHub App permission %q%s", name, inputs.DidYouMean(name, ghapp.Names())))
			continue
		}
		if !slices.Contains(levels, perms[name]) {
			errs = append(errs, fmt.Sprintf("%s: %q is not a level GitHub allows; use %s", name, perms[name], strings.Join(levels, " or ")))
		}
	}
	return errs
}

// Validate checks a request offline: provider, owner, repositories and
// permissions named and known.
func (r *Request) Validate() error {
	var errs []string
	if r.Provider == "" {
		r.Provider = "github"
	}
	if !slices.Contains(Providers, r.Provider) {
		errs = append(errs, fmt.Sprintf("provider %q is not served; use %s", r.Provider, strings.Join(Providers, ", ")))
	}
	if !ownerRE.MatchString(r.Owner) {
		errs = append(errs, fmt.Sprintf("owner %q is not a GitHub account name", r.Owner))
	}
	for _, repo := range r.Repositories {
		if repo != "*" && (strings.Contains(repo, "/") || !repoRE.MatchString(repo)) {
			errs = append(errs, fmt.Sprintf("repository %q is not a repository name (no owner/ prefix)", repo))
		}
	}
	if slices.Contains(r.Repositories, "*") && len(r.Repositories) > 1 {
		errs = append(errs, `repositories: "*" stands alone`)
	}
	errs = append(errs, permissionErrors(r.Permissions)...)
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// claimString renders a claim value as matchers compare it: strings as
// they are, numbers and booleans as written in JSON. Anything else (lists,
// objects) is not a value a matcher can hold.
func claimString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case interface{ String() string }: // json.Number
		return x.String(), true
	}
	return "", false
}
