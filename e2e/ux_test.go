package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/reconcile"
)

// Outside a terminal (stdout and stderr are pipes here), the output holds
// no escape sequence and no progress bar, whatever NO_COLOR says.
func TestPipesGetNoColourAndNoProgress(t *testing.T) {
	t.Parallel()
	lib := filepath.Join(t.TempDir(), "library.json")
	copyFile(t, exampleLibraryDoc, lib)
	r := tagprune(t, cmd{args: []string{"apply", "-f", exampleManifest, "--library", lib,
		"--auto-approve", "--report", filepath.Join(t.TempDir(), "r.json")}})
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "- spring-sale-2022")
	assert.Contains(t, r.stdout, "Apply complete:")
	assert.NotContains(t, r.stdout+r.stderr, "\x1b[", "no escape sequence on a pipe")
	assert.NotContains(t, r.stderr, "\r", "no progress bar on a pipe")
	assert.NotContains(t, r.stderr, "removing tags")
}

func TestEveryHelpHasExamples(t *testing.T) {
	t.Parallel()
	for _, c := range [][]string{nil, {"validate"}, {"plan"}, {"apply"}, {"export"}, {"schema"}, {"emulator"}} {
		name := "tagprune"
		if c != nil {
			name = c[0]
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := tagprune(t, cmd{args: append(c, "--help")})
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Contains(t, r.stdout, "Examples:")
			assert.Contains(t, r.stdout, "  tagprune ")
		})
	}
}

// The global logging flags work before and after the command name, and the
// debug log names every API call but never the key.
func TestDebugLogBeforeOrAfterTheCommand(t *testing.T) {
	t.Parallel()
	manifest := exampleManifest
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"AfterTheCommand", []string{"plan", "-f", manifest, "--log-level", "debug"},
			[]string{"level=DEBUG", `msg="api request"`, "method=GET", "path=/v1/files", "status=200", "duration=", "attempt=1"}},
		{"BeforeTheCommand", []string{"--log-level", "debug", "plan", "-f", manifest},
			[]string{"level=DEBUG", `msg="api request"`, "method=GET", "path=/v1/files", "status=200"}},
		{"JSONBeforeTheCommand", []string{"--log-level=debug", "--log-format=json", "plan", "-f", manifest},
			[]string{`"level":"DEBUG"`, `"msg":"api request"`, `"method":"GET"`, `"status":200`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := emulator(t, exampleLibrary(t))
			r := tagprune(t, cmd{args: tt.args, env: apiEnv(srv)})
			require.Equal(t, exitOK, r.code, r.stderr)
			for _, w := range tt.want {
				assert.Contains(t, r.stderr, w)
			}
			assert.NotContains(t, r.stdout+r.stderr, testKey, "the key must never be logged")
			assert.Contains(t, r.stdout, "Plan: ", "logs go to stderr, the plan to stdout")
		})
	}

	t.Run("DefaultLevelIsQuiet", func(t *testing.T) {
		t.Parallel()
		srv := emulator(t, exampleLibrary(t))
		r := tagprune(t, cmd{args: []string{"plan", "-f", manifest}, env: apiEnv(srv)})
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Empty(t, r.stderr)
	})
}

