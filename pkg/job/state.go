package job

import (
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/network"
	"github.com/jobtoken/jobtoken/pkg/provider"
	"github.com/jobtoken/jobtoken/pkg/seal"
)

// StateName is the one state entry the main stage leaves for the post stage.
const StateName = "jobtoken"

// sealed is what the main stage seals for the post stage: the token and
// what revoking it needs (destinations included), the run it belongs to,
// and the network settings the main stage ran with.
type sealed struct {
	provider.Saved
	Run     string           `json:"run"`
	Network network.Settings `json:"network"`
	Broker  *brokerInfo      `json:"broker,omitempty"`
}

// stateKey derives the state's MAC key from the step's parent-credential
// inputs as it received them (the same raw values reach main and post).
func stateKey(cat *inputs.Catalog, v inputs.Values) []byte {
	var pairs [][2]string
	for _, in := range cat.Secrets() {
		raw, _ := v.Raw(in.Key)
		pairs = append(pairs, [2]string{in.Key, raw})
	}
	return seal.Key(pairs...)
}

// saveState seals saved with this step's key, run and network settings.
func (e *Runner) saveState(p *Prepared, saved provider.Saved) error {
	raw, err := seal.Seal(stateKey(e.Providers.Catalog(), p.Request.Inputs), sealed{Saved: saved, Run: e.Host.Run().Label(), Network: e.network().settings, Broker: e.broker})
	if err != nil {
		return err
	}
	return e.Host.SaveState(StateName, raw)
}

// clearState tells the post stage there is nothing left to do.
func (e *Runner) clearState() {
	if err := e.Host.SaveState(StateName, ""); err != nil {
		e.Host.Debugf("failed to clear the state: %s", err)
	}
}

// SealState seals saved as the main stage of a step with inputs v, run and
// network settings ns would: tests and tools that stand in for a main stage
// use it.
func SealState(cat *inputs.Catalog, v inputs.Values, run host.Run, ns network.Settings, saved provider.Saved) (string, error) {
	return seal.Seal(stateKey(cat, v), sealed{Saved: saved, Run: run.Label(), Network: ns})
}

// OpenState reads state saved by Main with the inputs v (jobtoken mint
// reads back what it minted).
func OpenState(cat *inputs.Catalog, v inputs.Values, raw string) (provider.Saved, error) {
	var st sealed
	auth, err := seal.Open(stateKey(cat, v), raw, &st)
	st.Saved.Authenticated = auth
	return st.Saved, err
}
