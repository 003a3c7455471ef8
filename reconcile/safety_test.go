package reconcile

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/manifest"
)

// savePlan writes p as a plan file and reads it back, as a pipeline passes
// a plan from its plan job to its apply job.
func savePlan(t *testing.T, p *Plan) *Plan {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.json")
	require.NoError(t, WritePlan(path, p))
	saved, err := ReadPlan(path)
	require.NoError(t, err)
	return saved
}

// TestSavedPlanNeverRemovesATagNoLongerForbidden reproduces the first case
// of the saved-plan safety issue: a reviewed, unedited plan merges two files
// into one call; an ordinary edit of the library then takes one of them out
// of the rule that made the merge safe. Its removals are unchanged, but the
// call would remove a tag that no rule forbids for it any more.
func TestSavedPlanNeverRemovesATagNoLongerForbidden(t *testing.T) {
	old := time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC)
	dated := func(f imagekittest.File) imagekittest.File {
		f.CreatedAt, f.UpdatedAt = old, old
		return f
	}
	files := []imagekittest.File{dated(file("f", "/a/f.jpg", "x")), dated(file("g", "/a/g.jpg", "x", "y"))}
	staleFiles := rule("stale-files", []string{"/a/"}, nil, "x", "y")
	staleFiles.SearchQuery = `updatedAt < "2024-06-01"`

	tests := []struct {
		name    string
		rules   []manifest.Rule
		edit    func(l *testLib)
		wantHow string
	}{
		{
			name:    "an edit takes the file out of a searchQuery",
			rules:   []manifest.Rule{staleFiles, rule("no-x", []string{"/a/"}, nil, "x")},
			edit:    func(l *testLib) { l.addTags([]string{"y"}, "f") }, // bumps its updatedAt
			wantHow: `rule "stale-files" no longer selects it, its planned call would remove tag "y", which no rule forbids for it now`,
		},
		{
			name:  "the file moves out of a folder",
			rules: []manifest.Rule{rule("wide", []string{"/a/"}, nil, "x", "y"), rule("no-x", []string{"/"}, nil, "x")},
			edit: func(l *testLib) {
				l.addTags([]string{"y"}, "f")
				l.move("f", "/b/")
			},
			wantHow: `moved to /b/f.jpg, rule "wide" no longer selects it, its planned call would remove tag "y", which no rule forbids for it now`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := newTestLib(t, files)
			p, err := MakePlan(context.Background(), lib, tt.rules, PlanOptions{})
			require.NoError(t, err)
			require.Equal(t, []Batch{{Endpoint: EndpointRemoveTags, FileIDs: []string{"f", "g"}, Tags: []string{"x", "y"}}}, p.Batches,
				"the plan merges f and g into one call, safe when it is made")
			saved := savePlan(t, p)

			tt.edit(lib)
			before := lib.files()
			r, err := ApplySavedPlan(context.Background(), lib, saved, ApplyOptions{})
			var se *StaleError
			require.ErrorAs(t, err, &se)
			require.Len(t, se.Check.Stale, 1)
			s := se.Check.Stale[0]
			assert.Equal(t, "f", s.FileID)
			assert.Equal(t, []string{"x"}, s.RemoveTags)
			assert.Equal(t, []string{"x"}, s.NowRemove, "its removals alone would not show it")
			assert.Equal(t, []string{"y"}, s.NotForbidden)
			assert.Equal(t, tt.wantHow, s.How)
			assert.Empty(t, lib.sent(), "nothing is sent")
			assert.Equal(t, before, lib.files(), "nothing changed")
			assert.Equal(t, []string{"x", "y"}, lib.tags("f"))
			assert.Equal(t, 2, r.Summary.FilesPending)
			assert.Equal(t, err.Error(), r.Error)
		})
	}

	t.Run("without the edit the same plan applies", func(t *testing.T) {
		lib := newTestLib(t, files)
		p, err := MakePlan(context.Background(), lib, tests[0].rules, PlanOptions{})
		require.NoError(t, err)
		r, err := ApplySavedPlan(context.Background(), lib, savePlan(t, p), ApplyOptions{})
		require.NoError(t, err)
		assert.Equal(t, 2, r.Summary.FilesChanged)
		assert.Empty(t, lib.tags("f"))
		assert.Empty(t, lib.tags("g"))
	})
}

