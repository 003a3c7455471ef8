//go:build unix

package inputfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/internal/inputfile"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	require.NoError(t, os.WriteFile(small, []byte("0123456789"), 0o600))
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink("small", link))
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))

	tests := []struct {
		name    string
		path    string
		limit   int64
		want    string
		kind    error
		message string
	}{
		{name: "RegularFileWithinTheLimitIsRead", path: small, limit: 10, want: "0123456789"},
		{name: "SymbolicLinkToARegularFileIsRead", path: link, limit: 100, want: "0123456789"},
		{name: "FileOverTheLimitIsRefusedNamingIt", path: small, limit: 9, kind: inputfile.ErrTooLarge, message: small + " is larger than the 9 bytes limit"},
		{name: "NamedPipeIsRefusedWithoutBlocking", path: fifo, limit: 10, kind: inputfile.ErrNotRegular, message: fifo + " is a named pipe (FIFO), not a regular file"},
		{name: "DirectoryIsRefused", path: dir, limit: 10, kind: inputfile.ErrNotRegular, message: "is a directory"},
		{name: "DeviceIsRefusedBeforeItIsRead", path: os.DevNull, limit: 10, kind: inputfile.ErrNotRegular, message: "is a device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := inputfile.ReadFile(tt.path, tt.limit)
			if tt.kind == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.want, string(got))
				return
			}
			require.ErrorIs(t, err, tt.kind)
			assert.Contains(t, err.Error(), tt.message)
			assert.Nil(t, got)
		})
	}

	t.Run("MissingFileIsAPathError", func(t *testing.T) {
		_, err := inputfile.ReadFile(filepath.Join(dir, "none"), 10)
		var pe *fs.PathError
		require.True(t, errors.As(err, &pe), "%v", err)
		assert.ErrorIs(t, err, fs.ErrNotExist)
	})
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(p, make([]byte, 2048), 0o600))
	assert.NoError(t, inputfile.Check(p, 0), "no limit")
	assert.NoError(t, inputfile.Check(p, 2048))
	assert.ErrorIs(t, inputfile.Check(p, 1024), inputfile.ErrTooLarge)
	assert.ErrorContains(t, inputfile.Check(p, 1024), "larger than the 1 KiB limit")
	assert.ErrorIs(t, inputfile.Check(dir, 0), inputfile.ErrNotRegular)
}

func TestSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{1, "1 byte"}, {1000, "1000 bytes"}, {4096, "4 KiB"}, {10 << 20, "10 MiB"}, {3 << 30, "3 GiB"}, {1536, "1536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) { assert.Equal(t, tt.want, inputfile.Size(tt.n)) })
	}
}
