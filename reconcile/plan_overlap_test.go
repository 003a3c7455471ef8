package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/internal/sorted"
	"github.com/tagprune/tagprune/manifest"
)

// withQuery returns r with a searchQuery.
func withQuery(r manifest.Rule, q string) manifest.Rule {
	r.SearchQuery = q
	return r
}

func TestPlanListingsMergesOverlappingScopes(t *testing.T) {
	tests := []struct {
		name  string
		rules []manifest.Rule
		want  []listing
	}{
		{
			name:  "nested scopes share one listing over the outer folder",
			rules: []manifest.Rule{rule("X", []string{"/a/"}, nil, "t1"), rule("Y", []string{"/a/b/"}, nil, "t2")},
			want:  []listing{{query: `path : "/a/" AND tags IN ["t1","t2"] AND type = "file"`, rules: []int{0, 1}}},
		},
		{
			name:  "identical scopes share one listing",
			rules: []manifest.Rule{rule("X", []string{"/a/", "/b/"}, nil, "t1"), rule("Y", []string{"/b/", "/a/"}, nil, "t2")},
			want:  []listing{{query: `(path : "/a/" OR path : "/b/") AND tags IN ["t1","t2"] AND type = "file"`, rules: []int{0, 1}}},
		},
		{
			name:  "disjoint scopes keep their own listings",
			rules: []manifest.Rule{rule("X", []string{"/b/"}, nil, "t1"), rule("Y", []string{"/a/"}, nil, "t2")},
			want: []listing{
				{query: `path : "/a/" AND tags IN ["t2"] AND type = "file"`, rules: []int{1}},
				{query: `path : "/b/" AND tags IN ["t1"] AND type = "file"`, rules: []int{0}},
			},
		},
		{
			name:  "a folder whose name starts like another is not under it",
			rules: []manifest.Rule{rule("X", []string{"/a/"}, nil, "t1"), rule("Y", []string{"/ab/"}, nil, "t2")},
			want: []listing{
				{query: `path : "/a/" AND tags IN ["t1"] AND type = "file"`, rules: []int{0}},
				{query: `path : "/ab/" AND tags IN ["t2"] AND type = "file"`, rules: []int{1}},
			},
		},
		{
			name:  "a glob over the library and an exact rule below it read the library once",
			rules: []manifest.Rule{rule("G", []string{"/"}, nil, "campaign-*"), rule("E", []string{"/products/"}, nil, "sale2019")},
			want:  []listing{{query: `path : "/" AND tags EXISTS AND type = "file"`, rules: []int{0, 1}}},
		},
		{
			name:  "an exact rule over the library and a glob below it read the library once",
			rules: []manifest.Rule{rule("E", []string{"/"}, nil, "sale2019"), rule("G", []string{"/products/"}, nil, "campaign-*")},
			want:  []listing{{query: `path : "/" AND tags EXISTS AND type = "file"`, rules: []int{0, 1}}},
		},
		{
			name:  "a rule's own nested folders collapse to the outer one",
			rules: []manifest.Rule{rule("X", []string{"/a/", "/a/b/", "/c/"}, nil, "t1")},
			want:  []listing{{query: `(path : "/a/" OR path : "/c/") AND tags IN ["t1"] AND type = "file"`, rules: []int{0}}},
		},
		{
			name: "merging repeats until no two listings overlap",
			rules: []manifest.Rule{
				rule("Y", []string{"/a/"}, nil, "t1"),
				rule("Z", []string{"/c/d/"}, nil, "t2"),
				rule("X", []string{"/a/b/", "/c/"}, nil, "t3"),
				rule("W", []string{"/e/"}, nil, "t4"),
			},
			want: []listing{
				{query: `(path : "/a/" OR path : "/c/") AND tags IN ["t1","t2","t3"] AND type = "file"`, rules: []int{0, 1, 2}},
				{query: `path : "/e/" AND tags IN ["t4"] AND type = "file"`, rules: []int{3}},
			},
		},
		{
			name: "siblings under no common rule stay apart",
			rules: []manifest.Rule{
				rule("X", []string{"/a/b/"}, nil, "t1"),
				rule("Y", []string{"/a/c/"}, nil, "t2"),
			},
			want: []listing{
				{query: `path : "/a/b/" AND tags IN ["t1"] AND type = "file"`, rules: []int{0}},
				{query: `path : "/a/c/" AND tags IN ["t2"] AND type = "file"`, rules: []int{1}},
			},
		},
		{
			name: "rules with different searchQueries cannot share a listing",
			rules: []manifest.Rule{
				withQuery(rule("Q", []string{"/a/b/"}, nil, "t1"), `name = "1.jpg"`),
				rule("X", []string{"/a/"}, nil, "t2"),
				withQuery(rule("R", []string{"/a/"}, nil, "t3"), `name = "1.jpg"`),
			},
			want: []listing{
				{query: `path : "/a/" AND tags IN ["t2"] AND type = "file"`, rules: []int{1}},
				{query: `path : "/a/" AND tags IN ["t1","t3"] AND (name = "1.jpg") AND type = "file"`, search: `name = "1.jpg"`, rules: []int{0, 2}},
			},
		},
		{
			name: "fileIds are read by id beside the merged folders",
			rules: []manifest.Rule{
				rule("X", []string{"/a/"}, []string{"f9"}, "t1"),
				rule("Y", []string{"/"}, nil, "t2"),
			},
			want: []listing{
				{query: `path : "/" AND tags IN ["t1","t2"] AND type = "file"`, rules: []int{0, 1}},
				{query: `id IN ["f9"] AND tags IN ["t1"] AND type = "file"`, rules: []int{0}, byID: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planListings(tt.rules)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// foldersOf returns the folders a folder listing's searchQuery names.
func foldersOf(q string) []string {
	var out []string
	for _, part := range strings.Split(q, `path : "`)[1:] {
		out = append(out, part[:strings.IndexByte(part, '"')])
	}
	return out
}

func TestPlanListingsSplitOnlyByDisjointFolders(t *testing.T) {
	var outer, inner, tags []string
	for i := range 400 {
		outer = append(outer, fmt.Sprintf("/section-%03d/a-rather-long-folder-name/", i))
		inner = append(inner, fmt.Sprintf("/section-%03d/a-rather-long-folder-name/below/", i))
	}
	for i := range 30 {
		tags = append(tags, fmt.Sprintf("tag-%02d", i))
	}
	tests := []struct {
		name      string
		rules     []manifest.Rule
		wantTags  string // the tags clause every listing carries
		wantSplit bool
	}{
		{
			name:      "many folders are split into listings over different folders",
			rules:     []manifest.Rule{rule("X", outer, nil, tags...), rule("Y", inner, nil, "other")},
			wantTags:  inClause("tags", sorted.Unique(append(slices.Clone(tags), "other"))),
			wantSplit: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planListings(tt.rules)
			require.NoError(t, err)
			assert.Equal(t, tt.wantSplit, len(got) > 1, "split")
			owner := map[string]string{}
			for _, l := range got {
				u := "https://api.imagekit.io/v1/files?limit=1000&skip=100000&searchQuery=" + url.QueryEscape(l.query)
				assert.LessOrEqual(t, len(u), 8<<10, "the URL fits in 8 KB")
				assert.True(t, strings.HasSuffix(l.query, " AND "+tt.wantTags+` AND type = "file"`), "every listing carries every tag: %s", l.query)
				assert.Equal(t, []int{0, 1}, l.rules)
				for _, f := range foldersOf(l.query) {
					owner[f] = l.query
				}
			}
			var all []string
			for _, r := range tt.rules {
				all = append(all, r.Paths...)
			}
			for _, p := range all {
				var under []string
				for f, q := range owner {
					if strings.HasPrefix(p, f) && !slices.Contains(under, q) {
						under = append(under, q)
					}
				}
				assert.Len(t, under, 1, "folder %s is read by exactly one listing", p)
			}
			for f := range owner {
				for g := range owner {
					assert.False(t, f != g && strings.HasPrefix(f, g), "%s is under %s: both are read", f, g)
				}
			}
		})
	}
}

func TestARuleSelectsByFolderOrByIDWhicheverListingReadsTheFile(t *testing.T) {
	r := rule("X", []string{"/a/"}, []string{"f1", "f9"}, "x")
	r.ExcludeFileIDs = []string{"f5"}
	r.ExcludePaths = []string{"/a/keep/"}
	tests := []struct {
		name     string
		id, path string
		want     bool
	}{
		{name: "a file under the paths", id: "f2", path: "/a/2.jpg", want: true},
		{name: "a file named by id and under the paths", id: "f1", path: "/a/1.jpg", want: true},
		{name: "a file named by id elsewhere", id: "f9", path: "/z/9.jpg", want: true},
		{name: "an excluded id", id: "f5", path: "/a/5.jpg"},
		{name: "a named file in an excluded folder", id: "f1", path: "/a/keep/1.jpg"},
		{name: "a file out of scope", id: "f3", path: "/b/3.jpg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := newTestLib(t, []imagekittest.File{file(tt.id, tt.path, "x", "keep")})
			p, err := MakePlan(context.Background(), lib, []manifest.Rule{r}, PlanOptions{})
			require.NoError(t, err)
			assert.Equal(t, tt.want, len(p.Changes) == 1, "changed")
			require.NoError(t, CheckConsistency(p))
		})
	}
}

func TestMakePlanMergedListingsStayExact(t *testing.T) {
	rules := []manifest.Rule{
		rule("X", []string{"/a/"}, []string{"f9"}, "t1"),
		rule("Y", []string{"/a/b/"}, nil, "t2", "g*"),
		rule("Z", []string{"/"}, nil, "t3"),
	}
	files := []imagekittest.File{
		file("f1", "/a/1.jpg", "t1", "t2", "t3", "go"), // t2 and the glob are Y's, not X's
		file("f2", "/a/b/2.jpg", "t1", "t2", "go", "keep"),
		file("f3", "/c/3.jpg", "t1", "t2", "t3"),
		file("f9", "/c/9.jpg", "t1", "t3"), // X by id, Z by path
	}
	lib := newTestLib(t, files)
	p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"f1": "t1,t3 by X,Z",
		"f2": "go,t1,t2 by X,Y",
		"f3": "t3 by Z",
		"f9": "t1,t3 by X,Z",
	}, removals(p))
	assert.Equal(t, []string{`path : "/" AND tags EXISTS AND type = "file"`, `id IN ["f9"] AND tags IN ["t1"] AND type = "file"`}, lib.queries)
}

// countingLib is a Library over a real client that records, for every
// listing, the files its answers held.
type countingLib struct {
	*api.Client
	mu   sync.Mutex
	read map[string][]string // file id -> the searchQueries that returned it
}

func (l *countingLib) List(ctx context.Context, p api.ListParams) iter.Seq2[api.File, error] {
	return func(yield func(api.File, error) bool) {
		for f, err := range l.Client.List(ctx, p) {
			if err == nil {
				l.mu.Lock()
				l.read[f.FileID] = append(l.read[f.FileID], p.SearchQuery)
				l.mu.Unlock()
			}
			if !yield(f, err) {
				return
			}
		}
	}
}

// bruteRemove computes remove(f) for every file of the library straight
// from the manifest semantics, evaluating searchQueries with the emulator's
// parser.
func bruteRemove(t *testing.T, rules []manifest.Rule, files []imagekittest.File) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for i := range files {
		f := &files[i]
		var rm []string
		for _, r := range rules {
			if !trueSelects(r, *f) {
				continue
			}
			if r.SearchQuery != "" {
				q, err := imagekittest.ParseQuery(r.SearchQuery, time.Now())
				require.NoError(t, err)
				if !q.Match(f) {
					continue
				}
			}
			for _, tag := range f.Tags {
				forbidden := trueMatches(r.ForbiddenTags, tag) || (len(r.AllowedTags) > 0 && !trueMatches(r.AllowedTags, tag))
				if forbidden && tag != "" && !slices.Contains(rm, tag) {
					rm = append(rm, tag)
				}
			}
		}
		if len(rm) > 0 {
			slices.Sort(rm)
			out[f.FileID] = rm
		}
	}
	return out
}

