package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/reconcile"
)

// The end-to-end tests of the promise at its edges: a saved plan that an
// ordinary edit or a move made unsafe, a plan edited by hand or made from
// another library, a --library snapshot kept byte for byte, one call the
// API refuses, manifests that are named pipes, huge or explicitly tagged.
// Each drives the built binary; the expected states are written out by hand.

// Times of the saved-plan scenario: files last updated in 2023, a rule for
// files not updated since June 2024, and an emulator clock after that, so
// that an edit takes a file out of the rule.
var (
	in2023     = time.Date(2023, time.March, 1, 12, 0, 0, 0, time.UTC)
	editedAt   = time.Date(2025, time.January, 15, 12, 0, 0, 0, time.UTC)
	emulatorAt = imagekittest.WithClock(func() time.Time { return editedAt })
)

// promiseFile is a file of these tests' libraries, created and last updated
// at updated.
func promiseFile(id, filePath string, updated time.Time, tags ...string) imagekittest.File {
	return imagekittest.File{
		FileID: id, Type: "file", Name: filepath.Base(filePath), FilePath: filePath,
		Tags: tags, FileType: "image", CreatedAt: updated, UpdatedAt: updated,
	}
}

// The ids of the saved-plan scenario's files, /a/f.jpg and /a/g.jpg.
const (
	fileF = "64f000000000000000000001"
	fileG = "64f000000000000000000002"
)

// staleFilesRules are the rules of the saved-plan scenario: stale-files
// forbids x and y on files of /a/ not updated since June 2024, no-x forbids
// x on every file of its folders.
func staleFilesRules(noXPaths string) string {
	return `  - name: stale-files
    files:
      paths: [/a/]
      searchQuery: 'updatedAt < "2024-06-01"'
    forbiddenTags: [x, y]
  - name: no-x
    files:
      paths: [` + noXPaths + `]
    forbiddenTags: [x]
`
}

// requireScenarioPlan checks the saved plan of the scenario: f loses x, g
// loses x and y, and, since y is forbidden for f too, one call removes x
// and y from both.
func requireScenarioPlan(t *testing.T, plan *reconcile.Plan) {
	t.Helper()
	removals := map[string][]string{}
	for _, c := range plan.Changes {
		removals[c.FileID] = c.RemoveTags
	}
	require.Equal(t, map[string][]string{fileF: {"x"}, fileG: {"x", "y"}}, removals)
	require.Len(t, plan.Batches, 1, "one call for both files")
	require.ElementsMatch(t, []string{fileF, fileG}, plan.Batches[0].FileIDs)
	require.Equal(t, []string{"x", "y"}, plan.Batches[0].Tags)
}

// requireTagsNow checks the tags of the files of srv against want.
func requireTagsNow(t *testing.T, srv *imagekittest.Server, want map[string][]string) {
	t.Helper()
	got := tagsByID(srv.Handler().Files())
	for id, tags := range want {
		if len(tags) == 0 && len(got[id]) == 0 {
			continue
		}
		require.Equal(t, tags, got[id], "tags of %s", id)
	}
}

// switchboard is an HTTP server on loopback that forwards every request to
// one emulator until it is switched to another: the same API before and
// after a change the emulator has no endpoint for, such as a file moved to
// another folder.
type switchboard struct {
	URL string

	mu    sync.Mutex
	proxy *httputil.ReverseProxy
}

