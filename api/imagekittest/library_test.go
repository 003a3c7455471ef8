package imagekittest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
)

func TestSaveAndLoadLibrary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "library.json")
	require.NoError(t, imagekittest.SaveLibrary(path, library()))
	got, err := imagekittest.LoadLibrary(path)
	require.NoError(t, err)
	assert.Equal(t, library(), got)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(data), "\n  {\n    \"fileId\": \"f1\"", "the file is indented")
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left behind")

	t.Run("EmptyLibraryIsAnArray", func(t *testing.T) {
		require.NoError(t, imagekittest.SaveLibrary(path, nil))
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, "[]\n", string(data))
	})
	t.Run("MissingDirectoryFails", func(t *testing.T) {
		err := imagekittest.SaveLibrary(filepath.Join(t.TempDir(), "no", "lib.json"), library())
		assert.ErrorContains(t, err, "lib.json")
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
