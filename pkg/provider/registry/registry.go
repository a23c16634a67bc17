// Package registry lists the providers jobtoken ships, one line each: the
// one place that names them. Adding a provider is its folder under
// pkg/provider and a line here (docs/adding-a-provider.md).
package registry

import (
	"sync"

	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/anaconda"
	"github.com/jobtoken/jobtoken/pkg/provider/azdo"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
)

// Default is every provider jobtoken ships, in the order the documentation
// and the generated action.yml and task.json list them.
var Default = sync.OnceValue(func() *provider.Registry {
	r, err := provider.NewRegistry(
		ghapp.New(),
		azdo.New(),
		anaconda.New(),
	)
	if err != nil {
		panic(err) // a declaration error, caught by every test
	}
	return r
})
