package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/manifest"
	"github.com/tagprune/tagprune/reconcile"
)

// The conformance suite: one subtest per assumption tagprune makes about
// the ImageKit API (docs/IMAGEKIT-ASSUMPTIONS.md lists them with their
// sources). By default it runs against the emulator in its real-API-like
// modes; with TAGPRUNE_LIVE_TEST=1 and IMAGEKIT_PRIVATE_KEY it runs against
// that account, in a folder of its own that it deletes at the end.
//
// Searches are the ones tagprune's planner builds for a rule (recorded from
// reconcile.MakePlan), so the suite tests what tagprune really sends.

func TestConformance(t *testing.T) {
	var c *conformance
	if os.Getenv(envLive) == "1" {
		c = liveConformance(t, os.Getenv)
	} else {
		c = emulatedConformance(t)
	}
	c.run(t)
}

// The live mode, run over loopback against an emulator that holds files
// of its own: it creates its folder through the upload API, reads and
// changes nothing else, and leaves the library as it found it.
func TestConformanceLiveModeOverLoopback(t *testing.T) {
	const key = "loopback_private_key"
	outside := conformanceOutsiders()
	srv := imagekittest.NewServer(outside, realAPILike(key)...)
	t.Cleanup(srv.Close)
	env := map[string]string{
		envLive: "1", envKey: key,
		envAPIURL:    srv.URL + "/v1/", // as a user might copy it
		envUploadURL: srv.URL + uploadPath,
	}
	var root string
	t.Run("Suite", func(t *testing.T) {
		c := liveConformance(t, func(k string) string { return env[k] })
		root = c.root
		c.run(t)
	})
	require.NotEmpty(t, root)
	st := srv.Handler().Stats().Requests
	t.Logf("requests of one live run: %d uploads, %d searches, %d details, %d removeTags, %d addTags, %d removeAITags, %d folder deletion",
		st.Upload, st.List, st.Details, st.RemoveTags, st.AddTags, st.RemoveAITags, st.DeleteFolder)

	assert.Equal(t, outside, srv.Handler().Files(), "the library is as it was: the run's folder is gone, the rest untouched")
	others := map[string]bool{}
	for _, f := range outside {
		others[f.FileID] = true
	}
	for _, r := range srv.Handler().Requests() {
		switch {
		case r.Path == "/v1/files":
			q, err := url.ParseQuery(r.Query)
			require.NoError(t, err)
			sq := q.Get("searchQuery")
			assert.True(t, strings.Contains(sq, `"`+root) || strings.Contains(sq, `"`+strings.TrimSuffix(root, "/")+`"`),
				"every search names the run's folder: %s", sq)
		case strings.HasSuffix(r.Path, "/details"):
			assert.False(t, others[strings.TrimSuffix(strings.TrimPrefix(r.Path, "/v1/files/"), "/details")], "details of a file outside the folder: %s", r.Path)
		case r.Method == http.MethodPost && strings.HasPrefix(r.Path, "/v1/files/"):
			body, _ := r.Body.(map[string]any)
			ids, _ := body["fileIds"].([]any)
			for _, id := range ids {
				assert.False(t, others[fmt.Sprint(id)], "%s names a file outside the folder", r.Path)
			}
		case r.Path == uploadPath:
			body, _ := r.Body.(map[string]any)
			assert.True(t, strings.HasPrefix(fmt.Sprint(body["folder"]), root), "uploads go to the run's folder: %v", body["folder"])
		case r.Path == "/v1/folder":
			assert.Equal(t, map[string]any{"folderPath": root}, r.Body)
		default:
			t.Errorf("unexpected request %s %s", r.Method, r.Path)
		}
	}
}

// conformanceOutsiders are files that an account holds besides the run's
// folder, some of them named like the fixtures and carrying the same tags.
func conformanceOutsiders() []imagekittest.File {
	files := emulatorLibrary(4)
	files[0].FilePath, files[0].Name = "/shoes/a.png", "a.png"
	files[1].Tags = append(files[1].Tags, "sale", "w")
	return files
}

