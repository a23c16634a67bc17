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
