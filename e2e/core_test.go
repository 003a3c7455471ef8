package e2e

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/reconcile"
)

// The end-to-end tests of the core job: validate, plan and apply run as the
// built binary against the emulator over loopback.

// removedWord matches "removed" as a word: a dry run must say "would remove".
var removedWord = regexp.MustCompile(`(?i)\bremoved\b`)

// planSummary matches the last line of a plan with changes: the counts of
// files, tags to remove, tags to add (renames) and AITags to remove, and of
// calls by endpoint; the counts of additions and AITags only when there
// are some.
var planSummary = regexp.MustCompile(`Plan: [\d,]+ files? to change, [\d,]+ tags? to remove(, [\d,]+ tags? to add)?(, [\d,]+ AITags? to remove)?, ` +
	`[\d,]+ removeTags calls?(, [\d,]+ addTags calls?)?(, [\d,]+ removeAITags calls?)?\.`)

// TestCoreJobConverges runs validate, plan, apply and plan again for each
// library and manifest, and checks the end state against an independent
// oracle, the report against what the emulator recorded, and the exit codes.
func TestCoreJobConverges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		files     []imagekittest.File
		manifests []string
	}{
		{name: "example library", files: exampleLibrary(t), manifests: []string{exampleManifest}},
		{name: "generated library with full batches", files: imagekittest.GenerateLibrary(3000, 7), manifests: []string{generatedManifest}},
		{name: "several manifests", files: exampleLibrary(t), manifests: []string{
			filepath.Join(splitManifests, "products.yaml"), filepath.Join(splitManifests, "marketing.yml")}},
		{name: "manifest directory", files: exampleLibrary(t), manifests: []string{splitManifests}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := emulator(t, tt.files)
			want := desiredState(t, manifestFiles(t, tt.manifests), tt.files)
			require.NotEqual(t, tagsByID(tt.files), want, "the fixture must give apply something to do")
			fArgs := manifestArgs(tt.manifests)
			report := filepath.Join(t.TempDir(), "report.json")

			r := tagprune(t, cmd{args: append([]string{"validate"}, fArgs...)})
			require.Equal(t, 0, r.code, r.stderr)
			assert.Contains(t, r.stdout, "Manifest OK")

			r = tagprune(t, cmd{args: append([]string{"plan", "--detailed-exitcode"}, fArgs...), env: apiEnv(srv)})
			require.Equal(t, exitChanges, r.code, r.stderr)
			assert.Contains(t, r.stdout, "would remove")
			assert.Regexp(t, planSummary, r.stdout)
			require.Zero(t, emulatorStats(t, srv).Requests.RemoveTags, "plan must not change anything")
			requireState(t, tt.files, srv.Handler().Files(), tagsByID(tt.files))
			planStats := emulatorStats(t, srv)

			args := append([]string{"apply", "--auto-approve", "--report", report}, fArgs...)
			r = tagprune(t, cmd{args: args, env: apiEnv(srv)})
			require.Equal(t, 0, r.code, r.stdout+r.stderr)
			assert.Contains(t, r.stdout, "Apply complete")
			after := srv.Handler().Files()
			requireDesired(t, tt.manifests, tt.files, after)

			applyStats := emulatorStats(t, srv)
			applyStats.Requests.List -= planStats.Requests.List
			applyStats.Requests.Details -= planStats.Requests.Details
			requireReportMatchesEmulator(t, readReport(t, report), applyStats, emulatorRequests(t, srv), tt.files, after)

			r = tagprune(t, cmd{args: append([]string{"plan", "--detailed-exitcode"}, fArgs...), env: apiEnv(srv)})
			require.Equal(t, 0, r.code, r.stdout+r.stderr)
			assert.Equal(t, reconcile.NoChangesText+"\n", r.stdout)
		})
	}
}

