package reconcile

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/manifest"
)

func file(id, filePath string, tags ...string) imagekittest.File {
	return imagekittest.File{FileID: id, Type: "file", Name: path.Base(filePath), FilePath: filePath, Tags: tags}
}

func withAI(f imagekittest.File, ai ...string) imagekittest.File {
	for _, t := range ai {
		f.AITags = append(f.AITags, imagekittest.AITag{Name: t, Confidence: 90, Source: "google-auto-tagging"})
	}
	return f
}

// rule builds a manifest rule over paths and ids that forbids forbidden
// (exact tags or globs).
func rule(name string, paths, ids []string, forbidden ...string) manifest.Rule {
	return manifest.Rule{Name: name, Paths: paths, FileIDs: ids, ForbiddenTags: forbidden, Source: "m.yaml:3:5"}
}

// allow builds a manifest rule over paths whose allowlist is allowed.
func allow(name string, paths []string, allowed ...string) manifest.Rule {
	return manifest.Rule{Name: name, Paths: paths, AllowedTags: allowed, Source: "m.yaml:9:5"}
}

func removals(p *Plan) map[string]string {
	out := map[string]string{}
	for _, c := range p.Changes {
		out[c.FileID] = strings.Join(c.RemoveTags, ",") + " by " + strings.Join(c.Rules, ",")
	}
	return out
}

