package demo

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Verdict is what the demo concludes, from the fake's own records and what
// the CI system received.
type Verdict struct {
	OK       bool    `json:"ok"`
	Provider string  `json:"provider"`
	Host     string  `json:"host"`
	Checks   []Check `json:"checks"`
	Facts    Facts   `json:"facts"`
}

// Check is one claim of the verdict.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// The checks, in the order a job lives them.
const (
	CheckMinted       = "minted"
	CheckMasked       = "masked"
	CheckUsed         = "used"
	CheckRefused      = "refused"
	CheckRevoked      = "revoked"
	CheckNothingLive  = "nothing-live"
	CheckNeverPrinted = "never-printed"
	CheckOffline      = "offline"
)

// Facts are what the checks rest on. No secret is among them.
type Facts struct {
	Fake    string       `json:"fake"`
	Stages  []StageFact  `json:"stages"`
	Token   TokenFact    `json:"token"`
	Calls   []CallFact   `json:"calls"`
	Minted  int          `json:"minted"`
	Live    int          `json:"live_after_post"`
	Masked  []string     `json:"masked"`
	Secrets []string     `json:"secrets_searched"`
	Places  []string     `json:"places_searched"`
	Leaks   []string     `json:"leaks"`
	Network NetworkFacts `json:"network"`
	Seconds float64      `json:"seconds"`
}

// StageFact is one run of jobtoken.
type StageFact struct {
	Name string `json:"name"`
	Exit int    `json:"exit"`
}

// TokenFact is the token as published and as the fake recorded it.
type TokenFact struct {
	Published     bool      `json:"published"`
	ID            string    `json:"id,omitempty"`
	Asked         string    `json:"asked"`
	Granted       string    `json:"granted,omitempty"`
	Resources     string    `json:"resources,omitempty"`
	ExpiresAt     time.Time `json:"expires_at,omitzero"`
	LiveAfterMain bool      `json:"live_after_main"`
	Revoked       bool      `json:"revoked"`
	RevokedBy     string    `json:"revoked_by,omitempty"`
}

// CallFact is one call of the later step, as the fake recorded it.
type CallFact struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Needs  string `json:"needs,omitempty"`
	Expect string `json:"expect"` // "served" or "refused: <why>"
	Status int    `json:"status"`
	Got    string `json:"got"` // "served", "refused: <why>" or "not recorded"
}

// NetworkFacts are the connections the demo made and refused.
type NetworkFacts struct {
	Dialed  []string `json:"dialed"`
	Refused []string `json:"refused"`
}

// evidence is everything the verdict is judged from.
type evidence struct {
	provider, host string
	svc            Service
	c              ci
	token, id      string
	minted         []string // every token the fake minted
	mainExit       int
	postExit       int
	afterMain      TokenStatus
	afterPost      TokenStatus
	secrets        []Form
	transcript     string
	dialed         []string
	refused        []string
	elapsed        time.Duration
}