// run runs every subtest against c. The subtests that only read come
// first; those that change tags work on files of their own.
func (c *conformance) run(t *testing.T) {
	for _, st := range []struct {
		name string
		fn   func(*testing.T, *conformance)
	}{
		{"PathColonSelectsTheFolderAndItsSubfolders", testPathColon},
		{"SeveralFoldersInOneSearch", testSeveralFolders},
		{"PathEqualsSelectsOneFolder", testPathEquals},
		{"IDInWithMoreThan200IDs", testIDIn},
		{"TypeFileKeepsFoldersAndVersionsOut", testTypeFile},
		{"TagsInMatchesExactTags", testTagsInExact},
		{"TagsInMatchesAITags", testTagsInAITags},
		{"TagsExistsSelectsTaggedFiles", testTagsExists},
		{"EscapedTagsAreFound", testEscapedTags},
		{"ARulesSearchQueryIsGrouped", testSearchQueryGrouped},
		{"SkipLimitPagingReturnsEveryFileOnce", testPaging},
		{"Limit1000", testLimit1000},
		{"RemoveTags200", testRemoveTags200},
		{"RemoveTags404ChangesNothing", testRemoveTags404},
		{"RemoveTags400ForMoreThan50Files", testRemoveTags400},
		{"RemovingAnAbsentTagIsANoOp", testRemoveAbsentTag},
		{"TagsPerCall", testTagsPerCall},
		{"AddTags", testAddTags},
		{"RemoveAITags", testRemoveAITags},
		{"RateLimitHeadersAndRequestIDOnEveryAnswer", testHeadersOnEveryAnswer},
	} {
		t.Run(st.name, func(t *testing.T) { st.fn(t, c) })
	}
}

// queryRecorder is a library that answers no search and records the
// searchQueries it is asked for: the searches tagprune's planner sends.
type queryRecorder struct{ queries []string }

func (r *queryRecorder) List(_ context.Context, p api.ListParams) iter.Seq2[api.File, error] {
	r.queries = append(r.queries, p.SearchQuery)
	return func(func(api.File, error) bool) {}
}

func (r *queryRecorder) RemoveTags(context.Context, []string, []string) (api.RemoveTagsResult, error) {
	return api.RemoveTagsResult{}, errors.New("a plan over an empty library removes nothing")
}

// plannedQueries returns the searchQueries tagprune's planner sends to read
// what rules need.
func plannedQueries(t *testing.T, rules ...manifest.Rule) []string {
	t.Helper()
	for i := range rules {
		rules[i].Name = fmt.Sprintf("rule-%d", i+1)
	}
	rec := &queryRecorder{}
	_, err := reconcile.MakePlan(context.Background(), rec, rules, reconcile.PlanOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, rec.queries)
	return rec.queries
}

// plannedQuery returns the one searchQuery the planner sends for rule.
func plannedQuery(t *testing.T, rule manifest.Rule) string {
	t.Helper()
	qs := plannedQueries(t, rule)
	require.Len(t, qs, 1, "one search: %q", qs)
	return qs[0]
}

// anyTag is a glob that matches every tag of the run: a rule with it reads
// every tagged file (tags EXISTS).
func (c *conformance) anyTag() string { return c.prefix + "*" }

// `path : "/folder/"`, with the trailing slash tagprune sends, selects the
// files directly in the folder and in every folder below it, and none in a
// sibling folder whose name starts the same.
func testPathColon(t *testing.T, c *conformance) {
	q := plannedQuery(t, manifest.Rule{Paths: []string{c.root + "shoes/"}, ForbiddenTags: []string{c.anyTag()}})
	require.Contains(t, q, "path : "+quoteQuery(c.root+"shoes/"), "tagprune sends the folder with its trailing slash")
	got := c.searchIDs(t, q)
	for _, role := range []string{"a", "b", "c"} {
		assert.Contains(t, got, c.file(role).id, "%s is under the folder: a search that misses it would hide a file from its rules", c.file(role).path)
	}
	assert.NotContains(t, got, c.file("d").id, "%s is in a sibling folder (harmless for safety: every file is judged locally; it costs reads)", c.file("d").path)
	assert.Len(t, got, 3)

	noSlash := c.searchIDs(t, "path : "+quoteQuery(c.root+"shoes")+` AND type = "file"`)
	t.Logf("observed: without the trailing slash, path : %q finds %d files (sibling folder included: %v)",
		c.root+"shoes", len(noSlash), slices.Contains(noSlash, c.file("d").id))
}