func TestMakePlanSelectsAndDiffs(t *testing.T) {
	withQuery := rule("q", []string{"/a/"}, nil, "x")
	withQuery.SearchQuery = `name = "1.jpg"`
	excluding := rule("ex", []string{"/a/"}, nil, "x")
	excluding.ExcludePaths, excluding.ExcludeFileIDs = []string{"/a/keep/"}, []string{"f2"}

	tests := []struct {
		name  string
		rules []manifest.Rule
		files []imagekittest.File
		want  map[string]string
	}{
		{
			name:  "paths select folder and subfolders only",
			rules: []manifest.Rule{rule("r", []string{"/a/"}, nil, "x")},
			files: []imagekittest.File{file("f1", "/a/1.jpg", "x"), file("f2", "/a/b/2.jpg", "x", "y"), file("f3", "/ab/3.jpg", "x"), file("f4", "/c/4.jpg", "x")},
			want:  map[string]string{"f1": "x by r", "f2": "x by r"},
		},
		{
			name:  "fileIds select files anywhere",
			rules: []manifest.Rule{rule("r", nil, []string{"f4", "nope"}, "x")},
			files: []imagekittest.File{file("f1", "/a/1.jpg", "x"), file("f4", "/c/4.jpg", "x", "y")},
			want:  map[string]string{"f4": "x by r"},
		},
		{
			name:  "exclusions are applied locally",
			rules: []manifest.Rule{excluding},
			files: []imagekittest.File{file("f1", "/a/1.jpg", "x"), file("f2", "/a/2.jpg", "x"), file("f3", "/a/keep/3.jpg", "x")},
			want:  map[string]string{"f1": "x by ex"},
		},
		{
			name:  "globs match the file's own tags",
			rules: []manifest.Rule{rule("g", []string{"/"}, nil, "campaign-*", "sale20[0-9][0-9]")},
			files: []imagekittest.File{file("f1", "/a/1.jpg", "campaign-2023", "keep", "sale2019"), file("f2", "/b/2.jpg", "campaign", "sale19"), withAI(file("f3", "/c/3.jpg", "keep"), "campaign-x")},
			want:  map[string]string{"f1": "campaign-2023,sale2019 by g"},
		},
		{
			name:  "exact tags are case-sensitive",
			rules: []manifest.Rule{rule("r", []string{"/"}, nil, "Sale")},
			files: []imagekittest.File{file("f1", "/1.jpg", "sale"), file("f2", "/2.jpg", "Sale")},
			want:  map[string]string{"f2": "Sale by r"},
		},
		{
			name:  "AITags are never removed",
			rules: []manifest.Rule{rule("r", []string{"/"}, nil, "x", "y")},
			files: []imagekittest.File{withAI(file("f1", "/1.jpg", "y"), "x")},
			want:  map[string]string{"f1": "y by r"},
		},
		{
			name:  "a file listed only through its AITags is not changed",
			rules: []manifest.Rule{rule("r", []string{"/"}, nil, "x")},
			files: []imagekittest.File{withAI(file("f1", "/1.jpg", "other"), "x"), withAI(file("f2", "/2.jpg"), "x")},
			want:  map[string]string{},
		},
		{
			name:  "several rules add up and are named",
			rules: []manifest.Rule{rule("A", []string{"/a/"}, nil, "x"), rule("B", []string{"/"}, nil, "y*"), rule("C", []string{"/b/"}, nil, "z")},
			files: []imagekittest.File{file("f1", "/a/1.jpg", "x", "yes", "z"), file("f2", "/b/2.jpg", "x", "z")},
			want:  map[string]string{"f1": "x,yes by A,B", "f2": "z by C"},
		},
		{
			name:  "searchQuery narrows the selection",
			rules: []manifest.Rule{withQuery},
			files: []imagekittest.File{file("f1", "/a/1.jpg", "x"), file("f2", "/a/b/2.jpg", "x")},
			want:  map[string]string{"f1": "x by q"},
		},
		{
			name:  "paths and fileIds together",
			rules: []manifest.Rule{rule("r", []string{"/a/"}, []string{"f3"}, "x")},
			files: []imagekittest.File{file("f1", "/a/1.jpg", "x"), file("f2", "/b/2.jpg", "x"), file("f3", "/c/3.jpg", "x")},
			want:  map[string]string{"f1": "x by r", "f3": "x by r"},
		},
		{
			name:  "duplicate own tags are removed once",
			rules: []manifest.Rule{rule("r", []string{"/"}, nil, "x")},
			files: []imagekittest.File{file("f1", "/1.jpg", "x", "x")},
			want:  map[string]string{"f1": "x by r"},
		},
		{
			name:  "an allowlist removes what it does not admit, AITags aside",
			rules: []manifest.Rule{allow("shop", []string{"/shop/"}, "red", "size-*")},
			files: []imagekittest.File{
				withAI(file("f1", "/shop/1.jpg", "red", "size-xl", "Red", "promo"), "Person"),
				file("f2", "/shop/2.jpg", "red"),
				file("f3", "/blog/3.jpg", "promo"),
				withAI(file("f4", "/shop/4.jpg"), "promo"),
			},
			want: map[string]string{"f1": "Red,promo by shop"},
		},
		{
			name: "an allowlist and a denylist add up",
			rules: []manifest.Rule{
				func() manifest.Rule {
					r := allow("shop", []string{"/shop/"}, "red", "size-*")
					r.ForbiddenTags = []string{"size-unknown"}
					return r
				}(),
				rule("sales", []string{"/"}, nil, "sale*"),
			},
			files: []imagekittest.File{file("f1", "/shop/1.jpg", "red", "size-unknown", "size-m", "sale1"), file("f2", "/blog/2.jpg", "sale2", "blue")},
			want:  map[string]string{"f1": "sale1,size-unknown by sales,shop", "f2": "sale2 by sales"},
		},
		{
			name:  "the empty tag is never removed",
			rules: []manifest.Rule{rule("all", []string{"/"}, nil, "*")},
			files: []imagekittest.File{file("f1", "/1.jpg", "", "x"), file("f2", "/2.jpg", "")},
			want:  map[string]string{"f1": "x by all"},
		},
		{
			name:  "folders and file versions that a search returns are skipped",
			rules: []manifest.Rule{rule("r", []string{"/"}, nil, "x")},
			files: []imagekittest.File{
				file("f1", "/a/1.jpg", "x"),
				func() imagekittest.File { f := file("f2", "/a/2.jpg", "x"); f.Type = "file-version"; return f }(),
			},
			want: map[string]string{"f1": "x by r"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := newTestLib(t, tt.files)
			p, err := MakePlan(context.Background(), lib, tt.rules, PlanOptions{Tool: "test"})
			require.NoError(t, err)
			if diff := cmp.Diff(tt.want, removals(p)); diff != "" {
				t.Errorf("removals (-want +got):\n%s", diff)
			}
			require.NoError(t, CheckConsistency(p))
			assert.Equal(t, len(p.Changes), p.Summary.FilesToChange)
			assert.Equal(t, len(p.Batches), p.Summary.RemoveTagsCalls)
		})
	}
}

