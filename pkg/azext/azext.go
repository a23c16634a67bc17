// Package azext lays out the Azure Pipelines task folder and extension: the
// task's icon, the extension manifest and its Marketplace page. The task runs
// the same shim as the GitHub action (dist/ at the repository root, copied
// byte for byte) and the same release binaries (bin/<platform>/, SHA256SUMS).
// `go run ./pkg/azext/pack` assembles the task folder and packs the .vsix.
package azext

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jobtoken/jobtoken/pkg/release"
)

// Icon is the task's icon (icon.png in the task folder) and the extension's.
//
//go:embed icon.png
var Icon []byte

// Manifest is the extension manifest template (vss-extension.json).
//
//go:embed vss-extension.json
var Manifest []byte

// Overview is the Marketplace page of the extension.
//
//go:embed overview.md
var Overview []byte

// WriteTask writes the task folder's own files into dir: task.json, the icon
// and the shim, read from the repository at root. The binaries and
// SHA256SUMS come from a release tree (AddBinaries).
func WriteTask(root, dir string, taskJSON []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("failed to create the task folder: %w", err)
	}
	if err := release.CopyShim(root, dir); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"task.json": taskJSON, "icon.png": Icon} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("failed to write %s: %w", name, err)
		}
	}
	return nil
}

// AddBinaries copies the binaries and SHA256SUMS of a release tree (as
// `go run ./pkg/release/build` writes it) into the task folder dir, after
// checking every binary against SHA256SUMS, and returns what it copied.
func AddBinaries(tree, dir string) ([]release.Sum, error) {
	sums, err := release.VerifyTree(tree)
	if err != nil {
		return nil, fmt.Errorf("failed to verify the release binaries in %s: %w", tree, err)
	}
	if len(sums) == 0 {
		return nil, fmt.Errorf("%s lists no binary", filepath.Join(tree, release.SumsFile))
	}
	for _, s := range append(sums, release.Sum{Path: release.SumsFile}) {
		mode := os.FileMode(0o755)
		if s.Path == release.SumsFile {
			mode = 0o644
		}
		if err := release.CopyFile(filepath.Join(tree, filepath.FromSlash(s.Path)), filepath.Join(dir, filepath.FromSlash(s.Path)), mode); err != nil {
			return nil, fmt.Errorf("failed to copy %s into the task folder: %w", s.Path, err)
		}
	}
	return sums, nil
}