// Several folders of one rule are read in one search, joined by OR in
// parentheses.
func testSeveralFolders(t *testing.T, c *conformance) {
	q := plannedQuery(t, manifest.Rule{Paths: []string{c.root + "shoes/deep/", c.root + "write/"}, ForbiddenTags: []string{c.anyTag()}})
	require.Contains(t, q, " OR ", "one search over both folders")
	assert.ElementsMatch(t, c.ids("c", "w1", "w2"), c.searchIDs(t, q))
}

// `path = "/folder/"` selects the files directly in that folder only.
func testPathEquals(t *testing.T, c *conformance) {
	got := c.searchIDs(t, "path = "+quoteQuery(c.root+"shoes/")+` AND type = "file"`)
	assert.ElementsMatch(t, c.ids("a", "b"), got)
}

// fakeID returns a fileId that no file has: ObjectIds start with their
// creation time in seconds, and ffffffff is the year 2106.
func fakeID(i int) string { return fmt.Sprintf("ffffffff%016x", i) }

// `id IN [...]` answers a search of more than 200 ids, as long as tagprune
// makes them (about 7 KB of URL), with the files among them that exist.
func testIDIn(t *testing.T, c *conformance) {
	ids := c.ids("a", "c", "w1")
	for i := range 230 {
		ids = append(ids, fakeID(i))
	}
	rule := manifest.Rule{FileIDs: ids, SearchQuery: "path : " + quoteQuery(c.root), ForbiddenTags: []string{c.anyTag()}}
	qs := plannedQueries(t, rule)
	most, longest := 0, 0
	var got []string
	for _, q := range qs {
		most = max(most, strings.Count(q, `","`)+1)
		longest = max(longest, len(url.QueryEscape(q)))
		got = append(got, c.searchIDs(t, q)...)
	}
	require.GreaterOrEqual(t, most, 200, "one search carries at least 200 ids: %d searches for %d ids", len(qs), len(ids))
	assert.ElementsMatch(t, c.ids("a", "c", "w1"), got)
	t.Logf("observed: %d ids in %d searches, at most %d ids and %d bytes of escaped searchQuery in one", len(ids), len(qs), most, longest)
}

// listObject is an object of a list answer as sent.
type listObject struct {
	Type   string `json:"type"`
	FileID string `json:"fileId"`
}

// rawList returns the objects of one list answer, as the API sent them.
func (c *conformance) rawList(t *testing.T, query string, limit int) []listObject {
	t.Helper()
	c.requireScoped(t, query)
	status, _, body := c.raw(t, http.MethodGet, "/v1/files", url.Values{"searchQuery": {query}, "limit": {strconv.Itoa(limit)}}, nil)
	require.Equal(t, http.StatusOK, status, "searchQuery %s: %s", query, body)
	var objs []listObject
	require.NoError(t, json.Unmarshal(body, &objs))
	return objs
}

