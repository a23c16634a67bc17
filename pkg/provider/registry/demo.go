//go:build !jobtoken_step

package registry

import (
	"github.com/jobtoken/jobtoken/pkg/demo"
	"github.com/jobtoken/jobtoken/pkg/fake/anacondafake"
	"github.com/jobtoken/jobtoken/pkg/fake/azfake"
	"github.com/jobtoken/jobtoken/pkg/fake/ghfake"
)

// Demos are the providers' demo worlds (jobtoken demo), built on their
// fakes, which the binaries CI steps run leave out. A provider without one
// is simply not in the demo.
func Demos() demo.Worlds {
	return demo.Worlds{
		ghfake.Provider:       ghfake.NewDemo,
		azfake.Provider:       azfake.NewDemo,
		anacondafake.Provider: anacondafake.NewDemo,
	}
}
