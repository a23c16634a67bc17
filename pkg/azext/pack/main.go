// Command pack builds the Azure Pipelines extension: the task folder (task.json,
// the shim of dist/, bin/<platform>/jobtoken[.exe] and SHA256SUMS, the same
// layout and bytes as the GitHub action's release tree) packed into a .vsix
// by tfx-cli (installed once from npm into the user cache folder). It fails
// on any tfx warning, when the .vsix does not hold exactly the staged files,
// and when it reaches the Marketplace's 25 MiB limit.
//
//	go run ./pkg/azext/pack [-version 1.2.3] [-publisher name] [-out build] [-bin TREE]
//
// -bin takes the binaries of a release tree (.ci/release passes its own, so
// the .vsix carries the very bytes the action does); without it, pack builds
// every platform with the release builder.
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/jobtoken/jobtoken/pkg/azext"
	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
	"github.com/jobtoken/jobtoken/pkg/release"
)

// tfxVersion is pinned so that a new tfx cannot change the package silently.
const tfxVersion = "0.23.1"

// maxVSIX is the Marketplace's default upload limit.
const maxVSIX = 25 << 20

// taskDir is the task folder inside the extension, as vss-extension.json names it.
const taskDir = "JobTokenV1"

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pack:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pack", flag.ContinueOnError)
	version := fs.String("version", "1.0.0", "extension and task version, `MAJOR.MINOR.PATCH`; MAJOR must match task.json")
	publisher := fs.String("publisher", "", "Marketplace publisher ID (default: the manifest's)")
	out := fs.String("out", "build", "output folder (git-ignored)")
	bin := fs.String("bin", "", "release `tree` holding bin/<platform>/ and SHA256SUMS (default: build every platform now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	outDir := *out
	if !filepath.IsAbs(outDir) {
		outDir = filepath.Join(root, outDir)
	}
	ver, err := parseVersion(*version)
	if err != nil {
		return err
	}

	taskJSON, err := stampedTask(root, ver)
	if err != nil {
		return err
	}
	stage := filepath.Join(outDir, "azext")
	if err := os.RemoveAll(stage); err != nil {
		return fmt.Errorf("failed to clean %s: %w", stage, err)
	}
	task := filepath.Join(stage, taskDir)
	if err := azext.WriteTask(root, task, taskJSON); err != nil {
		return err
	}
	tree := *bin
	if tree == "" {
		tree = filepath.Join(outDir, "azext-bin")
		_ = os.RemoveAll(tree)
		b := &release.Builder{Root: root, Version: "v" + *version, Log: stdout, Tags: release.StepTags}
		if _, err := b.Build(context.Background(), tree, release.Platforms); err != nil {
			return err
		}
	}
	sums, err := azext.AddBinaries(tree, task)
	if err != nil {
		return err
	}
	if missing := missingPlatforms(sums); len(missing) > 0 {
		fmt.Fprintf(stdout, "notice: the .vsix has no binary for %s; agents there fail with \"this release tree has no binary for platform …\"\n", strings.Join(missing, ", "))
	}
	if err := writeManifest(stage, *version, *publisher); err != nil {
		return err
	}

	tfx, err := installTfx(stdout)
	if err != nil {
		return err
	}
	vsix := filepath.Join(outDir, "jobtoken-"+*version+".vsix")
	_ = os.Remove(vsix)
	cmd := exec.Command(tfx, "extension", "create", "--root", stage, "--manifest-globs", "vss-extension.json", "--output-path", vsix, "--no-prompt", "--no-color")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	err = cmd.Run()
	_, _ = stdout.Write(log.Bytes())
	if err != nil {
		return fmt.Errorf("failed to run tfx extension create: %w", err)
	}
	if w := warnings(log.String()); len(w) > 0 {
		return fmt.Errorf("tfx extension create warned; fix the package:\n%s", strings.Join(w, "\n"))
	}
	st, err := os.Stat(vsix)
	if err != nil {
		return fmt.Errorf("tfx reported success but wrote no %s: %w", vsix, err)
	}
	if err := verifyVSIX(vsix, stage); err != nil {
		return err
	}
	shown := vsix
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, vsix); err == nil && !strings.HasPrefix(rel, "..") {
			shown = rel
		}
	}
	fmt.Fprintf(stdout, "%s: %d bytes (%.1f MiB of the Marketplace's 25 MiB)\n", shown, st.Size(), float64(st.Size())/(1<<20))
	if st.Size() >= maxVSIX {
		return fmt.Errorf("%s is %d bytes, over the Marketplace's 25 MiB limit", vsix, st.Size())
	}
	return nil
}

func missingPlatforms(sums []release.Sum) []string {
	have := map[string]bool{}
	for _, s := range sums {
		have[s.Path] = true
	}
	var missing []string
	for _, p := range release.Platforms {
		if !have[p.BinPath()] {
			missing = append(missing, p.Name)
		}
	}
	return missing
}

