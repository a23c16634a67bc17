package broker

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
)

// Environment variables later steps find the broker with.
const (
	EnvSocket = "JOBTOKEN_BROKER"
	EnvKey    = "JOBTOKEN_BROKER_KEY"
)

// ErrNoBroker means the job has no broker: refresh is off, or it stopped.
var ErrNoBroker = errors.New("no jobtoken broker runs for this job")

// Ask sends req to the broker listening at socket and returns its answer.
func Ask(socket string, req Request) (Response, error) {
	if socket == "" {
		return Response{}, fmt.Errorf("%w: %s is not set (refresh is off for this job, or this step runs before the jobtoken step)", ErrNoBroker, EnvSocket)
	}
	c, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		return Response{}, fmt.Errorf("%w: nothing answers at %s (the broker stopped: refresh-until passed, the post step ran, or it was killed)", ErrNoBroker, socket)
	}
	defer c.Close()
	timeout := connTimeout
	if req.Op == OpStop {
		timeout = stopWait + 5*time.Second
	}
	_ = c.SetDeadline(time.Now().Add(timeout))
	if err := writeLine(c, req); err != nil {
		return Response{}, fmt.Errorf("failed to ask the broker: %w", err)
	}
	line, err := ReadLine(bufio.NewReaderSize(c, 4096))
	if err != nil {
		return Response{}, fmt.Errorf("failed to read the broker's answer: %w", err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return Response{}, errors.New("failed to read the broker's answer: not a response")
	}
	if resp.Error != "" {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}