// A snapshot exported from the API plans exactly like the API itself, and
// --path exports one folder tree only.
func TestExportThenPlanOffline(t *testing.T) {
	t.Parallel()
	files := exampleLibrary(t)
	srv := emulator(t, files)
	dir := t.TempDir()
	manifest := exampleManifest

	all := filepath.Join(dir, "library.json")
	r := tagprune(t, cmd{args: []string{"export", "--out", all}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Exported 300 files under / to ")
	exported, err := imagekittest.LoadLibrary(all)
	require.NoError(t, err)
	assert.Equal(t, nonNilTags(files), nonNilTags(exported))

	online := tagprune(t, cmd{args: []string{"plan", "-f", manifest}, env: apiEnv(srv)})
	require.Equal(t, exitOK, online.code, online.stderr)
	offline := tagprune(t, cmd{args: []string{"plan", "-f", manifest, "--library", all}})
	require.Equal(t, exitOK, offline.code, offline.stderr)
	assert.Equal(t, online.stdout, offline.stdout)
	assert.Contains(t, offline.stdout, "Plan: 94 files to change")

	products := filepath.Join(dir, "products.json")
	r = tagprune(t, cmd{args: []string{"export", "--out", products, "--path", "/products"}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stderr)
	part, err := imagekittest.LoadLibrary(products)
	require.NoError(t, err)
	want := 0
	for _, f := range files {
		if strings.HasPrefix(f.FilePath, "/products/") {
			want++
		}
	}
	require.NotZero(t, want)
	assert.Len(t, part, want)
	for _, f := range part {
		assert.True(t, strings.HasPrefix(f.FilePath, "/products/"), f.FilePath)
	}
	assert.Zero(t, emulatorStats(t, srv).Requests.RemoveTags, "export only reads")
}

// export replaces the snapshot a symlink points to, keeps the link and the
// file's permissions, and leaves no temporary file; a failed export leaves
// the old snapshot as it was.
func TestExportWritesThroughASymlink(t *testing.T) {
	t.Parallel()
	srv := emulator(t, exampleLibrary(t))
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	require.NoError(t, os.Mkdir(data, 0o755))
	target := filepath.Join(data, "library.json")
	require.NoError(t, os.WriteFile(target, []byte("[]\n"), 0o600))
	require.NoError(t, os.Chmod(target, 0o640))
	link := filepath.Join(dir, "library.json")
	require.NoError(t, os.Symlink(filepath.Join("data", "library.json"), link))

	r := tagprune(t, cmd{args: []string{"export", "--out", link}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stderr)
	info, err := os.Lstat(link)
	require.NoError(t, err)
	assert.NotZero(t, info.Mode()&os.ModeSymlink, "the link is still a link")
	exported, err := imagekittest.LoadLibrary(target)
	require.NoError(t, err)
	assert.Len(t, exported, 300)
	info, err = os.Stat(target)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), info.Mode().Perm(), "the snapshot keeps its permissions")
	entries, err := os.ReadDir(data)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left behind")

	before, err := os.ReadFile(target)
	require.NoError(t, err)
	r = tagprune(t, cmd{args: []string{"export", "--out", link}, env: []string{"IMAGEKIT_API_URL=" + srv.URL, "IMAGEKIT_PRIVATE_KEY=not-the-key"}})
	require.Equal(t, exitError, r.code, r.stderr)
	after, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, before, after, "a failed export changes nothing")
	entries, err = os.ReadDir(data)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left behind")
}

// Mistakes a new user makes get one line that says what to do, not a page
// of help.
func TestUsageMistakesSayWhatToDo(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("version: 1\nrules:\n  - name: a\n    files:\n      paths: [/x/]\n    forbidenTags: [x]\n"), 0o644))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"UnknownCommandSuggestsTheClosest", []string{"plann"}, `unknown command "plann"; did you mean "plan"?`},
		{"UnknownFlagSuggestsTheClosest", []string{"plan", "--libary", "x.json"}, "unknown flag --libary; did you mean --library?"},
		{"UnknownGlobalFlagSuggestsTheClosest", []string{"--log-levl", "debug", "plan"}, "did you mean --log-level?"},
		{"MissingManifestSaysHowToGiveOne", []string{"plan", "--library", "x.json"}, "no manifest: give one with -f PATH"},
		{"MissingOutSaysWhatItIs", []string{"export"}, "missing --out"},
		{"MissingDataSaysWhatItIs", []string{"emulator"}, "missing --data"},
		{"UnknownManifestKeySuggestsTheClosest", []string{"plan", "-f", bad, "--library", "x.json"}, `unknown field "forbidenTags"; did you mean "forbiddenTags"?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tagprune(t, cmd{args: tt.args})
			require.Equal(t, exitError, r.code)
			assert.Contains(t, r.stderr, tt.want)
			assert.NotContains(t, r.stdout, "USAGE:", "no help page on a mistake")
			assert.LessOrEqual(t, strings.Count(r.stderr, "\n"), 3, r.stderr)
		})
	}
}

func TestVersionNamesCommitAndGo(t *testing.T) {
	t.Parallel()
	r := tagprune(t, cmd{args: []string{"--version"}})
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "tagprune version ")
	assert.Contains(t, r.stdout, "commit ")
	assert.Contains(t, r.stdout, runtime.Version())
}

// nonNilTags is tagsByID with no tags as an empty list, so that null and []
// compare equal.
func nonNilTags(files []imagekittest.File) map[string][]string {
	m := tagsByID(files)
	for id, tags := range m {
		if tags == nil {
			m[id] = []string{}
		}
	}
	return m
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o644))
}

// An apply that changes nothing in --library mode (no changes, a refusal)
// leaves the snapshot file as it was: not rewritten, not replaced.
func TestLibraryUntouchedWhenNothingChanges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lib := filepath.Join(dir, "lib.json")
	copyFile(t, exampleLibraryDoc, lib)
	before, err := os.Stat(lib)
	require.NoError(t, err)
	for _, args := range [][]string{
		{"apply", "-f", exampleManifest, "--library", lib, "--auto-approve", "--max-changes", "0"},
		{"apply", "-f", exampleManifest, "--library", lib},
	} {
		r := tagprune(t, cmd{args: append(args, "--report", filepath.Join(t.TempDir(), "r.json"))})
		require.Equal(t, exitError, r.code, r.stderr)
		require.Contains(t, r.stdout, "Apply refused: nothing was changed.")
		after, err := os.Stat(lib)
		require.NoError(t, err)
		assert.True(t, os.SameFile(before, after), "the snapshot is not replaced")
		assert.Equal(t, before.ModTime(), after.ModTime(), "the snapshot is not rewritten")
	}

	r := tagprune(t, cmd{args: []string{"apply", "-f", exampleManifest, "--library", lib, "--auto-approve", "--report", filepath.Join(dir, "r.json")}})
	require.Equal(t, exitOK, r.code, r.stderr)
	applied, err := os.Stat(lib)
	require.NoError(t, err)
	require.False(t, os.SameFile(before, applied), "an apply that changes files writes the snapshot")
	r = tagprune(t, cmd{args: []string{"apply", "-f", exampleManifest, "--library", lib, "--auto-approve", "--report", filepath.Join(dir, "r.json")}})
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, reconcile.NoChangesText)
	again, err := os.Stat(lib)
	require.NoError(t, err)
	assert.True(t, os.SameFile(applied, again), "an apply with no changes leaves the snapshot alone")
}
