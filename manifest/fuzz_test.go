package manifest_test

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tagprune/tagprune/manifest"
)

// FuzzLoad checks that Load never panics, that its errors always say
// something and name the file, and that what it accepts is well formed.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("version: 1\nrules:\n  - name: r\n    files: {paths: [/]}\n    forbiddenTags: [t, \"g*\"]\n"))
	f.Add([]byte("version: 1\nrules:\n  - name: r\n    files: {paths: [/]}\n    allowedTags: [ok, \"brand-*\"]\n    replaceTags: {Red: red}\n    forbiddenAITags: [Person]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "m.yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		rules, err := manifest.Load(context.Background(), p)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("Load returned an error with no text")
			}
			var errs manifest.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("Load returned %T, not a non-empty manifest.Errors", err)
			}
			for _, e := range errs {
				if e.Msg == "" || e.Pos.File != p {
					t.Fatalf("problem without a message or file: %#v", e)
				}
			}
			return
		}
		if len(rules) == 0 {
			t.Fatal("Load accepted a manifest without rules")
		}
		for _, r := range rules {
			if r.Name == "" || len(r.Paths)+len(r.FileIDs) == 0 ||
				len(r.ForbiddenTags)+len(r.AllowedTags)+len(r.ReplaceTags)+len(r.ForbiddenAITags) == 0 {
				t.Fatalf("Load accepted an incomplete rule: %#v", r)
			}
			for _, g := range slices.Concat(r.ForbiddenTags, r.AllowedTags, r.ForbiddenAITags) {
				if _, err := path.Match(g, ""); err != nil || g == "" {
					t.Fatalf("Load accepted a bad pattern %q", g)
				}
			}
		}
		if _, err := manifest.Compile(rules); err != nil {
			t.Fatalf("rules that Load accepted do not compile: %v", err)
		}
	})
}