// `type = "file"` keeps folders and file versions out of a search. A search
// without it may return them; the client drops every object that is not a
// file with a fileId, and still pages by the objects sent.
func testTypeFile(t *testing.T, c *conformance) {
	for _, o := range c.rawList(t, c.inRoot(`type = "file"`), 1000) {
		assert.Equal(t, "file", o.Type, "type = \"file\" returns files only")
		assert.NotEmpty(t, o.FileID)
	}
	untyped := c.inRoot("")
	objs := c.rawList(t, untyped, 1000)
	var files []string
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.Type]++
		if o.Type == "file" && o.FileID != "" {
			files = append(files, o.FileID)
		}
	}
	t.Logf("observed: a search without a type condition returned %v", kinds)
	if !c.live {
		require.NotZero(t, kinds["folder"], "the emulator runs with folders in searches, as the API may answer")
		require.NotZero(t, kinds["file-version"], "and with file versions")
	}
	page, err := c.client.ListPage(context.Background(), api.ListParams{SearchQuery: untyped})
	require.NoError(t, err)
	var kept []string
	for _, f := range page.Files {
		kept = append(kept, f.FileID)
	}
	assert.Equal(t, files, kept, "the client keeps the files, in order, and drops the rest")
	assert.Equal(t, len(objs), page.Objects, "the next page starts after every object sent")
}

// `tags IN [...]` finds the files that carry one of the tags exactly, and
// no file that carries only a tag that starts the same or differs in case.
func testTagsInExact(t *testing.T, c *conformance) {
	q := plannedQuery(t, manifest.Rule{Paths: []string{c.root}, ForbiddenTags: []string{c.tag("sale")}})
	require.Contains(t, q, "tags IN ["+quoteQuery(c.tag("sale"))+"]")
	got := c.searchIDs(t, q)
	for _, role := range []string{"top", "a", "c", "d"} {
		assert.Contains(t, got, c.file(role).id, "%s carries %s: a search that misses it would hide it from its rules", c.file(role).path, c.tag("sale"))
	}
	assert.NotContains(t, got, c.file("b").id, "%s carries only %s and %s (harmless for safety: every file is judged locally)", c.file("b").path, c.tag("sale2019"), c.tag("Sale"))
	assert.Len(t, got, 4)
	assert.ElementsMatch(t, c.file("b").tags, c.details(t, "b").Tags, "the API keeps tags as sent, case included")
}

// `tags IN [...]` also finds a file whose AITags hold the tag, and
// tagprune plans nothing for it: AITags are never touched.
func testTagsInAITags(t *testing.T, c *conformance) {
	if c.aiFile == "" {
		t.Skip("no file of the run carries AITags: ImageKit sets them only through its auto-tagging extensions")
	}
	g := c.file(c.aiFile)
	rule := manifest.Rule{Name: "ai", Paths: []string{c.root + aiSpec.folder}, ForbiddenTags: []string{g.aiTags[0]}}
	q := plannedQuery(t, rule)
	assert.Equal(t, []string{g.id}, c.searchIDs(t, q))
	plan, err := reconcile.MakePlan(context.Background(), c.client, []manifest.Rule{rule}, reconcile.PlanOptions{})
	require.NoError(t, err)
	assert.Empty(t, plan.Changes, "the file's own tags do not carry the forbidden tag")
	assert.Equal(t, 1, plan.Summary.FilesScanned)
}

// `tags EXISTS` (what a rule with a glob or an allowlist asks for) finds
// every file that carries a tag, and not a file without tags.
func testTagsExists(t *testing.T, c *conformance) {
	q := plannedQuery(t, manifest.Rule{Paths: []string{c.root + "shoes/", c.root + "plain/"}, ForbiddenTags: []string{c.anyTag()}})
	require.Contains(t, q, "tags EXISTS")
	assert.ElementsMatch(t, c.ids("a", "b", "c"), c.searchIDs(t, q))
}