// TestApplyFailedFilesExit3 checks that files the API will not change give
// exit 3, are "failed" in the report and keep their tags, while the others
// converge.
func TestApplyFailedFilesExit3(t *testing.T) {
	t.Parallel()
	files := exampleLibrary(t)
	want := desiredState(t, []string{exampleManifest}, files)
	var stuck string
	for _, f := range files {
		if len(f.Tags) != len(want[f.FileID]) {
			stuck = f.FileID
			break
		}
	}
	require.NotEmpty(t, stuck)
	srv := emulator(t, files, imagekittest.WithFailFiles(stuck))
	report := filepath.Join(t.TempDir(), "report.json")

	r := tagprune(t, cmd{args: []string{"apply", "-f", exampleManifest, "--auto-approve", "--report", report}, env: apiEnv(srv)})
	require.Equal(t, exitIncomplete, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stderr, "1 file could not be changed")

	want[stuck] = tagsByID(files)[stuck]
	wantAI := newOracle(t, []string{exampleManifest}).desiredAITags(files)
	wantAI[stuck] = aiNamesOf(files[slices.IndexFunc(files, func(f imagekittest.File) bool { return f.FileID == stuck })])
	after := srv.Handler().Files()
	requireStateAI(t, files, after, want, wantAI)
	rep := readReport(t, report)
	requireReportMatchesEmulator(t, rep, emulatorStats(t, srv), emulatorRequests(t, srv), files, after)
	assert.Equal(t, 1, rep.Summary.FilesFailed)
	for _, f := range rep.Files {
		if f.FileID == stuck {
			assert.Equal(t, reconcile.StatusFailed, f.Status)
			assert.NotEmpty(t, f.Error, "a failed file says why")
		}
	}
}

// TestInvalidInputSendsNoRequest checks that a bad manifest or flag is
// refused with exit 1 before anything is sent.
func TestInvalidInputSendsNoRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		message string
	}{
		{name: "validate invalid manifest", args: []string{"validate", "-f", invalidManifest}, message: "several-problems.yaml:"},
		{name: "plan invalid manifest", args: []string{"plan", "-f", invalidManifest}, message: "several-problems.yaml:"},
		{name: "apply invalid manifest", args: []string{"apply", "-f", invalidManifest, "--auto-approve"}, message: "several-problems.yaml:"},
		{name: "plan manifest directory with an invalid file", args: []string{"plan", "-f", filepath.Join(invalidDir, "dup-across-files")}, message: "duplicate rule name"},
		{name: "plan missing manifest", args: []string{"plan", "-f", filepath.Join(testdataDir, "no-such.yaml")}, message: "no-such.yaml"},
		{name: "plan unknown format", args: []string{"plan", "-f", exampleManifest, "--format", "yaml"}, message: "--format"},
		{name: "apply batch size over 50", args: []string{"apply", "-f", exampleManifest, "--auto-approve", "--batch-size", "51"}, message: "--batch-size 51"},
		{name: "plan report of unknown type", args: []string{"plan", "-f", exampleManifest, "--report", "plan.txt"}, message: "--report plan.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := exampleLibrary(t)
			srv := emulator(t, files)
			dir := t.TempDir()
			r := tagprune(t, cmd{args: tt.args, env: apiEnv(srv), dir: dir})
			require.Equal(t, exitError, r.code, r.stdout+r.stderr)
			assert.Contains(t, r.stdout+r.stderr, tt.message)
			assert.Equal(t, imagekittest.Stats{}, emulatorStats(t, srv), "no API request may be sent")
			assert.Empty(t, emulatorRequests(t, srv))
			requireState(t, files, srv.Handler().Files(), tagsByID(files))
		})
	}
}

