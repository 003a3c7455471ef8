package reconcile_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/manifest"
	"github.com/tagprune/tagprune/reconcile"
)

// emulatorRules forbid exact tags under one folder, a glob everywhere, and
// exact tags on two files listed by id.
func emulatorRules(files []imagekittest.File) []manifest.Rule {
	return []manifest.Rule{
		{Name: "retire-sales", Paths: []string{"/products/"}, ExcludePaths: []string{"/products/kids/"}, ForbiddenTags: []string{"sale2019", "sale2020"}},
		{Name: "old-campaigns", Paths: []string{"/"}, ForbiddenTags: []string{"campaign-2023-*"}},
		{Name: "by-id", FileIDs: []string{files[3].FileID, files[7].FileID}, ForbiddenTags: []string{"draft", "legacy"}},
	}
}

// wantRemove computes remove(f) from the manifest semantics, with the
// same oracle the package's own tests use.
func wantRemove(t *testing.T, rules []manifest.Rule, f imagekittest.File) []string {
	t.Helper()
	return reconcile.BruteRemove(t, rules, []imagekittest.File{f})[f.FileID]
}

func TestPlanAndApplyAgainstTheEmulator(t *testing.T) {
	tests := []struct {
		name string
		opts []imagekittest.Option
	}{
		{name: "a healthy API"},
		{name: "a flaky API with partial answers", opts: []imagekittest.Option{imagekittest.WithPartialRate(0.3), imagekittest.WithFailRate(0.1), imagekittest.WithSeed(7)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := imagekittest.GenerateLibrary(3000, 42)
			rules := emulatorRules(files)
			srv := imagekittest.NewServer(files, tt.opts...)
			defer srv.Close()
			client, err := api.New(api.WithBaseURL(srv.URL), api.WithRetry(api.RetryPolicy{BaseDelay: 1, MaxDelay: 2}))
			require.NoError(t, err)
			ctx := context.Background()

			p, err := reconcile.MakePlan(ctx, client, rules, reconcile.PlanOptions{Tool: "test"})
			require.NoError(t, err)
			want := map[string][]string{}
			for _, f := range files {
				if rm := wantRemove(t, rules, f); len(rm) > 0 {
					want[f.FileID] = rm
				}
			}
			got := map[string][]string{}
			for _, c := range p.Changes {
				got[c.FileID] = c.RemoveTags
			}
			require.NotEmpty(t, want)
			assert.Equal(t, want, got)
			assert.Equal(t, (len(want)+49)/50, len(p.Batches), "one forbidden set per rule scope should batch tightly")
			assert.Less(t, p.Summary.APICalls.List, 20, "reads stay a handful of list calls")

			r, err := reconcile.Apply(ctx, client, p, reconcile.ApplyOptions{Concurrency: 4, MaxFileRetries: 10})
			require.NoError(t, err)
			assert.Equal(t, len(want), r.Summary.FilesChanged)
			for _, f := range srv.Handler().Files() {
				assert.Empty(t, wantRemove(t, rules, f), "file %s still carries forbidden tags", f.FileID)
			}
			again, err := reconcile.MakePlan(ctx, client, rules, reconcile.PlanOptions{})
			require.NoError(t, err)
			assert.Empty(t, again.Changes)
		})
	}
}

func TestApplySavedPlanAgainstTheEmulator(t *testing.T) {
	files := imagekittest.GenerateLibrary(500, 3)
	rules := emulatorRules(files)
	i := slices.IndexFunc(files, func(f imagekittest.File) bool { return len(wantRemove(t, rules, f)) > 0 })
	require.GreaterOrEqual(t, i, 0)
	stubborn := files[i].FileID
	srv := imagekittest.NewServer(files, imagekittest.WithFailFiles(stubborn))
	defer srv.Close()
	client, err := api.New(api.WithBaseURL(srv.URL))
	require.NoError(t, err)
	ctx := context.Background()
	p, err := reconcile.MakePlan(ctx, client, rules, reconcile.PlanOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, p.Changes)

	chk, err := reconcile.CheckPlan(ctx, client, p)
	require.NoError(t, err)
	assert.Empty(t, chk.Stale)

	r, err := reconcile.ApplySavedPlan(ctx, client, p, reconcile.ApplyOptions{MaxFileRetries: 1})
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(r.Files, func(f reconcile.FileResult) bool { return f.FileID == stubborn }))
	assert.Equal(t, 1, r.Summary.FilesFailed)
	for _, f := range r.Files {
		if f.FileID == stubborn {
			assert.Equal(t, reconcile.StatusFailed, f.Status)
			continue
		}
		assert.Equal(t, reconcile.StatusChanged, f.Status, f.FileID)
	}
}