// newSwitchboard starts a switchboard that forwards to srv; it is closed
// when the test ends.
func newSwitchboard(t *testing.T, srv *imagekittest.Server) *switchboard {
	t.Helper()
	s := &switchboard{}
	s.switchTo(t, srv)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		p := s.proxy
		s.mu.Unlock()
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// switchTo forwards every later request to srv.
func (s *switchboard) switchTo(t *testing.T, srv *imagekittest.Server) {
	t.Helper()
	target, err := url.Parse(srv.URL)
	require.NoError(t, err)
	s.mu.Lock()
	s.proxy = httputil.NewSingleHostReverseProxy(target)
	s.mu.Unlock()
}

// A saved plan is checked against what the library is when it is applied,
// not only against what each file would lose: a plan whose one call removes
// x and y from f (y forbidden for f only by a rule of stale files) and g is
// refused once an ordinary edit adds y to f (the edit makes f recent, so no
// rule forbids y for it), or once f moves to a folder where only x is
// forbidden. Nothing is sent, and f keeps y. The unedited plan applies.
func TestPromiseSavedPlanWhenAFileLeavesARule(t *testing.T) {
	t.Parallel()
	library := func(fPath string) []imagekittest.File {
		return []imagekittest.File{
			promiseFile(fileF, fPath, in2023, "x"),
			promiseFile(fileG, "/a/g.jpg", in2023, "x", "y"),
		}
	}

	t.Run("UneditedPlanApplies", func(t *testing.T) {
		t.Parallel()
		srv := emulator(t, library("/a/f.jpg"), emulatorAt)
		m := writeFidelityManifest(t, staleFilesRules("/a/"))
		planFile, plan := savePlan(t, srv, m)
		requireScenarioPlan(t, plan)

		r := tagprune(t, cmd{args: []string{"apply", planFile, "--report", filepath.Join(t.TempDir(), "r.json")}, env: apiEnv(srv)})
		require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
		requireTagsNow(t, srv, map[string][]string{fileF: nil, fileG: nil})
		calls := removeTagsCalls(t, emulatorRequests(t, srv))
		require.Len(t, calls, 1, "the plan's one call")
		assert.ElementsMatch(t, []string{fileF, fileG}, calls[0].FileIDs)
		assert.Equal(t, []string{"x", "y"}, calls[0].Tags)
	})

	t.Run("EditThatTakesTheFileOutOfARuleIsStale", func(t *testing.T) {
		t.Parallel()
		srv := emulator(t, library("/a/f.jpg"), emulatorAt)
		m := writeFidelityManifest(t, staleFilesRules("/a/"))
		planFile, plan := savePlan(t, srv, m)
		requireScenarioPlan(t, plan)
		// Someone adds y to f, as a user would; the edit makes f recent.
		callAPI(t, srv, http.MethodPost, "/v1/files/addTags", map[string]any{"fileIds": []string{fileF}, "tags": []string{"y"}}, http.StatusOK)
		for _, f := range srv.Handler().Files() {
			if f.FileID == fileF {
				require.Equal(t, editedAt, f.UpdatedAt.UTC(), "the edit bumped f's updatedAt")
			}
		}
		report := filepath.Join(t.TempDir(), "r.json")

		r := tagprune(t, cmd{args: []string{"apply", planFile, "--report", report}, env: apiEnv(srv)})
		require.Equal(t, exitStale, r.code, r.stdout+r.stderr)
		assert.Contains(t, r.stderr, "stale")
		assert.Contains(t, r.stderr, "/a/f.jpg")
		assert.Contains(t, r.stdout, "Apply refused")
		assert.Empty(t, removeTagsCalls(t, emulatorRequests(t, srv)), "a stale plan sends no call")
		requireTagsNow(t, srv, map[string][]string{fileF: {"x", "y"}, fileG: {"x", "y"}})
		for _, f := range readReport(t, report).Files {
			assert.Equal(t, reconcile.StatusPending, f.Status, f.FilePath)
		}

		// Planned again, f loses only x: y is no longer forbidden for it.
		r = tagprune(t, cmd{args: []string{"apply", "-f", m, "--auto-approve", "--report", report}, env: apiEnv(srv)})
		require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
		requireTagsNow(t, srv, map[string][]string{fileF: {"y"}, fileG: nil})
	})

	t.Run("MoveToAnotherFolderIsStale", func(t *testing.T) {
		t.Parallel()
		// no-x also governs /archive/, so f, moved there, still loses x
		// and only x: what it would lose is unchanged, but y is no longer
		// forbidden for it.
		m := writeFidelityManifest(t, staleFilesRules("/a/, /archive/"))
		before := emulator(t, library("/a/f.jpg"), emulatorAt)
		moved := emulator(t, library("/archive/f.jpg"), emulatorAt)
		sw := newSwitchboard(t, before)
		planFile, plan := savePlanVia(t, before, sw.URL, m)
		requireScenarioPlan(t, plan)
		sw.switchTo(t, moved)

		r := tagprune(t, cmd{args: []string{"apply", planFile, "--report", filepath.Join(t.TempDir(), "r.json")}, env: urlEnv(sw.URL)})
		require.Equal(t, exitStale, r.code, r.stdout+r.stderr)
		assert.Contains(t, r.stderr, "moved to /archive/f.jpg")
		assert.Empty(t, removeTagsCalls(t, emulatorRequests(t, moved)), "a stale plan sends no call")
		assert.Empty(t, removeTagsCalls(t, emulatorRequests(t, before)))
		requireTagsNow(t, moved, map[string][]string{fileF: {"x"}, fileG: {"x", "y"}})
	})
}

// The ids of the hand-edited plan's files, /a/x1.jpg and /b/y1.jpg.
const (
	fileX1 = "64e000000000000000000001"
	fileY1 = "64e000000000000000000002"
)

// A plan file edited by hand so that a file loses a tag that none of the
// rules selecting it forbids is refused before any request (exit 1), its
// rules and rulesDigest untouched: the plan says x1 (in /a/) is governed by
// R2 too and its call removes y, but R2 governs /b/ only. Each edit is one
// a hand could make; x1 keeps y. (A plan whose rules no longer match its
// rulesDigest is refused by TestTamperedPlanRefused and
// TestApplyRefusesBadPlanFiles.)
func TestPromiseHandEditedPlanIsRefused(t *testing.T) {
	t.Parallel()
	rules := `  - name: R1
    files: {paths: [/a/]}
    forbiddenTags: [x]
  - name: R2
    files: {paths: [/b/]}
    forbiddenTags: [y]
`
	change := func(t *testing.T, plan map[string]any, id string) map[string]any {
		t.Helper()
		for _, c := range plan["changes"].([]any) {
			if c := c.(map[string]any); c["fileId"] == id {
				return c
			}
		}
		t.Fatalf("no change for %s", id)
		return nil
	}
	batchOf := func(t *testing.T, plan map[string]any, id string) map[string]any {
		t.Helper()
		for _, b := range plan["batches"].([]any) {
			if b := b.(map[string]any); containsAny(b["fileIds"].([]any), id) {
				return b
			}
		}
		t.Fatalf("no batch for %s", id)
		return nil
	}
	tests := []struct {
		name string
		edit func(t *testing.T, plan map[string]any)
	}{
		{"RulesAndCallWidened", func(t *testing.T, plan map[string]any) {
			change(t, plan, fileX1)["rules"] = []string{"R1", "R2"}
			batchOf(t, plan, fileX1)["tags"] = []string{"x", "y"}
		}},
		{"RulesRemovalsAndCallWidened", func(t *testing.T, plan map[string]any) {
			c := change(t, plan, fileX1)
			c["rules"] = []string{"R1", "R2"}
			c["removeTags"] = []string{"x", "y"}
			batchOf(t, plan, fileX1)["tags"] = []string{"x", "y"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := []imagekittest.File{
				promiseFile(fileX1, "/a/x1.jpg", in2023, "x", "y", "keep"),
				promiseFile(fileY1, "/b/y1.jpg", in2023, "y", "keep"),
			}
			srv := emulator(t, files)
			planFile, _ := savePlan(t, srv, writeFidelityManifest(t, rules))
			raw, err := os.ReadFile(planFile)
			require.NoError(t, err)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(raw, &doc))
			rulesBefore := string(mustJSON(t, []any{doc["rules"], doc["rulesDigest"]}))
			tt.edit(t, doc)
			require.Equal(t, rulesBefore, string(mustJSON(t, []any{doc["rules"], doc["rulesDigest"]})), "the rules and their digest are untouched")
			require.NoError(t, os.WriteFile(planFile, mustJSON(t, doc), 0o644))
			planned := len(emulatorRequests(t, srv))

			report := filepath.Join(t.TempDir(), "r.json")
			r := tagprune(t, cmd{args: []string{"apply", planFile, "--report", report}, env: apiEnv(srv)})
			require.Equal(t, exitError, r.code, r.stdout+r.stderr)
			requireNoPanic(t, r.stderr)
			assert.Contains(t, r.stderr, planFile)
			assert.Contains(t, r.stderr, "plan is inconsistent")
			assert.Contains(t, r.stderr, `would remove tag "y" from file `+fileX1+" (/a/x1.jpg)")
			assert.Len(t, emulatorRequests(t, srv), planned, "the refusal comes before any request, not even a read")
			requireTagsNow(t, srv, tagsByID(files))
			assert.Contains(t, readReport(t, report).Error, "plan is inconsistent")
		})
	}
}

// A saved plan applies only to the library it was made from: made against
// one API and applied against another, made on a snapshot and applied
// against the API, or the other way round, it is refused with exit 1, a
// message that names both, and no request.
func TestPromiseSavedPlanFromAnotherSourceIsRefused(t *testing.T) {
	t.Parallel()
	files := []imagekittest.File{promiseFile(fileX1, "/a/x1.jpg", in2023, "x", "keep")}
	rules := "  - name: R1\n    files: {paths: [/a/]}\n    forbiddenTags: [x]\n"
	snapshot := func(t *testing.T, dir string) string {
		t.Helper()
		var b bytes.Buffer
		require.NoError(t, imagekittest.EncodeLibrary(&b, files))
		path := filepath.Join(dir, "lib.json")
		require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
		return path
	}
	requireRefused := func(t *testing.T, r result, from, to string) {
		t.Helper()
		require.Equal(t, exitError, r.code, r.stdout+r.stderr)
		requireNoPanic(t, r.stderr)
		assert.Contains(t, r.stderr, "the plan was made from "+from+" but would be applied to "+to)
	}

	t.Run("AnotherAPIURL", func(t *testing.T) {
		t.Parallel()
		planned, other := emulator(t, files), emulator(t, files)
		planFile, _ := savePlan(t, planned, writeFidelityManifest(t, rules))
		before := emulatorStats(t, planned)
		r := tagprune(t, cmd{args: []string{"apply", planFile, "--report", filepath.Join(t.TempDir(), "r.json")}, env: apiEnv(other)})
		requireRefused(t, r, "the API at "+planned.URL, "the API at "+other.URL)
		requireNoRequests(t, other)
		assert.Equal(t, before, emulatorStats(t, planned))
		requireTagsNow(t, other, tagsByID(files))
	})

	t.Run("SnapshotPlanAppliedToTheAPI", func(t *testing.T) {
		t.Parallel()
		srv := emulator(t, files)
		dir := t.TempDir()
		lib := snapshot(t, dir)
		r := tagprune(t, cmd{args: []string{"plan", "-f", writeFidelityManifest(t, rules), "--library", lib, "--out", "plan.json"}, dir: dir})
		require.Equal(t, exitOK, r.code, r.stderr)
		r = tagprune(t, cmd{args: []string{"apply", "plan.json", "--report", "r.json"}, env: apiEnv(srv), dir: dir})
		requireRefused(t, r, "the library file "+lib, "the API at "+srv.URL)
		requireNoRequests(t, srv)
	})

	t.Run("APIPlanAppliedToASnapshot", func(t *testing.T) {
		t.Parallel()
		srv := emulator(t, files)
		planFile, _ := savePlan(t, srv, writeFidelityManifest(t, rules))
		before := emulatorStats(t, srv)
		dir := t.TempDir()
		lib := snapshot(t, dir)
		was, err := os.ReadFile(lib)
		require.NoError(t, err)
		r := tagprune(t, cmd{args: []string{"apply", planFile, "--library", lib, "--report", filepath.Join(dir, "r.json")}, dir: dir})
		requireRefused(t, r, "the API at "+srv.URL, "the library file "+lib)
		assert.Equal(t, before, emulatorStats(t, srv))
		now, err := os.ReadFile(lib)
		require.NoError(t, err)
		assert.Equal(t, string(was), string(now), "the snapshot is not written")
	})
}

// keptLibrary is a snapshot as a user may hold one: fields in an unusual
// order, fields the emulator does not know (description, embeddedMetadata,
// x-future), numbers no float64 holds, an object spread over several lines,
// and none of the fields a decoder would add back as defaults. The rule
// no-sale changes a.jpg and c.jpg; b.jpg and d.jpg stay as they are.
const keptLibrary = `[
 {"filePath": "/shop/a.jpg", "tags": ["sale", "keep"], "fileId": "64b000000000000000000001", "description": "Red shoe, side view", "customMetadata": {"sku": 12345678901234567890, "price": 1.10}, "embeddedMetadata": {"Keywords": ["shoe"], "ExposureTime": 0.000125}, "name": "a.jpg", "type": "file", "updatedAt": "2023-01-02T03:04:05.000Z"},
 {"fileId": "64b000000000000000000002", "type": "file", "filePath": "/shop/b.jpg", "tags": ["keep"], "x-future": {"nested": [1, 2.50, null]}},
 {
    "type": "file",
    "fileId": "64b000000000000000000003",
    "filePath": "/shop/c.jpg",
    "tags": [ "sale" ],
    "customMetadata": {"sku": 98765432109876543210}
 },
 {"fileId": "64b000000000000000000004", "filePath": "/other/d.jpg", "tags": ["sale"], "AITags": [{"name": "Shoe", "confidence": 97.50, "source": "google-auto-tagging"}]}
]
`

// noSaleRules forbid sale in /shop/, and old there too: old is on no file
// of keptLibrary until a test puts it there.
const noSaleRules = "  - name: no-sale\n    files: {paths: [/shop/]}\n    forbiddenTags: [sale, old]\n"

// member is one member of a JSON object, its value as written.
type member struct {
	key   string
	value string
}

// rawObjects returns the objects of a JSON array by fileId, each exactly as
// written.
func rawObjects(t *testing.T, data []byte) map[string]string {
	t.Helper()
	var raws []json.RawMessage
	require.NoError(t, json.Unmarshal(data, &raws))
	out := make(map[string]string, len(raws))
	for _, r := range raws {
		var head struct {
			FileID string `json:"fileId"`
		}
		require.NoError(t, json.Unmarshal(r, &head))
		out[head.FileID] = string(r)
	}
	return out
}

// membersBut returns the members of a JSON object in their order, values as
// written, leaving out the keys named.
func membersBut(t *testing.T, object string, leaveOut ...string) []member {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(object))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	var out []member
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		var v json.RawMessage
		require.NoError(t, dec.Decode(&v))
		if !slices.Contains(leaveOut, k.(string)) {
			out = append(out, member{k.(string), string(v)})
		}
	}
	return out
}