// TestApplyRefusals checks that apply -f refuses, with exit 1 and nothing
// changed, without a terminal and over --max-changes.
func TestApplyRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		stdin   string
		message string
	}{
		{name: "no terminal and no auto-approve", args: []string{"apply", "-f", exampleManifest}, message: "stdin is not a terminal"},
		{name: "yes piped to stdin is not a confirmation", args: []string{"apply", "-f", exampleManifest}, stdin: "yes\n", message: "--auto-approve"},
		{name: "more files than max-changes", args: []string{"apply", "-f", exampleManifest, "--auto-approve", "--max-changes", "93"}, message: "more than --max-changes 93"},
		{name: "max-changes zero", args: []string{"apply", "-f", exampleManifest, "--auto-approve", "--max-changes", "0"}, message: "--max-changes 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := exampleLibrary(t)
			srv := emulator(t, files)
			report := filepath.Join(t.TempDir(), "report.json")
			r := tagprune(t, cmd{args: append(tt.args, "--report", report), env: apiEnv(srv), stdin: strings.NewReader(tt.stdin)})
			require.Equal(t, exitError, r.code, r.stdout+r.stderr)
			assert.Contains(t, r.stderr, tt.message)
			assert.Zero(t, emulatorStats(t, srv).Requests.RemoveTags)
			requireState(t, files, srv.Handler().Files(), tagsByID(files))

			rep := readReport(t, report)
			assert.Contains(t, rep.Error, "refused")
			require.NotEmpty(t, rep.Files)
			for _, f := range rep.Files {
				assert.Equal(t, reconcile.StatusPending, f.Status, "file %s", f.FileID)
			}
		})
	}

	t.Run("max-changes equal to the plan applies", func(t *testing.T) {
		t.Parallel()
		files := exampleLibrary(t)
		srv := emulator(t, files)
		report := filepath.Join(t.TempDir(), "report.json")
		r := tagprune(t, cmd{args: []string{"apply", "-f", exampleManifest, "--auto-approve", "--max-changes", "94", "--report", report}, env: apiEnv(srv)})
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		requireDesired(t, []string{exampleManifest}, files, srv.Handler().Files())
	})
}

// TestApplyBatchSizeBoundsEveryCall checks that --batch-size bounds the
// fileIds of every removeTags request the emulator received.
func TestApplyBatchSizeBoundsEveryCall(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1, 7, 50} {
		t.Run("batch size "+strconv.Itoa(size), func(t *testing.T) {
			t.Parallel()
			files := imagekittest.GenerateLibrary(1500, 3)
			srv := emulator(t, files)
			report := filepath.Join(t.TempDir(), "report.json")
			r := tagprune(t, cmd{args: []string{"apply", "-f", generatedManifest, "--auto-approve",
				"--batch-size", strconv.Itoa(size), "--report", report}, env: apiEnv(srv)})
			require.Equal(t, 0, r.code, r.stdout+r.stderr)
			after := srv.Handler().Files()
			requireState(t, files, after, desiredState(t, []string{generatedManifest}, files))

			bodies := removeTagsBodies(t, emulatorRequests(t, srv))
			require.NotEmpty(t, bodies)
			full := 0
			for _, b := range bodies {
				require.LessOrEqual(t, len(b.FileIDs), size, "removeTags call %v", b)
				if len(b.FileIDs) == size {
					full++
				}
			}
			assert.Positive(t, full, "some call should be full at --batch-size %d", size)
			requireReportMatchesEmulator(t, readReport(t, report), emulatorStats(t, srv), emulatorRequests(t, srv), files, after)
		})
	}
}

