package reconcile

import (
	"context"
	"fmt"
	"math/rand"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/manifest"
)

func TestBatches(t *testing.T) {
	tests := []struct {
		name      string
		rules     []manifest.Rule
		files     []imagekittest.File
		size      int
		wantCalls int
	}{
		{
			name:  "one forbidden set takes ceil(M/size) calls across removal sets",
			rules: []manifest.Rule{rule("r", []string{"/"}, nil, "a", "b")},
			files: slices.Concat(
				nFiles("a", 30, "/a/", "a"),
				nFiles("b", 30, "/b/", "b"),
				nFiles("ab", 30, "/c/", "a", "b")),
			size:      50,
			wantCalls: 2,
		},
		{
			name:      "calls are cut at the batch size",
			rules:     []manifest.Rule{rule("r", []string{"/"}, nil, "a")},
			files:     nFiles("f", 101, "/a/", "a"),
			size:      10,
			wantCalls: 11,
		},
		{
			name:      "files whose tags are not forbidden for each other are not merged",
			rules:     []manifest.Rule{rule("A", []string{"/a/"}, nil, "x"), rule("B", []string{"/b/"}, nil, "y")},
			files:     []imagekittest.File{file("f1", "/a/1.jpg", "x", "y"), file("f2", "/b/2.jpg", "x", "y")},
			size:      50,
			wantCalls: 2,
		},
		{
			name:      "partial calls of different forbidden sets merge when the union is forbidden for all",
			rules:     []manifest.Rule{rule("A", []string{"/a/"}, nil, "x", "y"), rule("B", []string{"/b/"}, nil, "x")},
			files:     []imagekittest.File{file("f1", "/a/1.jpg", "x"), file("f2", "/b/2.jpg", "x")},
			size:      50,
			wantCalls: 1,
		},
		{
			name:      "a merge is checked against forbidden(f), not remove(f)",
			rules:     []manifest.Rule{rule("A", []string{"/"}, nil, "x", "y"), rule("B", []string{"/b/"}, nil, "z")},
			files:     []imagekittest.File{file("f1", "/a/1.jpg", "x"), file("f2", "/b/2.jpg", "y", "z")},
			size:      50,
			wantCalls: 2,
		},
		{
			name:      "files an allowlist governs merge with files of the same allowlist",
			rules:     []manifest.Rule{allow("A", []string{"/a/"}, "keep"), allow("B", []string{"/b/"}, "keep")},
			files:     []imagekittest.File{file("f1", "/a/1.jpg", "x", "keep"), file("f2", "/b/2.jpg", "y", "keep")},
			size:      50,
			wantCalls: 1,
		},
		{
			name:      "an allowlist tag is not merged into a call for a file the allowlist does not govern",
			rules:     []manifest.Rule{allow("A", []string{"/a/"}, "keep"), rule("B", []string{"/b/"}, nil, "y")},
			files:     []imagekittest.File{file("f1", "/a/1.jpg", "x", "keep"), file("f2", "/b/2.jpg", "y", "x")},
			size:      50,
			wantCalls: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := newTestLib(t, tt.files)
			p, err := MakePlan(context.Background(), lib, tt.rules, PlanOptions{BatchSize: tt.size})
			require.NoError(t, err)
			assert.Len(t, p.Batches, tt.wantCalls)
			require.NoError(t, CheckConsistency(p))
			assertInvariant(t, tt.rules, tt.files, p, tt.size)
		})
	}
}

func nFiles(prefix string, n int, dir string, tags ...string) []imagekittest.File {
	var out []imagekittest.File
	for i := range n {
		out = append(out, file(fmt.Sprintf("%s%04d", prefix, i), fmt.Sprintf("%s%s%04d.jpg", dir, prefix, i), tags...))
	}
	return out
}

// trueSelects says whether rule r selects f, straight from the manifest
// semantics (no searchQuery in these tests).
func trueSelects(r manifest.Rule, f imagekittest.File) bool {
	under := func(folders []string) bool {
		return slices.ContainsFunc(folders, func(d string) bool { return strings.HasPrefix(f.FilePath, d) })
	}
	if slices.Contains(r.ExcludeFileIDs, f.FileID) || under(r.ExcludePaths) {
		return false
	}
	return slices.Contains(r.FileIDs, f.FileID) || under(r.Paths)
}

// trueMatches says whether tag matches one of the patterns: equal to it, or
// matched by it as a glob.
func trueMatches(patterns []string, tag string) bool {
	for _, p := range patterns {
		if p == tag {
			return true
		}
		if strings.ContainsAny(p, "*?[") {
			if ok, _ := path.Match(p, tag); ok {
				return true
			}
		}
	}
	return false
}

