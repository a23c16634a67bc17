package inputs_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// TestReadOn: each host reads the inputs its manifest declares, and no
// other host's; values are trimmed, and an empty one is not given.
func TestReadOn(t *testing.T) {
	given := map[string]string{
		"provider":                 " github ",
		"permissions":              "",
		"federation-url":           "https://jobtoken.octo.example", // GitHub only
		"azure-service-connection": "deploy-conn",                   // Azure only
	}
	get := func(in inputs.Input) string { return given[in.Key] }
	for _, tc := range []struct {
		where inputs.Where
		want  map[string]string
	}{
		{inputs.OnGitHub, map[string]string{"provider": "github", "federation-url": "https://jobtoken.octo.example"}},
		{inputs.OnAzure, map[string]string{"provider": "github", "azure-service-connection": "deploy-conn"}},
	} {
		assert.Equal(t, tc.want, cat().ReadOn(tc.where, get).Map(), "where %d", tc.where)
	}
}

// TestDeclaredOn: action.yml has every input but the Azure-only ones,
// task.json every one but the GitHub-only ones, the command line all.
func TestDeclaredOn(t *testing.T) {
	ghOnly, azOnly, both := inputs.Input{GitHubOnly: true}, inputs.Input{AzureOnly: true}, inputs.Input{}
	for _, tc := range []struct {
		name  string
		in    inputs.Input
		where inputs.Where
		want  bool
	}{
		{"github only on github", ghOnly, inputs.OnGitHub, true},
		{"github only on azure", ghOnly, inputs.OnAzure, false},
		{"github only on cli", ghOnly, inputs.OnCLI, true},
		{"azure only on github", azOnly, inputs.OnGitHub, false},
		{"azure only on azure", azOnly, inputs.OnAzure, true},
		{"azure only on cli", azOnly, inputs.OnCLI, true},
		{"both on github", both, inputs.OnGitHub, true},
		{"both on azure", both, inputs.OnAzure, true},
		{"both on cli", both, inputs.OnCLI, true},
	} {
		assert.Equal(t, tc.want, tc.in.DeclaredOn(tc.where), tc.name)
	}
}
