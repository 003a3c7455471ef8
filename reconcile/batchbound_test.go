package reconcile

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"slices"
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

// TestBatchInvariantCoversAITagsAndAdds extends the safety invariant to the
// other two endpoints on random plans with forbiddenAITags and replaceTags
// beside forbidden tags and allowlists, each call checked against an oracle
// of its own: every removeAITags call's names are forbidden AITags for
// every file in it; every addTags call's tags are, for every file in it, a
// new tag that the replaceTags of a rule selecting the file names for an
// old tag the file carries, and one the file lacks. Every file's AITag
// removals and additions are covered by calls of at most size files, no
// more calls than one per distinct set per size files; renames whose new
// tag a selecting rule forbids are refused. Applying the plan reaches the
// oracle's state, and a second plan finds nothing to do.
func TestBatchInvariantCoversAITagsAndAdds(t *testing.T) {
	rng := rand.New(rand.NewSource(16))
	folders := []string{"/a/", "/a/b/", "/c/", "/d/"}
	tags := []string{"x", "Red", "Blue", "red", "keep", "camp-1"}
	aiTags := []string{"Person", "Text", "Textile", "Shoe", "x"}
	renames := map[string]string{"Red": "red", "Blue": "blue", "x": "ex"}
	conflicts, applied := 0, 0
	for iter := range 150 {
		var files []imagekittest.File
		for i := range 50 + rng.Intn(200) {
			var ft, ai []string
			for _, tg := range tags {
				if rng.Intn(3) == 0 {
					ft = append(ft, tg)
				}
			}
			for _, a := range aiTags {
				if rng.Intn(3) == 0 {
					ai = append(ai, a)
				}
			}
			files = append(files, withAI(file(fmt.Sprintf("id%04d", i), fmt.Sprintf("%s%d.jpg", folders[rng.Intn(len(folders))], i), ft...), ai...))
		}
		var rules []manifest.Rule
		for r := range 1 + rng.Intn(4) {
			mr := manifest.Rule{Name: fmt.Sprintf("r%d", r), Paths: []string{folders[rng.Intn(len(folders))]}, Source: "m.yaml:1:1"}
			if rng.Intn(4) == 0 {
				mr.Paths = []string{"/"}
			}
			switch rng.Intn(4) {
			case 0:
				mr.ForbiddenTags = []string{[]string{"x", "camp-*", "keep"}[rng.Intn(3)]}
			case 1:
				mr.AllowedTags = []string{"keep", "red", "blue", "ex", "camp-*"}[:2+rng.Intn(4)]
			}
			if rng.Intn(2) == 0 {
				mr.ForbiddenAITags = []string{[]string{"Person", "Text*", "x", "[ST]*"}[rng.Intn(4)]}
			}
			if rng.Intn(2) == 0 {
				mr.ReplaceTags = map[string]string{}
				for old, new := range renames {
					if rng.Intn(2) == 0 {
						mr.ReplaceTags[old] = new
					}
				}
			}
			if len(mr.ForbiddenTags)+len(mr.AllowedTags)+len(mr.ForbiddenAITags)+len(mr.ReplaceTags) == 0 {
				mr.ForbiddenAITags = []string{"Shoe"}
			}
			rules = append(rules, mr)
		}
		size := 1 + rng.Intn(50)
		if _, err := manifest.Compile(rules); err != nil {
			continue // a rule that forbids its own new tag: validate refuses it
		}

		lib := newTestLib(t, files)
		p, err := MakePlan(context.Background(), lib, rules, PlanOptions{BatchSize: size})
		want := oracleConflict(rules, files)
		var rc *RenameConflictError
		if errors.As(err, &rc) {
			require.NotEmpty(t, want, "iteration %d: a conflict the oracle does not see: %v", iter, err)
			conflicts++
			continue
		}
		require.NoError(t, err, "iteration %d", iter)
		require.Empty(t, want, "iteration %d: the plan missed a rename conflict", iter)
		require.NoError(t, CheckConsistency(p), "iteration %d", iter)

		byID := map[string]imagekittest.File{}
		for _, f := range files {
			byID[f.FileID] = f
		}
		gotAI := map[string][]string{}
		gotAdd := map[string][]string{}
		sets := map[string]map[string]int{}
		count := map[string]int{}
		for _, b := range p.Batches {
			require.NotEmpty(t, b.FileIDs)
			require.LessOrEqual(t, len(b.FileIDs), size, "iteration %d", iter)
			count[b.Endpoint]++
			for _, id := range b.FileIDs {
				f := byID[id]
				for _, tg := range b.Tags {
					switch b.Endpoint {
					case EndpointRemoveAITags:
						require.True(t, oracleForbidsAI(rules, f, tg), "iteration %d: removeAITags removes %q from %s, where it is not forbidden", iter, tg, id)
						gotAI[id] = append(gotAI[id], tg)
					case EndpointAddTags:
						require.True(t, oracleNews(rules, f)[tg], "iteration %d: addTags adds %q to %s, which no rename of a selecting rule names", iter, tg, id)
						require.NotContains(t, f.Tags, tg, "iteration %d: addTags adds %q to %s, which has it", iter, tg, id)
						gotAdd[id] = append(gotAdd[id], tg)
					default:
						require.True(t, oracleForbids(rules, f, tg), "iteration %d: removeTags removes %q from %s, where it is not forbidden", iter, tg, id)
					}
				}
			}
		}
		for _, f := range files {
			var wantAI, wantAdd []string
			for _, a := range f.AITags {
				if oracleForbidsAI(rules, f, a.Name) {
					wantAI = append(wantAI, a.Name)
				}
			}
			for tg := range oracleNews(rules, f) {
				if !slices.Contains(f.Tags, tg) {
					wantAdd = append(wantAdd, tg)
				}
			}
			require.ElementsMatch(t, wantAI, gotAI[f.FileID], "iteration %d: AITag removals of %s", iter, f.FileID)
			require.ElementsMatch(t, wantAdd, gotAdd[f.FileID], "iteration %d: additions of %s", iter, f.FileID)
			for ep, got := range map[string][]string{EndpointRemoveAITags: gotAI[f.FileID], EndpointAddTags: gotAdd[f.FileID]} {
				if len(got) > 0 {
					if sets[ep] == nil {
						sets[ep] = map[string]int{}
					}
					slices.Sort(got)
					sets[ep][strings.Join(got, "\x00")]++
				}
			}
		}
		for ep, byset := range sets {
			bound := 0
			for _, n := range byset {
				bound += (n + size - 1) / size
			}
			require.LessOrEqual(t, count[ep], bound, "iteration %d: %s calls", iter, ep)
		}

		if iter%3 != 0 {
			continue
		}
		applied++
		_, err = Apply(context.Background(), lib, p, ApplyOptions{})
		require.NoError(t, err, "iteration %d", iter)
		after := lib.files()
		for _, f := range files {
			var wantTags []string
			for _, tg := range f.Tags {
				if !oracleForbids(rules, f, tg) && !slices.Contains(wantTags, tg) {
					wantTags = append(wantTags, tg)
				}
			}
			for tg := range oracleNews(rules, f) {
				if !slices.Contains(wantTags, tg) {
					wantTags = append(wantTags, tg)
				}
			}
			var wantAI, gotAI []string
			for _, a := range f.AITags {
				if !oracleForbidsAI(rules, f, a.Name) {
					wantAI = append(wantAI, a.Name)
				}
			}
			for _, a := range after[f.FileID].AITags {
				gotAI = append(gotAI, a.Name)
			}
			require.ElementsMatch(t, wantTags, slices.Compact(slices.Sorted(slices.Values(after[f.FileID].Tags))), "iteration %d: tags of %s", iter, f.FileID)
			require.ElementsMatch(t, wantAI, gotAI, "iteration %d: AITags of %s", iter, f.FileID)
		}
		again, err := MakePlan(context.Background(), lib, rules, PlanOptions{BatchSize: size})
		require.NoError(t, err)
		require.Empty(t, again.Changes, "iteration %d: a second plan finds nothing to do", iter)
	}
	require.Positive(t, conflicts, "some iterations try a conflict")
	require.Positive(t, applied)
}

