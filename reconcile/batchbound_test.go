package reconcile

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/manifest"
)

// TestBatchCallBound checks DESIGN.md's bound on random plans: never more
// removeTags calls than one per distinct removal set per batch of files,
// sum over removal sets S of ceil(|S|/size), and exactly ceil(M/size) when
// one rule over the whole library decides every file's forbidden set. On
// every plan, with exact tags, globs and allowlists, it checks the safety
// invariant against an oracle of its own.
func TestBatchCallBound(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	folders := []string{"/a/", "/a/b/", "/c/", "/d/"}
	tags := []string{"x", "y", "z", "camp-1", "camp-2", "keep"}
	forbiddable := []string{"x", "y", "z", "camp-*", "camp-1"}
	allowable := []string{"keep", "x", "camp-*", "camp-[2]", "?"}
	for iter := range 200 {
		oneSet := iter%2 == 0
		var files []imagekittest.File
		for i := range 100 + rng.Intn(400) {
			var ft []string
			for _, tg := range tags {
				if rng.Intn(3) == 0 {
					ft = append(ft, tg)
				}
			}
			files = append(files, file(fmt.Sprintf("id%04d", i), fmt.Sprintf("%s%d.jpg", folders[rng.Intn(len(folders))], i), ft...))
		}
		var rules []manifest.Rule
		for r := range 1 + rng.Intn(4) {
			var forb []string
			for _, f := range forbiddable {
				if rng.Intn(2) == 0 {
					forb = append(forb, f)
				}
			}
			if len(forb) == 0 {
				forb = []string{"x"}
			}
			paths := []string{folders[rng.Intn(len(folders))]}
			if oneSet {
				paths = []string{"/"}
				if r > 0 {
					break
				}
			}
			mr := rule(fmt.Sprintf("r%d", r), paths, nil, forb...)
			if rng.Intn(3) == 0 {
				// An allowlist, alone or beside the forbidden tags.
				mr.AllowedTags = []string{allowable[rng.Intn(len(allowable))], allowable[rng.Intn(len(allowable))]}
				if rng.Intn(2) == 0 {
					mr.ForbiddenTags = nil
				}
			}
			rules = append(rules, mr)
		}
		size := 1 + rng.Intn(50)

		p, err := MakePlan(context.Background(), newTestLib(t, files), rules, PlanOptions{BatchSize: size})
		require.NoError(t, err)
		sets := map[string]int{}
		for _, c := range p.Changes {
			sets[strings.Join(c.RemoveTags, "\x00")]++
		}
		bound := 0
		for _, n := range sets {
			bound += (n + size - 1) / size
		}
		require.LessOrEqual(t, len(p.Batches), bound, "iteration %d: %d removal sets, batch size %d", iter, len(sets), size)
		if oneSet {
			require.Equal(t, (len(p.Changes)+size-1)/size, len(p.Batches), "iteration %d: one forbidden set, batch size %d", iter, size)
		}
		assertInvariant(t, rules, files, p, size)
		require.NoError(t, CheckConsistency(p), "iteration %d", iter)
	}
}
