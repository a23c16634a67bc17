// Command gen writes the files generated from the inputs catalog of the
// providers jobtoken ships (action.yml, container/action.yml, task.json, the
// README's tables) in the repository.
// Run it with `go generate ./pkg/inputs`.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/jobtoken/jobtoken/pkg/inputs"
	"github.com/jobtoken/jobtoken/pkg/provider/registry"
)

func main() {
	root := filepath.Join("..", "..")
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	cat := registry.Default().Catalog()
	files := map[string]func() ([]byte, error){
		"action.yml":               cat.ActionYAML,
		inputs.ContainerActionFile: cat.ContainerActionYAML,
		"task.json":                cat.TaskJSON,
	}
	readme := filepath.Join(root, "README.md")
	files["README.md"] = func() ([]byte, error) {
		b, err := os.ReadFile(readme)
		if err != nil {
			return nil, err
		}
		s, err := cat.UpdateReadme(string(b))
		return []byte(s), err
	}
	for name, gen := range files {
		b, err := gen()
		if err != nil {
			fmt.Fprintf(os.Stderr, "gen: failed to render %s: %v\n", name, err)
			os.Exit(1)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
			fmt.Fprintf(os.Stderr, "gen: failed to write %s: %v\n", name, err)
			os.Exit(1)
		}
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(name)), b, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "gen: failed to write %s: %v\n", name, err)
			os.Exit(1)
		}
	}
}
