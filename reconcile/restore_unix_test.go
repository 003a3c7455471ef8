//go:build unix

package reconcile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadReportReadsOnlyRegularFilesOfBoundedSize(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "report.json")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(MaxReportFileSize+1)) // sparse: no disk used
	require.NoError(t, f.Close())

	tests := []struct {
		name, path, want string
	}{
		{"a named pipe", fifo, "a named pipe (FIFO), not a regular file"},
		{"a directory", dir, "a directory, not a regular file"},
		{"a file over the limit", big, "is larger than the 1 GiB limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := ReadReport(tt.path)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatal("ReadReport is blocked reading a file that is not a regular file")
			}
			require.Error(t, err)
			assert.Equal(t, 1, strings.Count(err.Error(), tt.path), "the file is named once: %s", err)
			assert.True(t, strings.HasPrefix(err.Error(), "reading report"), err.Error())
			assert.Contains(t, err.Error(), tt.want)
			var re *ReportFileError
			require.True(t, errors.As(err, &re))
			assert.Equal(t, tt.path, re.Path)
		})
	}
}
