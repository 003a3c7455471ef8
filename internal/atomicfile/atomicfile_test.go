package atomicfile_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/internal/atomicfile"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWrite(t *testing.T) {
	t.Run("NewFileGetsTheContentAndNothingElseIsLeft", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "out.json")
		require.NoError(t, atomicfile.Write(p, writeString("new\n")))
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, "new\n", string(got))
		assert.Equal(t, []string{"out.json"}, entries(t, dir))
	})

	t.Run("ExistingFileKeepsItsMode", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "out.json")
		require.NoError(t, os.WriteFile(p, []byte("old"), 0o600))
		require.NoError(t, os.Chmod(p, 0o600))
		require.NoError(t, atomicfile.Write(p, writeString("new")))
		info, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	})

	t.Run("ExistingFileIsReplacedByARename", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "out.json")
		require.NoError(t, os.WriteFile(p, []byte("old"), 0o644))
		before, err := os.Stat(p)
		require.NoError(t, err)
		require.NoError(t, atomicfile.Write(p, writeString("new")))
		after, err := os.Stat(p)
		require.NoError(t, err)
		assert.False(t, os.SameFile(before, after), "a reader of the old file never sees a part of the new one")
	})

	t.Run("SymlinkIsKeptAndItsTargetReplaced", func(t *testing.T) {
		dir := t.TempDir()
		real := filepath.Join(dir, "data", "library.json")
		require.NoError(t, os.Mkdir(filepath.Dir(real), 0o755))
		require.NoError(t, os.WriteFile(real, []byte("old"), 0o644))
		link := filepath.Join(dir, "link.json")
		require.NoError(t, os.Symlink(filepath.Join("data", "library.json"), link))

		require.NoError(t, atomicfile.Write(link, writeString("new")))
		info, err := os.Lstat(link)
		require.NoError(t, err)
		assert.NotZero(t, info.Mode()&os.ModeSymlink, "the link is still a link")
		got, err := os.ReadFile(real)
		require.NoError(t, err)
		assert.Equal(t, "new", string(got))
		assert.Equal(t, []string{"library.json"}, entries(t, filepath.Dir(real)), "the temporary file was beside the target")
	})

	t.Run("DanglingSymlinkCreatesItsTarget", func(t *testing.T) {
		dir := t.TempDir()
		link := filepath.Join(dir, "link.json")
		require.NoError(t, os.Symlink("made.json", link))
		require.NoError(t, atomicfile.Write(link, writeString("new")))
		got, err := os.ReadFile(filepath.Join(dir, "made.json"))
		require.NoError(t, err)
		assert.Equal(t, "new", string(got))
	})

	t.Run("SymlinkLoopIsAnError", func(t *testing.T) {
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		require.NoError(t, os.Symlink("b", a))
		require.NoError(t, os.Symlink("a", b))
		err := atomicfile.Write(a, writeString("x"))
		require.ErrorContains(t, err, "too many levels of symbolic links")
	})

	t.Run("FailedWriteLeavesTheOldFileAndNoTemporary", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "out.json")
		require.NoError(t, os.WriteFile(p, []byte("old"), 0o644))
		boom := errors.New("boom")
		err := atomicfile.Write(p, func(w io.Writer) error {
			_, _ = io.WriteString(w, "half")
			return boom
		})
		require.ErrorIs(t, err, boom)
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, "old", string(got))
		assert.Equal(t, []string{"out.json"}, entries(t, dir))
	})

	t.Run("MissingDirectoryIsAnErrorNamingIt", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "no", "such", "out.json")
		err := atomicfile.Write(p, writeString("x"))
		require.ErrorIs(t, err, os.ErrNotExist)
		assert.ErrorContains(t, err, filepath.Join("no", "such"))
	})
}