// tagsOf returns the tags of a JSON file object (nil for null or none).
func tagsOf(t *testing.T, object string) []string {
	t.Helper()
	var f struct {
		Tags []string `json:"tags"`
	}
	require.NoError(t, json.Unmarshal([]byte(object), &f))
	return f.Tags
}

// requireOnlyTagsChanged checks a snapshot written back against the one
// read: the objects of unchanged files are byte for byte as they were; in
// the others, tags equal want and every member but tags and updatedAt is
// as it was, in its place.
func requireOnlyTagsChanged(t *testing.T, before, after []byte, want map[string][]string) {
	t.Helper()
	was, now := rawObjects(t, before), rawObjects(t, after)
	require.Len(t, now, len(was), "no file is added or lost")
	for id, obj := range was {
		require.Contains(t, now, id)
		tags, changed := want[id]
		if !changed {
			assert.Equal(t, obj, now[id], "file %s is written byte for byte as it was read", id)
			continue
		}
		assert.Equal(t, tags, tagsOf(t, now[id]), "tags of %s", id)
		assert.Equal(t, membersBut(t, obj, "tags", "updatedAt"), membersBut(t, now[id], "tags", "updatedAt"),
			"file %s keeps every member but its tags and updatedAt, as written", id)
	}
}

// requireUntouched checks that the file at path is the one stat describes,
// not rewritten (same inode, same modification time) and holding want.
func requireUntouched(t *testing.T, path string, stat os.FileInfo, want []byte) {
	t.Helper()
	now, err := os.Stat(path)
	require.NoError(t, err)
	assert.True(t, os.SameFile(stat, now), "the snapshot is not replaced")
	assert.Equal(t, stat.ModTime(), now.ModTime(), "the snapshot is not written")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(data), "the snapshot is byte for byte as it was")
}