// Tags with a double quote, a backslash, a comma, a space or non-ASCII
// letters are found by the searches tagprune builds for them, escaped as the
// oracle below writes them; and a plan forbidding them all removes exactly
// them.
func testEscapedTags(t *testing.T, c *conformance) {
	escaped := map[string]string{ // as a searchQuery string, quotes excluded
		`say "hi"`:   `say \"hi\"`,
		`back\slash`: `back\\slash`,
		`comma,tag`:  `comma,tag`,
		`two words`:  `two words`,
		`ünï-標籤`:     `ünï-標籤`,
	}
	f := c.file("f")
	assert.ElementsMatch(t, f.tags, c.details(t, "f").Tags, "the API keeps each tag as it was sent")
	for _, tag := range oddTags {
		t.Run(strconv.Quote(tag), func(t *testing.T) {
			if msg, ok := c.refused[c.tag(tag)]; ok {
				t.Skipf("observed: the API refused to add tag %q (so no file can carry it): %s", c.tag(tag), msg)
			}
			want, ok := escaped[tag]
			require.True(t, ok, "the oracle escapes %q", tag)
			q := plannedQuery(t, manifest.Rule{Paths: []string{c.root + "odd/"}, ForbiddenTags: []string{c.tag(tag)}})
			require.Contains(t, q, `tags IN ["`+c.prefix+want+`"]`, "tagprune escapes the tag as the oracle does")
			assert.Equal(t, []string{f.id}, c.searchIDs(t, q))
		})
	}
	rule := manifest.Rule{Name: "odd", Paths: []string{c.root + "odd/"}, ForbiddenTags: f.tags}
	plan, err := reconcile.MakePlan(context.Background(), c.client, []manifest.Rule{rule}, reconcile.PlanOptions{})
	require.NoError(t, err)
	require.Len(t, plan.Changes, 1)
	assert.ElementsMatch(t, f.tags, plan.Changes[0].RemoveTags)
}

// A rule's own searchQuery is ANDed in parentheses, so that an OR inside
// it cannot widen the search beyond the rule's folders.
func testSearchQueryGrouped(t *testing.T, c *conformance) {
	rule := manifest.Rule{Paths: []string{c.root + "shoes/"}, SearchQuery: `name = "a.png" OR name = "d.png"`, ForbiddenTags: []string{c.anyTag()}}
	q := plannedQuery(t, rule)
	require.Contains(t, q, `(name = "a.png" OR name = "d.png")`)
	assert.Equal(t, c.ids("a"), c.searchIDs(t, q), "d.png is outside the rule's folder")
}

// Paging with skip and limit returns every file once, in the same order
// as one page does, and the same order twice.
func testPaging(t *testing.T, c *conformance) {
	q := c.inRoot(`type = "file"`)
	page, err := c.client.ListPage(context.Background(), api.ListParams{SearchQuery: q, Limit: 1000})
	require.NoError(t, err)
	var whole []string
	for _, f := range page.Files {
		whole = append(whole, f.FileID)
	}
	require.Len(t, whole, len(c.files), "one page holds every file of the run")
	paged := func() []string {
		var ids []string
		for f, err := range c.client.List(context.Background(), api.ListParams{SearchQuery: q, Limit: 2}) {
			require.NoError(t, err)
			ids = append(ids, f.FileID)
		}
		return ids
	}
	first := paged()
	assert.Equal(t, whole, first, "pages of 2 give every file once, in the order of one page")
	assert.Equal(t, first, paged(), "the order is stable")
	created := map[time.Time]int{}
	for _, f := range page.Files {
		created[f.CreatedAt]++
	}
	t.Logf("observed: %d files in %d distinct createdAt values, paged in the same order twice", len(page.Files), len(created))
}

// limit=1000, what tagprune asks for, is accepted; 1001 is refused.
func testLimit1000(t *testing.T, c *conformance) {
	objs := c.rawList(t, c.inRoot(`type = "file"`), 1000)
	assert.Len(t, objs, len(c.files))
	status, _, body := c.raw(t, http.MethodGet, "/v1/files", url.Values{"searchQuery": {c.inRoot(`type = "file"`)}, "limit": {"1001"}}, nil)
	assert.Equal(t, http.StatusBadRequest, status, "limit 1001: %s", body)
}

// removeTags answers 200 with the files it updated, and removes the tag.
func testRemoveTags200(t *testing.T, c *conformance) {
	w1 := c.file("w1")
	res, err := c.client.RemoveTags(context.Background(), []string{w1.id}, []string{c.tag("rm1")})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, []string{w1.id}, res.Succeeded)
	c.eventually(t, "the tag is gone", func() error {
		if got := c.details(t, "w1").Tags; !sameSet(got, []string{c.tag("w")}) {
			return fmt.Errorf("%s has tags %q", w1.path, got)
		}
		return nil
	})
}

