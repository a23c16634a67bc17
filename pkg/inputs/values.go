package inputs

import (
	"fmt"
	"maps"
	"slices"
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

// Name renders in's name in this naming.
func (n Naming) Name(in Input) string { return n.name(in.Key, in.Azure) }

func (n Naming) name(key, azure string) string {
	switch {
	case n == AzureNames && azure != "":
		return azure
	case n == FlagNames:
		return "--" + key
	}
	return key
}

// Setting renders in set to value as the user writes it: `azure-credential:
// entra` in a workflow, `azureCredential: entra` in a pipeline,
// `--azure-credential entra` on the command line.
func (n Naming) Setting(in Input, value string) string {
	if n == FlagNames {
		return n.Name(in) + " " + value
	}
	return n.Name(in) + ": " + value
}

// Values holds the inputs of one step, keyed by input key: the values given,
// and (in a plan) the inputs whose value only the run will tell. An absent
// key means "not given"; Get falls back to the declared default.
type Values struct {
	given map[string]string
	later map[string]string // key → the expression that gives it at run time
}

// ValuesOf returns the values given in m, keyed by input key.
func ValuesOf(m map[string]string) Values {
	v := Values{}
	for k, s := range m {
		v.Set(k, s)
	}
	return v
}

// Get returns the value given for in, or its declared default. An input
// whose value only the run will tell reads as the expression that gives it,
// for a plan to show: check Known before judging a value.
func (v Values) Get(in Input) string {
	if s, ok := v.given[in.Key]; ok {
		return s
	}
	if e, ok := v.later[in.Key]; ok {
		return e
	}
	return in.Default
}

// Given reports whether a value was given for in (not only its default; an
// input known only at run time counts as given).
func (v Values) Given(in Input) bool {
	_, ok := v.given[in.Key]
	_, later := v.later[in.Key]
	return ok || later
}

// Known reports whether in's value is known now: false for an input a plan
// only sees as an expression (${{ secrets.KEY }}, $(VAR)) that the run
// will evaluate. Checks of a value that is not known are skipped.
func (v Values) Known(in Input) bool {
	_, later := v.later[in.Key]
	return !later
}

// Later returns the expression that gives in its value at run time.
func (v Values) Later(in Input) (expr string, ok bool) {
	expr, ok = v.later[in.Key]
	return expr, ok
}

// Raw returns the value given for key, without any default.
func (v Values) Raw(key string) (string, bool) {
	s, ok := v.given[key]
	return s, ok
}

// Keys lists the keys of the values given, sorted.
func (v Values) Keys() []string { return slices.Sorted(maps.Keys(v.given)) }

// LaterKeys lists the keys of the inputs known only at run time, sorted.
func (v Values) LaterKeys() []string { return slices.Sorted(maps.Keys(v.later)) }

// Set gives key a value (and makes it known).
func (v *Values) Set(key, value string) {
	if v.given == nil {
		v.given = map[string]string{}
	}
	v.given[key] = value
	delete(v.later, key)
}

// SetLater says key's value is given at run time by expr.
func (v *Values) SetLater(key, expr string) {
	if v.later == nil {
		v.later = map[string]string{}
	}
	v.later[key] = expr
	delete(v.given, key)
}

// Update sets in v everything o gives (values and run-time expressions).
func (v *Values) Update(o Values) {
	for k, s := range o.given {
		v.Set(k, s)
	}
	for k, e := range o.later {
		v.SetLater(k, e)
	}
}

// Delete forgets what was given for key.
func (v *Values) Delete(key string) {
	delete(v.given, key)
	delete(v.later, key)
}

// Clone returns a copy that shares nothing with v.
func (v Values) Clone() Values {
	return Values{given: maps.Clone(v.given), later: maps.Clone(v.later)}
}

// Map returns a copy of the values given, keyed by input key.
func (v Values) Map() map[string]string { return maps.Clone(v.given) }

// Bool parses a boolean input as the runner and agent accept them.
func (v Values) Bool(in Input) (bool, *Problem) {
	s := strings.ToLower(v.Get(in))
	switch s {
	case "", "false", "no", "0", "off":
		return false, nil
	case "true", "yes", "1", "on":
		return true, nil
	}
	return false, &Problem{Key: in.Key, Azure: in.Azure, Msg: fmt.Sprintf("%q is not a boolean; use true or false", s)}
}

// Int64 parses a positive integer input.
func (v Values) Int64(in Input) (int64, *Problem) {
	s := v.Get(in)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, &Problem{Key: in.Key, Azure: in.Azure, Msg: fmt.Sprintf("%q is not a positive number; use the numeric ID", s)}
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

// Problem is one thing wrong with one input (none when Key is empty). It
// stays a value until rendered with the input's name in a host's naming.
type Problem struct {
	Key   string
	Azure string // the input's Azure name
	Msg   string
}

// Format renders the problem as one line for naming n.
func (p Problem) Format(n Naming) string {
	if p.Key == "" {
		return p.Msg
	}
	return fmt.Sprintf("input %s: %s", n.name(p.Key, p.Azure), p.Msg)
}

// Name renders the name of the problem's input in naming n, "" when it is
// about no one input.
func (p Problem) Name(n Naming) string {
	if p.Key == "" {
		return ""
	}
	return n.name(p.Key, p.Azure)
}

func (p Problem) Error() string { return p.Format(GitHubNames) }

// Problems is every problem found in one validation pass.
type Problems []Problem

// Add appends a problem with in.
func (ps *Problems) Add(in Input, format string, args ...any) {
	*ps = append(*ps, Problem{Key: in.Key, Azure: in.Azure, Msg: fmt.Sprintf(format, args...)})
}

// AddGeneral appends a problem that is about no one input.
func (ps *Problems) AddGeneral(format string, args ...any) {
	*ps = append(*ps, Problem{Msg: fmt.Sprintf(format, args...)})
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