// writeAged writes data to path with a modification time in the past, so
// that any write shows in it.
func writeAged(t *testing.T, path string, data []byte) os.FileInfo {
	t.Helper()
	require.NoError(t, os.WriteFile(path, data, 0o644))
	require.NoError(t, os.Chtimes(path, in2023, in2023))
	info, err := os.Stat(path)
	require.NoError(t, err)
	return info
}

// --library works on the snapshot the user gave: a run that changes
// nothing (a plan, an apply with no changes, a refused apply, a stale saved
// plan) writes nothing, and an apply that changes tags rewrites only the
// tags and updatedAt of the files it changed, keeps every other byte of
// every object, and writes through a symlink to its target.
func TestPromiseLibrarySnapshotIsKept(t *testing.T) {
	t.Parallel()
	manifest := writeFidelityManifest(t, noSaleRules)
	changed := map[string][]string{"64b000000000000000000001": {"keep"}, "64b000000000000000000003": nil}

	t.Run("PlanAndApplyWithNoChangesWriteNothing", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		lib := filepath.Join(dir, "lib.json")
		stat := writeAged(t, lib, []byte(keptLibrary))
		r := tagprune(t, cmd{args: []string{"plan", "-f", manifest, "--library", lib}, dir: dir})
		require.Equal(t, exitOK, r.code, r.stderr)
		require.Contains(t, r.stdout, "Plan: 2 files to change")
		requireUntouched(t, lib, stat, []byte(keptLibrary))

		nothing := writeFidelityManifest(t, "  - name: none\n    files: {paths: [/]}\n    forbiddenTags: [absent]\n")
		r = tagprune(t, cmd{args: []string{"apply", "-f", nothing, "--library", lib, "--auto-approve", "--report", "r.json"}, dir: dir})
		require.Equal(t, exitOK, r.code, r.stderr)
		require.Contains(t, r.stdout, reconcile.NoChangesText)
		requireUntouched(t, lib, stat, []byte(keptLibrary))
	})

	t.Run("ApplyChangesOnlyTheTagsOfChangedFiles", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		lib := filepath.Join(dir, "lib.json")
		writeAged(t, lib, []byte(keptLibrary))
		r := tagprune(t, cmd{args: []string{"apply", "-f", manifest, "--library", lib, "--auto-approve", "--report", "r.json"}, dir: dir})
		require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
		after, err := os.ReadFile(lib)
		require.NoError(t, err)
		requireOnlyTagsChanged(t, []byte(keptLibrary), after, changed)
		for _, sku := range []string{`"sku": 12345678901234567890`, `"sku": 98765432109876543210`} {
			assert.True(t, strings.Contains(string(after), sku), "%s is kept as written", sku)
		}
	})

	t.Run("SymlinkStaysALinkAndItsTargetChanges", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		require.NoError(t, os.Mkdir(filepath.Join(dir, "data"), 0o755))
		target := filepath.Join(dir, "data", "lib.json")
		writeAged(t, target, []byte(keptLibrary))
		link := filepath.Join(dir, "lib.json")
		require.NoError(t, os.Symlink(filepath.Join("data", "lib.json"), link))

		r := tagprune(t, cmd{args: []string{"apply", "-f", manifest, "--library", "lib.json", "--auto-approve", "--report", "r.json"}, dir: dir})
		require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
		info, err := os.Lstat(link)
		require.NoError(t, err)
		require.NotZero(t, info.Mode()&os.ModeSymlink, "the link is still a link")
		dest, err := os.Readlink(link)
		require.NoError(t, err)
		assert.Equal(t, filepath.Join("data", "lib.json"), dest, "and points where it did")
		after, err := os.ReadFile(target)
		require.NoError(t, err)
		requireOnlyTagsChanged(t, []byte(keptLibrary), after, changed)
	})

	t.Run("RefusedApplyWritesNothing", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		lib := filepath.Join(dir, "lib.json")
		stat := writeAged(t, lib, []byte(keptLibrary))
		r := tagprune(t, cmd{args: []string{"apply", "-f", manifest, "--library", lib, "--auto-approve", "--max-changes", "1", "--report", "r.json"}, dir: dir})
		require.Equal(t, exitError, r.code, r.stdout+r.stderr)
		require.Contains(t, r.stderr, "more than --max-changes 1")
		requireUntouched(t, lib, stat, []byte(keptLibrary))
	})

	t.Run("StaleSavedPlanWritesNothing", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		lib := filepath.Join(dir, "lib.json")
		writeAged(t, lib, []byte(keptLibrary))
		r := tagprune(t, cmd{args: []string{"plan", "-f", manifest, "--library", "lib.json", "--out", "plan.json"}, dir: dir})
		require.Equal(t, exitOK, r.code, r.stderr)
		// An edit by hand between plan and apply: c.jpg gets a forbidden tag.
		edited := strings.Replace(keptLibrary, `"tags": [ "sale" ]`, `"tags": [ "sale", "old" ]`, 1)
		require.NotEqual(t, keptLibrary, edited)
		stat := writeAged(t, lib, []byte(edited))

		r = tagprune(t, cmd{args: []string{"apply", "plan.json", "--library", "lib.json", "--report", "r.json"}, dir: dir})
		require.Equal(t, exitStale, r.code, r.stdout+r.stderr)
		require.Contains(t, r.stderr, "/shop/c.jpg")
		requireUntouched(t, lib, stat, []byte(edited))
	})

	t.Run("ExportThenApplyKeepsEveryField", func(t *testing.T) {
		t.Parallel()
		srv := rawEmulator(t, fidelityLibrary)
		dir := t.TempDir()
		r := tagprune(t, cmd{args: []string{"export", "--out", "snapshot.json"}, env: apiEnv(srv), dir: dir})
		require.Equal(t, exitOK, r.code, r.stderr)
		exported, err := os.ReadFile(filepath.Join(dir, "snapshot.json"))
		require.NoError(t, err)
		m := writeFidelityManifest(t, "  - name: no-sale2019\n    files: {paths: [/products/]}\n    forbiddenTags: [sale2019]\n")

		r = tagprune(t, cmd{args: []string{"apply", "-f", m, "--library", "snapshot.json", "--auto-approve", "--report", "r.json"}, dir: dir})
		require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
		applied, err := os.ReadFile(filepath.Join(dir, "snapshot.json"))
		require.NoError(t, err)
		requireOnlyTagsChanged(t, exported, applied, map[string][]string{
			"5e21880d5efe355febd4bccd": {"hero"},
			"5e1c13c1c55ec3437c451403": nil,
		})
		// And every member the API sent is still there, as the API sent it.
		api, now := objectsOf(t, []byte(fidelityLibrary)), objectsOf(t, applied)
		for id, obj := range api {
			assert.Equal(t, membersBut(t, obj, "tags", "updatedAt"), membersBut(t, now[id], "tags", "updatedAt"), "file %s", id)
		}
	})
}

