package cli

import (
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/host/ghactions"
)

func init() {
	hostFactories["github"] = func(e *Env) host.Host { return ghactions.New(e.RawStdout, e.Getenv) }
}
