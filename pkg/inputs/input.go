// Package inputs is the one catalog of jobtoken's inputs and outputs. Each
// provider declares its own (see Group); NewCatalog assembles them with the
// common ones, and everything that names an input — action.yml, task.json,
// CLI flags, help text and error messages — is derived from that catalog so
// that they cannot drift apart.
package inputs

// Type is the type of an input's value, as task.json names it.
type Type string

// Types of input value.
const (
	TypeString    Type = "string"
	TypeBool      Type = "boolean"
	TypeMultiLine Type = "multiLine"
	TypePickList  Type = "pickList"
	TypeAzureRM   Type = "connectedService:AzureRM"
)

// Where is where an input's description is shown.
type Where int

// Where descriptions are shown.
const (
	OnGitHub Where = iota // action.yml and the README's table
	OnAzure               // task.json, in the pipeline editor and the Marketplace
	OnCLI                 // jobtoken COMMAND --help
)

// GroupCommon is the Group of the inputs every provider reads.
const GroupCommon = "common"

// Input describes one input. Key is the GitHub (kebab-case) name and is what
// the code uses everywhere; the Azure name is its camelCase twin. Code refers
// to an input by its declaration (a package-level Input), never by spelling
// its name.
type Input struct {
	Key   string
	Azure string // camelCase name on Azure Pipelines
	// Label is the task editor's label; empty derives it from Key.
	Label   string
	Type    Type
	Options []string // for pick lists
	Default string
	// Required inputs must be given. RequiredUnless is the one case where
	// such an input must stay empty (permissions with azure-credential:
	// entra), set by the catalog from a provider's Group.Optional. Hosts that
	// cannot say so do not mark the input required.
	Required       bool
	RequiredUnless *Unless
	Secret         bool // a credential: masked, refused when given literally in a workflow file
	// Advanced inputs rarely need a value: task.json shows them in a
	// collapsed group.
	Advanced   bool
	GitHubOnly bool
	AzureOnly  bool
	// When says the input is used only while another input has a value
	// (azure-access-token with azure-credential: pat): the task editor shows
	// it only then.
	When *Condition
	// Instead names, by key, the inputs that do this one's work on the other
	// CI system, for a file that uses this one where it does not exist.
	Instead []string
	// Stale, when set, says why a value kept in a secret or variable has
	// expired by the time a run reads it: plan warns when a file passes it
	// from a stored value.
	Stale       *Stale
	Description string
	// On replaces Description where it names (OnAzure…), where Description
	// would not make sense: a default only one host has, an example that
	// does not apply there.
	On map[Where]string

	// Group is the provider that declares the input (the first, in
	// registry order, of those that use it), or GroupCommon; Providers lists
	// every provider that uses it (none for common inputs). NewCatalog sets
	// both.
	Group     string
	Providers []string
}

// DeclaredOn reports whether where declares in: action.yml has no
// Azure-only input, task.json no GitHub-only one. The command line declares
// every input as a flag; each command picks those it takes.
func (in Input) DeclaredOn(where Where) bool {
	switch where {
	case OnGitHub:
		return !in.AzureOnly
	case OnAzure:
		return !in.GitHubOnly
	}
	return true
}

// Unless is another input's value, for one provider: provider, input key,
// value.
type Unless struct{ Provider, Key, Value string }

// Condition is another input's value: input key and value.
type Condition struct{ Key, Value string }

// Stale explains why a stored value of an input has expired when a run
// reads it, and what to do instead.
type Stale struct {
	Why string // "a Microsoft Entra user token lives 60 to 90 minutes"
	Fix func(n Naming) string
}

// RequiredOn reports whether the metadata of where marks in required. An
// input required with an exception is marked so only in task.json, whose
// editor hides it (and so does not demand it) in that case; the GitHub runner
// would demand it even there should it ever enforce required inputs, so
// action.yml says so in the description instead.
func (in Input) RequiredOn(where Where) bool {
	if in.RequiredUnless != nil {
		return where == OnAzure
	}
	return in.Required
}

// Output describes one output.
type Output struct {
	Key         string
	Azure       string
	Secret      bool
	Description string
	// Providers lists the providers that set the output; none for the
	// outputs every provider sets. NewCatalog sets it.
	Providers []string
}
