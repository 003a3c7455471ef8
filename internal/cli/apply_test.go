package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/reconcile"
)

// The repository's examples, absolute so that a test may change directory.
var (
	exampleManifest = mustAbs("../../examples/manifest.yaml")
	exampleLibrary  = mustAbs("../../examples/library.json")
)

func mustAbs(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return abs
}

// startApply opens an apply -f run over a copy of the example library in
// libDir, and plans it, as runApply does up to the calls.
func startApply(t *testing.T, libDir string, reports ...string) (*applier, *reconcile.Plan, *lockedBuffer, *lockedBuffer) {
	t.Helper()
	b, err := os.ReadFile(exampleLibrary)
	require.NoError(t, err)
	lib := filepath.Join(libDir, "library.json")
	require.NoError(t, os.WriteFile(lib, b, 0o644))
	var out, errOut lockedBuffer
	e := newEnv(Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}, Build{Version: "test"})
	o := &applyOptions{
		Global:      globalOptions{LogLevel: defaultLogLevel, LogFormat: defaultLogFormat},
		Source:      sourceOptions{Library: lib},
		Manifests:   []string{exampleManifest},
		AutoApprove: true,
		Reports:     reports,
		Concurrency: reconcile.DefaultConcurrency,
		MaxChanges:  noLimit,
		BatchSize:   50,
		Grace:       reconcile.DefaultGrace,
	}
	s, err := openSession(context.Background(), e, o.Global, o.Manifests, nil, o.Source)
	require.NoError(t, err)
	a := &applier{env: e, session: s, o: o, started: time.Now()}
	plan, err := s.plan(context.Background(), o.BatchSize)
	require.NoError(t, err)
	require.NotEmpty(t, plan.Changes)
	return a, plan, &out, &errOut
}

func readJSONReport(t *testing.T, path string) *reconcile.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var r reconcile.Report
	require.NoError(t, json.Unmarshal(b, &r))
	return &r
}

// In --library mode the report never claims a change that was not saved:
// when the snapshot cannot be written back, the files the calls changed in
// memory are pending, with why, and the exit code is 1.
func TestApplyLibraryThatCannotBeSavedReportsNothingChanged(t *testing.T) {
	libDir := t.TempDir()
	report := filepath.Join(t.TempDir(), "report.json")
	a, plan, out, _ := startApply(t, libDir, report)
	require.NoError(t, os.RemoveAll(libDir)) // the snapshot's folder is gone when it is saved

	rep, err := a.apply(context.Background(), plan)
	require.NoError(t, err)
	require.Equal(t, len(plan.Changes), rep.Summary.FilesChanged, "the calls succeeded in memory")
	err = a.finish(rep, nil)
	require.Error(t, err)
	assert.Equal(t, exitError, exitCode(err))
	assert.Contains(t, err.Error(), "nothing was saved")

	got := readJSONReport(t, report)
	assert.Zero(t, got.Summary.FilesChanged)
	assert.Zero(t, got.Summary.TagsRemoved)
	assert.Equal(t, len(plan.Changes), got.Summary.FilesPending)
	for _, f := range got.Files {
		assert.Equal(t, reconcile.StatusPending, f.Status, f.FileID)
		assert.Contains(t, f.Error, "not saved")
	}
	assert.Contains(t, got.Error, "nothing was saved")
	assert.Contains(t, out.String(), "Apply failed: the library file could not be written, so nothing was saved.")
	assert.NotContains(t, out.String(), "Apply complete")
}

// A report that cannot be written after changes were made is written to a
// fallback file that the run names, with the summary on stderr, and the
// run exits 1.
func TestApplyReportThatCannotBeWrittenGoesToAFallbackFile(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	reportDir := t.TempDir()
	report := filepath.Join(reportDir, "report.json")
	a, plan, _, errOut := startApply(t, t.TempDir(), report)
	require.NoError(t, os.RemoveAll(reportDir)) // the report's folder is gone when it is written

	rep, err := a.apply(context.Background(), plan)
	require.NoError(t, err)
	err = a.finish(rep, nil)
	require.Error(t, err)
	assert.Equal(t, exitError, exitCode(err))

	matches, globErr := filepath.Glob(filepath.Join(work, "tagprune-report-*.json"))
	require.NoError(t, globErr)
	require.Len(t, matches, 1, "one fallback report in the working directory")
	assert.Contains(t, err.Error(), matches[0], "the error names the fallback file")
	assert.Contains(t, errOut.String(), "It was written to "+matches[0]+" instead.")
	assert.Contains(t, errOut.String(), "Summary: 94 files to change: 94 changed, 0 failed, 0 missing, 0 pending; 10 tags added, 37 AITags removed, 79 tags removed.")
	got := readJSONReport(t, matches[0])
	assert.Equal(t, 94, got.Summary.FilesChanged)
	assert.Equal(t, "apply", got.Command)
}
