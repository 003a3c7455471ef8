package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/reconcile"
)

// The end-to-end tests of the limit on the tags of one call: ImageKit
// refuses an addTags or removeTags call whose tags add up to more than 500
// characters, and so does the emulator by default.

// tagsLimit is that limit, as the API documents it, counted in code
// points, as the emulator counts them.
const tagsLimit = 500

func charsOf(tags []string) int {
	n := 0
	for _, t := range tags {
		n += utf8.RuneCountInString(t)
	}
	return n
}

const shopManifest = `version: 1
rules:
  - name: shop-vocabulary
    files: {paths: [/shop/]}
    allowedTags: ["brand-*"]
`

// shopFiles returns n files under /shop/, each with brand-acme and three
// stray tags of its own of 14 characters each, and the strays of each.
func shopFiles(n int) ([]imagekittest.File, map[string][]string) {
	var files []imagekittest.File
	strays := map[string][]string{}
	for i := range n {
		id := fmt.Sprintf("shop%03d", i)
		own := []string{fmt.Sprintf("stray-%03d-aaaa", i), fmt.Sprintf("stray-%03d-bbbb", i), fmt.Sprintf("stray-%03d-cccc", i)}
		strays[id] = own
		files = append(files, tagged(id, fmt.Sprintf("/shop/item-%03d.jpg", i), append([]string{"brand-acme"}, own...)))
	}
	return files, strays
}

