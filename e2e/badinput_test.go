package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/reconcile"
)

// positionless names the invalid manifests whose errors carry no line and
// column: the file is refused before it is parsed.
var positionless = map[string]bool{
	"empty-file.yaml":   true,
	"invalid-utf8.yaml": true,
	"oversize.yaml":     true,
}

// invalidManifests returns the broken manifests under testdata/invalid (a
// directory counts as one manifest) plus an oversize one written to a
// temporary directory.
func invalidManifests(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(invalidDir)
	require.NoError(t, err)
	var paths []string
	for _, e := range entries {
		paths = append(paths, filepath.Join(invalidDir, e.Name()))
	}
	require.GreaterOrEqual(t, len(paths), 20, "testdata/invalid must hold at least 20 broken manifests")

	var b bytes.Buffer
	b.WriteString("version: 1\nrules:\n")
	for i := 0; b.Len() <= 10<<20; i++ {
		b.WriteString("  - name: rule-" + strings.Repeat("x", 40) + "-" + strconv.Itoa(i) + "\n    files: {paths: [/]}\n    forbiddenTags: [t]\n")
	}
	big := filepath.Join(t.TempDir(), "oversize.yaml")
	require.NoError(t, os.WriteFile(big, b.Bytes(), 0o644))
	return append(paths, big)
}

// requireNoPanic checks that stderr shows no Go panic or goroutine dump.
func requireNoPanic(t *testing.T, stderr string) {
	t.Helper()
	require.NotContains(t, stderr, "panic:")
	require.NotContains(t, stderr, "goroutine ")
}

// requireNoRequests checks that the emulator saw no API request at all.
func requireNoRequests(t *testing.T, srv *imagekittest.Server) {
	t.Helper()
	require.Equal(t, imagekittest.Stats{}, emulatorStats(t, srv))
	require.Empty(t, emulatorRequests(t, srv))
}

// Every broken manifest makes validate and plan exit 1 with a message that
// points at the file (and its line and column where there is one), without
// a panic and without a single API request.
func TestBadManifestsAreRefusedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	pos := regexp.MustCompile(`:\d+:\d+: `)
	for _, m := range invalidManifests(t) {
		for _, command := range []string{"validate", "plan"} {
			t.Run(command+"/"+filepath.Base(m), func(t *testing.T) {
				t.Parallel()
				srv := emulator(t, exampleLibrary(t))
				r := tagprune(t, cmd{args: []string{command, "-f", m}, env: apiEnv(srv)})
				require.Equal(t, 1, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
				requireNoPanic(t, r.stderr)
				first := strings.SplitN(r.stderr, "\n", 2)[0]
				if positionless[filepath.Base(m)] {
					require.True(t, strings.HasPrefix(first, m+": "), "the error names the file: %q", first)
				} else {
					require.Contains(t, first, filepath.Base(strings.TrimSuffix(m, "/")), "the error names the file")
					require.Regexp(t, pos, first, "the error carries file:line:col")
				}
				require.NotContains(t, r.stdout+r.stderr, "would remove")
				requireNoRequests(t, srv)
			})
		}
	}
}

// badPlans are the damaged plan files under testdata/plans and the words
// each refusal must use.
var badPlans = []struct {
	file, why string
}{
	{"truncated.json", "truncated or not JSON"},
	{"unforbidden-tag.json", "none of its rules"},
	{"unknown-format-version.json", "unsupported formatVersion 2"},
	{"oversize-batch.json", "has 51 files: a call takes 1..50"},
	{"digest-mismatch.json", "rulesDigest is"},
}

// apply refuses a damaged or hand-edited plan file with exit 1 and a message
// that says what is wrong, before it sends any request; the intact plan it
// was derived from applies cleanly against the same library.
func TestApplyRefusesBadPlanFiles(t *testing.T) {
	t.Parallel()
	for _, bp := range badPlans {
		t.Run(strings.TrimSuffix(bp.file, ".json"), func(t *testing.T) {
			t.Parallel()
			srv := emulator(t, exampleLibrary(t))
			report := filepath.Join(t.TempDir(), "report.json")
			plan := filepath.Join(planFixtures, bp.file)
			r := tagprune(t, cmd{args: []string{"apply", plan, "--report", report}, env: apiEnv(srv)})
			require.Equal(t, 1, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			requireNoPanic(t, r.stderr)
			require.Contains(t, r.stderr, plan)
			require.Contains(t, r.stderr, bp.why)
			requireNoRequests(t, srv)
			require.Equal(t, exampleLibrary(t), srv.Handler().Files(), "nothing was changed")
		})
	}
	t.Run("intact plan applies", func(t *testing.T) {
		t.Parallel()
		files := exampleLibrary(t)
		srv := emulator(t, files)
		report := filepath.Join(t.TempDir(), "report.json")
		valid := planFixture(t, "valid.json", srv.URL)
		r := tagprune(t, cmd{args: []string{"apply", valid, "--report", report}, env: apiEnv(srv)})
		require.Equal(t, 0, r.code, r.stderr)
		rep := readReport(t, report)
		require.Equal(t, rep.Summary.FilesToChange, rep.Summary.FilesChanged)
		require.Positive(t, rep.Summary.FilesChanged)
		// valid.json was planned from the four removal rules of the example
		// manifest, the rules split/ holds.
		requireDesired(t, []string{splitManifests}, files, srv.Handler().Files())
	})
}

// The fixtures under testdata/plans are what their names say: each is read
// by reconcile.ReadPlan with the error its refusal relies on.
func TestBadPlanFixturesAreDamagedAsNamed(t *testing.T) {
	t.Parallel()
	for _, bp := range badPlans {
		t.Run(strings.TrimSuffix(bp.file, ".json"), func(t *testing.T) {
			t.Parallel()
			_, err := reconcile.ReadPlan(filepath.Join(planFixtures, bp.file))
			require.ErrorContains(t, err, bp.why)
		})
	}
	_, err := reconcile.ReadPlan(filepath.Join(planFixtures, "valid.json"))
	require.NoError(t, err)
}