func TestMakePlanNestedRulesReadEachFileOnce(t *testing.T) {
	files := imagekittest.GenerateLibrary(4000, 11)
	var byID []string // files named by id: under /products/ and elsewhere
	for _, f := range files {
		if len(byID) < 40 && len(f.Tags) > 0 {
			byID = append(byID, f.FileID)
		}
	}
	tests := []struct {
		name  string
		rules []manifest.Rule
		// mayRepeat says which files two answers may both hold.
		mayRepeat func(id string) bool
	}{
		{
			name: "nested exact rules",
			rules: []manifest.Rule{
				rule("sales", []string{"/products/"}, nil, "sale2019"),
				rule("shoes", []string{"/products/shoes/", "/brand/"}, nil, "sale2020", "legacy"),
				rule("brand-2021", []string{"/brand/summer/2021/"}, nil, "draft"),
				{Name: "kids", Paths: []string{"/products/kids/"}, ExcludePaths: []string{"/products/kids/2020/"}, ForbiddenTags: []string{"hero"}},
			},
		},
		{
			name: "a glob over the library and exact rules below it",
			rules: []manifest.Rule{
				rule("campaigns", []string{"/"}, nil, "campaign-2023-*"),
				rule("sales", []string{"/products/"}, nil, "sale2019", "sale2020"),
				rule("blog", []string{"/blog/news/"}, nil, "draft"),
			},
		},
		{
			name: "an allowlist over nested rules",
			rules: []manifest.Rule{
				allow("vocabulary", []string{"/products/shoes/"}, "sale2019", "hero", "new-*"),
				rule("sales", []string{"/products/"}, nil, "sale2019"),
			},
		},
		{
			name: "fileIds beside nested paths",
			rules: []manifest.Rule{
				rule("sales", []string{"/products/"}, nil, "sale2019"),
				rule("by-id", []string{"/products/bags/"}, byID, "legacy", "draft", "hero"),
			},
			mayRepeat: func(id string) bool { return slices.Contains(byID, id) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := imagekittest.NewServer(slices.Clone(files))
			defer srv.Close()
			client, err := api.New(api.WithBaseURL(srv.URL), api.WithRate(0, 0))
			require.NoError(t, err)
			lib := &countingLib{Client: client, read: map[string][]string{}}

			p, err := MakePlan(context.Background(), lib, tt.rules, PlanOptions{})
			require.NoError(t, err)

			want := bruteRemove(t, tt.rules, files)
			require.NotEmpty(t, want)
			got := map[string][]string{}
			for _, c := range p.Changes {
				got[c.FileID] = c.RemoveTags
			}
			assert.Equal(t, want, got, "the plan is exact")

			require.NotEmpty(t, lib.read)
			for id, qs := range lib.read {
				if len(qs) > 1 && (tt.mayRepeat == nil || !tt.mayRepeat(id) || len(qs) > 2) {
					t.Errorf("file %s was returned %d times: by %q", id, len(qs), qs)
				}
			}
		})
	}
}