// judge makes the verdict.
func judge(ev evidence) Verdict {
	v := Verdict{Provider: ev.provider, Host: ev.host}
	f := &v.Facts
	f.Fake = ev.svc.URL()
	f.Stages = []StageFact{{"main", ev.mainExit}, {"post", ev.postExit}}
	f.Network = NetworkFacts{Dialed: nonNil(ev.dialed), Refused: nonNil(ev.refused)}
	f.Seconds = ev.elapsed.Round(time.Millisecond).Seconds()
	g := ev.svc.Grant()
	f.Minted, f.Live = g.Minted, ev.svc.Live()
	f.Token = TokenFact{
		Published: ev.token != "", ID: ev.id, Asked: g.Asked, Granted: g.Granted, Resources: g.Resources, ExpiresAt: g.ExpiresAt.UTC().Truncate(time.Second),
		LiveAfterMain: ev.afterMain.Live, Revoked: ev.afterPost.Revoked,
	}
	if ev.afterPost.Revoked {
		f.Token.RevokedBy = ev.afterPost.By
	}
	add := func(name string, ok bool, format string, args ...any) {
		v.Checks = append(v.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}

	switch {
	case g.Minted != 1:
		add(CheckMinted, false, "the fake minted %d tokens; one was expected", g.Minted)
	case !g.Exact:
		add(CheckMinted, false, "asked %s, but the fake granted %s, %s", g.Asked, g.Granted, g.Resources)
	case ev.token == "":
		add(CheckMinted, false, "the fake minted exactly what was asked, but the step published no token (exit %d)", ev.mainExit)
	case !ev.afterMain.Found:
		add(CheckMinted, false, "the published token is not the one the fake minted")
	default:
		add(CheckMinted, true, "one token, %s, %s: exactly as asked", g.Granted, g.Resources)
	}

	// Every token the fake minted must have been masked, published or not.
	var unmasked []string
	masked := map[string]bool{}
	for _, tok := range ev.minted {
		for _, d := range append([]Form{{"the token", tok}}, ev.svc.Derived(tok)...) {
			if ev.c.log().masked(d.Value) {
				masked[d.Name] = true
			} else if !slices.Contains(unmasked, d.Name) {
				unmasked = append(unmasked, d.Name)
			}
		}
	}
	if len(ev.minted) > 0 {
		// The forms' names, in order.
		for _, d := range append([]Form{{"the token", ""}}, ev.svc.Derived(ev.minted[0])...) {
			if masked[d.Name] && !slices.Contains(unmasked, d.Name) {
				f.Masked = append(f.Masked, d.Name)
			}
		}
	}
	switch {
	case len(ev.minted) == 0:
		add(CheckMasked, false, "the fake minted no token to mask")
	case len(unmasked) > 0:
		add(CheckMasked, false, "%s was never asked to mask %s", ev.c.title(), JoinList(unmasked))
	default:
		add(CheckMasked, true, "jobtoken sent %s for %s, so %s shows them as ***", ev.c.maskCommand(), JoinList(f.Masked), ev.c.title())
	}

	used, refused := judgeCalls(ev, f)
	add(CheckUsed, used.ok, "%s", used.detail)
	add(CheckRefused, refused.ok, "%s", refused.detail)

	switch {
	case ev.token == "":
		add(CheckRevoked, false, "no token was published, so the post step had none to revoke")
	case !ev.afterMain.Found:
		add(CheckRevoked, false, "the published token is not one the fake minted")
	case !ev.afterMain.Live:
		add(CheckRevoked, false, "the token was already dead before the post step ran")
	case !ev.afterPost.Revoked:
		add(CheckRevoked, false, "the post step (exit %d) left the token unrevoked", ev.postExit)
	default:
		add(CheckRevoked, true, "by the post step with %s (the token worked until then)", ev.afterPost.By)
	}

	if f.Live == 0 {
		add(CheckNothingLive, true, "no token the fake minted still works (%d minted)", g.Minted)
	} else {
		add(CheckNothingLive, false, "%d of the %d %s the fake minted still %s", f.Live, g.Minted, plural(g.Minted, "token", "tokens"), plural(f.Live, "works", "work"))
	}

	var kinds []string
	f.Leaks, f.Places, kinds, f.Secrets = leaks(ev)
	f.Leaks, f.Masked = nonNil(f.Leaks), nonNil(f.Masked)
	if len(f.Leaks) == 0 {
		add(CheckNeverPrinted, true, "%s: in none of %s", JoinList(f.Secrets), placeKinds(kinds))
	} else {
		add(CheckNeverPrinted, false, "found %s", JoinList(f.Leaks))
	}

	if len(ev.refused) == 0 {
		add(CheckOffline, true, "every connection went to the fake on this machine (%s)", JoinList(ev.dialed))
	} else {
		add(CheckOffline, false, "refused connections beyond this machine to %s", JoinList(ev.refused))
	}

	v.OK = true
	for _, c := range v.Checks {
		v.OK = v.OK && c.OK
	}
	return v
}

type outcome struct {
	ok     bool
	detail string
}

// judgeCalls matches each call of the later step with the fake's record of
// it, made with this token.
func judgeCalls(ev evidence, f *Facts) (used, refused outcome) {
	used.ok, refused.ok = true, true
	var usedParts, refusedParts []string
	recs := ev.svc.Uses(ev.token)
	for _, c := range ev.svc.Calls() {
		fact := CallFact{Method: c.Method, Path: pathOnly(c.Path), Expect: expectation(c.Refused), Got: "not recorded"}
		for _, u := range recs {
			if u.Method == c.Method && u.Path == pathOnly(c.Path) {
				fact.Status, fact.Needs, fact.Got = u.Status, u.Needs, expectation(u.Refused)
			}
		}
		if ev.token == "" {
			fact.Got = "not made: no token"
		}
		f.Calls = append(f.Calls, fact)
		ok := fact.Got == fact.Expect && (fact.Status < 300) == (c.Refused == "")
		line := fmt.Sprintf("%s %s: %d", fact.Method, fact.Path, fact.Status)
		if fact.Status == 0 {
			line = fmt.Sprintf("%s %s: %s", fact.Method, fact.Path, fact.Got)
		}
		if ok {
			line += ", " + c.Why
		} else if fact.Status != 0 {
			line += ", " + fact.Got + ", expected " + fact.Expect
		}
		if c.Refused == "" {
			used.ok = used.ok && ok
			usedParts = append(usedParts, line)
		} else {
			refused.ok = refused.ok && ok
			refusedParts = append(refusedParts, line)
		}
	}
	used.detail = strings.Join(usedParts, "; ")
	refused.detail = strings.Join(refusedParts, "; ")
	return used, refused
}

func expectation(refused string) string {
	if refused == "" {
		return "served"
	}
	return "refused: " + refused
}

// leaks looks for every secret in every place a CI system received text
// that must not hold one, and in the transcript. It returns where secrets
// were found (by name, never value), the places searched and the secrets'
// names.
func leaks(ev evidence) (found, places, kinds, names []string) {
	var secrets []Form
	for _, tok := range ev.minted {
		secrets = append(secrets, Form{"the token", tok})
		secrets = append(secrets, ev.svc.Derived(tok)...)
	}
	secrets = append(secrets, ev.secrets...)
	for _, s := range secrets {
		if !slices.Contains(names, s.Name) {
			names = append(names, s.Name)
		}
	}
	all := append(ev.c.places(), place{"transcript", "this transcript", ev.transcript})
	for _, p := range all {
		places = append(places, p.name)
		if !slices.Contains(kinds, p.kind) {
			kinds = append(kinds, p.kind)
		}
		for _, s := range secrets {
			if leak := s.Name + " in " + p.name; holds(p.text, s.Value) && !slices.Contains(found, leak) {
				found = append(found, leak)
			}
		}
	}
	return found, places, kinds, names
}

// holds reports whether text holds secret, or any line of a multi-line
// secret (a PEM key's armour lines are public).
func holds(text, secret string) bool {
	if secret == "" {
		return false
	}
	if strings.Contains(text, secret) {
		return true
	}
	for _, line := range strings.Split(secret, "\n") {
		line = strings.TrimSpace(line)
		if len(line) >= 8 && !strings.HasPrefix(line, "-----") && strings.Contains(text, line) {
			return true
		}
	}
	return false
}

// placeKinds says briefly where secrets were looked for.
func placeKinds(kinds []string) string {
	var out []string
	for _, k := range kinds {
		if k == "transcript" {
			k = "this transcript"
		}
		out = append(out, k)
	}
	return joinOr(out)
}

// nonNil makes an empty list [] in JSON, not null.
func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// JoinList writes "a", "a and b", "a, b and c".
func JoinList(xs []string) string { return join(xs, "and") }

// joinOr writes "a", "a or b", "a, b or c".
func joinOr(xs []string) string { return join(xs, "or") }

func join(xs []string, last string) string {
	switch len(xs) {
	case 0:
		return "nothing"
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " " + last + " " + xs[len(xs)-1]
}