// TestLibraryFileMode checks --library FILE: no key and no network, plan
// shows the diff, apply writes FILE back atomically, and a second plan
// finds nothing to do.
func TestLibraryFileMode(t *testing.T) {
	t.Parallel()
	files := exampleLibrary(t)
	dir := t.TempDir()
	lib := filepath.Join(dir, "library.json")
	var encoded bytes.Buffer
	require.NoError(t, imagekittest.EncodeLibrary(&encoded, files))
	require.NoError(t, os.WriteFile(lib, encoded.Bytes(), 0o644))
	manifestPath := exampleManifest
	// An API URL that nobody listens on: --library must never dial it.
	env := []string{"IMAGEKIT_API_URL=" + closedURL(t)}

	r := tagprune(t, cmd{args: []string{"plan", "-f", manifestPath, "--library", lib, "--detailed-exitcode"}, env: env, dir: dir})
	require.Equal(t, exitChanges, r.code, r.stderr)
	assert.Contains(t, r.stdout, "/products/shoes/shoe-002.jpg\n    - spring-sale-2022")
	assert.Contains(t, r.stdout, exampleSummary)
	unchanged, err := imagekittest.LoadLibrary(lib)
	require.NoError(t, err)
	assert.Equal(t, files, unchanged, "plan must not write the library")

	before, err := os.Stat(lib)
	require.NoError(t, err)
	r = tagprune(t, cmd{args: []string{"apply", "-f", manifestPath, "--library", lib, "--auto-approve"}, env: env, dir: dir})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	written, err := os.Stat(lib)
	require.NoError(t, err)
	assert.False(t, os.SameFile(before, written), "the library must be replaced by a rename, not rewritten in place")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"library.json", defaultReport}, names, "no temporary file may be left behind")

	after, err := imagekittest.LoadLibrary(lib)
	require.NoError(t, err)
	requireDesired(t, []string{exampleManifest}, files, after)
	rep := readReport(t, filepath.Join(dir, defaultReport))
	assert.Equal(t, 94, rep.Summary.FilesChanged)
	assert.ElementsMatch(t, changedIDs(files, after), reportIDs(rep, reconcile.StatusChanged))

	r = tagprune(t, cmd{args: []string{"plan", "-f", manifestPath, "--library", lib, "--detailed-exitcode"}, env: env, dir: dir})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Equal(t, reconcile.NoChangesText+"\n", r.stdout)
}

// TestPlanOnlyReads checks that plan, in every format, sends nothing but GET
// requests and never says "removed".
func TestPlanOnlyReads(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "markdown", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			files := exampleLibrary(t)
			srv := emulator(t, files)
			dir := t.TempDir()
			r := tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest, "--format", format,
				"--out", "plan.json", "--report", "plan.md"}, env: apiEnv(srv), dir: dir})
			require.Equal(t, 0, r.code, r.stderr)

			reqs := emulatorRequests(t, srv)
			require.NotEmpty(t, reqs)
			for _, q := range reqs {
				assert.Equal(t, "GET", q.Method, "plan sent %s %s", q.Method, q.Path)
			}
			requireState(t, files, srv.Handler().Files(), tagsByID(files))

			words := r.stderr
			if format != "json" { // the JSON document's keys, such as tagsRemoved, are not words
				words += r.stdout
			}
			md, err := os.ReadFile(filepath.Join(dir, "plan.md"))
			require.NoError(t, err)
			words += string(md)
			assert.NotRegexp(t, removedWord, words)
			assert.Contains(t, words, "would remove")
		})
	}
}

// TestAPIErrors checks the messages of the two most common set-up mistakes:
// a wrong key and an API URL nothing answers on.
func TestAPIErrors(t *testing.T) {
	t.Parallel()
	t.Run("wrong key names IMAGEKIT_PRIVATE_KEY", func(t *testing.T) {
		t.Parallel()
		files := exampleLibrary(t)
		srv := emulator(t, files)
		report := filepath.Join(t.TempDir(), "report.json")
		for _, args := range [][]string{
			{"plan", "-f", exampleManifest},
			{"apply", "-f", exampleManifest, "--auto-approve", "--report", report},
		} {
			r := tagprune(t, cmd{args: args, env: []string{"IMAGEKIT_API_URL=" + srv.URL, "IMAGEKIT_PRIVATE_KEY=not-the-key"}})
			require.Equal(t, exitError, r.code, "%v: %s%s", args, r.stdout, r.stderr)
			assert.Contains(t, r.stderr, "IMAGEKIT_PRIVATE_KEY", args[0])
			assert.Contains(t, r.stderr, "401", args[0])
			assert.NotContains(t, r.stdout+r.stderr, "not-the-key", "the key must never be printed")
			requireEachFactOnce(t, r.stderr, srv.URL, "HTTP 401", "IMAGEKIT_PRIVATE_KEY")
		}
		assert.Zero(t, emulatorStats(t, srv).Requests.RemoveTags)
		requireState(t, files, srv.Handler().Files(), tagsByID(files))
	})

	t.Run("missing key names IMAGEKIT_PRIVATE_KEY", func(t *testing.T) {
		t.Parallel()
		srv := emulator(t, exampleLibrary(t))
		r := tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest}, env: []string{"IMAGEKIT_API_URL=" + srv.URL}})
		require.Equal(t, exitError, r.code)
		assert.Contains(t, r.stderr, "IMAGEKIT_PRIVATE_KEY")
		assert.Equal(t, imagekittest.Stats{}, emulatorStats(t, srv))
	})

	t.Run("unreachable API names the URL", func(t *testing.T) {
		t.Parallel()
		url := closedURL(t)
		r := tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest, "--api-url", url}, env: []string{"IMAGEKIT_PRIVATE_KEY=" + testKey}})
		require.Equal(t, exitError, r.code, r.stdout+r.stderr)
		assert.Contains(t, r.stderr, url)
		assert.Empty(t, r.stdout)
		requireEachFactOnce(t, r.stderr, url, "--api-url", "nothing is listening")
	})
}