// TestCallsKeepTheTagsLengthLimit is the case that found the limit: 60 files
// whose stray tags add up to 2,520 characters, all of them forbidden by one
// allowlist. Merged into calls of 50 files, the tags of a call passed the
// limit and every call, and every half of it, was refused. Now every call
// fits, apply exits 0 with every file converged, the emulator answers no
// 400, and the calls are as many as the bound says: at most one per
// removal set per 50 files (60), and no fewer than the characters of the
// distinct tags over the limit (ceil(2,520 / 500) = 6), which 11 files of
// 42 characters per call reach.
func TestCallsKeepTheTagsLengthLimit(t *testing.T) {
	t.Parallel()
	files, strays := shopFiles(60)
	srv := emulator(t, files)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, shopManifest)

	upper, distinct, all := 0, map[string]bool{}, 0
	sets := map[string]int{}
	for _, own := range strays {
		sets[strings.Join(own, "\x00")]++
		for _, tag := range own {
			if !distinct[tag] {
				distinct[tag] = true
				all += utf8.RuneCountInString(tag)
			}
		}
		require.LessOrEqual(t, charsOf(own), tagsLimit)
	}
	for _, n := range sets {
		upper += (n + 49) / 50
	}
	lower := max((len(strays)+49)/50, (all+tagsLimit-1)/tagsLimit)
	require.Equal(t, 60, upper)
	require.Equal(t, 6, lower)

	r := tagprune(t, cmd{args: []string{"plan", "-f", manifest}, env: apiEnv(emulator(t, files))})
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Plan: 60 files to change, 180 tags to remove, 6 removeTags calls.")

	report := filepath.Join(dir, "report.json")
	r = tagprune(t, cmd{args: []string{"apply", "-f", manifest, "--auto-approve", "--report", report}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
	want := map[string][]string{}
	for _, f := range files {
		want[f.FileID] = []string{"brand-acme"}
	}
	after := srv.Handler().Files()
	requireState(t, files, after, want)

	reqs := emulatorRequests(t, srv)
	calls := bulkCalls(t, reqs)
	for _, q := range reqs {
		assert.NotEqual(t, 400, q.Status, "%s %s was refused", q.Method, q.Path)
	}
	require.Len(t, calls, lower, "the fewest calls these tags allow")
	require.LessOrEqual(t, len(calls), upper)
	for _, c := range calls {
		assert.Equal(t, "removeTags", c.Endpoint)
		assert.Equal(t, 200, c.Status)
		assert.LessOrEqual(t, charsOf(c.Tags), tagsLimit, "a call to %d files", len(c.FileIDs))
		var own []string
		for _, id := range c.FileIDs {
			own = append(own, strays[id]...)
		}
		assert.ElementsMatch(t, own, c.Tags, "a call carries the strays of its own files, nothing else")
	}
	rep := readReport(t, report)
	assert.Equal(t, 60, rep.Summary.FilesChanged)
	assert.Equal(t, 6, rep.Summary.APICalls.RemoveTags)
	requireReportMatchesEmulator(t, rep, emulatorStats(t, srv), reqs, files, after)

	r = tagprune(t, cmd{args: []string{"plan", "-f", manifest, "--detailed-exitcode"}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
	assert.Equal(t, reconcile.NoChangesText+"\n", r.stdout)
}

// TestARefusedCallIsSplitIntoItsOwnFilesTags applies against an API that
// allows fewer characters per call than documented (40): the plan's one
// call is refused with 400 and split, each half carrying only the tags of
// the files it holds, so that the files whose own tags fit are changed and
// the one whose own tags pass 40 characters fails with the API's message.
func TestARefusedCallIsSplitIntoItsOwnFilesTags(t *testing.T) {
	t.Parallel()
	var files []imagekittest.File
	own := map[string][]string{}
	for i := range 7 {
		id := fmt.Sprintf("junk%d", i)
		own[id] = []string{fmt.Sprintf("junk-%d-xxxx", i)}
		files = append(files, tagged(id, fmt.Sprintf("/a/%d.jpg", i), append(slices.Clone(own[id]), "keep")))
	}
	own["wide"] = []string{"junk-wide-aaaaa", "junk-wide-bbbbb", "junk-wide-ccccc"}
	files = append(files, tagged("wide", "/a/wide.jpg", append(slices.Clone(own["wide"]), "keep")))
	require.Greater(t, charsOf(own["wide"]), 40)

	srv := emulator(t, files, imagekittest.WithMaxTagsLength(40))
	dir := t.TempDir()
	manifest := writeManifest(t, dir, "version: 1\nrules:\n  - name: junk\n    files: {paths: [/a/]}\n    forbiddenTags: [\"junk-*\"]\n")
	report := filepath.Join(dir, "report.json")
	r := tagprune(t, cmd{args: []string{"apply", "-f", manifest, "--auto-approve", "--report", report}, env: apiEnv(srv)})
	require.Equal(t, exitIncomplete, r.code, r.stdout+r.stderr)

	want := map[string][]string{"wide": append(slices.Clone(own["wide"]), "keep")}
	for i := range 7 {
		want[fmt.Sprintf("junk%d", i)] = []string{"keep"}
	}
	after := srv.Handler().Files()
	requireState(t, files, after, want)

	calls := bulkCalls(t, emulatorRequests(t, srv))
	require.Greater(t, len(calls), 2, "the call was split")
	assert.Len(t, calls[0].FileIDs, 8, "the plan's one call")
	assert.Equal(t, 400, calls[0].Status)
	for _, c := range calls {
		var tags []string
		for _, id := range c.FileIDs {
			tags = append(tags, own[id]...)
		}
		assert.ElementsMatch(t, tags, c.Tags, "a call to %v carries its own files' tags only", c.FileIDs)
		if c.Status == 400 {
			assert.Greater(t, charsOf(c.Tags), 40)
		} else {
			assert.Equal(t, 200, c.Status)
		}
	}
	assert.Contains(t, calls, bulkCall{Endpoint: "removeTags", FileIDs: []string{"wide"}, Tags: own["wide"], Status: 400}, "the file whose own tags are too long is sent alone")

	rep := readReport(t, report)
	assert.Equal(t, 7, rep.Summary.FilesChanged)
	assert.Equal(t, []string{"wide"}, reportIDs(rep, reconcile.StatusFailed))
	for _, f := range rep.Files {
		if f.FileID == "wide" {
			assert.Contains(t, f.Error, "HTTP 400")
			assert.Contains(t, f.Error, "Combined length of all tags should be less than or equal to 40")
		}
	}
	assert.Contains(t, r.stderr+r.stdout, "wide.jpg")
}

// TestASavedPlanWithACallOverTheLimitIsRefused checks that apply PLANFILE
// refuses a saved plan whose call was edited to carry more than 500
// characters of tags (two calls made one), with exit 1 and no request
// that changes anything.
func TestASavedPlanWithACallOverTheLimitIsRefused(t *testing.T) {
	t.Parallel()
	files, _ := shopFiles(60)
	srv := emulator(t, files)
	manifest := writeManifest(t, t.TempDir(), shopManifest)
	planFile, _ := savePlan(t, srv, manifest)
	raw, err := os.ReadFile(planFile)
	require.NoError(t, err)
	var plan map[string]any
	require.NoError(t, json.Unmarshal(raw, &plan))
	batches := plan["batches"].([]any)
	first, second := batches[0].(map[string]any), batches[1].(map[string]any)
	first["fileIds"] = append(first["fileIds"].([]any), second["fileIds"].([]any)...)
	first["tags"] = append(first["tags"].([]any), second["tags"].([]any)...)
	plan["batches"] = append([]any{first}, batches[2:]...)
	require.NoError(t, os.WriteFile(planFile, mustJSON(t, plan), 0o644))

	r := tagprune(t, cmd{args: []string{"apply", planFile, "--report", filepath.Join(t.TempDir(), "report.json")}, env: apiEnv(srv)})
	require.Equal(t, exitError, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stderr, "batch 1 removes tags that add up to 924 characters: a call takes at most 500")
	stats := emulatorStats(t, srv)
	assert.Zero(t, stats.Requests.RemoveTags+stats.Requests.AddTags+stats.Requests.RemoveAITags)
	requireState(t, files, srv.Handler().Files(), tagsByID(files))
}

// TestATagLongerThanTheLimitFailsItsFile checks a tag that no call can
// carry through the binary: the plan says so, apply changes the rest,
// exits 3 and reports the file failed with the reason, and sends the tag
// in no call.
func TestATagLongerThanTheLimitFailsItsFile(t *testing.T) {
	t.Parallel()
	huge := "stray-" + strings.Repeat("h", 520)
	files, _ := shopFiles(3)
	files[1].Tags = append(files[1].Tags, huge)
	srv := emulator(t, files)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, shopManifest)

	r := tagprune(t, cmd{args: []string{"plan", "-f", manifest}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Cannot be sent: 1 tag is longer than the 500 characters ImageKit accepts in one call; apply will report its file failed:\n"+
		"  /shop/item-001.jpg: tag stray-hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh… (526 characters)\n")

	report := filepath.Join(dir, "report.json")
	r = tagprune(t, cmd{args: []string{"apply", "-f", manifest, "--auto-approve", "--report", report}, env: apiEnv(srv)})
	require.Equal(t, exitIncomplete, r.code, r.stdout+r.stderr)
	want := map[string][]string{}
	for _, f := range files {
		want[f.FileID] = []string{"brand-acme"}
	}
	want["shop001"] = []string{"brand-acme", huge}
	requireState(t, files, srv.Handler().Files(), want)
	for _, c := range bulkCalls(t, emulatorRequests(t, srv)) {
		assert.NotContains(t, c.Tags, huge)
		assert.Equal(t, 200, c.Status)
	}
	rep := readReport(t, report)
	assert.Equal(t, []string{"shop001"}, reportIDs(rep, reconcile.StatusFailed))
	for _, f := range rep.Files {
		if f.FileID == "shop001" {
			assert.Contains(t, f.Error, "is 526 characters long, more than the 500 that ImageKit accepts in one call")
			assert.Len(t, f.RemovedTags, 3, "its other stray tags are removed")
		}
	}
}