// badRequestFront answers 400 to every removeTags call that names the file
// refused, as the API answers a call it cannot take, and forwards the rest
// to srv. It returns the front and the message of its answer.
func badRequestFront(t *testing.T, srv *imagekittest.Server, refused string) (*front, string) {
	t.Helper()
	msg := "the test API cannot take a call for file " + refused
	f := newFront(t, srv, func(w http.ResponseWriter, r *http.Request) bool {
		if !isRemoveTags(r) {
			return false
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return false
		}
		r.Body = io.NopCloser(bytes.NewReader(b)) // forwarded as it came
		var body struct {
			FileIDs []string `json:"fileIds"`
		}
		if json.Unmarshal(b, &body) != nil || !slices.Contains(body.FileIDs, refused) {
			return false
		}
		answer, _ := json.Marshal(map[string]string{"message": msg})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(answer)
		return true
	})
	return f, msg
}

// A call the API refuses as a bad request does not stop the apply: the
// planner never asks to remove the empty tag (the API refuses it), and a
// call refused with 400 is split until the file it cannot take is alone,
// that file failed with the API's message and every other file changed.
// The run exits 3, and a second run ends too, on that file alone.
func TestPromiseOneBadRequestDoesNotStopTheApply(t *testing.T) {
	t.Parallel()

	t.Run("EmptyTagMatchedByAStarIsLeftAlone", func(t *testing.T) {
		t.Parallel()
		files := []imagekittest.File{
			promiseFile("64d000000000000000000001", "/m/e.jpg", in2023, "", "old"),
			promiseFile("64d000000000000000000002", "/m/f.jpg", in2023, "old", "older"),
		}
		srv := emulator(t, files)
		m := writeFidelityManifest(t, "  - name: clear\n    files: {paths: [/m/]}\n    forbiddenTags: [\"*\"]\n")
		r := tagprune(t, cmd{args: []string{"apply", "-f", m, "--auto-approve", "--report", filepath.Join(t.TempDir(), "r.json")}, env: apiEnv(srv)})
		require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
		requireTagsNow(t, srv, map[string][]string{"64d000000000000000000001": {""}, "64d000000000000000000002": nil})
		for _, c := range removeTagsCalls(t, emulatorRequests(t, srv)) {
			assert.NotContains(t, c.Tags, "", "no call names the empty tag")
			assert.Equal(t, http.StatusOK, c.Status)
		}
		r = tagprune(t, cmd{args: []string{"plan", "-f", m, "--detailed-exitcode"}, env: apiEnv(srv)})
		require.Equal(t, exitOK, r.code, "the next plan finds nothing to do:\n%s\n%s", r.stdout, r.stderr)
	})

	t.Run("RefusedFileFailsAndTheRestChanges", func(t *testing.T) {
		t.Parallel()
		var files []imagekittest.File
		want := map[string][]string{}
		for i := range 9 {
			id := fmt.Sprintf("64c0000000000000000000%02d", i)
			files = append(files, promiseFile(id, fmt.Sprintf("/m/p%d.jpg", i), in2023, "old", "keep"))
			want[id] = []string{"keep"}
		}
		for i := range 3 {
			id := fmt.Sprintf("64c0000000000000000001%02d", i)
			files = append(files, promiseFile(id, fmt.Sprintf("/n/q%d.jpg", i), in2023, "legacy"))
			want[id] = nil
		}
		refused := files[3].FileID
		want[refused] = []string{"old", "keep"}
		srv := emulator(t, files)
		f, msg := badRequestFront(t, srv, refused)
		m := writeFidelityManifest(t, `  - name: no-old
    files: {paths: [/m/]}
    forbiddenTags: [old]
  - name: no-legacy
    files: {paths: [/n/]}
    forbiddenTags: [legacy]
`)
		report := filepath.Join(t.TempDir(), "r.json")
		r := tagprune(t, cmd{args: []string{"apply", "-f", m, "--auto-approve", "--report", report}, env: urlEnv(f.URL)})
		require.Equal(t, exitIncomplete, r.code, r.stdout+r.stderr)
		requireTagsNow(t, srv, want)
		rep := readReport(t, report)
		for _, file := range rep.Files {
			if file.FileID == refused {
				assert.Equal(t, reconcile.StatusFailed, file.Status)
				assert.Contains(t, file.Error, "HTTP 400")
				assert.Contains(t, file.Error, msg, "the API's message")
				continue
			}
			assert.Equal(t, reconcile.StatusChanged, file.Status, file.FilePath)
		}
		assert.Equal(t, 1, rep.Summary.FilesFailed)
		assert.Equal(t, len(files)-1, rep.Summary.FilesChanged)

		// A second run tries the refused file alone, once, and ends.
		taken := f.taken.Load()
		r = tagprune(t, cmd{args: []string{"apply", "-f", m, "--auto-approve", "--report", report}, env: urlEnv(f.URL)})
		require.Equal(t, exitIncomplete, r.code, r.stdout+r.stderr)
		assert.Equal(t, taken+1, f.taken.Load(), "one call, refused once, for the one file left")
		rep = readReport(t, report)
		require.Len(t, rep.Files, 1)
		assert.Equal(t, reconcile.StatusFailed, rep.Files[0].Status)
		requireTagsNow(t, srv, want)
	})
}

