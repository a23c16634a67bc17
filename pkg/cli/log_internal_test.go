package cli

import (
	"bytes"
	"log"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/jobtoken/jobtoken/pkg/secret"
)

// TestLogGoesThroughTheWriter: what a library prints with the log package
// reaches the output redacted and neutralised, never raw.
func TestLogGoesThroughTheWriter(t *testing.T) {
	var out bytes.Buffer
	set := &secret.Set{}
	set.Add("s3cr3t-t0ken-value")
	w := secret.NewWriter(&out, set)
	l := log.New(logWriter{w}, "", 0)
	l.Printf("header authorization = Bearer s3cr3t-t0ken-value")
	l.Printf("::error::from a library\n##vso[task.complete result=Succeeded]")
	_ = w.Flush()
	assert.Equal(t, "header authorization = Bearer ***\n%3A:error::from a library\n**vso[task.complete result=Succeeded]\n", out.String())
}