// TestHandEditedPlanIsRefused reproduces the second case of the saved-plan
// safety issue: a plan edited so that a file's rules name a rule that does
// not select it and its call removes what that rule forbids elsewhere, with
// the rules and their digest untouched.
func TestHandEditedPlanIsRefused(t *testing.T) {
	rules := []manifest.Rule{rule("R1", []string{"/a/"}, nil, "x"), rule("R2", []string{"/b/"}, nil, "y")}
	lib := newTestLib(t, []imagekittest.File{file("x1", "/a/x1.jpg", "x", "y", "keep")})
	p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "plan.json")
	require.NoError(t, WritePlan(path, p))

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	doc["changes"].([]any)[0].(map[string]any)["rules"] = []any{"R1", "R2"}
	doc["batches"].([]any)[0].(map[string]any)["tags"] = []any{"x", "y"}
	edited, err := json.MarshalIndent(doc, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, edited, 0o644))

	t.Run("reading it", func(t *testing.T) {
		_, err := ReadPlan(path)
		require.ErrorIs(t, err, ErrInconsistentPlan)
		assert.Contains(t, err.Error(), `file x1 (/a/x1.jpg) names rule "R2", which does not select it or forbids none of its tags`)
		assert.Contains(t, err.Error(), `batch 1 would remove tag "y" from file x1 (/a/x1.jpg), where no rule that selects it forbids it`)
	})

	var plan Plan
	require.NoError(t, json.Unmarshal(edited, &plan))
	t.Run("applying it as a saved plan", func(t *testing.T) {
		r, err := ApplySavedPlan(context.Background(), lib, &plan, ApplyOptions{})
		require.ErrorIs(t, err, ErrInconsistentPlan)
		var ie *InconsistentPlanError
		require.ErrorAs(t, err, &ie)
		assert.NotEmpty(t, ie.Problems)
		assert.Equal(t, 1, r.Summary.FilesPending)
	})
	t.Run("applying it directly", func(t *testing.T) {
		_, err := Apply(context.Background(), lib, &plan, ApplyOptions{})
		require.ErrorIs(t, err, ErrInconsistentPlan)
	})
	assert.Empty(t, lib.sent(), "nothing is sent")
	assert.Equal(t, []string{"x", "y", "keep"}, lib.tags("x1"))
}

// TestAnEmptyTagIsLeftAlone checks that a file carrying the empty tag, which
// a glob matches but the API refuses in a removeTags call, is planned and
// applied without it: the call succeeds and a second plan finds nothing.
func TestAnEmptyTagIsLeftAlone(t *testing.T) {
	lib := newTestLib(t, []imagekittest.File{file("a", "/a/a.jpg", "", "x"), file("b", "/a/b.jpg", "x")})
	rules := []manifest.Rule{rule("all", []string{"/"}, nil, "*")}
	p, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
	require.NoError(t, err)
	require.Equal(t, []Batch{{Endpoint: EndpointRemoveTags, FileIDs: []string{"a", "b"}, Tags: []string{"x"}}}, p.Batches)
	r, err := Apply(context.Background(), lib, p, ApplyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, r.Summary.FilesChanged)
	assert.Equal(t, []string{""}, lib.tags("a"))
	again, err := MakePlan(context.Background(), lib, rules, PlanOptions{})
	require.NoError(t, err)
	assert.Empty(t, again.Changes)
}

// TestAllowlistsThroughPlanAndApply plans and applies an allowlist with a
// glob and a forbiddenTags exception, saved and checked like any plan.
func TestAllowlistsThroughPlanAndApply(t *testing.T) {
	shop := allow("shop", []string{"/shop/"}, "red", "blue", "size-*")
	shop.ForbiddenTags = []string{"size-unknown"}
	files := []imagekittest.File{
		withAI(file("s1", "/shop/1.jpg", "red", "Red", "size-m", "promo"), "promo", "Person"),
		file("s2", "/shop/shoes/2.jpg", "blue", "size-unknown"),
		file("s3", "/shop/3.jpg", "red"),
		file("b1", "/blog/1.jpg", "promo", "Red"),
	}
	lib := newTestLib(t, files)
	p, err := MakePlan(context.Background(), lib, []manifest.Rule{shop}, PlanOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"s1": "Red,promo by shop", "s2": "size-unknown by shop"}, removals(p))
	assert.Len(t, p.Batches, 1, "one forbidden set, one call")

	t.Run("a tag added since that the allowlist admits keeps the plan current", func(t *testing.T) {
		lib.addTags([]string{"blue"}, "s1")
		r, err := ApplySavedPlan(context.Background(), lib, savePlan(t, p), ApplyOptions{})
		require.NoError(t, err)
		assert.Equal(t, 2, r.Summary.FilesChanged)
		assert.Equal(t, []string{"red", "size-m", "blue"}, lib.tags("s1"))
		assert.Equal(t, []string{"blue"}, lib.tags("s2"))
		assert.Equal(t, []string{"promo", "Red"}, lib.tags("b1"), "outside the allowlist's folder")
		assert.Equal(t, "promo", lib.files()["s1"].AITags[0].Name, "AITags are never touched")
	})
	t.Run("a tag added since that the allowlist refuses makes the plan stale", func(t *testing.T) {
		lib := newTestLib(t, files)
		p, err := MakePlan(context.Background(), lib, []manifest.Rule{shop}, PlanOptions{})
		require.NoError(t, err)
		lib.addTags([]string{"green"}, "s2")
		_, err = ApplySavedPlan(context.Background(), lib, savePlan(t, p), ApplyOptions{})
		var se *StaleError
		require.ErrorAs(t, err, &se)
		assert.Contains(t, se.Check.Stale[0].How, `it now carries forbidden tag "green"`)
		assert.Empty(t, lib.sent())
	})
}
