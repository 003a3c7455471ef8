package imagekittest_test

import (
	"go/build"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImportsOnlyStandardLibrary keeps the emulator a model of the server:
// it must not share the client's types, nor depend on anything outside the
// standard library.
func TestImportsOnlyStandardLibrary(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	require.NoError(t, err)
	require.NotEmpty(t, pkg.GoFiles)
	for _, imp := range pkg.Imports {
		first, _, _ := strings.Cut(imp, "/")
		assert.NotContains(t, first, ".", "%s imports %s, which is not in the standard library", pkg.ImportPath, imp)
		assert.NotContains(t, imp, "tagprune", "the emulator must not import the client")
	}
	assert.Contains(t, pkg.Imports, "net/http", "the check saw the package's imports")
}
