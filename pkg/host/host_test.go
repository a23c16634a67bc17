package host_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/jobtoken/jobtoken/pkg/host"
)

// TestParseLabelReadsBothNoteForms: anaconda notes write the repository as
// owner:name (a note is one URL path segment); notes made before, and
// Azure DevOps display names, write owner/name. Both read the same.
func TestParseLabelReadsBothNoteForms(t *testing.T) {
	for _, name := range []string{"jobtoken octo/app run 9.2 abc123", "jobtoken octo:app run 9.2 abc123"} {
		l, ok := host.ParseLabel(name)
		assert.True(t, ok, name)
		assert.Equal(t, host.RunLabel{Repo: "octo/app", RunID: "9", Attempt: "2", Suffix: "abc123"}, l, name)
	}
	_, ok := host.ParseLabel("laptop token")
	assert.False(t, ok)
}