func trueForbidden(rules []manifest.Rule, f imagekittest.File, tag string) bool {
	for _, r := range rules {
		if !trueSelects(r, f) {
			continue
		}
		if trueMatches(r.ForbiddenTags, tag) || (len(r.AllowedTags) > 0 && !trueMatches(r.AllowedTags, tag)) {
			return true
		}
	}
	return false
}

// assertInvariant checks the safety invariant of every batch against the
// manifest semantics.
func assertInvariant(t *testing.T, rules []manifest.Rule, files []imagekittest.File, p *Plan, size int) {
	t.Helper()
	byID := map[string]imagekittest.File{}
	for _, f := range files {
		byID[f.FileID] = f
	}
	for _, b := range p.Batches {
		require.NotEmpty(t, b.FileIDs)
		require.LessOrEqual(t, len(b.FileIDs), size)
		for _, id := range b.FileIDs {
			for _, tag := range b.Tags {
				require.True(t, trueForbidden(rules, byID[id], tag), "batch removes %q from %s, where it is not forbidden", tag, id)
			}
		}
	}
}

// TestBatchProperties plans random manifests over random libraries and
// checks the safety invariant, convergence and the call count.
func TestBatchProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(20260101))
	folders := []string{"/a/", "/a/b/", "/c/", "/d/e/"}
	pool := []string{"x", "y", "z", "w", "camp-1", "camp-2", "keep", "Keep"}
	patterns := []string{"x", "y", "z", "w", "camp-*", "K*", "camp-[12]"}
	sample := func(from []string, p float64) []string {
		var out []string
		for _, s := range from {
			if rng.Float64() < p {
				out = append(out, s)
			}
		}
		return out
	}
	for iter := range 300 {
		n := rng.Intn(250)
		var files []imagekittest.File
		for i := range n {
			f := file(fmt.Sprintf("id%04d", i), fmt.Sprintf("%s%d.jpg", folders[rng.Intn(len(folders))], i), sample(pool, 0.3)...)
			f = withAI(f, sample(pool, 0.2)...)
			files = append(files, f)
		}
		sameSet := iter%3 == 0
		var rules []manifest.Rule
		forb := sample(patterns, 0.4)
		if len(forb) == 0 {
			forb = []string{"x"}
		}
		for r := range 1 + rng.Intn(4) {
			if !sameSet {
				forb = sample(patterns, 0.4)
				if len(forb) == 0 {
					forb = []string{patterns[rng.Intn(len(patterns))]}
				}
			}
			paths := sample(append(folders, "/"), 0.3)
			var ids []string
			if sameSet {
				paths = []string{"/"}
			} else if rng.Intn(3) == 0 || len(paths) == 0 {
				for range 1 + rng.Intn(5) {
					ids = append(ids, fmt.Sprintf("id%04d", rng.Intn(n+1)))
				}
			}
			mr := rule(fmt.Sprintf("r%d", r), paths, ids, forb...)
			if !sameSet && rng.Intn(4) == 0 {
				mr.ExcludePaths, mr.ExcludeFileIDs = sample(folders, 0.3), []string{fmt.Sprintf("id%04d", rng.Intn(n+1))}
			}
			if !sameSet && rng.Intn(5) == 0 {
				mr.AllowedTags = sample(patterns, 0.5)
				if len(mr.AllowedTags) == 0 {
					mr.AllowedTags = []string{"keep"}
				}
			}
			rules = append(rules, mr)
		}
		size := 50
		if rng.Intn(2) == 0 {
			size = 1 + rng.Intn(50)
		}

		lib := newTestLib(t, files)
		p, err := MakePlan(context.Background(), lib, rules, PlanOptions{BatchSize: size})
		require.NoError(t, err, "iteration %d", iter)
		require.NoError(t, CheckConsistency(p), "iteration %d", iter)
		assertInvariant(t, rules, files, p, size)
		if sameSet {
			m := len(p.Changes)
			require.Equal(t, (m+size-1)/size, len(p.Batches), "iteration %d: %d files, batch size %d", iter, m, size)
		}

		r, err := Apply(context.Background(), lib, p, ApplyOptions{Concurrency: 3})
		require.NoError(t, err, "iteration %d", iter)
		require.Equal(t, len(p.Changes), r.Summary.FilesChanged)
		after := lib.files()
		for _, f := range files {
			var want []string
			for _, tag := range f.Tags {
				if !trueForbidden(rules, f, tag) {
					want = append(want, tag)
				}
			}
			got := after[f.FileID].Tags
			require.True(t, slices.Equal(want, got), "iteration %d: file %s: tags %q, want %q", iter, f.FileID, got, want)
		}
		again, err := MakePlan(context.Background(), lib, rules, PlanOptions{BatchSize: size})
		require.NoError(t, err)
		require.Empty(t, again.Changes, "iteration %d: a second plan must find nothing", iter)
	}
}