// A named pipe given as a manifest, or found in a manifest directory, is
// refused at once with a message that names it: nothing blocks on it, and
// no request is sent.
func TestPromiseFifoManifestIsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) (arg, named string)
	}{
		{"FifoAsTheManifest", func(t *testing.T, dir string) (string, string) {
			require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo.yaml"), 0o600))
			return "fifo.yaml", "fifo.yaml"
		}},
		{"FifoInAManifestDirectory", func(t *testing.T, dir string) (string, string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "manifests"), 0o755))
			copyFile(t, exampleManifest, filepath.Join(dir, "manifests", "a.yaml"))
			require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "manifests", "b.yaml"), 0o600))
			return "manifests", filepath.Join("manifests", "b.yaml")
		}},
	}
	for _, tt := range tests {
		for _, command := range []string{"validate", "plan"} {
			t.Run(tt.name+"/"+command, func(t *testing.T) {
				t.Parallel()
				srv := emulator(t, exampleLibrary(t))
				dir := t.TempDir()
				arg, named := tt.setup(t, dir)
				r := tagprune(t, cmd{args: []string{command, "-f", arg}, env: apiEnv(srv), dir: dir, timeout: hostile})
				require.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
				requireNoPanic(t, r.stderr)
				assert.Contains(t, r.stderr, named+": manifest is a named pipe (FIFO), not a regular file")
				requireNoRequests(t, srv)
			})
		}
	}
}

