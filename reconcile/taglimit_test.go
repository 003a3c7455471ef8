package reconcile

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/internal/sorted"
	"github.com/tagprune/tagprune/manifest"
)

// chars counts the characters of tags the way this test reads the limit:
// code points, added up.
func chars(tags []string) int {
	n := 0
	for _, t := range tags {
		n += utf8.RuneCountInString(t)
	}
	return n
}

// strayTag returns a tag of exactly n characters that starts with prefix.
func strayTag(prefix string, n int) string {
	return prefix + strings.Repeat("s", n-utf8.RuneCountInString(prefix))
}

// requireWithinLimit checks every batch of p: at most size files, none
// twice, tags adding up to at most MaxTagsLength characters.
func requireWithinLimit(t *testing.T, p *Plan, size int) {
	t.Helper()
	for i, b := range p.Batches {
		require.NotEmpty(t, b.FileIDs, "batch %d", i+1)
		require.LessOrEqual(t, len(b.FileIDs), size, "batch %d", i+1)
		require.Len(t, slices.Compact(slices.Sorted(slices.Values(b.FileIDs))), len(b.FileIDs), "batch %d names a file twice", i+1)
		require.LessOrEqual(t, chars(b.Tags), 500, "batch %d (%s) carries %d characters", i+1, b.Endpoint, chars(b.Tags))
	}
}

// requireCovered checks that every item a change needs of each endpoint,
// but those longer than 500 characters, is in a batch of that endpoint
// that names the file.
func requireCovered(t *testing.T, p *Plan) {
	t.Helper()
	got := map[string]map[string]bool{}
	for _, b := range p.Batches {
		for _, id := range b.FileIDs {
			for _, tag := range b.Tags {
				k := endpointOf(b) + " " + id
				if got[k] == nil {
					got[k] = map[string]bool{}
				}
				got[k][tag] = true
			}
		}
	}
	for _, c := range p.Changes {
		for ep, items := range map[string][]string{EndpointAddTags: c.AddTags, EndpointRemoveTags: c.RemoveTags, EndpointRemoveAITags: c.RemoveAITags} {
			for _, it := range items {
				if utf8.RuneCountInString(it) > 500 {
					continue
				}
				require.True(t, got[ep+" "+c.FileID][it], "%s of %q to %s is in no batch", ep, it, c.FileID)
			}
		}
	}
}

// TestTagsLengthAgreesWithTheEmulator checks that the limit batching keeps
// is the emulator's, counted the same way: tags of exactly MaxTagsLength
// characters, some of them non-ASCII (two and four bytes in UTF-8, one of
// them two UTF-16 units), go through in one call, and one character more
// is refused.
func TestTagsLengthAgreesWithTheEmulator(t *testing.T) {
	require.Equal(t, imagekittest.DefaultMaxTagsLength, MaxTagsLength)
	wide := []string{strings.Repeat("é", 100), strings.Repeat("𝄞", 100), strings.Repeat("ü", 99)}
	for _, tt := range []struct {
		name string
		last string // the last tag, after wide
		ok   bool
	}{
		{"500 characters are accepted", strings.Repeat("a", 201), true},
		{"501 characters are refused", strings.Repeat("a", 202), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tags := append(slices.Clone(wide), tt.last)
			require.Equal(t, tagsLength(tags), chars(tags))
			require.Equal(t, tt.ok, tagsLength(tags) <= MaxTagsLength)
			lib := newTestLib(t, []imagekittest.File{file("f1", "/a/1.jpg", tags...)})
			_, err := lib.RemoveTags(context.Background(), []string{"f1"}, tags)
			if tt.ok {
				require.NoError(t, err)
				assert.Empty(t, lib.tags("f1"))
				return
			}
			var ae *api.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, 400, ae.StatusCode)
			assert.Contains(t, ae.Message, "Combined length of all tags")
		})
	}
}

