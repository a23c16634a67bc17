package broker

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Environment variables later steps find the broker with.
const (
	EnvSocket = "JOBTOKEN_BROKER"
	EnvKey    = "JOBTOKEN_BROKER_KEY"
)

// ErrNoBroker means the job has no broker: refresh is off, or it stopped.
var ErrNoBroker = errors.New("no jobtoken broker runs for this job")

// whyNot says why nothing answers at socket.
func whyNot(socket string) string {
	dir := filepath.Dir(socket)
	if b, err := os.ReadFile(filepath.Join(dir, StoppedFile)); err == nil {
		when, reason, _ := strings.Cut(strings.TrimSpace(string(b)), ": ")
		return fmt.Sprintf("the broker stopped at %s (%s)", truncate(when), truncate(reason))
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return "the broker's folder is gone (the post step ran, or the job ended)"
	}
	return "nothing answers at " + socket + " (the broker was killed, or has not started)"
}

// Ask sends req to the broker listening at socket and returns its answer.
func Ask(socket string, req Request) (Response, error) {
	if socket == "" {
		return Response{}, fmt.Errorf("%w: %s is not set (refresh is off for this job, or this step runs before the jobtoken step)", ErrNoBroker, EnvSocket)
	}
	c, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		return Response{}, fmt.Errorf("%w: %s", ErrNoBroker, whyNot(socket))
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
