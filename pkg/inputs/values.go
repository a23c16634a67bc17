package inputs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Naming says how a host spells input names, so errors name the input as the
// user typed it.
type Naming int

const (
	// GitHubNames are kebab-case: `client-id`.
	GitHubNames Naming = iota
	// AzureNames are camelCase: `clientId`.
	AzureNames
	// FlagNames are CLI flags: `--client-id`.
	FlagNames
)

// Name renders the input key in this naming.
func (n Naming) Name(key string) string {
	in, ok := Lookup(key)
	switch {
	case !ok:
		return key
	case n == AzureNames:
		return in.Azure
	case n == FlagNames:
		return "--" + in.Key
	default:
		return in.Key
	}
}

// Values holds the raw input values of one run, keyed by input key. An absent
// key means "not given"; Get falls back to the catalog default.
type Values map[string]string

// FromLookup reads every catalog input through get, which receives the input
// key and returns the raw value and whether it was set.
func FromLookup(get func(in Input) (string, bool)) Values {
	v := Values{}
	for _, in := range Catalog {
		if s, ok := get(in); ok {
			s = strings.TrimSpace(s)
			if s != "" {
				v[in.Key] = s
			}
		}
	}
	return v
}

// Get returns the value, or the catalog default when it was not given.
func (v Values) Get(key string) string {
	if s, ok := v[key]; ok {
		return s
	}
	in, _ := Lookup(key)
	return in.Default
}

// Given reports whether the user set key explicitly.
func (v Values) Given(key string) bool {
	_, ok := v[key]
	return ok
}

// Bool parses a boolean input as the runner and agent accept them.
func (v Values) Bool(key string) (bool, *Problem) {
	s := strings.ToLower(v.Get(key))
	switch s {
	case "", "false", "no", "0", "off":
		return false, nil
	case "true", "yes", "1", "on":
		return true, nil
	}
	return false, &Problem{Key: key, Msg: fmt.Sprintf("%q is not a boolean; use true or false", s)}
}

// Int64 parses a positive integer input.
func (v Values) Int64(key string) (int64, *Problem) {
	s := v.Get(key)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, &Problem{Key: key, Msg: fmt.Sprintf("%q is not a positive number; use the numeric ID", s)}
	}
	return n, nil
}

// FormatDuration prints durations as people write them: 1h rather than
// 1h0m0s, 90m as 1h30m.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// List splits a list input on commas, spaces and newlines, dropping empties.
func List(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	})
}

// Problem is one thing wrong with one input. It renders with the input's name
// in the host's naming.
type Problem struct {
	Key string
	Msg string
}

// Format renders the problem as one line for naming n.
func (p Problem) Format(n Naming) string {
	if p.Key == "" {
		return p.Msg
	}
	return fmt.Sprintf("input %s: %s", n.Name(p.Key), p.Msg)
}

func (p Problem) Error() string { return p.Format(GitHubNames) }

// Problems is every problem found in one validation pass.
type Problems []Problem

// Add appends a problem.
func (ps *Problems) Add(key, format string, args ...any) {
	*ps = append(*ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// AddP appends p when it is not nil.
func (ps *Problems) AddP(p *Problem) {
	if p != nil {
		*ps = append(*ps, *p)
	}
}

// Err returns nil when there are no problems.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Format renders every problem, one per line.
func (ps Problems) Format(n Naming) string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Format(n)
	}
	return strings.Join(lines, "\n")
}

func (ps Problems) Error() string { return ps.Format(GitHubNames) }

// Suggest returns the candidate closest to s when it is close enough to be a
// plausible typo, or "".
func Suggest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := levenshtein(strings.ToLower(s), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(2, len(s)/3)
	if bestD >= 0 && bestD <= limit {
		return best
	}
	return ""
}

// DidYouMean formats a suggestion suffix, or "".
func DidYouMean(s string, candidates []string) string {
	if m := Suggest(s, candidates); m != "" {
		return fmt.Sprintf("; did you mean %q?", m)
	}
	return ""
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