func TestSplitNeeds(t *testing.T) {
	tests := []struct {
		name  string
		items []string
		limit int
		want  [][]string
	}{
		{"items that fit are one part", []string{"a", "bb", "ccc"}, 6, [][]string{{"a", "bb", "ccc"}}},
		{"the longest items first, each to the first part it fits", []string{"a", "bb", "ccc", "dddd"}, 5, [][]string{{"a", "dddd"}, {"bb", "ccc"}}},
		{"items of the limit each take a part", []string{"aaa", "bbb", "ccc"}, 3, [][]string{{"aaa"}, {"bbb"}, {"ccc"}}},
		{"code points, not bytes", []string{"ééé", "üü", "x"}, 5, [][]string{{"ééé", "üü"}, {"x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, splitNeeds(tt.items, tt.limit))
		})
	}
}

// TestSplitNeedsProperties checks, on random sets, what the bound of pack
// rests on: the parts hold every item once, each part fits in the limit
// and is sorted, and every two parts together pass it.
func TestSplitNeedsProperties(t *testing.T) {
	for iter := range 500 {
		limit := 5 + iter%40
		var items []string
		for k := range 1 + iter%23 {
			items = append(items, fmt.Sprintf("%c%s", 'a'+k, strings.Repeat("x", (iter*7+k*13)%limit)))
		}
		slices.Sort(items)
		parts := splitNeeds(items, limit)
		var all []string
		for i, part := range parts {
			require.True(t, slices.IsSorted(part))
			require.LessOrEqual(t, chars(part), limit, "iteration %d: part %d", iter, i)
			for j := range i {
				require.Greater(t, chars(part)+chars(parts[j]), limit, "iteration %d: parts %d and %d fit together", iter, j, i)
			}
			all = append(all, part...)
		}
		slices.Sort(all)
		require.Equal(t, items, all, "iteration %d", iter)
		if chars(items) > limit {
			require.Less(t, len(parts), 2*chars(items)/limit+1, "iteration %d", iter)
		}
	}
}

// shopLibrary is the end-to-end repro: n files under /shop/, each with
// brand-acme and three stray tags of its own (14 characters each), and a
// rule that allows brand-* only.
func shopLibrary(n int) ([]imagekittest.File, []manifest.Rule) {
	var files []imagekittest.File
	for i := range n {
		files = append(files, file(fmt.Sprintf("s%03d", i), fmt.Sprintf("/shop/%03d.jpg", i), "brand-acme",
			fmt.Sprintf("stray-%03d-aaaa", i), fmt.Sprintf("stray-%03d-bbbb", i), fmt.Sprintf("stray-%03d-cccc", i)))
	}
	return files, []manifest.Rule{allow("shop", []string{"/shop/"}, "brand-*")}
}

// TestBatchesKeepTheTagsLengthLimit plans removals, renames and AITag
// removals whose tags, merged or even alone, pass the limit, and checks
// that no call carries more than it, that every file gets all it needs,
// and that applying against the emulator (which refuses longer calls)
// converges with every call answered 200.
func TestBatchesKeepTheTagsLengthLimit(t *testing.T) {
	many := func(prefix string, n, length int) []string {
		var out []string
		for i := range n {
			out = append(out, strayTag(fmt.Sprintf("%s%02d-", prefix, i), length))
		}
		return out
	}
	oneShop, oneShopRules := shopLibrary(60)
	tests := []struct {
		name      string
		files     []imagekittest.File
		rules     []manifest.Rule
		size      int
		wantCalls map[string]int // by endpoint
	}{
		{
			// 60 files x 42 characters: 11 files fit in a call, so 6
			// calls, which is also ceil(2,520 / 500), the fewest any
			// batching of these distinct tags can take.
			name: "files of one forbidden set whose removals differ", files: oneShop, rules: oneShopRules, size: 50,
			wantCalls: map[string]int{EndpointRemoveTags: 6},
		},
		{
			// 12 tags of 100 characters: parts of 5, 5 and 2 tags, each
			// a call for the three files.
			name:      "a file whose removals alone pass the limit",
			files:     []imagekittest.File{file("a1", "/a/1.jpg", append(many("x", 12, 100), "keep")...), file("a2", "/a/2.jpg", append(many("x", 12, 100), "keep")...), file("a3", "/a/3.jpg", many("x", 12, 100)...)},
			rules:     []manifest.Rule{rule("x", []string{"/a/"}, nil, "x*")},
			size:      50,
			wantCalls: map[string]int{EndpointRemoveTags: 3},
		},
		{
			name: "new tags of renames that pass the limit together",
			files: []imagekittest.File{
				file("r1", "/r/1.jpg", "old-1", "old-2", "old-3", "old-4"),
				file("r2", "/r/2.jpg", "old-1", "old-2", "old-3", "old-4"),
			},
			rules: []manifest.Rule{renameRule("renames", []string{"/r/"},
				"old-1", strayTag("new-1-", 200), "old-2", strayTag("new-2-", 200), "old-3", strayTag("new-3-", 200), "old-4", strayTag("new-4-", 200))},
			size:      50,
			wantCalls: map[string]int{EndpointAddTags: 2, EndpointRemoveTags: 1},
		},
		{
			name: "AITags that pass the limit together",
			files: []imagekittest.File{
				withAI(file("i1", "/i/1.jpg"), many("Label", 8, 120)...),
				withAI(file("i2", "/i/2.jpg"), many("Label", 8, 120)[:3]...),
			},
			rules:     []manifest.Rule{noAI("labels", []string{"/i/"}, "Label*")},
			size:      50,
			wantCalls: map[string]int{EndpointRemoveAITags: 3},
		},
		{
			name:      "a batch size below the limit's cut",
			files:     oneShop,
			rules:     oneShopRules,
			size:      7,
			wantCalls: map[string]int{EndpointRemoveTags: 9},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := newTestLib(t, tt.files)
			p, err := MakePlan(context.Background(), lib, tt.rules, PlanOptions{BatchSize: tt.size})
			require.NoError(t, err)
			requireWithinLimit(t, p, tt.size)
			requireCovered(t, p)
			require.NoError(t, CheckConsistency(p))
			got := map[string]int{}
			for _, b := range p.Batches {
				got[endpointOf(b)]++
			}
			assert.Equal(t, tt.wantCalls, got)

			r, err := Apply(context.Background(), lib, p, ApplyOptions{})
			require.NoError(t, err)
			assert.Equal(t, len(p.Changes), r.Summary.FilesChanged)
			for _, b := range r.Batches {
				assert.Equal(t, OutcomeOK, b.Outcome, "%s %v: %s", b.Endpoint, b.FileIDs, b.Error)
			}
			again, err := MakePlan(context.Background(), lib, tt.rules, PlanOptions{BatchSize: tt.size})
			require.NoError(t, err)
			assert.Empty(t, again.Changes, "a second plan finds nothing to do")
		})
	}
}

