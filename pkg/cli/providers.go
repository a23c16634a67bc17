package cli

import (
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/provider/anaconda"
	"github.com/jobtoken/jobtoken/pkg/provider/azdo"
	"github.com/jobtoken/jobtoken/pkg/provider/ghapp"
)

// providerList is every provider jobtoken ships.
func providerList() []provider.Provider {
	return []provider.Provider{
		ghapp.New(),
		anaconda.New(),
		azdo.New(),
	}
}
