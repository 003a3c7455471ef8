//go:build unix

package atomicfile_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/internal/atomicfile"
)

func TestCheck(t *testing.T) {
	t.Run("NewFileInAWritableDirectoryPassesAndNothingIsLeft", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, atomicfile.Check(filepath.Join(dir, "r.json")))
		assert.Empty(t, entries(t, dir))
	})

	t.Run("ExistingRegularFilePassesUntouched", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "r.json")
		require.NoError(t, os.WriteFile(p, []byte("old"), 0o644))
		require.NoError(t, atomicfile.Check(p))
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, "old", string(got))
		assert.Equal(t, []string{"r.json"}, entries(t, dir))
	})

	t.Run("MissingDirectoryFails", func(t *testing.T) {
		err := atomicfile.Check(filepath.Join(t.TempDir(), "no", "r.json"))
		require.ErrorIs(t, err, os.ErrNotExist)
	})

	t.Run("ReadOnlyDirectoryFails", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes into read-only directories")
		}
		dir := t.TempDir()
		require.NoError(t, os.Chmod(dir, 0o555))
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
		require.ErrorIs(t, atomicfile.Check(filepath.Join(dir, "r.json")), os.ErrPermission)
	})

	t.Run("NamedPipeIsRefusedAndKept", func(t *testing.T) {
		dir := t.TempDir()
		fifo := filepath.Join(dir, "r.json")
		require.NoError(t, syscall.Mkfifo(fifo, 0o600))
		require.ErrorIs(t, atomicfile.Check(fifo), atomicfile.ErrNotRegular)
		require.ErrorIs(t, atomicfile.Write(fifo, writeString("x")), atomicfile.ErrNotRegular)
		info, err := os.Lstat(fifo)
		require.NoError(t, err)
		assert.NotZero(t, info.Mode()&os.ModeNamedPipe, "the pipe is still there")
		assert.Equal(t, []string{"r.json"}, entries(t, dir))
	})

	t.Run("DirectoryIsRefused", func(t *testing.T) {
		require.ErrorIs(t, atomicfile.Check(t.TempDir()), atomicfile.ErrNotRegular)
	})

	t.Run("SymlinkIsCheckedAtItsTarget", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.Mkdir(filepath.Join(dir, "data"), 0o755))
		link := filepath.Join(dir, "r.json")
		require.NoError(t, os.Symlink(filepath.Join("data", "r.json"), link))
		require.NoError(t, atomicfile.Check(link))
		target, err := atomicfile.Target(link)
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(dir, "data", "r.json"), target)
		assert.Empty(t, entries(t, filepath.Join(dir, "data")))
	})
}