// settings are the names of the settings a message may point at: whatever
// the error, each is named at most once.
var settings = []string{"--api-url", "IMAGEKIT_API_URL", "IMAGEKIT_PRIVATE_KEY", "--private-key-file", "--timeout", "--max-rate-limit-wait"}

// requireEachFactOnce checks that the error tagprune printed (its "Error:"
// line and the hint after it; logs aside) says each of facts exactly once,
// names each setting at most once, and ends with one hint.
func requireEachFactOnce(t *testing.T, stderr string, facts ...string) {
	t.Helper()
	var said []string
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "Error: ") || strings.HasPrefix(line, "  Hint: ") {
			said = append(said, line)
		}
	}
	text := strings.Join(said, "\n")
	require.Len(t, said, 2, "an Error line and a Hint line in:\n%s", stderr)
	assert.True(t, strings.HasPrefix(said[1], "  Hint: "), text)
	for _, f := range facts {
		assert.Equal(t, 1, strings.Count(text, f), "%q once in:\n%s", f, text)
	}
	for _, s := range settings {
		assert.LessOrEqual(t, strings.Count(text, s), 1, "%q at most once in:\n%s", s, text)
	}
}

// requireReportMatchesEmulator checks a report against what the emulator
// recorded: its API counts equal the emulator's (stats counts the requests
// of this run only), every batch it lists was a removeTags request the
// emulator received, and the files it marks changed are exactly those whose
// tags changed between before and after.
func requireReportMatchesEmulator(t *testing.T, rep *reconcile.Report, stats imagekittest.Stats, reqs []imagekittest.Request, before, after []imagekittest.File) {
	t.Helper()
	require.Equal(t, reconcile.FormatVersion, rep.FormatVersion)
	require.Equal(t, "apply", rep.Command)
	assert.EqualValues(t, stats.Requests.List, rep.Summary.APICalls.List, "list calls")
	assert.EqualValues(t, stats.Requests.Details, rep.Summary.APICalls.Details, "details calls")
	assert.EqualValues(t, stats.Requests.RemoveTags, rep.Summary.APICalls.RemoveTags, "removeTags calls")
	assert.EqualValues(t, stats.Requests.AddTags, rep.Summary.APICalls.AddTags, "addTags calls")
	assert.EqualValues(t, stats.Requests.RemoveAITags, rep.Summary.APICalls.RemoveAITags, "removeAITags calls")

	calls := bulkCalls(t, reqs)
	for _, b := range rep.Batches {
		endpoint := b.Endpoint
		if endpoint == "" {
			endpoint = reconcile.EndpointRemoveTags
		}
		found := slices.ContainsFunc(calls, func(x bulkCall) bool {
			return x.Endpoint == endpoint && slices.Equal(x.FileIDs, b.FileIDs) && slices.Equal(x.Tags, b.Tags)
		})
		assert.True(t, found, "report batch %s %v %v was never sent", endpoint, b.FileIDs, b.Tags)
	}
	assert.ElementsMatch(t, changedIDs(before, after), reportIDs(rep, reconcile.StatusChanged), "files marked changed")
	removed, added, aiRemoved := 0, 0, 0
	was := map[string]imagekittest.File{}
	for _, f := range before {
		was[f.FileID] = f
	}
	for _, f := range after {
		b := was[f.FileID]
		for _, tag := range b.Tags {
			if !slices.Contains(f.Tags, tag) {
				removed++
			}
		}
		for _, tag := range f.Tags {
			if !slices.Contains(b.Tags, tag) {
				added++
			}
		}
		aiRemoved += len(aiNamesOf(b)) - len(aiNamesOf(f))
	}
	assert.Equal(t, removed, rep.Summary.TagsRemoved, "tags removed")
	assert.Equal(t, added, rep.Summary.TagsAdded, "tags added")
	assert.Equal(t, aiRemoved, rep.Summary.AITagsRemoved, "AITags removed")
}