// manyFileIDs is how many fileIds the large manifest lists: enough that
// removing duplicates in quadratic time would never end.
const manyFileIDs = 400_000

// writeManyFileIDsManifest writes a manifest whose one rule lists
// manyFileIDs distinct fileIds, and returns its path and size.
func writeManyFileIDsManifest(t *testing.T) (string, int64) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("version: 1\nrules:\n  - name: many-files\n    files:\n      fileIds: [")
	for i := range manyFileIDs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "64a0%020x", i)
	}
	b.WriteString("]\n    forbiddenTags: [legacy]\n")
	path := filepath.Join(t.TempDir(), "many.yaml")
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	return path, int64(b.Len())
}

// A manifest of 400,000 fileIds loads: validate ends, well within the
// timeout, and says the manifest is fine.
func TestPromiseManyFileIDsLoad(t *testing.T) {
	t.Parallel()
	m, _ := writeManyFileIDsManifest(t)
	r := tagprune(t, cmd{args: []string{"validate", "-f", m}, timeout: time.Minute})
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Manifest OK: 1 rule")
}

// bytesRead returns how many bytes the process pid has read so far
// (rchar in /proc/PID/io), and false once it has exited.
func bytesRead(t *testing.T, pid int) (int64, bool) {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "rchar:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			require.NoError(t, err)
			return n, true
		}
	}
	t.Fatalf("no rchar in /proc/%d/io:\n%s", pid, b)
	return 0, false
}