// TestARefusedCallIsSplitIntoItsFilesTags applies a plan to a library that
// allows fewer characters per call than the plan was made for: the API
// refuses the call with 400, and each half is sent with its own files'
// tags only, so that the files whose own tags fit are changed and only the
// one whose tags alone are too long fails, with the API's message.
func TestARefusedCallIsSplitIntoItsFilesTags(t *testing.T) {
	var files []imagekittest.File
	for i := range 7 {
		files = append(files, file(fmt.Sprintf("f%d", i), fmt.Sprintf("/a/%d.jpg", i), fmt.Sprintf("junk-%d-xxxx", i), "keep"))
	}
	long := []string{strayTag("junk-9-a-", 15), strayTag("junk-9-b-", 15), strayTag("junk-9-c-", 15)}
	files = append(files, file("f9", "/a/9.jpg", append(slices.Clone(long), "keep")...))
	rules := []manifest.Rule{rule("junk", []string{"/a/"}, nil, "junk-*")}
	lib := newTestLib(t, files, imagekittest.WithMaxTagsLength(40))
	p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
	require.NoError(t, err)
	require.Len(t, p.Batches, 1, "the plan's limit is 500: one call")

	r, err := Apply(context.Background(), lib, p, ApplyOptions{Concurrency: 1})
	require.NoError(t, err, "a refused file does not stop the apply")
	want := map[string]string{"f9": StatusFailed}
	for i := range 7 {
		want[fmt.Sprintf("f%d", i)] = StatusChanged
	}
	assert.Equal(t, want, statuses(r))
	assert.Equal(t, []string{"keep"}, lib.tags("f3"))
	assert.Equal(t, append(slices.Clone(long), "keep"), lib.tags("f9"), "the refused file keeps its tags")
	failed := r.Files[slices.IndexFunc(r.Files, func(f FileResult) bool { return f.FileID == "f9" })]
	assert.Contains(t, failed.Error, "HTTP 400")
	assert.Contains(t, failed.Error, "Combined length of all tags should be less than or equal to 40")

	planned := map[string][]string{}
	for _, c := range p.Changes {
		planned[c.FileID] = c.RemoveTags
	}
	sent := lib.sent()
	require.Greater(t, len(sent), 1)
	for _, call := range sent {
		var own []string
		for _, id := range call.FileIDs {
			own = append(own, planned[id]...)
		}
		assert.ElementsMatch(t, sorted.Unique(own), call.Tags, "a call to %v carries the tags of its own files only", call.FileIDs)
	}
	for _, b := range r.Batches {
		if b.Outcome == OutcomeOK {
			assert.LessOrEqual(t, chars(b.Tags), 40)
		}
	}
}

