package imagekittest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// writeLibrary writes files to a new library file and returns its path.
func writeLibrary(t *testing.T, files []imagekittest.File) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, imagekittest.EncodeLibrary(&b, files))
	path := filepath.Join(t.TempDir(), "library.json")
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	return path
}

func TestEncodeAndLoadLibrary(t *testing.T) {
	path := writeLibrary(t, library())
	got, err := imagekittest.LoadLibrary(path)
	require.NoError(t, err)
	assert.Equal(t, library(), got)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(data), "\n  {\n    \"fileId\": \"f1\"", "the file is indented")

	t.Run("EmptyLibraryIsAnArray", func(t *testing.T) {
		var b bytes.Buffer
		require.NoError(t, imagekittest.EncodeLibrary(&b, nil))
		assert.Equal(t, "[]\n", b.String())
	})
}
func TestLoadLibraryErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"NotJSON", `{`, "parse library"},
		{"NotAnArray", `{"fileId":"a"}`, "JSON array"},
		{"TrailingData", `[] []`, "after the JSON array"},
		{"EmptyID", `[{"fileId":"","filePath":"/a.jpg"}]`, `file 0 ("/a.jpg") has no fileId`},
		{"DuplicateID", `[{"fileId":"a","filePath":"/a.jpg"},{"fileId":"a","filePath":"/b.jpg"}]`, `files 0 and 1 share fileId "a"`},
		{"RelativePath", `[{"fileId":"a","filePath":"a.jpg"}]`, `filePath "a.jpg": it must start with /`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lib.json")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o644))
			_, err := imagekittest.LoadLibrary(path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	t.Run("MissingFile", func(t *testing.T) {
		_, err := imagekittest.LoadLibrary(filepath.Join(t.TempDir(), "absent.json"))
		assert.ErrorIs(t, err, os.ErrNotExist)
		assert.ErrorContains(t, err, "absent.json")
	})
}
