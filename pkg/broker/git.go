package broker

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// GitRequest is what git tells a credential helper (git-credential(1)):
// key=value lines up to a blank line or the end.
type GitRequest struct {
	Protocol, Host, Path string
}

// ReadGitRequest reads git's description of a credential, bounded like the
// broker's lines. Keys it does not use are skipped.
func ReadGitRequest(r io.Reader) (GitRequest, error) {
	var g GitRequest
	br := bufio.NewReaderSize(io.LimitReader(r, 64<<10), 4096)
	for {
		line, err := ReadLine(br)
		if err != nil {
			if err == io.EOF {
				return g, nil
			}
			return g, fmt.Errorf("failed to read git's request: %w", err)
		}
		if len(line) == 0 {
			return g, nil
		}
		k, v, ok := strings.Cut(string(line), "=")
		if !ok {
			return g, fmt.Errorf("failed to read git's request: %q is not key=value", truncate(string(line)))
		}
		switch k {
		case "protocol":
			g.Protocol = v
		case "host":
			g.Host = v
		case "path":
			g.Path = v
		}
	}
}

// WriteGitCredential answers git with a credential for an installation
// token: the username GitHub documents for them, the token, and when it
// expires (git 2.41+ reads password_expiry_utc and asks again after it).
func WriteGitCredential(w io.Writer, resp Response) error {
	if strings.ContainsAny(resp.Token, "\n\r\x00") {
		return fmt.Errorf("failed to answer git: the token holds a line break")
	}
	s := "username=x-access-token\npassword=" + resp.Token + "\n"
	if !resp.ExpiresAt.IsZero() {
		s += "password_expiry_utc=" + strconv.FormatInt(resp.ExpiresAt.Unix(), 10) + "\n"
	}
	_, err := io.WriteString(w, s)
	return err
}

// GitConfig is the configuration that makes git ask `jobtoken credential`
// for URLs of host (scheme://host), as GIT_CONFIG_COUNT/KEY_n/VALUE_n
// entries appended after the n entries the environment already has
// (git-config(1), "ENVIRONMENT"): the helper list is emptied for that host
// first, so a helper configured elsewhere cannot answer before jobtoken,
// and useHttpPath gives jobtoken the repository.
func GitConfig(existing int, url, helper string) map[string]string {
	entries := [][2]string{
		{"credential." + url + ".helper", ""},
		{"credential." + url + ".helper", helper},
		{"credential." + url + ".useHttpPath", "true"},
	}
	env := map[string]string{"GIT_CONFIG_COUNT": strconv.Itoa(existing + len(entries))}
	for i, e := range entries {
		n := strconv.Itoa(existing + i)
		env["GIT_CONFIG_KEY_"+n] = e[0]
		env["GIT_CONFIG_VALUE_"+n] = e[1]
	}
	return env
}

// HelperCommand is the helper value that runs exe's credential command:
// git runs a value starting with ! through the shell, so the path is
// single-quoted (and forward-slashed, which Git for Windows' shell reads).
func HelperCommand(exe string) string {
	exe = strings.ReplaceAll(exe, `\`, "/")
	return "!'" + strings.ReplaceAll(exe, "'", `'\''`) + "' credential"
}
