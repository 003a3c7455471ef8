package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/tagprune/tagprune"

// imports returns, for each package of the module, the module packages its
// non-test files import, as go list reports them.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	x := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	x.Dir = repoRoot
	var stderr bytes.Buffer
	x.Stderr = &stderr
	out, err := x.Output()
	require.NoError(t, err, stderr.String())
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		m[pkg] = nil
		for _, imp := range fields[1:] {
			if rest, ok := strings.CutPrefix(imp, module+"/"); ok {
				m[pkg] = append(m[pkg], rest)
			}
		}
	}
	return m
}

// isHelper reports whether pkg is one of the small shared helpers under
// internal/ (everything there but the CLI).
func isHelper(pkg string) bool {
	return strings.HasPrefix(pkg, "internal/") && pkg != "internal/cli"
}

// Data flows one way (docs/ARCHITECTURE.md): main starts the CLI; the CLI
// uses manifest, reconcile and api; reconcile uses manifest and api; the
// emulator and the helpers use no package of tagprune.
func TestPackagesImportOneWay(t *testing.T) {
	t.Parallel()
	deps := imports(t)
	require.Contains(t, deps, "internal/cli", "go list saw the module")
	forbidden := func(pkg, imp string) string {
		switch {
		case imp == "internal/cli" && pkg != "":
			return "only main starts the CLI"
		case isHelper(pkg):
			return "a helper depends on no package of tagprune"
		case pkg == "api/imagekittest":
			return "the emulator models the server: standard library only"
		case (pkg == "manifest" || pkg == "api") && !isHelper(imp):
			return "manifest and api know nothing of each other, of reconcile or of the CLI"
		case pkg == "reconcile" && imp != "manifest" && imp != "api" && !isHelper(imp):
			return "reconcile uses manifest and api, nothing above them"
		}
		return ""
	}
	for pkg, imps := range deps {
		for _, imp := range imps {
			if why := forbidden(pkg, imp); why != "" {
				t.Errorf("%s imports %s: %s", filepath.Join(module, pkg), imp, why)
			}
		}
	}
}

// The root holds main.go and nothing else of package main, and main.go only
// starts the app, so that `go install github.com/tagprune/tagprune@latest`
// builds the CLI and every line of logic lives in a package.
func TestRootHoldsOnlyAThinMain(t *testing.T) {
	t.Parallel()
	goFiles, err := filepath.Glob(filepath.Join(repoRoot, "*.go"))
	require.NoError(t, err)
	var names []string
	for _, f := range goFiles {
		names = append(names, filepath.Base(f))
	}
	assert.Equal(t, []string{"main.go"}, names, "no other Go file, and no test file, at the root")
	main, err := os.ReadFile(filepath.Join(repoRoot, "main.go"))
	require.NoError(t, err)
	assert.LessOrEqual(t, strings.Count(string(main), "\n"), 40, "main.go is a few lines")
}
