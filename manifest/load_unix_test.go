//go:build unix

package manifest_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/manifest"
)

// loadSoon runs Load and fails the test if it has not returned after a
// minute: a Load that opens a named pipe blocks until a writer comes.
func loadSoon(t *testing.T, paths ...string) ([]manifest.Rule, error) {
	t.Helper()
	type result struct {
		rules []manifest.Rule
		err   error
	}
	done := make(chan result, 1)
	go func() {
		rules, err := manifest.Load(context.Background(), paths...)
		done <- result{rules, err}
	}()
	select {
	case r := <-done:
		return r.rules, r.err
	case <-time.After(time.Minute):
		t.Fatal("Load is blocked: it opened a file that is not a regular file")
		return nil, nil
	}
}

func TestLoadRefusesFilesThatAreNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.yaml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	good := filepath.Join(t.TempDir(), "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte("version: 1\nrules:\n  - name: r\n    files: {paths: [/]}\n    forbiddenTags: [t]\n"), 0o600))
	linkDir := t.TempDir()
	require.NoError(t, os.Symlink(fifo, filepath.Join(linkDir, "link.yaml")))
	require.NoError(t, os.Symlink(good, filepath.Join(linkDir, "ok.yaml")))

	tests := []struct {
		name  string
		paths []string
		want  string
	}{
		{"a named pipe", []string{fifo}, fifo + ": manifest is a named pipe (FIFO), not a regular file; name a YAML file"},
		{"a device", []string{os.DevNull}, os.DevNull + ": manifest is a device, not a regular file"},
		{"a named pipe in a directory", []string{dir}, fifo + ": manifest is a named pipe (FIFO), not a regular file; remove it from the directory"},
		{"a link to a named pipe in a directory", []string{linkDir}, filepath.Join(linkDir, "link.yaml") + ": manifest is a named pipe (FIFO)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := loadSoon(t, tt.paths...)
			require.Error(t, err)
			assert.Nil(t, rules)
			assert.Contains(t, err.Error(), tt.want)
			var errs manifest.Errors
			require.ErrorAs(t, err, &errs)
			assert.Len(t, errs, 1, "the good manifest beside it is fine: %v", err)
		})
	}
}