// removeTags with an id that does not exist answers 404 with
// missingFileIds, and removes nothing from the files that do exist.
func testRemoveTags404(t *testing.T, c *conformance) {
	before := c.details(t, "w2").Tags
	missing := fakeID(404)
	_, err := c.client.RemoveTags(context.Background(), []string{c.file("w2").id, missing}, []string{c.tag("w")})
	var ae *api.Error
	require.ErrorAs(t, err, &ae)
	assert.ErrorIs(t, err, api.ErrNotFound)
	assert.Equal(t, http.StatusNotFound, ae.StatusCode)
	assert.Equal(t, []string{missing}, ae.MissingFileIDs)
	assert.ElementsMatch(t, before, c.details(t, "w2").Tags, "a 404 changes nothing")
}

// removeTags with more than 50 fileIds is refused with 400, changing
// nothing; the client refuses it before sending.
func testRemoveTags400(t *testing.T, c *conformance) {
	ids := c.ids("w1", "w2")
	for i := len(ids); i < api.MaxBulkFiles+1; i++ {
		ids = append(ids, fakeID(1000+i))
	}
	sent := c.client.Stats().RemoveTags
	_, err := c.client.RemoveTags(context.Background(), ids, []string{c.tag("w")})
	assert.ErrorIs(t, err, api.ErrBadRequest)
	assert.Equal(t, sent, c.client.Stats().RemoveTags, "the client sends no call of 51 files")

	status, _, body := c.raw(t, http.MethodPost, "/v1/files/removeTags", nil, map[string][]string{"fileIds": ids, "tags": {c.tag("w")}})
	assert.Equal(t, http.StatusBadRequest, status, "51 fileIds: %s", body)
	assert.Contains(t, c.details(t, "w1").Tags, c.tag("w"), "a refused call changes nothing")
	assert.Contains(t, c.details(t, "w2").Tags, c.tag("w"), "a refused call changes nothing")
}

// Removing a tag from files of which only some carry it answers 200 with
// no error for the others, and leaves them as they were: tagprune merges
// such files into one call.
func testRemoveAbsentTag(t *testing.T, c *conformance) {
	w1Before := c.details(t, "w1").Tags
	require.NotContains(t, w1Before, c.tag("only2"))
	res, err := c.client.RemoveTags(context.Background(), c.ids("w1", "w2"), []string{c.tag("only2")})
	require.NoError(t, err, "a file without the tag is not an error")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Empty(t, res.Failed)
	assert.ElementsMatch(t, w1Before, c.details(t, "w1").Tags, "the file without the tag is unchanged")
	c.eventually(t, "the tag is gone from the file that carried it", func() error {
		if got := c.details(t, "w2").Tags; slices.Contains(got, c.tag("only2")) {
			return fmt.Errorf("%s still has %q", c.file("w2").path, got)
		}
		return nil
	})
	t.Logf("observed: successfullyUpdatedFileIds of a call where one file lacked the tag: %d of 2 ids (%v)",
		len(res.Succeeded), res.Succeeded)
}