// The oracle of TestBatchInvariantCoversAITagsAndAdds, from DESIGN.md's
// words (the test rules have no searchQuery).

// oracleForbids reports whether some rule that selects f forbids tag:
// forbiddenTags, a replaceTags key, or an allowlist that does not admit it.
func oracleForbids(rules []manifest.Rule, f imagekittest.File, tag string) bool {
	for _, r := range rules {
		if !trueSelects(r, f) {
			continue
		}
		_, renamed := r.ReplaceTags[tag]
		if renamed || trueMatches(r.ForbiddenTags, tag) || (len(r.AllowedTags) > 0 && !trueMatches(r.AllowedTags, tag)) {
			return true
		}
	}
	return false
}

// oracleForbidsAI reports whether some rule that selects f forbids an AITag
// of this name.
func oracleForbidsAI(rules []manifest.Rule, f imagekittest.File, name string) bool {
	for _, r := range rules {
		if trueSelects(r, f) && trueMatches(r.ForbiddenAITags, name) {
			return true
		}
	}
	return false
}

// oracleNews returns the new tags that the replaceTags of the rules that
// select f name for the old tags f carries.
func oracleNews(rules []manifest.Rule, f imagekittest.File) map[string]bool {
	out := map[string]bool{}
	for _, r := range rules {
		if !trueSelects(r, f) {
			continue
		}
		for old, new := range r.ReplaceTags {
			if slices.Contains(f.Tags, old) {
				out[new] = true
			}
		}
	}
	return out
}

// oracleConflict returns the files on which a rename cannot be carried
// out: a new tag that a selecting rule forbids, or one old tag renamed to
// two new tags.
func oracleConflict(rules []manifest.Rule, files []imagekittest.File) []string {
	var out []string
	for _, f := range files {
		to := map[string]string{}
		bad := false
		for _, r := range rules {
			if !trueSelects(r, f) {
				continue
			}
			for old, new := range r.ReplaceTags {
				if !slices.Contains(f.Tags, old) {
					continue
				}
				if prev, ok := to[old]; ok && prev != new {
					bad = true
				}
				to[old] = new
				if oracleForbids(rules, f, new) {
					bad = true
				}
			}
		}
		if bad {
			out = append(out, f.FileID)
		}
	}
	return out
}