// TestARetriedFileCarriesItsOwnTags checks that the files of a 207 sent
// again carry only their own tags.
func TestARetriedFileCarriesItsOwnTags(t *testing.T) {
	files := []imagekittest.File{file("f1", "/a/1.jpg", "junk-1"), file("f2", "/a/2.jpg", "junk-2"), file("f3", "/a/3.jpg", "junk-3")}
	lib := newTestLib(t, files)
	first := true
	lib.hook = func(_ context.Context, n int, ids, tags []string) (api.RemoveTagsResult, error, bool) {
		if first {
			first = false
			return partial(ids, "f2")
		}
		return api.RemoveTagsResult{}, nil, false
	}
	p, err := MakePlan(context.Background(), lib, []manifest.Rule{rule("junk", []string{"/a/"}, nil, "junk-*")}, PlanOptions{})
	require.NoError(t, err)
	require.Len(t, p.Batches, 1)
	r, err := Apply(context.Background(), lib, p, ApplyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, r.Summary.FilesChanged)
	sent := lib.sent()
	require.Len(t, sent, 2)
	assert.Equal(t, Batch{FileIDs: []string{"f2"}, Tags: []string{"junk-2"}}, sent[1])
}

// TestCallsOverTheLimitAreRefused checks that a plan whose batch carries
// tags adding up to more than the limit (edited by hand: two calls made
// one) is refused before anything is sent, saved or not.
func TestCallsOverTheLimitAreRefused(t *testing.T) {
	files, rules := shopLibrary(20)
	lib := newTestLib(t, files)
	p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
	require.NoError(t, err)
	require.Len(t, p.Batches, 2)
	p.Batches = []Batch{{Endpoint: EndpointRemoveTags, FileIDs: slices.Concat(p.Batches[0].FileIDs, p.Batches[1].FileIDs),
		Tags: sorted.Unique(slices.Concat(p.Batches[0].Tags, p.Batches[1].Tags))}}

	err = CheckConsistency(p)
	require.ErrorIs(t, err, ErrInconsistentPlan)
	assert.Contains(t, err.Error(), "batch 1 removes tags that add up to 840 characters: a call takes at most 500")

	lib.resetLog()
	r, err := Apply(context.Background(), lib, p, ApplyOptions{})
	require.ErrorIs(t, err, ErrInconsistentPlan)
	assert.Empty(t, lib.sent())
	assert.Equal(t, 20, r.Summary.FilesPending)

	path := filepath.Join(t.TempDir(), "plan.json")
	require.NoError(t, WritePlan(path, p))
	_, err = ReadPlan(path)
	require.ErrorIs(t, err, ErrInconsistentPlan, "a saved plan is checked as it is read")
}