// How many tags one call may carry: a hundred short tags pass, tags that
// add up to 500 characters pass, 600 characters are refused with 400 and
// change nothing (ImageKit's OpenAPI description: "Combined length of all
// tags should be less than or equal to 500"). Each accepted call removes
// the one tag the file carries, placed last, so a call cut short shows.
func testTagsPerCall(t *testing.T, c *conformance) {
	w1 := c.file("w1")
	probe := c.tag("probe")
	carry := func() {
		t.Helper()
		_, err := c.client.AddTags(context.Background(), []string{w1.id}, []string{probe})
		require.NoError(t, err)
		c.eventually(t, "the probe tag is on "+w1.path, func() error {
			if !slices.Contains(c.details(t, "w1").Tags, probe) {
				return errors.New("not yet")
			}
			return nil
		})
	}
	short := func(n int) []string { // n tags that the file does not carry, then the probe
		tags := make([]string, 0, n)
		for i := range n - 1 {
			tags = append(tags, "p"+strconv.Itoa(i))
		}
		return append(tags, probe)
	}
	ofLength := func(total int) []string { // tags adding up to total characters, the probe last
		rest := total - len(probe)
		var tags []string
		for i := 0; rest > 0; i++ {
			n := min(rest, 50)
			if left := rest - n; left > 0 && left < 8 {
				n -= 8 - left // leave enough for a last tag of its own
			}
			tags = append(tags, fmt.Sprintf("q%02d-", i)+strings.Repeat("x", n-4))
			rest -= n
		}
		tags = append(tags, probe)
		require.Equal(t, total, charCount(tags))
		return tags
	}
	for _, tc := range []struct {
		name string
		tags []string
	}{
		{"1 tag", short(1)},
		{"10 tags", short(10)},
		{"100 tags", short(100)},
		{"500 characters", ofLength(500)},
	} {
		carry()
		res, err := c.client.RemoveTags(context.Background(), []string{w1.id}, tc.tags)
		require.NoError(t, err, "%s (%d characters) in one call", tc.name, charCount(tc.tags))
		assert.Equal(t, http.StatusOK, res.StatusCode)
		c.eventually(t, tc.name+": the last tag of the call is removed", func() error {
			if slices.Contains(c.details(t, "w1").Tags, probe) {
				return fmt.Errorf("%s still carries %s", w1.path, probe)
			}
			return nil
		})
		t.Logf("observed: %s (%d characters) in one removeTags call: HTTP %d", tc.name, charCount(tc.tags), res.StatusCode)
	}
	carry()
	over := ofLength(600)
	_, err := c.client.RemoveTags(context.Background(), []string{w1.id}, over)
	var ae *api.Error
	require.ErrorAs(t, err, &ae, "tags adding up to %d characters in one call", charCount(over))
	assert.Equal(t, http.StatusBadRequest, ae.StatusCode)
	assert.Contains(t, c.details(t, "w1").Tags, probe, "a refused call changes nothing")
	t.Logf("observed: %d characters of tags in one removeTags call: HTTP %d: %s", charCount(over), ae.StatusCode, ae.Message)

	// How the API counts the length: tagprune and the emulator count
	// characters (code points). 500 characters that take more bytes in
	// UTF-8, or more UTF-16 units, tell whether the API counts those
	// instead: a 400 here means tagprune's calls of such tags can be
	// refused. Nothing is asserted: no source says.
	for _, wide := range []rune{'é', '𝄞'} {
		var tags []string
		for i := range 10 {
			tags = append(tags, fmt.Sprintf("q%02d-", i)+strings.Repeat(string(wide), 46))
		}
		require.Equal(t, 500, charCount(tags))
		nbytes, units := 0, 0
		for _, tag := range tags {
			nbytes += len(tag)
			units += len(utf16.Encode([]rune(tag)))
		}
		status := http.StatusOK
		_, err := c.client.RemoveTags(context.Background(), []string{w1.id}, tags)
		if errors.As(err, &ae) {
			status = ae.StatusCode
		} else {
			require.NoError(t, err)
		}
		t.Logf("observed: 500 characters of tags in one removeTags call, as %d bytes in UTF-8 and %d UTF-16 units: HTTP %d", nbytes, units, status)
	}
}

func charCount(tags []string) int {
	n := 0
	for _, t := range tags {
		n += len([]rune(t))
	}
	return n
}

