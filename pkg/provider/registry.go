package provider

import (
	"fmt"

	"github.com/jobtoken/jobtoken/pkg/inputs"
)

// Registry is a set of providers and the inputs catalog assembled from them:
// the only thing that knows which providers exist. pkg/provider/registry
// lists the ones jobtoken ships; a test may make its own.
type Registry struct {
	list []Provider
	cat  *inputs.Catalog
}

// NewRegistry assembles the catalog of ps, in documented order.
func NewRegistry(ps ...Provider) (*Registry, error) {
	groups := make([]inputs.Group, len(ps))
	for i, p := range ps {
		groups[i] = p.Inputs()
		if groups[i].Name != p.Name() {
			return nil, fmt.Errorf("provider %s declares its inputs as %q", p.Name(), groups[i].Name)
		}
	}
	cat, err := inputs.NewCatalog(groups...)
	if err != nil {
		return nil, fmt.Errorf("failed to assemble the inputs catalog: %w", err)
	}
	return &Registry{list: ps, cat: cat}, nil
}

// Catalog is every input and output of the registered providers.
func (r *Registry) Catalog() *inputs.Catalog { return r.cat }

// All lists the providers in documented order.
func (r *Registry) All() []Provider { return append([]Provider(nil), r.list...) }

// Names lists the providers' names in documented order.
func (r *Registry) Names() []string {
	names := make([]string, len(r.list))
	for i, p := range r.list {
		names[i] = p.Name()
	}
	return names
}

// Lookup returns the provider whose name is name.
func (r *Registry) Lookup(name string) (Provider, bool) {
	for _, p := range r.list {
		if p.Name() == name {
			return p, true
		}
	}
	return nil, false
}