// tagsOf returns the tags of a search's `tags IN [...]` clause, nil when it
// has none.
func tagsOf(t *testing.T, q string) []string {
	t.Helper()
	_, list, ok := strings.Cut(q, "tags IN [")
	if !ok {
		return nil
	}
	var tags []string
	end := 0
	for inQuote := false; end < len(list); end++ {
		switch c := list[end]; {
		case c == '\\' && inQuote:
			end++
		case c == '"':
			inQuote = !inQuote
		case c == ']' && !inQuote:
			require.NoError(t, json.Unmarshal([]byte("["+list[:end]+"]"), &tags), q)
			return tags
		}
	}
	t.Fatalf("no end to the tags clause of %s", q)
	return nil
}

func TestPlanListingsSplitLongTagLists(t *testing.T) {
	var folders, longTags []string
	for i := range 400 {
		folders = append(folders, fmt.Sprintf("/section-%03d/a-rather-long-folder-name/", i))
	}
	for i := range 1000 {
		longTags = append(longTags, fmt.Sprintf("some-long-forbidden-tag-%04d", i))
	}
	odd := []string{`say "hi"`, `back\slash`, "ünïcode", "comma,inside", "bracket]inside"}
	q := rule("Q", []string{"/a/"}, nil, longTags...)
	q.SearchQuery = `createdAt > "2024-01-01"`
	tests := []struct {
		name  string
		rules []manifest.Rule
	}{
		{
			name:  "a thousand exact tags over one folder",
			rules: []manifest.Rule{rule("X", []string{"/a/"}, nil, longTags...), rule("Y", []string{"/a/b/"}, nil, "x")},
		},
		{
			name:  "many folders and many tags",
			rules: []manifest.Rule{rule("X", folders, nil, longTags[:600]...), rule("Y", folders[:3], nil, odd...)},
		},
		{
			name:  "a searchQuery is kept on every list",
			rules: []manifest.Rule{q, withQuery(rule("Z", []string{"/a/c/"}, nil, odd...), q.SearchQuery)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planListings(tt.rules)
			require.NoError(t, err)
			var wantTags, wantFolders []string
			for _, r := range tt.rules {
				wantTags = append(wantTags, r.ForbiddenTags...)
				wantFolders = append(wantFolders, r.Paths...)
			}
			wantTags = sorted.Unique(wantTags)
			require.Greater(t, len(got), 1, "the tags do not fit one URL")
			searched := map[string][]string{} // tag -> the folders searched with it
			for _, l := range got {
				u := "https://api.imagekit.io/v1/files?limit=1000&skip=100000&searchQuery=" + url.QueryEscape(l.query)
				assert.LessOrEqual(t, len(u), 8<<10, "the URL fits in 8 KB")
				assert.NotContains(t, l.query, "EXISTS", "a long list of exact tags never reads every tagged file")
				assert.True(t, strings.HasSuffix(l.query, ` AND type = "file"`), l.query)
				if sq := tt.rules[0].SearchQuery; sq != "" {
					assert.Contains(t, l.query, " AND ("+sq+") AND ")
				}
				assert.Equal(t, []int{0, 1}, l.rules)
				tags := tagsOf(t, l.query)
				require.NotEmpty(t, tags, l.query)
				for _, tag := range tags {
					searched[tag] = append(searched[tag], foldersOf(l.query)...)
				}
			}
			require.Len(t, searched, len(wantTags), "every tag is searched")
			for _, tag := range wantTags {
				for _, f := range wantFolders {
					n := 0
					for _, g := range searched[tag] {
						if strings.HasPrefix(f, g) {
							n++
						}
					}
					require.Equal(t, 1, n, "folder %s and tag %q are searched together exactly once", f, tag)
				}
			}
		})
	}
}