// addTags answers 200 and adds the tags; adding a tag a file already
// carries changes nothing and duplicates nothing.
func testAddTags(t *testing.T, c *conformance) {
	added := c.tag("added")
	for range 2 {
		res, err := c.client.AddTags(context.Background(), c.ids("w1", "w2"), []string{added})
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.ElementsMatch(t, c.ids("w1", "w2"), res.Succeeded)
	}
	for _, role := range []string{"w1", "w2"} {
		c.eventually(t, "the tag is on "+c.file(role).path+" once", func() error {
			got := c.details(t, role).Tags
			if n := countOf(got, added); n != 1 {
				return fmt.Errorf("%s carries %s %d times: %q", c.file(role).path, added, n, got)
			}
			return nil
		})
	}
	assert.ElementsMatch(t, c.ids("w1", "w2"), c.searchIDs(t, c.inRoot("tags IN ["+quoteQuery(added)+`] AND type = "file"`)))
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// removeAITags takes {fileIds, AITags}, answers as removeTags does, removes
// only the AITags named, and leaves tags alone; an AITag the file does not
// carry is no error.
func testRemoveAITags(t *testing.T, c *conformance) {
	w1 := c.details(t, "w1")
	res, err := c.client.RemoveAITags(context.Background(), []string{w1.FileID}, []string{c.tag("no-such-ai-tag")})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.ElementsMatch(t, w1.Tags, c.details(t, "w1").Tags, "tags are untouched")

	_, err = c.client.RemoveAITags(context.Background(), []string{w1.FileID, fakeID(405)}, []string{c.tag("no-such-ai-tag")})
	var ae *api.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusNotFound, ae.StatusCode)

	if c.aiFile == "" {
		t.Skip("no file of the run carries AITags: ImageKit sets them only through its auto-tagging extensions")
	}
	g := c.file(c.aiFile)
	_, err = c.client.RemoveAITags(context.Background(), []string{g.id}, []string{g.aiTags[1]})
	require.NoError(t, err)
	c.eventually(t, "the AITag is gone", func() error {
		var names []string
		for _, a := range c.details(t, c.aiFile).AITags {
			names = append(names, a.Name)
		}
		if !slices.Equal(names, g.aiTags[:1]) {
			return fmt.Errorf("%s has AITags %q", g.path, names)
		}
		return nil
	})
}

// Every answer of the API, errors included, carries X-RateLimit-Limit,
// X-RateLimit-Reset and X-RateLimit-Interval (whole numbers) and its own
// x-ik-requestId.
func testHeadersOnEveryAnswer(t *testing.T, c *conformance) {
	c.search(t, c.inRoot(`type = "file"`))
	c.details(t, "w1")
	_, err := c.client.Details(context.Background(), fakeID(9))
	assert.ErrorIs(t, err, api.ErrNotFound)
	_, err = c.client.RemoveTags(context.Background(), c.ids("w1"), []string{c.tag("never-there")})
	require.NoError(t, err)
	status, _, _ := c.raw(t, http.MethodGet, "/v1/files", url.Values{"searchQuery": {c.inRoot("")}, "limit": {"0"}}, nil)
	assert.Equal(t, http.StatusBadRequest, status, "limit 0 is refused")

	answers := c.answers.Answers()
	require.NotEmpty(t, answers)
	ids := map[string]bool{}
	statuses := map[int]bool{}
	for _, a := range answers {
		what := fmt.Sprintf("%s %s (HTTP %d)", a.method, a.path, a.status)
		statuses[a.status] = true
		for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Reset", "X-RateLimit-Interval"} {
			v := a.header.Get(h)
			_, err := strconv.ParseInt(v, 10, 64)
			assert.NoError(t, err, "%s: %s %q is a whole number", what, h, v)
		}
		id := a.header.Get("x-ik-requestId")
		assert.NotEmpty(t, id, "%s carries x-ik-requestId", what)
		assert.False(t, ids[id], "%s: request id %s is its own", what, id)
		ids[id] = true
	}
	for _, s := range []int{http.StatusOK, http.StatusBadRequest, http.StatusNotFound} {
		assert.True(t, statuses[s], "the answers checked include an HTTP %d", s)
	}
	t.Logf("observed: %d answers checked; statuses %v", len(answers), slices.Sorted(func(yield func(int) bool) {
		for s := range statuses {
			if !yield(s) {
				return
			}
		}
	}))
}
