package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEmulatorCommandServesAndSaves runs `tagprune emulator` as a user
// would: it prints its URL first, serves the library to plan and apply over
// loopback with the key it was given, and on SIGINT writes the library back
// with --save only when something changed, saying which it did.
func TestEmulatorCommandServesAndSaves(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		change bool
	}{
		{name: "ChangesAreSaved", change: true},
		{name: "NothingChangedLeavesTheFile", change: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			lib := filepath.Join(dir, "library.json")
			copyFile(t, exampleLibraryDoc, lib)
			before, err := os.ReadFile(lib)
			require.NoError(t, err)

			emu := startTagprune(t, cmd{args: []string{"emulator", "--data", lib, "--save", "--addr", "127.0.0.1:0", "--private-key", testKey}})
			line := emu.waitStdout(t, "listening on ")
			url := strings.TrimPrefix(line, "listening on ")
			require.True(t, strings.HasPrefix(url, "http://127.0.0.1:"), line)

			r := tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest, "--detailed-exitcode"}, env: urlEnv(url)})
			require.Equal(t, exitChanges, r.code, r.stdout+r.stderr)
			if tt.change {
				r = tagprune(t, cmd{args: []string{"apply", "-f", exampleManifest, "--auto-approve", "--report", filepath.Join(dir, "r.json")}, env: urlEnv(url)})
				require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
			}

			emu.signal(t, os.Interrupt)
			res := emu.wait(t)
			require.Equal(t, exitOK, res.code, "stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
			after, err := os.ReadFile(lib)
			require.NoError(t, err)
			if !tt.change {
				assert.Contains(t, res.stderr, "Nothing changed: "+lib+" is left as it was.")
				assert.Equal(t, before, after, "the file is not rewritten")
				return
			}
			assert.Contains(t, res.stderr, "Saved the library to "+lib+".")
			r = tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest, "--library", lib, "--detailed-exitcode"}})
			assert.Equal(t, exitOK, r.code, "the saved library holds the applied changes:\n%s%s", r.stdout, r.stderr)
		})
	}
}