// verifyVSIX checks that the .vsix holds every staged file with the same
// bytes: the shim and the binaries an agent runs are those of the release
// tree, whatever tfx did.
func verifyVSIX(vsix, stage string) error {
	zr, err := zip.OpenReader(vsix)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", vsix, err)
	}
	defer zr.Close()
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		entries[f.Name] = f
	}
	var problems []string
	err = filepath.WalkDir(stage, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(stage, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if name == "vss-extension.json" {
			return nil // tfx turns it into extension.vsixmanifest
		}
		f, ok := entries[name]
		if !ok {
			problems = append(problems, name+" is missing")
			return nil
		}
		want, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			problems = append(problems, name+" differs from the staged file")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("failed to check %s: %w", vsix, err)
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("%s does not carry the task folder as staged: %s", vsix, strings.Join(problems, "; "))
	}
	return nil
}

// repoRoot walks up from the working directory to go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory; run pack from the repository")
		}
		dir = parent
	}
}

type version struct{ major, minor, patch int }

func parseVersion(s string) (version, error) {
	parts := strings.Split(s, ".")
	var n [3]int
	if len(parts) != 3 {
		return version{}, fmt.Errorf("-version %q is not MAJOR.MINOR.PATCH; use e.g. 1.0.3", s)
	}
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return version{}, fmt.Errorf("-version %q is not MAJOR.MINOR.PATCH; use e.g. 1.0.3", s)
		}
		n[i] = v
	}
	if n[0] != inputs.TaskMajor {
		return version{}, fmt.Errorf("-version %s must have major version %d, the one task.json declares (pipelines pin JobToken@%d)", s, inputs.TaskMajor, inputs.TaskMajor)
	}
	return version{n[0], n[1], n[2]}, nil
}

// stampedTask returns the committed task.json with the version set. It
// refuses a task.json that differs from the catalog.
func stampedTask(root string, v version) ([]byte, error) {
	committed, err := os.ReadFile(filepath.Join(root, "task.json"))
	if err != nil {
		return nil, fmt.Errorf("failed to read task.json: %w", err)
	}
	want, err := registry.Default().Catalog().TaskJSON()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(committed, want) {
		return nil, fmt.Errorf("task.json is stale; run go generate ./pkg/inputs")
	}
	// Replace the version object in place so the file keeps its order.
	re := regexp.MustCompile(`"version": \{\s*"Major": \d+,\s*"Minor": \d+,\s*"Patch": \d+\s*\}`)
	if len(re.FindAll(committed, -1)) != 1 {
		return nil, fmt.Errorf("task.json has no single version object")
	}
	stamped := re.ReplaceAll(committed, fmt.Appendf(nil, `"version": {
    "Major": %d,
    "Minor": %d,
    "Patch": %d
  }`, v.major, v.minor, v.patch))
	if !json.Valid(stamped) {
		return nil, fmt.Errorf("stamped task.json is not valid JSON")
	}
	return stamped, nil
}

func writeManifest(stage, ver, publisher string) error {
	var m map[string]any
	if err := json.Unmarshal(azext.Manifest, &m); err != nil {
		return fmt.Errorf("failed to read vss-extension.json: %w", err)
	}
	m["version"] = ver
	if publisher != "" {
		m["publisher"] = publisher
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(stage, "images"), 0o755); err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"vss-extension.json": append(b, '\n'),
		"overview.md":        azext.Overview,
		"images/icon.png":    azext.Icon,
	} {
		if err := os.WriteFile(filepath.Join(stage, name), data, 0o644); err != nil {
			return fmt.Errorf("failed to write %s: %w", name, err)
		}
	}
	return nil
}

// installTfx installs the pinned tfx-cli once into the user's cache folder
// (JOBTOKEN_CACHE overrides it) and returns its path.
func installTfx(stdout io.Writer) (string, error) {
	cache := os.Getenv("JOBTOKEN_CACHE")
	if cache == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("failed to find a cache folder for tfx-cli (set JOBTOKEN_CACHE): %w", err)
		}
		cache = filepath.Join(uc, "jobtoken")
	}
	dir := filepath.Join(cache, "tfx-"+tfxVersion)
	bin := filepath.Join(dir, "node_modules", ".bin", "tfx")
	pkg := filepath.Join(dir, "node_modules", "tfx-cli", "package.json")
	if b, err := os.ReadFile(pkg); err == nil && bytes.Contains(b, []byte(`"version": "`+tfxVersion+`"`)) {
		return bin, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("npm is needed to install tfx-cli: install Node.js 20 or newer")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	fmt.Fprintf(stdout, "installing tfx-cli@%s into %s\n", tfxVersion, dir)
	cmd := exec.Command(npm, "install", "--prefix", dir, "--no-audit", "--no-fund", "--loglevel=error", "tfx-cli@"+tfxVersion)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("failed to install tfx-cli: %w\n%s", err, b)
	}
	return bin, nil
}

// warnings picks the lines of tfx output that warn.
func warnings(log string) []string {
	var w []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(strings.ToLower(l), "warn") {
			w = append(w, strings.TrimSpace(l))
		}
	}
	return w
}