// aiNamesOf returns the names of a file's AITags.
func aiNamesOf(f imagekittest.File) []string {
	var out []string
	for _, a := range f.AITags {
		out = append(out, a.Name)
	}
	return out
}

// removeTagsBody is the body of one removeTags request as the emulator
// recorded it.
type removeTagsBody struct {
	FileIDs []string
	Tags    []string
}

// removeTagsBodies returns the bodies of the removeTags requests in reqs.
func removeTagsBodies(t *testing.T, reqs []imagekittest.Request) []removeTagsBody {
	t.Helper()
	var out []removeTagsBody
	for _, q := range reqs {
		if q.Method != "POST" || q.Path != "/v1/files/removeTags" {
			continue
		}
		m, ok := q.Body.(map[string]any)
		require.True(t, ok, "removeTags body %v", q.Body)
		out = append(out, removeTagsBody{FileIDs: jsonStrings(t, m["fileIds"]), Tags: jsonStrings(t, m["tags"])})
	}
	return out
}

// jsonStrings converts a JSON array of strings decoded into any.
func jsonStrings(t *testing.T, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	require.True(t, ok, "want a JSON array, got %v", v)
	out := make([]string, len(list))
	for i, x := range list {
		s, ok := x.(string)
		require.True(t, ok, "want a string, got %v", x)
		out[i] = s
	}
	return out
}

// changedIDs returns the ids of the files whose tags or AITags differ
// between before and after.
func changedIDs(before, after []imagekittest.File) []string {
	was := map[string]imagekittest.File{}
	for _, f := range before {
		was[f.FileID] = f
	}
	var ids []string
	for _, f := range after {
		if !slices.Equal(was[f.FileID].Tags, f.Tags) || !slices.Equal(aiNamesOf(was[f.FileID]), aiNamesOf(f)) {
			ids = append(ids, f.FileID)
		}
	}
	return ids
}

// reportIDs returns the ids of the report's files with the given status.
func reportIDs(rep *reconcile.Report, status string) []string {
	var ids []string
	for _, f := range rep.Files {
		if f.Status == status {
			ids = append(ids, f.FileID)
		}
	}
	return ids
}

// manifestArgs turns manifest paths into -f arguments.
func manifestArgs(paths []string) []string {
	var args []string
	for _, p := range paths {
		args = append(args, "-f", p)
	}
	return args
}

// manifestFiles expands manifest directories the way -f does (DESIGN.md
// section 2), for the oracle: every *.yaml and *.yml file, sorted by name.
func manifestFiles(t *testing.T, paths []string) []string {
	t.Helper()
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		require.NoError(t, err)
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		require.NoError(t, err)
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
				out = append(out, filepath.Join(p, e.Name()))
			}
		}
	}
	return out
}

// closedURL returns an http URL on loopback where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}
