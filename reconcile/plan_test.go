package reconcile

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/manifest"
)

func file(id, filePath string, tags ...string) api.File {
	return api.File{FileID: id, Type: "file", Name: path.Base(filePath), FilePath: filePath, Tags: tags}
}

func withAI(f api.File, ai ...string) api.File {
	for _, t := range ai {
		f.AITags = append(f.AITags, api.AITag{Name: t, Confidence: 90, Source: "google-auto-tagging"})
	}
	return f
}

// rule builds a manifest rule; forbidden entries with glob characters
// become globs.
func rule(name string, paths, ids []string, forbidden ...string) manifest.Rule {
	r := manifest.Rule{Name: name, Files: manifest.Selection{Paths: paths, FileIDs: ids}, Source: manifest.Position{File: "m.yaml", Line: 3, Col: 5}}
	for _, t := range forbidden {
		if isGlob(t) {
			r.Globs = append(r.Globs, t)
		} else {
			r.ExactTags = append(r.ExactTags, t)
		}
	}
	return r
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
	withQuery.Files.SearchQuery = `name = "1.jpg"`
	excluding := rule("ex", []string{"/a/"}, nil, "x")
	excluding.Exclude = manifest.Selection{Paths: []string{"/a/keep/"}, FileIDs: []string{"f2"}}

	tests := []struct {
		name  string
		rules []manifest.Rule
		files []api.File
		want  map[string]string
	}{
		{
			name:  "paths select folder and subfolders only",
			rules: []manifest.Rule{rule("r", []string{"/a/"}, nil, "x")},
			files: []api.File{file("f1", "/a/1.jpg", "x"), file("f2", "/a/b/2.jpg", "x", "y"), file("f3", "/ab/3.jpg", "x"), file("f4", "/c/4.jpg", "x")},
			want:  map[string]string{"f1": "x by r", "f2": "x by r"},
		},
		{
			name:  "fileIds select files anywhere",
			rules: []manifest.Rule{rule("r", nil, []string{"f4", "nope"}, "x")},
			files: []api.File{file("f1", "/a/1.jpg", "x"), file("f4", "/c/4.jpg", "x", "y")},
			want:  map[string]string{"f4": "x by r"},
		},
		{
			name:  "exclusions are applied locally",
			rules: []manifest.Rule{excluding},
			files: []api.File{file("f1", "/a/1.jpg", "x"), file("f2", "/a/2.jpg", "x"), file("f3", "/a/keep/3.jpg", "x")},
			want:  map[string]string{"f1": "x by ex"},
		},
		{
			name:  "globs match the file's own tags",
			rules: []manifest.Rule{rule("g", []string{"/"}, nil, "campaign-*", "sale20[0-9][0-9]")},
			files: []api.File{file("f1", "/a/1.jpg", "campaign-2023", "keep", "sale2019"), file("f2", "/b/2.jpg", "campaign", "sale19"), withAI(file("f3", "/c/3.jpg", "keep"), "campaign-x")},
			want:  map[string]string{"f1": "campaign-2023,sale2019 by g"},
		},
		{
			name:  "exact tags are case-sensitive",
			rules: []manifest.Rule{rule("r", []string{"/"}, nil, "Sale")},
			files: []api.File{file("f1", "/1.jpg", "sale"), file("f2", "/2.jpg", "Sale")},
			want:  map[string]string{"f2": "Sale by r"},
		},
		{
			name:  "AITags are never removed",
			rules: []manifest.Rule{rule("r", []string{"/"}, nil, "x", "y")},
			files: []api.File{withAI(file("f1", "/1.jpg", "y"), "x")},
			want:  map[string]string{"f1": "y by r"},
		},
		{
			name:  "a file listed only through its AITags is not changed",
			rules: []manifest.Rule{rule("r", []string{"/"}, nil, "x")},
			files: []api.File{withAI(file("f1", "/1.jpg", "other"), "x"), withAI(file("f2", "/2.jpg"), "x")},
			want:  map[string]string{},
		},
		{
			name:  "several rules add up and are named",
			rules: []manifest.Rule{rule("A", []string{"/a/"}, nil, "x"), rule("B", []string{"/"}, nil, "y*"), rule("C", []string{"/b/"}, nil, "z")},
			files: []api.File{file("f1", "/a/1.jpg", "x", "yes", "z"), file("f2", "/b/2.jpg", "x", "z")},
			want:  map[string]string{"f1": "x,yes by A,B", "f2": "z by C"},
		},
		{
			name:  "searchQuery narrows the selection",
			rules: []manifest.Rule{withQuery},
			files: []api.File{file("f1", "/a/1.jpg", "x"), file("f2", "/a/b/2.jpg", "x")},
			want:  map[string]string{"f1": "x by q"},
		},
		{
			name:  "paths and fileIds together",
			rules: []manifest.Rule{rule("r", []string{"/a/"}, []string{"f3"}, "x")},
			files: []api.File{file("f1", "/a/1.jpg", "x"), file("f2", "/b/2.jpg", "x"), file("f3", "/c/3.jpg", "x")},
			want:  map[string]string{"f1": "x by r", "f3": "x by r"},
		},
		{
			name:  "duplicate own tags are removed once",
			rules: []manifest.Rule{rule("r", []string{"/"}, nil, "x")},
			files: []api.File{file("f1", "/1.jpg", "x", "x")},
			want:  map[string]string{"f1": "x by r"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := newFakeLib(tt.files...)
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
	q.Files.SearchQuery = `name = "1.jpg"`
	tests := []struct {
		name  string
		rules []manifest.Rule
		want  []string
	}{
		{
			name:  "exact tags read only candidates",
			rules: []manifest.Rule{rule("r", []string{"/a/"}, nil, "y", "x")},
			want:  []string{`path : "/a/" AND tags IN ["x","y"]`},
		},
		{
			name:  "rules over one scope share a listing",
			rules: []manifest.Rule{rule("r", []string{"/a/"}, nil, "x"), rule("s", []string{"/a/"}, nil, "y")},
			want:  []string{`path : "/a/" AND tags IN ["x","y"]`},
		},
		{
			name:  "a glob reads the whole scope of the shared listing",
			rules: []manifest.Rule{rule("r", []string{"/a/"}, nil, "x"), rule("s", []string{"/a/"}, nil, "y*")},
			want:  []string{`path : "/a/"`},
		},
		{
			name:  "several paths are OR-ed",
			rules: []manifest.Rule{rule("r", []string{"/b/", "/a/"}, nil, "x")},
			want:  []string{`(path : "/a/" OR path : "/b/") AND tags IN ["x"]`},
		},
		{
			name:  "the rule's searchQuery is ANDed in parentheses",
			rules: []manifest.Rule{q},
			want:  []string{`path : "/a/" AND tags IN ["x"] AND (name = "1.jpg")`},
		},
		{
			name:  "fileIds are read by id",
			rules: []manifest.Rule{rule("r", nil, []string{"f2", "f1"}, "x")},
			want:  []string{`id IN ["f1","f2"] AND tags IN ["x"]`},
		},
		{
			name:  "values are quoted and escaped",
			rules: []manifest.Rule{rule("r", []string{`/a "b"/`}, nil, `say "hi"`, `back\slash`)},
			want:  []string{`path : "/a \"b\"/" AND tags IN ["back\\slash","say \"hi\""]`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := newFakeLib()
			_, err := MakePlan(context.Background(), lib, tt.rules, PlanOptions{})
			require.NoError(t, err)
			assert.Equal(t, tt.want, lib.queries)
		})
	}
}

func TestMakePlanQuotedValuesRoundTrip(t *testing.T) {
	lib := newFakeLib(file("f1", `/a "b"/1.jpg`, `say "hi"`, `back\slash`, "keep"))
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
	var files []api.File
	for i := range 300 {
		files = append(files, file(fmt.Sprintf("f%03d", i), fmt.Sprintf("/d%d/%03d.jpg", i%7, 299-i), "x", fmt.Sprintf("t%d", i%5)))
	}
	rules := []manifest.Rule{rule("a", []string{"/"}, nil, "x"), rule("b", []string{"/d1/", "/d2/"}, nil, "t*")}
	p1, err := MakePlan(context.Background(), newFakeLib(files...), rules, PlanOptions{})
	require.NoError(t, err)
	p2, err := MakePlan(context.Background(), newFakeLib(files...), rules, PlanOptions{})
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
	_, err := MakePlan(context.Background(), newFakeLib(), nil, PlanOptions{BatchSize: 51})
	require.ErrorContains(t, err, "batch size 51")
}
