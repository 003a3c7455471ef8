package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/reconcile"
)

// The end-to-end tests of the actions beyond removing tags: forbiddenAITags
// removes AITags, replaceTags renames tags, and restore undoes an apply.

// aiTag returns an AITag as auto-tagging would set it.
func aiTag(name string) imagekittest.AITag {
	return imagekittest.AITag{Name: name, Confidence: 91.5, Source: "google-auto-tagging"}
}

// tagged returns a file with tags and AITags.
func tagged(id, path string, tags []string, ai ...string) imagekittest.File {
	f := imagekittest.File{FileID: id, Type: "file", Name: filepath.Base(path), FilePath: path, Tags: tags, FileType: "image"}
	for _, a := range ai {
		f.AITags = append(f.AITags, aiTag(a))
	}
	return f
}

// requireLibrary checks that every file's tags and AITag names are those
// the oracle wants, in order (nil and empty are the same).
func requireLibrary(t *testing.T, after []imagekittest.File, wantTags, wantAI map[string][]string) {
	t.Helper()
	for _, f := range after {
		var ai []string
		for _, a := range f.AITags {
			ai = append(ai, a.Name)
		}
		if len(wantTags[f.FileID])+len(f.Tags) > 0 {
			require.Equal(t, wantTags[f.FileID], f.Tags, "tags of %s (%s)", f.FileID, f.FilePath)
		}
		if len(wantAI[f.FileID])+len(ai) > 0 {
			require.Equal(t, wantAI[f.FileID], ai, "AITags of %s (%s)", f.FileID, f.FilePath)
		}
	}
}

// bulkCall is one recorded addTags, removeTags or removeAITags request.
type bulkCall struct {
	Endpoint string
	FileIDs  []string
	Tags     []string
	Status   int
}

// bulkCalls returns the bulk tag requests of the log, in the order they
// arrived.
func bulkCalls(t *testing.T, reqs []imagekittest.Request) []bulkCall {
	t.Helper()
	var out []bulkCall
	for _, r := range reqs {
		endpoint, ok := strings.CutPrefix(r.Path, "/v1/files/")
		if r.Method != http.MethodPost || !ok || !slices.Contains([]string{"addTags", "removeTags", "removeAITags"}, endpoint) {
			continue
		}
		body, ok := r.Body.(map[string]any)
		require.True(t, ok, "%s body is a JSON object: %#v", endpoint, r.Body)
		key := "tags"
		if endpoint == "removeAITags" {
			key = "AITags"
		}
		out = append(out, bulkCall{Endpoint: endpoint, FileIDs: strs(t, body["fileIds"]), Tags: strs(t, body[key]), Status: r.Status})
	}
	return out
}

// listQueries returns the searchQuery of every list request of the log.
func listQueries(t *testing.T, reqs []imagekittest.Request) []string {
	t.Helper()
	var out []string
	for _, r := range reqs {
		if r.Method == http.MethodGet && r.Path == "/v1/files" {
			q, err := url.ParseQuery(r.Query)
			require.NoError(t, err)
			out = append(out, q.Get("searchQuery"))
		}
	}
	return out
}

const aiManifest = `version: 1
rules:
  - name: no-people-in-ai
    files: {paths: [/ai/]}
    forbiddenAITags: [Person]
  - name: no-person-tag
    files: {paths: [/tags/]}
    forbiddenTags: [Person]
  - name: no-text-anywhere
    files: {paths: [/]}
    forbiddenAITags: ["Tex*"]
`

