package record

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLog(t *testing.T) {
	var l Log[string]
	assert.Empty(t, l.All())
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { l.Add("GET /a", "GET /b") })
	}
	wg.Wait()
	all := l.All()
	assert.Len(t, all, 100)
	all[0] = "changed"
	assert.NotEqual(t, "changed", l.All()[0], "All returns a copy")
}
