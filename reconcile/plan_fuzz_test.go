package reconcile_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/reconcile"
)

// FuzzReadPlan checks that no plan file, however damaged, makes ReadPlan
// panic; that a refusal names the file; and that what ReadPlan accepts is
// consistent, keeps every call within the API's limit, and can be written
// back and read again. The seeds in testdata/fuzz/FuzzReadPlan are a real
// plan and broken variants of it.
func FuzzReadPlan(f *testing.F) {
	f.Add([]byte(`{"formatVersion": 1, "rulesDigest": "", "rules": [], "changes": [], "batches": []}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "plan.json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		plan, err := reconcile.ReadPlan(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("the refusal does not name the file: %v", err)
			}
			return
		}
		if err := reconcile.CheckConsistency(plan); err != nil {
			t.Fatalf("ReadPlan accepted an inconsistent plan: %v", err)
		}
		if plan.FormatVersion != reconcile.FormatVersion {
			t.Fatalf("ReadPlan accepted formatVersion %d", plan.FormatVersion)
		}
		for i, b := range plan.Batches {
			if len(b.FileIDs) == 0 || len(b.FileIDs) > api.MaxRemoveTagsFiles || len(b.Tags) == 0 {
				t.Fatalf("ReadPlan accepted batch %d with %d files and %d tags", i+1, len(b.FileIDs), len(b.Tags))
			}
			if !slices.Contains([]string{"", reconcile.EndpointRemoveTags, reconcile.EndpointAddTags, reconcile.EndpointRemoveAITags}, b.Endpoint) {
				t.Fatalf("ReadPlan accepted batch %d for endpoint %q", i+1, b.Endpoint)
			}
			if slices.Contains(b.Tags, "") {
				t.Fatalf("ReadPlan accepted batch %d removing the empty tag", i+1)
			}
		}
		again := filepath.Join(dir, "again.json")
		if err := reconcile.WritePlan(again, plan); err != nil {
			t.Fatalf("write back an accepted plan: %v", err)
		}
		if _, err := reconcile.ReadPlan(again); err != nil {
			t.Fatalf("an accepted plan, written back, is refused: %v", err)
		}
	})
}
