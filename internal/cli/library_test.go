//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrivateKeyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	tests := []struct {
		name, path, want, wantErr string
	}{
		{name: "KeyIsTrimmed", path: write("key", "  private_abc123\n"), want: "private_abc123"},
		{name: "EmptyFileIsRefused", path: write("empty", "\n"), wantErr: "is empty"},
		{name: "NamedPipeIsRefusedWithoutBlocking", path: fifo, wantErr: "is a named pipe (FIFO), not a regular file"},
		{name: "DeviceIsRefused", path: os.DevNull, wantErr: "is a device, not a regular file"},
		{name: "LargeFileIsRefusedWithTheLimit", path: write("big", strings.Repeat("k", maxKeyFile+1)), wantErr: "larger than the 4 KiB limit"},
		{name: "MissingFileNamesTheFlag", path: filepath.Join(dir, "none"), wantErr: "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := privateKey(tt.path)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.Contains(t, err.Error(), "--private-key-file")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
