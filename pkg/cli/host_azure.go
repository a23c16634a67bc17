package cli

import (
	"github.com/jobtoken/jobtoken/pkg/host"
	"github.com/jobtoken/jobtoken/pkg/host/azpipelines"
)

func init() {
	hostFactories["azure"] = func(e *Env) host.Host { return azpipelines.New(e.RawStdout, e.Secrets, e.Getenv) }
}