// TestATagLongerThanTheLimit checks what becomes of a tag that no call can
// carry: the plan keeps it in its change and lists it, sends it in no
// call, and the apply changes what it can and reports the file failed,
// saying why. A rename whose new tag is such a tag is refused with the
// rules, before any read: it could never be carried out.
func TestATagLongerThanTheLimit(t *testing.T) {
	huge := strayTag("junk-huge-", 501)
	files := []imagekittest.File{
		file("f1", "/a/1.jpg", huge, "junk-1", "keep"),
		file("f2", "/a/2.jpg", "junk-2", "keep"),
		file("r1", "/r/1.jpg", "Old", "keep"),
	}
	rules := []manifest.Rule{rule("junk", []string{"/a/"}, nil, "junk-*")}
	lib := newTestLib(t, files)
	p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
	require.NoError(t, err)
	require.NoError(t, CheckConsistency(p))
	require.NoError(t, CheckConsistency(savePlan(t, p)))
	requireWithinLimit(t, p, 50)
	requireCovered(t, p)
	assert.Equal(t, []Unsendable{
		{FileID: "f1", FilePath: "/a/1.jpg", Endpoint: EndpointRemoveTags, Tag: huge, Length: 501},
	}, p.UnsendableTags())
	for _, b := range p.Batches {
		assert.NotContains(t, b.Tags, huge)
	}

	r, err := Apply(context.Background(), lib, p, ApplyOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"f1": StatusFailed, "f2": StatusChanged}, statuses(r))
	assert.Equal(t, []string{huge, "keep"}, lib.tags("f1"), "the other tag is removed")
	assert.Equal(t, []string{"keep"}, lib.tags("f2"))
	byID := map[string]FileResult{}
	for _, f := range r.Files {
		byID[f.FileID] = f
	}
	assert.Equal(t, []string{"junk-1"}, byID["f1"].RemovedTags)
	assert.Contains(t, byID["f1"].Error, `is 501 characters long, more than the 500 that ImageKit accepts in one call: it cannot be removed through removeTags`)

	lib.resetLog()
	_, err = MakePlan(context.Background(), lib, []manifest.Rule{renameRule("rename", []string{"/r/"}, "Old", huge)}, PlanOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `the replacement tag for "Old" is 501 characters long`)
	assert.Empty(t, lib.sent(), "nothing is sent")
	assert.Equal(t, []string{"Old", "keep"}, lib.tags("r1"))
}

// TestConsistencyAllowsOnlyTooLongTagsUncovered checks that a removal left
// out of every batch is refused unless no call could carry it.
func TestConsistencyAllowsOnlyTooLongTagsUncovered(t *testing.T) {
	huge := strayTag("junk-huge-", 501)
	lib := newTestLib(t, []imagekittest.File{file("f1", "/a/1.jpg", huge, "junk-1")})
	p, err := MakePlan(context.Background(), lib, []manifest.Rule{rule("junk", []string{"/a/"}, nil, "junk-*")}, PlanOptions{})
	require.NoError(t, err)
	require.NoError(t, CheckConsistency(p))
	p.Batches[0].Tags = []string{huge, "junk-1"}
	err = CheckConsistency(p)
	require.ErrorIs(t, err, ErrInconsistentPlan)
	assert.Contains(t, err.Error(), "add up to 507 characters")
	p.Batches = nil
	err = CheckConsistency(p)
	var ie *InconsistentPlanError
	require.True(t, errors.As(err, &ie))
	assert.Equal(t, []string{`file f1 (/a/1.jpg): no batch removes its tag "junk-1"`}, ie.Problems)
}

// TestPlansSayWhatCannotBeSent checks that the text and markdown plans
// list the tags no call can carry, and what apply will do about them.
func TestPlansSayWhatCannotBeSent(t *testing.T) {
	huge := strayTag("junk-huge-", 600)
	lib := newTestLib(t, []imagekittest.File{file("f1", "/a/1.jpg", huge, "junk-1"), file("f2", "/a/2.jpg", "junk-2")})
	p, err := MakePlan(context.Background(), lib, []manifest.Rule{rule("junk", []string{"/a/"}, nil, "junk-*")}, PlanOptions{})
	require.NoError(t, err)
	var text, md strings.Builder
	require.NoError(t, RenderText(&text, p, false))
	require.NoError(t, RenderMarkdown(&md, p))
	assert.Contains(t, text.String(), "\nCannot be sent: 1 tag is longer than the 500 characters ImageKit accepts in one call; apply will report its file failed:\n"+
		"  /a/1.jpg: tag junk-huge-ssssssssssssssssssssssssssssss… (600 characters)\n\nPlan: 2 files to change, 3 tags to remove, 1 removeTags call.\n")
	assert.Contains(t, md.String(), "> **Cannot be sent: 1 tag is longer than the 500 characters ImageKit accepts in one call; apply will report its file failed:**\n"+
		"> - /a/1.jpg: tag junk-huge-ssssssssssssssssssssssssssssss… (600 characters)\n")

	p.Changes = p.Changes[1:]
	p.Batches = nil
	text.Reset()
	require.NoError(t, RenderText(&text, p, false))
	assert.NotContains(t, text.String(), "Cannot be sent")
}
