package manifest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tagprune/tagprune/manifest"
)

// BenchmarkLoadManyFileIDs loads one rule naming many fileIds: the
// duplicate check is linear in their number.
func BenchmarkLoadManyFileIDs(b *testing.B) {
	for _, n := range []int{100_000, 400_000} {
		b.Run(strconv.Itoa(n)+" ids", func(b *testing.B) {
			var sb strings.Builder
			sb.WriteString("version: 1\nrules:\n  - name: r\n    files:\n      fileIds: [")
			for i := range n {
				if i > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(&sb, "%024x", i%(n-10)) // a few duplicates
			}
			sb.WriteString("]\n    forbiddenTags: [x]\n")
			p := filepath.Join(b.TempDir(), "m.yaml")
			if err := os.WriteFile(p, []byte(sb.String()), 0o600); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				rules, err := manifest.Load(context.Background(), p)
				if err != nil {
					b.Fatal(err)
				}
				if len(rules[0].FileIDs) != n-10 {
					b.Fatalf("%d ids, want %d", len(rules[0].FileIDs), n-10)
				}
			}
		})
	}
}

// BenchmarkMatcher checks one file with 20 tags, half of them forbidden,
// against rules × forbidden tags: the cost per file stays flat.
func BenchmarkMatcher(b *testing.B) {
	for _, nRules := range []int{1, 100, 1000} {
		for _, nTags := range []int{1, 1000} {
			b.Run(fmt.Sprintf("%d rules x %d forbidden tags", nRules, nTags), func(b *testing.B) {
				rules := make([]manifest.Rule, nRules)
				for r := range rules {
					forbidden := make([]string, nTags)
					for k := range forbidden {
						forbidden[k] = fmt.Sprintf("r%d-t%d", r, k)
					}
					rules[r] = manifest.Rule{Name: "r" + strconv.Itoa(r), Paths: []string{"/"}, ForbiddenTags: forbidden}
				}
				tags := make([]string, 20)
				for k := range tags {
					tags[k] = "keep-" + strconv.Itoa(k)
					if k%2 == 0 {
						tags[k] = fmt.Sprintf("r%d-t%d", (k*7)%nRules, (k*13)%nTags)
					}
				}
				m, err := manifest.Compile(rules)
				if err != nil {
					b.Fatal(err)
				}
				m.Select("f", "/a/b.jpg", nil) // the first file builds the selection
				b.ResetTimer()
				for b.Loop() {
					res := m.Select("f", "/a/b.jpg", nil).Evaluate(tags, nil)
					if len(res.Remove) == 0 {
						b.Fatal("nothing removed")
					}
				}
			})
		}
	}
}
