// Package azext lays out the Azure Pipelines task folder and extension: the
// Node shims (task/), the extension manifest and icon. `go run ./pkg/azext/pack`
// builds the binaries into that layout and packs the .vsix.
package azext

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Task holds the files of the task folder besides task.json and bin/.
//
//go:embed task/main.js task/post.js task/shim.js task/icon.png
var Task embed.FS

// Manifest is the extension manifest template (vss-extension.json).
//
//go:embed vss-extension.json
var Manifest []byte

// Overview is the Marketplace page of the extension.
//
//go:embed overview.md
var Overview []byte

// Platform is one agent platform the task ships a binary for.
type Platform struct {
	GOOS, GOARCH string
	Dir          string // bin/<Dir>[.exe], named as Node names the platform
}

// Platforms are the agents jobtoken runs on; the shim knows the same list.
var Platforms = []Platform{
	{"linux", "amd64", "linux-x64"},
	{"linux", "arm64", "linux-arm64"},
	{"darwin", "amd64", "darwin-x64"},
	{"darwin", "arm64", "darwin-arm64"},
	{"windows", "amd64", "windows-x64"},
}

// BinPath is where the shim looks for the binary of p, relative to the task
// folder.
func (p Platform) BinPath() string {
	name := p.Dir
	if p.GOOS == "windows" {
		name += ".exe"
	}
	return filepath.Join("bin", name)
}

// PlatformFor returns the platform entry for a Go target.
func PlatformFor(goos, goarch string) (Platform, bool) {
	for _, p := range Platforms {
		if p.GOOS == goos && p.GOARCH == goarch {
			return p, true
		}
	}
	return Platform{}, false
}

// WriteTask writes the shims, the icon and taskJSON into dir, the task folder.
// Binaries go to dir/bin separately.
func WriteTask(dir string, taskJSON []byte) error {
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return fmt.Errorf("failed to create the task folder: %w", err)
	}
	err := fs.WalkDir(Task, "task", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := Task.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, filepath.Base(path)), b, 0o644)
	})
	if err != nil {
		return fmt.Errorf("failed to write the task files: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "task.json"), taskJSON, 0o644); err != nil {
		return fmt.Errorf("failed to write task.json: %w", err)
	}
	return nil
}