// A SIGINT once the binary has read a large manifest ends the run with
// exit 130 and no request: whether the signal finds it still loading the
// manifest or about to read the library (the gate holds every page), it
// stops. The test waits for the process to have read the manifest's bytes
// (so its signal handling is set up), never for a duration.
func TestPromiseSignalWhileLoadingAManifest(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("waits on /proc/PID/io, which only Linux has")
	}
	m, size := writeManyFileIDsManifest(t)
	srv := emulator(t, nil)
	g := newGateFor(t, srv, isList)
	run := startTagprune(t, cmd{args: []string{"plan", "-f", m}, env: urlEnv(g.URL)})
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		n, alive := bytesRead(t, run.x.Process.Pid)
		require.True(t, alive, "tagprune ended before it read the manifest:\n%s", run.stderr.String())
		if n >= size {
			break
		}
		require.True(t, time.Now().Before(deadline), "tagprune did not read the manifest within a minute")
	}
	run.signal(t, os.Interrupt)
	res := run.wait(t)

	require.Equal(t, exitInterrupted, res.code, "stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	requireNoPanic(t, res.stderr)
	assert.Contains(t, res.stderr, "stopping: ")
	assert.Contains(t, res.stderr, "interrupted while")
	assert.Empty(t, res.stdout, "an interrupted plan shows no plan")
	requireNoRequests(t, srv)
}

// Explicit YAML tags in a manifest are refused, each where it is written:
// validate and plan exit 1 with file:line:col and the tag, and plan sends
// no request.
func TestPromiseYAMLTagsAreRefusedWhereWritten(t *testing.T) {
	t.Parallel()
	m := writeFidelityManifest(t, `  - name: !!str retire
    files:
      paths: [/products/]
    forbiddenTags: [!!binary aGVsbG8=, !foo x]
`)
	want := []string{
		m + ":3:11: explicit YAML tag !!str is not allowed",
		m + ":6:21: explicit YAML tag !!binary is not allowed",
		m + ":6:40: explicit YAML tag !foo is not allowed",
	}
	for _, command := range []string{"validate", "plan"} {
		t.Run(command, func(t *testing.T) {
			t.Parallel()
			srv := emulator(t, exampleLibrary(t))
			r := tagprune(t, cmd{args: []string{command, "-f", m}, env: apiEnv(srv)})
			require.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			for _, w := range want {
				assert.Contains(t, r.stderr, w)
			}
			assert.Contains(t, r.stderr, "3 manifest errors found")
			requireNoRequests(t, srv)
		})
	}
}
