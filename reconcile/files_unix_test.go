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

// The input files of reconcile, plans and the reports restore reads, are
// read only when they are regular files of bounded size: a named pipe or a
// device is refused without blocking, and the error names the file once.
func TestInputFilesAreRegularFilesOfBoundedSize(t *testing.T) {
	readers := []struct {
		name  string
		limit int64
		read  func(path string) error
	}{
		{"plan", MaxPlanFileSize, func(p string) error { _, err := ReadPlan(p); return err }},
		{"report", MaxReportFileSize, func(p string) error { _, err := ReadReport(p); return err }},
	}
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			dir := t.TempDir()
			fifo := filepath.Join(dir, rd.name+".json")
			require.NoError(t, syscall.Mkfifo(fifo, 0o600))
			big := filepath.Join(dir, "big.json")
			f, err := os.Create(big)
			require.NoError(t, err)
			require.NoError(t, f.Truncate(rd.limit+1)) // sparse: no disk used
			require.NoError(t, f.Close())

			tests := []struct {
				name, path, want string
			}{
				{"a named pipe", fifo, "a named pipe (FIFO), not a regular file"},
				{"an endless device", "/dev/zero", "a device, not a regular file"},
				{"a directory", dir, "a directory, not a regular file"},
				{"a file over the limit", big, "is larger than the 1 GiB limit"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					done := make(chan error, 1)
					go func() { done <- rd.read(tt.path) }()
					var err error
					select {
					case err = <-done:
					case <-time.After(time.Minute):
						t.Fatalf("reading the %s is blocked on a file that is not a regular file", rd.name)
					}
					require.Error(t, err)
					assert.Equal(t, 1, strings.Count(err.Error(), tt.path), "the file is named once: %s", err)
					assert.True(t, strings.HasPrefix(err.Error(), "reading "+rd.name), err.Error())
					assert.Contains(t, err.Error(), tt.want)
					path, ok := refusedPath(err)
					require.True(t, ok, "a typed error: %v", err)
					assert.Equal(t, tt.path, path)
				})
			}
		})
	}
}

// refusedPath returns the file a *PlanFileError or a *ReportFileError
// names.
func refusedPath(err error) (string, bool) {
	var pe *PlanFileError
	if errors.As(err, &pe) {
		return pe.Path, true
	}
	var re *ReportFileError
	if errors.As(err, &re) {
		return re.Path, true
	}
	return "", false
}