// An AITag goes while the same-named tag stays, a forbidden tag goes while
// the same-named AITag stays, and a glob over AITag names reads the files
// with tags EXISTS.
func TestForbiddenAITags(t *testing.T) {
	t.Parallel()
	files := []imagekittest.File{
		tagged("ai1", "/ai/1.jpg", []string{"Person", "keep"}, "Person", "Shoe"),
		tagged("ai2", "/ai/2.jpg", nil, "Person"),
		tagged("tg1", "/tags/1.jpg", []string{"Person"}, "Person"),
		tagged("tx1", "/other/1.jpg", []string{"keep"}, "Textile", "Shoe"),
		tagged("ok1", "/other/2.jpg", []string{"Person"}, "Person"),
	}
	srv := emulator(t, files)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, aiManifest)
	o := newOracle(t, []string{manifest})
	wantTags, wantAI := o.desired(files), o.desiredAITags(files)
	require.Equal(t, []string{"Person", "keep"}, wantTags["ai1"], "the oracle keeps the same-named tag")
	require.Equal(t, []string{"Shoe"}, wantAI["ai1"])
	require.Equal(t, []string{"Person"}, wantAI["tg1"], "the oracle keeps the same-named AITag")

	r := tagprune(t, cmd{args: []string{"plan", "-f", manifest}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Rule no-people-in-ai: would remove AITags from 2 files\n  /ai/1.jpg\n    - Person (AITag)\n")
	assert.Contains(t, r.stdout, "Rule no-person-tag: would remove tags from 1 file\n  /tags/1.jpg\n    - Person\n")
	assert.Contains(t, r.stdout, "Plan: 4 files to change, 1 tag to remove, 3 AITags to remove, 1 removeTags call, 2 removeAITags calls.")
	assert.NotRegexp(t, removedWord, r.stdout)
	qs := listQueries(t, emulatorRequests(t, srv))
	assert.Contains(t, qs, `path : "/" AND tags EXISTS AND type = "file"`, "a glob over AITag names reads tagged files")
	require.Zero(t, emulatorStats(t, srv).Requests.RemoveAITags, "plan changes nothing")

	report := filepath.Join(dir, "report.json")
	r = tagprune(t, cmd{args: []string{"apply", "-f", manifest, "--auto-approve", "--report", report}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "Apply complete: 4 files changed, 1 tag removed, 3 AITags removed,")
	requireLibrary(t, srv.Handler().Files(), wantTags, wantAI)

	calls := bulkCalls(t, emulatorRequests(t, srv))
	for _, c := range calls {
		for _, id := range c.FileIDs {
			f := files[slices.IndexFunc(files, func(f imagekittest.File) bool { return f.FileID == id })]
			for _, tag := range c.Tags {
				if c.Endpoint == "removeAITags" {
					assert.NotContains(t, wantAI[id], tag, "removeAITags removes %q from %s, which the oracle keeps", tag, id)
					assert.True(t, slices.ContainsFunc(f.AITags, func(a imagekittest.AITag) bool { return a.Name == tag }))
				} else {
					assert.Equal(t, "removeTags", c.Endpoint)
					assert.NotContains(t, wantTags[id], tag)
				}
			}
		}
	}
	rep := readReport(t, report)
	assert.Equal(t, 3, rep.Summary.AITagsRemoved)
	assert.Equal(t, 1, rep.Summary.TagsRemoved)
	stats := emulatorStats(t, srv)
	assert.Equal(t, int(stats.Requests.RemoveAITags), rep.Summary.APICalls.RemoveAITags)
	assert.Equal(t, 2, rep.Summary.APICalls.RemoveAITags)
	for _, f := range rep.Files {
		assert.Equal(t, reconcile.StatusChanged, f.Status)
		assert.Equal(t, f.RemoveAITags, f.RemovedAITags)
	}

	r = tagprune(t, cmd{args: []string{"plan", "-f", manifest, "--detailed-exitcode"}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Equal(t, reconcile.NoChangesText+"\n", r.stdout)
}

const renameManifest = `version: 1
rules:
  - name: lower-case-colors
    description: One spelling per color
    files: {paths: [/shop/]}
    replaceTags: {Red: red}
`

// renameLibrary returns n files under /shop/ carrying Red; every have-th
// one carries red already.
func renameLibrary(n, have int) []imagekittest.File {
	files := make([]imagekittest.File, n)
	for i := range files {
		tags := []string{"Red", "size-m"}
		if have > 0 && i%have == 0 {
			tags = []string{"red", "Red"}
		}
		files[i] = tagged(fmt.Sprintf("f%05d", i), fmt.Sprintf("/shop/%02d/%05d.jpg", i%40, i), tags)
	}
	return files
}

// A case rename across 3,000 files: every addTags call is answered before
// the first removal, files that have red already only lose Red, and a second
// plan finds nothing to do.
func TestRenameAcrossThreeThousandFiles(t *testing.T) {
	t.Parallel()
	files := renameLibrary(3000, 30) // 100 files have red already
	srv := emulator(t, files)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, renameManifest)
	wantTags := newOracle(t, []string{manifest}).desired(files)
	require.Equal(t, []string{"size-m", "red"}, wantTags["f00001"])
	require.Equal(t, []string{"red"}, wantTags["f00000"])

	r := tagprune(t, cmd{args: []string{"plan", "-f", manifest}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Rule lower-case-colors (One spelling per color): would rename tags on 3,000 files\n")
	assert.Contains(t, r.stdout, "  /shop/00/00000.jpg\n    ~ Red → red (already there)\n")
	assert.Contains(t, r.stdout, "  /shop/01/00001.jpg\n    ~ Red → red\n")
	assert.Contains(t, r.stdout, "Plan: 3,000 files to change, 3,000 tags to remove, 2,900 tags to add, 60 removeTags calls, 58 addTags calls.")

	md := tagprune(t, cmd{args: []string{"plan", "-f", manifest, "--format", "markdown"}, env: apiEnv(srv)})
	require.Equal(t, 0, md.code, md.stderr)
	assert.Contains(t, md.stdout, "| /shop/01/00001.jpg | Red → red |")

	planFile := filepath.Join(dir, "plan.json")
	r = tagprune(t, cmd{args: []string{"plan", "-f", manifest, "--out", planFile}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stderr)
	plan, err := reconcile.ReadPlan(planFile)
	require.NoError(t, err)
	assert.Equal(t, []reconcile.Rename{{Old: "Red", New: "red", Rule: "lower-case-colors"}}, plan.Changes[0].Renames)
	assert.Equal(t, reconcile.EndpointAddTags, plan.Batches[0].Endpoint)
	require.Zero(t, emulatorStats(t, srv).Requests.AddTags, "plan adds nothing")

	report := filepath.Join(dir, "report.json")
	r = tagprune(t, cmd{args: []string{"apply", planFile, "--report", report}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "Apply complete: 3,000 files changed, 3,000 tags removed, 2,900 tags added,")
	requireLibrary(t, srv.Handler().Files(), wantTags, nil)

	calls := bulkCalls(t, emulatorRequests(t, srv))
	lastAdd, firstRemove, adds, removes := -1, len(calls), 0, 0
	for i, c := range calls {
		require.LessOrEqual(t, len(c.FileIDs), 50)
		switch c.Endpoint {
		case "addTags":
			adds++
			lastAdd = i
			assert.Equal(t, []string{"red"}, c.Tags, "only the new tag is added")
			for _, id := range c.FileIDs {
				assert.NotEqual(t, []string{"red"}, wantTags[id][:1], "%s had red already: nothing is added to it", id)
			}
		case "removeTags":
			removes++
			firstRemove = min(firstRemove, i)
			assert.Equal(t, []string{"Red"}, c.Tags)
		}
	}
	assert.Equal(t, 58, adds, "ceil(2,900/50) addTags calls")
	assert.Equal(t, 60, removes, "ceil(3,000/50) removeTags calls")
	assert.Less(t, lastAdd, firstRemove, "every addTags call is answered before the first removal")

	rep := readReport(t, report)
	assert.Equal(t, 2900, rep.Summary.TagsAdded)
	assert.Equal(t, 58, rep.Summary.APICalls.AddTags)
	had := tagsByID(files)
	for _, f := range rep.Files {
		if slices.Contains(had[f.FileID], "red") {
			assert.Empty(t, f.AddedTags, "%s had red: the report does not claim it was added", f.FileID)
		} else {
			assert.Equal(t, []string{"red"}, f.AddedTags)
		}
	}

	r = tagprune(t, cmd{args: []string{"plan", "-f", manifest, "--detailed-exitcode"}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Equal(t, reconcile.NoChangesText+"\n", r.stdout)
}

// A rename whose new tag an allowlist does not admit is a plan error that
// names both rules and the file: exit 1, nothing sent.
func TestRenameConflictWithAnAllowlist(t *testing.T) {
	t.Parallel()
	files := []imagekittest.File{
		tagged("s1", "/shop/1.jpg", []string{"Red", "size-m"}),
		tagged("b1", "/blog/1.jpg", []string{"Red"}),
	}
	srv := emulator(t, files)
	manifest := writeManifest(t, t.TempDir(), renameManifest+`    # (the shop's vocabulary, below, does not admit red)
  - name: shop-vocabulary
    files: {paths: [/shop/]}
    allowedTags: [Red, "size-*"]
`)
	for _, args := range [][]string{{"plan", "-f", manifest}, {"apply", "-f", manifest, "--auto-approve"}} {
		r := tagprune(t, cmd{args: args, env: apiEnv(srv), dir: t.TempDir()})
		require.Equal(t, exitError, r.code, r.stdout+r.stderr)
		requireNoPanic(t, r.stderr)
		assert.Contains(t, r.stderr, `/shop/1.jpg (s1): rule "lower-case-colors" renames "Red" to "red", but rule "shop-vocabulary" forbids "red" there`)
		assert.Contains(t, r.stderr, "nothing was changed")
		assert.Contains(t, r.stderr, "Hint: a rename's new tag must be allowed wherever the rename applies")
	}
	stats := emulatorStats(t, srv)
	assert.Zero(t, stats.Requests.AddTags+stats.Requests.RemoveTags+stats.Requests.RemoveAITags, "nothing is sent")
	requireLibrary(t, srv.Handler().Files(), tagsByID(files), nil)
}

// An apply interrupted between its additions and its removals reports each
// file as it is: the files whose removal was not sent are pending with red
// in addedTags (and both tags in the library); a re-run finishes them.
func TestRenameInterruptedBetweenTheTwoSteps(t *testing.T) {
	t.Parallel()
	files := renameLibrary(150, 0)
	srv := emulator(t, files)
	g := newGate(t, srv)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, renameManifest)
	report := filepath.Join(dir, "report.json")

	run := startTagprune(t, cmd{args: []string{"apply", "-f", manifest, "--auto-approve", "--report", report, "--concurrency", "1"},
		env: urlEnv(g.URL)})
	held := g.next(t) // the first removal: every addition has been answered
	require.Equal(t, 3, int(emulatorStats(t, srv).Requests.AddTags))
	run.signal(t, os.Interrupt)
	// The held call is let through only once the run has said it stops, so
	// that the signal is seen before its answer comes.
	require.Contains(t, run.waitStderr(t, "stopping: "), "for 1 call in flight")
	held.let()
	res := run.wait(t)
	require.Equal(t, exitInterrupted, res.code, res.stdout+res.stderr)
	requireNoPanic(t, res.stderr)
	require.Equal(t, 1, g.count(), "no removal starts after the signal")

	rep := readReport(t, report)
	assert.True(t, rep.Interrupted)
	now := tagsByID(srv.Handler().Files())
	pending := 0
	for _, f := range rep.Files {
		assert.Equal(t, []string{"red"}, f.AddedTags, "red was added to %s before the signal", f.FileID)
		switch f.Status {
		case reconcile.StatusChanged:
			assert.Equal(t, []string{"Red"}, f.RemovedTags)
			assert.Equal(t, []string{"size-m", "red"}, now[f.FileID])
		case reconcile.StatusPending:
			pending++
			assert.Empty(t, f.RemovedTags, "the removal of Red is pending")
			assert.Equal(t, []string{"Red", "size-m", "red"}, now[f.FileID], "both tags: nothing is lost")
		default:
			t.Errorf("%s is %s", f.FileID, f.Status)
		}
	}
	assert.Equal(t, 100, pending)
	assert.Equal(t, 100, rep.Summary.FilesPending)
	assert.Equal(t, 150, rep.Summary.TagsAdded)

	g.open()
	adds := emulatorStats(t, srv).Requests.AddTags
	r := tagprune(t, cmd{args: []string{"apply", "-f", manifest, "--auto-approve", "--report", report}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "Plan: 100 files to change, 100 tags to remove, 2 removeTags calls.")
	assert.Contains(t, r.stdout, "Apply complete: 100 files changed, 100 tags removed, 0 failed")
	assert.Equal(t, adds, emulatorStats(t, srv).Requests.AddTags, "the pending files have red already: the re-run only removes Red")
	requireLibrary(t, srv.Handler().Files(), newOracle(t, []string{manifest}).desired(files), nil)
}

// A 207 on addTags leaves that file's old tag in place: its removal is not
// sent, and the file is failed (exit 3).
func TestRenameKeepsTheOldTagWhenAddTagsFails(t *testing.T) {
	t.Parallel()
	files := renameLibrary(60, 0)
	srv := emulator(t, files, imagekittest.WithFailFiles("f00007"))
	dir := t.TempDir()
	manifest := writeManifest(t, dir, renameManifest)
	report := filepath.Join(dir, "report.json")
	r := tagprune(t, cmd{args: []string{"apply", "-f", manifest, "--auto-approve", "--report", report}, env: apiEnv(srv)})
	require.Equal(t, exitIncomplete, r.code, r.stdout+r.stderr)

	assert.Equal(t, []string{"Red", "size-m"}, tagsByID(srv.Handler().Files())["f00007"], "the file keeps Red")
	for _, c := range bulkCalls(t, emulatorRequests(t, srv)) {
		if c.Endpoint == "removeTags" {
			assert.NotContains(t, c.FileIDs, "f00007", "its removal is never sent")
		}
	}
	rep := readReport(t, report)
	assert.Equal(t, 1, rep.Summary.FilesFailed)
	assert.Equal(t, 59, rep.Summary.FilesChanged)
	for _, f := range rep.Files {
		if f.FileID == "f00007" {
			assert.Equal(t, reconcile.StatusFailed, f.Status)
			assert.Contains(t, f.Error, "its tags were not removed")
			assert.Empty(t, f.AddedTags)
		}
	}
}

const restoreManifest = `version: 1
rules:
  - name: lower-case-colors
    files: {paths: [/shop/]}
    replaceTags: {Red: red}
  - name: retire-sale
    files: {paths: [/]}
    forbiddenTags: [sale]
  - name: no-people
    files: {paths: [/]}
    forbiddenAITags: [Person]
`

// restoreLibrary has a rename, a file that has the new tag already, plain
// removals and an AITag to remove.
func restoreLibrary() []imagekittest.File {
	return []imagekittest.File{
		tagged("s1", "/shop/1.jpg", []string{"Red", "sale", "keep"}, "Person"),
		tagged("s2", "/shop/2.jpg", []string{"red", "Red"}),
		tagged("s3", "/shop/3.jpg", []string{"sale"}),
		tagged("b1", "/blog/1.jpg", []string{"sale", "draft"}, "Person", "Text"),
		tagged("b2", "/blog/2.jpg", []string{"keep"}),
	}
}

// sortedTags returns every file's tags, sorted: restore adds tags back at
// the end, so the order may differ from the original while the set is the
// same.
func sortedTags(files []imagekittest.File) map[string][]string {
	out := tagsByID(files)
	for id, tags := range out {
		out[id] = slices.Sorted(slices.Values(tags))
	}
	return out
}

// apply, then restore: the library has its original tags back (AITags
// aside: they are listed as not restorable), and plan shows the original
// plan again. A second restore finds nothing to do.
func TestRestoreUndoesAnApply(t *testing.T) {
	t.Parallel()
	files := restoreLibrary()
	srv := emulator(t, files)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, restoreManifest)
	report := filepath.Join(dir, "apply.json")

	first := tagprune(t, cmd{args: []string{"plan", "-f", manifest}, env: apiEnv(srv)})
	require.Equal(t, 0, first.code, first.stderr)
	r := tagprune(t, cmd{args: []string{"apply", "-f", manifest, "--auto-approve", "--report", report}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)

	restoreReport := filepath.Join(dir, "restore.json")
	r = tagprune(t, cmd{args: []string{"restore", report, "--auto-approve", "--report", restoreReport}, env: apiEnv(srv), dir: dir})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "would add back (+) and would remove (-) tags on 4 files")
	assert.Contains(t, r.stdout, "  /shop/1.jpg\n    + Red\n    + sale\n    - red\n")
	assert.Contains(t, r.stdout, "  /shop/2.jpg\n    + Red\n", "s2 had red before: it keeps it")
	assert.NotContains(t, r.stdout, "  /shop/2.jpg\n    + Red\n    - red")
	assert.Contains(t, r.stdout, "Not restorable: 2 AITags removed from 2 files (ImageKit has no call that adds AITags back)")
	assert.Contains(t, r.stdout, "Restore complete: 4 files restored, 5 tags added back, 1 tag removed,")

	after := srv.Handler().Files()
	assert.Equal(t, sortedTags(files), sortedTags(after), "every file has its original tags back")
	rest := tagprune(t, cmd{args: []string{"plan", "-f", manifest}, env: apiEnv(srv)})
	require.Equal(t, 0, rest.code, rest.stderr)
	want := strings.ReplaceAll(first.stdout, "    - Person (AITag)\n", "")
	assert.Contains(t, want, "Plan: 4 files to change, 5 tags to remove, 1 tag to add, 2 AITags to remove")
	want = strings.Replace(want, "Rule no-people: would remove AITags from 2 files\n  /blog/1.jpg\n  /shop/1.jpg\n\n", "", 1)
	want = strings.Replace(want, ", 2 AITags to remove", "", 1)
	want = strings.Replace(want, ", 1 removeAITags call", "", 1)
	assert.Equal(t, want, rest.stdout, "plan shows the original plan, but for the AITags that are gone")

	rep := readReport(t, restoreReport)
	assert.Equal(t, "restore", rep.Command)
	assert.Equal(t, 4, rep.Summary.FilesChanged)
	assert.Equal(t, 5, rep.Summary.TagsAdded)
	assert.Equal(t, 1, rep.Summary.TagsRemoved)
	assert.Len(t, rep.NotRestorable, 2)

	before := emulatorStats(t, srv)
	again := tagprune(t, cmd{args: []string{"restore", report, "--auto-approve", "--report", restoreReport}, env: apiEnv(srv)})
	require.Equal(t, 0, again.code, again.stdout+again.stderr)
	assert.Contains(t, again.stdout, reconcile.NothingToRestoreText)
	stats := emulatorStats(t, srv)
	assert.Equal(t, before.Requests.AddTags, stats.Requests.AddTags, "a second restore adds nothing")
	assert.Equal(t, before.Requests.RemoveTags, stats.Requests.RemoveTags, "a second restore removes nothing")
	assert.Equal(t, sortedTags(files), sortedTags(srv.Handler().Files()))
}

// restore --dry-run only previews; a deleted file is missing; without a
// terminal and --auto-approve restore refuses; --library works.
func TestRestoreDryRunMissingAndRefusal(t *testing.T) {
	t.Parallel()
	files := restoreLibrary()
	srv := emulator(t, files)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, restoreManifest)
	report := filepath.Join(dir, "apply.json")
	r := tagprune(t, cmd{args: []string{"apply", "-f", manifest, "--auto-approve", "--report", report}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	applied := srv.Handler().Files()
	writes := func() int64 {
		s := emulatorStats(t, srv).Requests
		return s.AddTags + s.RemoveTags + s.RemoveAITags
	}
	sent := writes()

	t.Run("DryRunChangesNothing", func(t *testing.T) {
		r := tagprune(t, cmd{args: []string{"restore", report, "--dry-run"}, env: apiEnv(srv), dir: t.TempDir()})
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		assert.Contains(t, r.stdout, "would add back")
		assert.Contains(t, r.stdout, "Restore: 4 files to change, 5 tags to add, 1 tag to remove, 3 addTags calls, 1 removeTags call.")
		assert.Equal(t, sent, writes(), "a dry run sends nothing")
		assert.Equal(t, tagsByID(applied), tagsByID(srv.Handler().Files()))
	})
	t.Run("RefusesWithoutATerminal", func(t *testing.T) {
		work := t.TempDir()
		r := tagprune(t, cmd{args: []string{"restore", report}, env: apiEnv(srv), dir: work, stdin: strings.NewReader("yes\n")})
		require.Equal(t, exitError, r.code, r.stdout+r.stderr)
		assert.Contains(t, r.stderr, "refused: stdin is not a terminal")
		assert.Equal(t, sent, writes(), "nothing is sent")
		rep := readReport(t, filepath.Join(work, "tagprune-restore-report.json"))
		assert.Equal(t, "restore", rep.Command)
		assert.Contains(t, rep.Error, "refused")
		assert.Equal(t, 4, rep.Summary.FilesPending)
	})
	t.Run("RefusesToOverwriteItsInput", func(t *testing.T) {
		r := tagprune(t, cmd{args: []string{"restore", report, "--report", report, "--auto-approve"}, env: apiEnv(srv)})
		require.Equal(t, exitError, r.code, r.stdout+r.stderr)
		assert.Contains(t, r.stderr, "is the same file as REPORT")
		assert.Equal(t, sent, writes())
	})
	t.Run("RefusesAPlanReport", func(t *testing.T) {
		planReport := filepath.Join(t.TempDir(), "plan.json")
		r := tagprune(t, cmd{args: []string{"plan", "-f", manifest, "--report", planReport}, env: apiEnv(srv)})
		require.Equal(t, 0, r.code, r.stderr)
		r = tagprune(t, cmd{args: []string{"restore", planReport, "--auto-approve"}, env: apiEnv(srv), dir: t.TempDir()})
		require.Equal(t, exitError, r.code, r.stdout+r.stderr)
		assert.Contains(t, r.stderr, "this is the report of a plan, which changed nothing")
	})
	t.Run("ADeletedFileIsMissing", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodDelete, srv.URL+"/v1/files/s3", nil)
		require.NoError(t, err)
		req.SetBasicAuth(testKey, "")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)

		out := filepath.Join(t.TempDir(), "restore.json")
		r := tagprune(t, cmd{args: []string{"restore", report, "--auto-approve", "--report", out}, env: apiEnv(srv)})
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		assert.Contains(t, r.stdout, "No longer in the library (1 file): nothing to restore on them\n  /shop/3.jpg (s3)\n")
		rep := readReport(t, out)
		assert.Equal(t, 1, rep.Summary.FilesMissing)
		assert.Equal(t, 3, rep.Summary.FilesChanged)
		for _, f := range srv.Handler().Files() {
			want := tagsByID(files)[f.FileID]
			assert.ElementsMatch(t, want, f.Tags, "%s has its tags back", f.FileID)
		}
	})
}

// restore works on a --library snapshot, and writes it back.
func TestRestoreWithALibraryFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lib := filepath.Join(dir, "library.json")
	files := restoreLibrary()
	data, err := json.Marshal(files)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(lib, data, 0o644))
	manifest := writeManifest(t, dir, restoreManifest)
	report := filepath.Join(dir, "apply.json")
	r := tagprune(t, cmd{args: []string{"apply", "-f", manifest, "--library", lib, "--auto-approve", "--report", report}})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	r = tagprune(t, cmd{args: []string{"restore", report, "--library", lib, "--auto-approve", "--report", filepath.Join(dir, "restore.md")}})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	back, err := imagekittest.LoadLibrary(lib)
	require.NoError(t, err)
	assert.Equal(t, sortedTags(files), sortedTags(back))
	md, err := os.ReadFile(filepath.Join(dir, "restore.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "## tagprune restore report")
	assert.Contains(t, string(md), "These files were restored")
}
