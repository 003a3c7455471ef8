package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The example manifest applied to the example library over loopback ends in
// the desired state, and a second plan finds nothing to do.
func TestApplyExampleConverges(t *testing.T) {
	t.Parallel()
	files := exampleLibrary(t)
	srv := emulator(t, files)
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	manifests := []string{exampleManifest}

	r := tagprune(t, cmd{args: []string{"apply", "-f", manifests[0], "--auto-approve", "--report", report}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stderr)
	requireDesired(t, manifests, files, srv.Handler().Files())

	r = tagprune(t, cmd{args: []string{"plan", "-f", manifests[0], "--detailed-exitcode"}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.True(t, strings.HasPrefix(r.stdout, "No changes."), r.stdout)
	rep := readReport(t, report)
	require.Equal(t, "apply", rep.Command)
	require.Equal(t, rep.Summary.FilesToChange, rep.Summary.FilesChanged)
}
