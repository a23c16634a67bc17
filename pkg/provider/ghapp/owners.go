package ghapp

import (
	"strings"

	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// target is one account's part of a request: its token covers repos (none:
// every repository of the installation).
type target struct {
	owner string
	repos []string
}

// owners lists the accounts a request mints for, the first one first.
func (m *minter) owners() []string {
	out := []string{m.owner}
	for _, t := range m.others {
		out = append(out, t.owner)
	}
	return out
}

// targets lists every account's part, the first one first.
func (m *minter) targets() []target {
	return append([]target{{m.owner, m.repos}}, m.others...)
}

// parseRepositories reads owner and repositories, with the current
// repository as their default. `owner` may list several accounts and
// `repositories` may name repositories of several (owner/name); each account
// gets a token of its own, limited to the repositories named for it. The
// first account (the first of owner, else of the repositories, else the
// current repository's) is the one `token` publishes. Values only known at
// run time (the inputs', or a plan's current repository) are kept as they
// read, unchecked.
func (m *minter) parseRepositories(ps *inputs.Problems) {
	in, run := m.req.Inputs, m.req.Run
	before := len(*ps) // problems of other inputs
	m.runKnown = run.Known(host.RunRepository)
	curOwner, curRepo, _ := strings.Cut(run.Repository, "/")

	// The accounts listed in owner, checked first: the messages below show
	// them, and one with a line break would split the one-line error.
	ownerKnown := in.Known(Owner)
	var listed []string
	if ownerKnown {
		seen := map[string]bool{}
		for _, o := range inputs.List(in.Get(Owner)) {
			if !ownerRE.MatchString(o) {
				ps.Add(Owner, "%q is not a GitHub account name; use the user or organization login the App is installed on, e.g. octo-org", o)
				return
			}
			if !seen[strings.ToLower(o)] {
				seen[strings.ToLower(o)] = true
				listed = append(listed, o)
			}
		}
	} else if o := in.Get(Owner); o != "" {
		listed = []string{o}
	}
	if len(listed) > 0 {
		m.owner = listed[0]
	} else {
		m.owner, m.ownerFromRun = curOwner, true
		ownerKnown = m.runKnown
	}

	if !in.Known(Repositories) {
		// One name, or a list, only the run will tell.
		m.repos = []string{in.Get(Repositories)}
		m.others = others(listed, nil)
		return
	}
	list := inputs.List(in.Get(Repositories))
	all := false
	for _, r := range list {
		if r == "*" {
			all = true
		}
	}
	switch {
	case all && len(list) > 1:
		ps.Add(Repositories, "mixes * with repository names; use * alone for every repository of the installation, or list names")
		return
	case all:
		if m.owner == "" {
			ps.Add(Owner, "is required with %s; set it to the account the App is installed on", m.req.Setting(Repositories, "*"))
		}
		m.others = others(listed, nil)
		return
	case len(list) == 0 && len(listed) > 1:
		ps.Add(Repositories, "is required when %s lists several accounts; name each one's repositories as owner/name, or use * for all of theirs", m.req.Name(Owner))
		return
	case len(list) == 0:
		if curRepo == "" {
			ps.Add(Repositories, "has no default outside a GitHub repository; name the repositories (or * for all of the installation's)")
			return
		}
		if ownerKnown && m.runKnown && !strings.EqualFold(m.owner, curOwner) {
			ps.Add(Repositories, "is required when %s (%s) is not the current repository's owner (%s); name the repositories or use *", m.req.Name(Owner), m.owner, curOwner)
			return
		}
		list, m.reposFromRun = []string{curRepo}, true
	}

	// Each repository goes to its account's target, in the order the
	// accounts were listed, else first named.
	var order []string
	byOwner := map[string]*target{}
	add := func(owner, name string) {
		k := strings.ToLower(owner)
		t := byOwner[k]
		if t == nil {
			t = &target{owner: owner}
			byOwner[k] = t
			order = append(order, k)
		}
		for _, r := range t.repos {
			if strings.EqualFold(r, name) {
				return
			}
		}
		t.repos = append(t.repos, name)
	}
	for _, o := range listed {
		k := strings.ToLower(o)
		byOwner[k], order = &target{owner: o}, append(order, k)
	}
	checked := !m.reposFromRun || m.runKnown
	for _, r := range list {
		owner, name, hasOwner := strings.Cut(r, "/")
		if !hasOwner {
			owner, name = "", r
		}
		if checked && (!repoRE.MatchString(name) || strings.Contains(name, "/") || name == "." || name == ".." || (hasOwner && !ownerRE.MatchString(owner))) {
			ps.Add(Repositories, "%q is not a repository name; use name or owner/name", r)
			continue
		}
		switch {
		case !hasOwner || !ownerKnown && len(listed) > 0:
			// A bare name is the first account's; so is every name when
			// owner is only known at run time.
			if m.owner == "" {
				ps.Add(Owner, "is required outside a GitHub repository for %q; set it to the account the App is installed on, or write owner/name", r)
				continue
			}
			add(m.owner, name)
		case len(listed) > 0 && byOwner[strings.ToLower(owner)] == nil:
			ps.Add(Repositories, "%q is not owned by an account %s lists (%s); add %s to %s, or remove the repository", r, m.req.Name(Owner), strings.Join(listed, ", "), owner, m.req.Name(Owner))
		default:
			add(owner, name)
		}
	}
	if len(*ps) > before {
		return
	}
	var ts []target
	for _, k := range order {
		t := byOwner[k]
		if len(t.repos) == 0 {
			ps.Add(Owner, "lists %s, but %s names none of its repositories; name them as %s/NAME, or remove %s", t.owner, m.req.Name(Repositories), t.owner, t.owner)
			continue
		}
		ts = append(ts, *t)
	}
	switch {
	case len(*ps) > before:
		return
	case len(ts) == 0:
		ps.Add(Owner, "is required outside a GitHub repository; set it to the account the App is installed on")
		return
	}
	m.owner, m.repos, m.others = ts[0].owner, ts[0].repos, ts[1:]
	if ownerKnown && !ownerRE.MatchString(m.owner) {
		ps.Add(Owner, "%q is not a GitHub account name", m.owner)
	}
}

// others is every listed account but the first, each with repos.
func others(listed, repos []string) []target {
	if len(listed) < 2 {
		return nil
	}
	out := make([]target, 0, len(listed)-1)
	for _, o := range listed[1:] {
		out = append(out, target{owner: o, repos: repos})
	}
	return out
}
