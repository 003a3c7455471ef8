package reconcile_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tagprune/tagprune/reconcile"
)

// FuzzReadReport checks that no report file, however damaged, makes
// ReadReport (the input of restore) panic; that a refusal names the file;
// and that what it accepts is the report of an apply or a restore whose
// files have distinct ids and no empty tag, and reads back the same once
// written.
func FuzzReadReport(f *testing.F) {
	f.Add([]byte(`{"formatVersion": 1, "command": "apply", "files": [{"fileId": "a", "filePath": "/a.jpg", "removeTags": ["x"], "status": "changed", "removedTags": ["x"]}]}`))
	f.Add([]byte(`{"formatVersion": 1, "command": "plan", "files": []}`))
	f.Add([]byte(`{"formatVersion": 2, "command": "apply"}`))
	f.Add([]byte(`{"formatVersion": 1, "command": "restore", "files": [{"fileId": "a"}, {"fileId": "a"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "report.json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := reconcile.ReadReport(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("the refusal does not name the file: %v", err)
			}
			return
		}
		if rep.Command != "apply" && rep.Command != "restore" {
			t.Fatalf("ReadReport accepted the report of command %q", rep.Command)
		}
		seen := map[string]bool{}
		for _, fr := range rep.Files {
			if fr.FileID == "" || seen[fr.FileID] {
				t.Fatalf("ReadReport accepted file id %q (empty or listed twice)", fr.FileID)
			}
			seen[fr.FileID] = true
			for _, list := range [][]string{fr.RemoveTags, fr.RemovedTags, fr.AddTags, fr.AddedTags} {
				if slices.Contains(list, "") {
					t.Fatalf("ReadReport accepted an empty tag for %s", fr.FileID)
				}
			}
		}
		again := filepath.Join(dir, "again.json")
		if err := reconcile.WriteReportJSON(again, rep); err != nil {
			t.Fatalf("write back an accepted report: %v", err)
		}
		if _, err := reconcile.ReadReport(again); err != nil {
			t.Fatalf("an accepted report, written back, is refused: %v", err)
		}
	})
}