func TestMakePlanQueries(t *testing.T) {
	q := rule("q", []string{"/a/"}, nil, "x")
	q.SearchQuery = `name = "1.jpg"`
	tests := []struct {
		name  string
		rules []manifest.Rule
		want  []string
	}{
		{
			name:  "exact tags read only candidates",
			rules: []manifest.Rule{rule("r", []string{"/a/"}, nil, "y", "x")},
			want:  []string{`path : "/a/" AND tags IN ["x","y"] AND type = "file"`},
		},
		{
			name:  "rules over one scope share a listing",
			rules: []manifest.Rule{rule("r", []string{"/a/"}, nil, "x"), rule("s", []string{"/a/"}, nil, "y")},
			want:  []string{`path : "/a/" AND tags IN ["x","y"] AND type = "file"`},
		},
		{
			name:  "a glob reads every tagged file of the shared listing",
			rules: []manifest.Rule{rule("r", []string{"/a/"}, nil, "x"), rule("s", []string{"/a/"}, nil, "y*")},
			want:  []string{`path : "/a/" AND tags EXISTS AND type = "file"`},
		},
		{
			name:  "an allowlist reads every tagged file",
			rules: []manifest.Rule{allow("shop", []string{"/shop/"}, "red"), rule("s", []string{"/"}, []string{"f1"}, "x")},
			want: []string{
				`path : "/" AND tags EXISTS AND type = "file"`,
				`id IN ["f1"] AND tags IN ["x"] AND type = "file"`,
			},
		},
		{
			name:  "several paths are OR-ed",
			rules: []manifest.Rule{rule("r", []string{"/b/", "/a/"}, nil, "x")},
			want:  []string{`(path : "/a/" OR path : "/b/") AND tags IN ["x"] AND type = "file"`},
		},
		{
			name:  "the rule's searchQuery is ANDed in parentheses",
			rules: []manifest.Rule{q},
			want:  []string{`path : "/a/" AND tags IN ["x"] AND (name = "1.jpg") AND type = "file"`},
		},
		{
			name:  "fileIds are read by id",
			rules: []manifest.Rule{rule("r", nil, []string{"f2", "f1"}, "x")},
			want:  []string{`id IN ["f1","f2"] AND tags IN ["x"] AND type = "file"`},
		},
		{
			name:  "fileIds with a glob are read by id among tagged files",
			rules: []manifest.Rule{rule("r", nil, []string{"f1"}, "x*")},
			want:  []string{`id IN ["f1"] AND tags EXISTS AND type = "file"`},
		},
		{
			name:  "values are quoted and escaped",
			rules: []manifest.Rule{rule("r", []string{`/a "b"/`}, nil, `say "hi"`, `back\slash`)},
			want:  []string{`path : "/a \"b\"/" AND tags IN ["back\\slash","say \"hi\""] AND type = "file"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := newTestLib(t, nil)
			_, err := MakePlan(context.Background(), lib, tt.rules, PlanOptions{})
			require.NoError(t, err)
			assert.Equal(t, tt.want, lib.queries)
		})
	}
}

func TestMakePlanQuotedValuesRoundTrip(t *testing.T) {
	lib := newTestLib(t, []imagekittest.File{file("f1", `/a "b"/1.jpg`, `say "hi"`, `back\slash`, "keep")})
	p, err := MakePlan(context.Background(), lib, []manifest.Rule{rule("r", []string{`/a "b"/`}, nil, `say "hi"`, `back\slash`)}, PlanOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"f1": `back\slash,say "hi" by r`}, removals(p))
}

func TestIDQueriesStayUnder8KB(t *testing.T) {
	var ids []string
	for i := range 3000 {
		ids = append(ids, fmt.Sprintf("%024x", i))
	}
	qs, err := idQueries(ids, []string{`(name = "x")`})
	require.NoError(t, err)
	require.Greater(t, len(qs), 1)
	seen := 0
	for _, q := range qs {
		u := "https://api.imagekit.io/v1/files?limit=1000&skip=100000&searchQuery=" + url.QueryEscape(q)
		assert.LessOrEqual(t, len(u), 8<<10)
		assert.True(t, strings.HasSuffix(q, ` AND (name = "x")`), q)
		seen += strings.Count(q, ",") + 1
	}
	assert.Equal(t, len(ids), seen)
}

func TestMakePlanIsDeterministic(t *testing.T) {
	var files []imagekittest.File
	for i := range 300 {
		files = append(files, file(fmt.Sprintf("f%03d", i), fmt.Sprintf("/d%d/%03d.jpg", i%7, 299-i), "x", fmt.Sprintf("t%d", i%5)))
	}
	rules := []manifest.Rule{rule("a", []string{"/"}, nil, "x"), rule("b", []string{"/d1/", "/d2/"}, nil, "t*")}
	p1, err := MakePlan(context.Background(), newTestLib(t, files), rules, PlanOptions{})
	require.NoError(t, err)
	p2, err := MakePlan(context.Background(), newTestLib(t, files), rules, PlanOptions{})
	require.NoError(t, err)
	p2.CreatedAt = p1.CreatedAt
	if diff := cmp.Diff(p1, p2); diff != "" {
		t.Fatalf("plans differ (-first +second):\n%s", diff)
	}
	for i := 1; i < len(p1.Changes); i++ {
		assert.LessOrEqual(t, p1.Changes[i-1].FilePath, p1.Changes[i].FilePath)
	}
	assert.Equal(t, RulesDigest(p1.Rules), p1.RulesDigest)
	assert.True(t, strings.HasPrefix(p1.RulesDigest, "sha256:"))
}

func TestMakePlanRefusesBadBatchSize(t *testing.T) {
	_, err := MakePlan(context.Background(), newTestLib(t, nil), nil, PlanOptions{BatchSize: 51})
	require.ErrorContains(t, err, "batch size 51")
}

func TestMakePlanRefusesRulesThatDoNotCompile(t *testing.T) {
	lib := newTestLib(t, nil)
	_, err := MakePlan(context.Background(), lib, []manifest.Rule{rule("a", []string{"/"}, nil, "[x"), rule("a", []string{"/"}, nil, "y")}, PlanOptions{})
	var errs manifest.Errors
	require.ErrorAs(t, err, &errs)
	assert.Contains(t, err.Error(), `rule "a": bad glob "[x"`)
	assert.Contains(t, err.Error(), `rule "a": duplicate rule name`)
	assert.Empty(t, lib.queries, "nothing is read")
}

func TestMakePlanRecordsItsSource(t *testing.T) {
	src := &Source{APIURL: "https://api.imagekit.io"}
	p, err := MakePlan(context.Background(), newTestLib(t, nil), nil, PlanOptions{Source: src})
	require.NoError(t, err)
	assert.Equal(t, &Source{APIURL: "https://api.imagekit.io"}, p.Source)
	assert.NotSame(t, src, p.Source, "the plan keeps its own copy")
	p, err = MakePlan(context.Background(), newTestLib(t, nil), nil, PlanOptions{})
	require.NoError(t, err)
	assert.Nil(t, p.Source)
}

// foldersLib returns, in every listing, a folder and a file object without
// a fileId beside the files, as a search without a type clause may.
type foldersLib struct{ *testLib }

func (l foldersLib) List(ctx context.Context, p api.ListParams) iter.Seq2[api.File, error] {
	return func(yield func(api.File, error) bool) {
		extra := []api.File{
			{Type: "folder", Name: "a", FilePath: "/a", Tags: []string{"x"}},
			{Type: "file", Name: "ghost.jpg", FilePath: "/a/ghost.jpg", Tags: []string{"x"}},
		}
		for _, f := range extra {
			if !yield(f, nil) {
				return
			}
		}
		for f, err := range l.testLib.List(ctx, p) {
			if !yield(f, err) {
				return
			}
		}
	}
}

func TestObjectsThatAreNotFilesAreSkipped(t *testing.T) {
	lib := foldersLib{newTestLib(t, []imagekittest.File{file("f1", "/a/1.jpg", "x"), file("f2", "/a/2.jpg", "y")})}
	rules := []manifest.Rule{rule("r", []string{"/"}, nil, "x")}
	p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"f1": "x by r"}, removals(p))
	assert.Equal(t, 1, p.Summary.FilesScanned, "only the file the search returned is counted")

	chk, err := CheckPlan(context.Background(), lib, p)
	require.NoError(t, err)
	assert.Empty(t, chk.Missing)
	assert.Empty(t, chk.Stale)
}
