package reconcile

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/internal/sorted"
	"github.com/tagprune/tagprune/manifest"
)

// TestBatchCallBound checks DESIGN.md's bound on random plans, with the
// limit on the characters of a call in play: never more removeTags calls
// than one per distinct removal set per batch of files, times the parts of
// a set whose tags pass the limit (removalSetBound), and exactly
// ceil(M/size) when one rule over the whole library decides every file's
// forbidden set and the tags it removes add up to at most the limit. On
// every plan, with exact tags, globs and allowlists, it checks the safety
// invariant against an oracle of its own and the limit, and, where the
// plan is small enough for optimum (and its tags short enough that the
// limit never bites), that the calls stay within 1.1 times the lower
// bound. The last 100 plans have long tags (60 to 300 characters, some
// not ASCII), which pass the limit both merged and alone; a quarter of
// them are applied to the emulator, which refuses any call over it.
func TestBatchCallBound(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	folders := []string{"/a/", "/a/b/", "/c/", "/d/"}
	short := []string{"x", "y", "z", "camp-1", "camp-2", "keep"}
	// The long name of each short one: 180, 240, 100, 300, 150 and 60
	// characters; x's are two bytes each in UTF-8.
	long := map[string]string{
		"x": "x-" + strings.Repeat("é", 178), "y": "y-" + strings.Repeat("y", 238), "z": "z-" + strings.Repeat("z", 98),
		"camp-1": "camp-1-" + strings.Repeat("1", 293), "camp-2": "camp-2-" + strings.Repeat("2", 143), "keep": "keep-" + strings.Repeat("k", 55),
	}
	forbiddable := []string{"x", "y", "z", "camp-*", "camp-1"}
	allowable := []string{"keep", "x", "camp-*", "camp-[2]", "?"}
	measured, applied := 0, 0 // plans checked against the lower bound, and applied
	for iter := range 300 {
		oneSet := iter%2 == 0
		isLong := iter >= 200
		name := func(s string) string {
			if n, ok := long[s]; ok && isLong {
				return n
			}
			return s
		}
		var files []imagekittest.File
		for i := range 100 + rng.Intn(400) {
			var ft []string
			for _, tg := range short {
				if rng.Intn(3) == 0 {
					ft = append(ft, name(tg))
				}
			}
			files = append(files, file(fmt.Sprintf("id%04d", i), fmt.Sprintf("%s%d.jpg", folders[rng.Intn(len(folders))], i), ft...))
		}
		var rules []manifest.Rule
		for r := range 1 + rng.Intn(4) {
			var forb []string
			for _, f := range forbiddable {
				if rng.Intn(2) == 0 {
					forb = append(forb, name(f))
				}
			}
			if len(forb) == 0 {
				forb = []string{name("x")}
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
				mr.AllowedTags = []string{name(allowable[rng.Intn(len(allowable))]), name(allowable[rng.Intn(len(allowable))])}
				if rng.Intn(2) == 0 {
					mr.ForbiddenTags = nil
				}
			}
			rules = append(rules, mr)
		}
		size := 1 + rng.Intn(50)

		lib := newTestLib(t, files)
		p, err := MakePlan(context.Background(), lib, rules, PlanOptions{BatchSize: size})
		require.NoError(t, err)
		bound, sets := removalSetBound(p.Changes, size)
		require.LessOrEqual(t, len(p.Batches), bound, "iteration %d: %d removal sets, batch size %d", iter, sets, size)
		var removed []string
		for _, c := range p.Changes {
			removed = append(removed, c.RemoveTags...)
		}
		removed = sorted.Unique(removed)
		lower := max((len(p.Changes)+size-1)/size, (chars(removed)+499)/500)
		require.GreaterOrEqual(t, len(p.Batches), lower, "iteration %d: no batching takes fewer calls", iter)
		if oneSet && chars(removed) <= 500 {
			require.Equal(t, (len(p.Changes)+size-1)/size, len(p.Batches), "iteration %d: one forbidden set, batch size %d", iter, size)
		}
		assertInvariant(t, rules, files, p, size)
		requireWithinLimit(t, p, size)
		requireCovered(t, p)
		require.NoError(t, CheckConsistency(p), "iteration %d", iter)
		if counts, compat := typeGraph(rules, files, p.Changes); !isLong && len(counts) <= 8 && len(p.Changes) <= 40*size {
			opt := optimum(counts, compat, size)
			require.True(t, withinBound(len(p.Batches), opt), "iteration %d: %d calls, lower bound %d", iter, len(p.Batches), opt)
			measured++
		}
		if isLong && iter%4 == 0 {
			applied++
			r, err := Apply(context.Background(), lib, p, ApplyOptions{Concurrency: 4})
			require.NoError(t, err, "iteration %d", iter)
			require.Equal(t, len(p.Changes), r.Summary.FilesChanged, "iteration %d", iter)
			for _, b := range r.Batches {
				require.Equal(t, OutcomeOK, b.Outcome, "iteration %d: %v: %s", iter, b.FileIDs, b.Error)
			}
			again, err := MakePlan(context.Background(), lib, rules, PlanOptions{BatchSize: size})
			require.NoError(t, err)
			require.Empty(t, again.Changes, "iteration %d: a second plan finds nothing to do", iter)
		}
	}
	t.Logf("%d of 200 plans with short tags small enough to compute the lower bound; %d plans with long tags applied", measured, applied)
	require.Greater(t, measured, 50)
	require.Equal(t, 25, applied)
}

// removalSetBound returns DESIGN.md's bound on the removeTags calls of
// changes, with the limit on the characters of a call, and the number of
// distinct removal sets: the sum over the removal sets S of
// parts(S) x ceil(files with S / size), where parts(S) is 1 when S adds up
// to at most 500 characters, and otherwise the most parts a cut of S can
// have in which every two parts together pass 500 characters (pack's
// cut): fewer than 2 x length(S) / 500.
func removalSetBound(changes []Change, size int) (bound, sets int) {
	bySet := map[string]int{}
	length := map[string]int{}
	for _, c := range changes {
		k := strings.Join(c.RemoveTags, "\x00")
		bySet[k]++
		length[k] = chars(c.RemoveTags)
	}
	for k, n := range bySet {
		parts := 1
		if l := length[k]; l > 500 {
			parts = (2*l+499)/500 - 1
		}
		bound += parts * ((n + size - 1) / size)
	}
	return bound, len(bySet)
}

// optimum is the lower bound of pack, computed by brute force: the fewest
// calls of at most size files that hold counts[t] files of each type t,
// where a call holds files of pairwise compatible types only. It is meant
// for a handful of types.
//
// Every call's types lie in some maximal clique of the compatibility
// graph, so a packing is a number of calls x[K] per maximal clique K, and
// the files fit in them exactly when, for every set W of types, the calls
// of the cliques that meet W have room for W's files (Hall's condition for
// the transport of files from types to calls): sum of x[K] over the
// cliques K that meet W >= ceil(files(W) / size). optimum searches the
// smallest total that meets every such condition.
func optimum(counts []int, compat func(a, b int) bool, size int) int {
	n := len(counts)
	isClique := func(s uint) bool {
		for a := range n {
			for b := a + 1; b < n; b++ {
				if s&(1<<a) != 0 && s&(1<<b) != 0 && !compat(a, b) {
					return false
				}
			}
		}
		return true
	}
	var cliques []uint
	for s := uint(1); s < 1<<n; s++ {
		if !isClique(s) {
			continue
		}
		maximal := true
		for v := range n {
			if s&(1<<v) == 0 && isClique(s|1<<v) {
				maximal = false
				break
			}
		}
		if maximal {
			cliques = append(cliques, s)
		}
	}
	type condition struct {
		meets uint // bit k: clique k meets W
		calls int
	}
	var conds []condition
	total := 0
	for _, c := range counts {
		total += c
	}
	for w := uint(1); w < 1<<n; w++ {
		files := 0
		for t := range n {
			if w&(1<<t) != 0 {
				files += counts[t]
			}
		}
		var meets uint
		for k, c := range cliques {
			if c&w != 0 {
				meets |= 1 << k
			}
		}
		conds = append(conds, condition{meets: meets, calls: (files + size - 1) / size})
	}
	x := make([]int, len(cliques))
	var fits func(k, budget int) bool
	fits = func(k, budget int) bool {
		for _, c := range conds {
			have := 0
			open := false
			for j := range cliques {
				if c.meets&(1<<j) == 0 {
					continue
				}
				if j < k {
					have += x[j]
				} else {
					open = true
				}
			}
			if open {
				have += budget
			}
			if have < c.calls {
				return false
			}
		}
		if k == len(cliques) {
			return true
		}
		for v := budget; v >= 0; v-- {
			x[k] = v
			if fits(k+1, budget-v) {
				return true
			}
		}
		x[k] = 0
		return false
	}
	for b := (total + size - 1) / size; ; b++ {
		if fits(0, b) {
			return b
		}
	}
}

// withinBound reports whether calls is within 1.1 times the lower bound.
func withinBound(calls, lower int) bool { return calls*10 <= lower*11 }

func TestOptimumOnKnownShapes(t *testing.T) {
	all := func(a, b int) bool { return true }
	none := func(a, b int) bool { return a == b }
	star := func(a, b int) bool { return a == 0 || b == 0 || a == b } // type 0 is the hub
	tests := []struct {
		name   string
		counts []int
		compat func(a, b int) bool
		size   int
		want   int
	}{
		{"one clique", []int{30, 30, 30}, all, 50, 2},
		{"no two types together", []int{30, 30, 30}, none, 50, 3},
		{"a hub fills the leaves' calls", []int{50, 25, 25}, star, 50, 2},
		{"a hub too large for the leaves' room", []int{60, 25, 25}, star, 50, 3},
		{"leaves of several calls", []int{10, 60, 45}, star, 50, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, optimum(tt.counts, tt.compat, tt.size))
		})
	}
}

// graphSpec returns a packSpec of files of len(counts) types, type t
// needing item "n<t>", where the needs of type a may be sent to type b
// when compat(a, b): any compatibility graph. It returns the type of each
// file too.
func graphSpec(counts []int, compat func(a, b int) bool) (packSpec, []int) {
	var typeOf []int
	for t, c := range counts {
		for range c {
			typeOf = append(typeOf, t)
		}
	}
	return packSpec{
		need:  func(i int) []string { return []string{fmt.Sprintf("n%d", typeOf[i])} },
		class: func(i int) int { return typeOf[i] },
		may: func(i int, item string) bool {
			var b int
			_, err := fmt.Sscanf(item, "n%d", &b)
			return err == nil && (b == typeOf[i] || compat(typeOf[i], b))
		},
	}, typeOf
}

// checkCalls checks that calls put every one of n files in exactly one
// call of at most size files, with its needs, and only items that may be
// sent to every file of the call.
func checkCalls(t *testing.T, calls []packedCall, n, size int, spec packSpec) {
	t.Helper()
	seen := make([]bool, n)
	for _, c := range calls {
		require.NotEmpty(t, c.files)
		require.LessOrEqual(t, len(c.files), size)
		require.True(t, slices.IsSorted(c.items))
		for _, i := range c.files {
			require.False(t, seen[i], "file %d is in two calls", i)
			seen[i] = true
			for _, it := range spec.need(i) {
				_, ok := slices.BinarySearch(c.items, it)
				require.True(t, ok, "file %d's need %q is not in its call", i, it)
			}
			for _, it := range c.items {
				require.True(t, spec.may(i, it), "item %q is sent to file %d, which may not get it", it, i)
			}
		}
	}
	for i, ok := range seen {
		require.True(t, ok, "file %d is in no call", i)
	}
}

// TestPackOnRandomGraphs packs files of 2 to 11 types over random
// compatibility graphs and checks the invariant and that the calls stay
// within 1.1 times the lower bound, computed by brute force.
func TestPackOnRandomGraphs(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	worst := 0.0
	for iter := range 500 {
		n := 2 + rng.Intn(10)
		size := 2 + rng.Intn(9)
		if iter%4 == 0 {
			size = 50
		}
		p := rng.Float64()
		edges := make([][]bool, n)
		for a := range edges {
			edges[a] = make([]bool, n)
		}
		for a := range n {
			for b := a + 1; b < n; b++ {
				if rng.Float64() < p {
					edges[a][b], edges[b][a] = true, true
				}
			}
		}
		compat := func(a, b int) bool { return a == b || edges[a][b] }
		counts := make([]int, n)
		for t := range counts {
			counts[t] = 1 + rng.Intn(2*size+size/2)
		}
		spec, typeOf := graphSpec(counts, compat)
		calls := pack(len(typeOf), size, spec)
		checkCalls(t, calls, len(typeOf), size, spec)
		opt := optimum(counts, compat, size)
		perSet := 0 // every type has needs of its own
		for _, c := range counts {
			perSet += (c + size - 1) / size
		}
		require.LessOrEqual(t, len(calls), perSet, "iteration %d: one call per removal set per %d files at most", iter, size)
		worst = max(worst, float64(len(calls))/float64(opt))
		require.True(t, withinBound(len(calls), opt), "iteration %d: %d calls, lower bound %d (counts %v, size %d, edges %v)", iter, len(calls), opt, counts, size, edges)
	}
	t.Logf("worst: %.3f x the lower bound", worst)
}

// exhaustive returns the fewest calls for tiny inputs by trying every
// call from every state (remaining files per type): an oracle for
// optimum that shares nothing with it.
func exhaustive(counts []int, compat func(a, b int) bool, size int) int {
	return exhaustiveWithin(counts, compat, size, nil)
}

// exhaustiveWithin is exhaustive where a call may also hold only the sets
// of types that fits accepts (nil: any set of compatible types), given as
// the files taken of each type.
func exhaustiveWithin(counts []int, compat func(a, b int) bool, size int, fits func(take []int) bool) int {
	n := len(counts)
	memo := map[string]int{}
	var best func(left []int) int
	best = func(left []int) int {
		key := fmt.Sprint(left)
		if v, ok := memo[key]; ok {
			return v
		}
		first := slices.IndexFunc(left, func(c int) bool { return c > 0 })
		if first < 0 {
			return 0
		}
		// Some call holds a file of the first type left: try every such call.
		out := math.MaxInt
		take := make([]int, n)
		var try func(t, room int)
		try = func(t, room int) {
			if t == n {
				if take[first] == 0 || fits != nil && !fits(take) {
					return
				}
				rest := slices.Clone(left)
				for i := range rest {
					rest[i] -= take[i]
				}
				out = min(out, 1+best(rest))
				return
			}
			fits := true // type t may join the types taken so far
			for i := range t {
				fits = fits && (take[i] == 0 || compat(i, t))
			}
			for k := 0; k <= min(left[t], room) && (k == 0 || fits); k++ {
				take[t] = k
				try(t+1, room-k)
			}
			take[t] = 0
		}
		try(0, size)
		memo[key] = out
		return out
	}
	return best(counts)
}

func TestOptimumAgreesWithExhaustiveSearch(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for iter := range 300 {
		n := 1 + rng.Intn(4)
		size := 1 + rng.Intn(4)
		edges := map[[2]int]bool{}
		for a := range n {
			for b := a + 1; b < n; b++ {
				edges[[2]int{a, b}] = rng.Intn(2) == 0
			}
		}
		compat := func(a, b int) bool { return a == b || edges[[2]int{min(a, b), max(a, b)}] }
		counts := make([]int, n)
		for i := range counts {
			counts[i] = 1 + rng.Intn(5)
		}
		require.Equal(t, exhaustive(counts, compat, size), optimum(counts, compat, size), "iteration %d: counts %v, size %d, edges %v", iter, counts, size, edges)
	}
}

// TestPackOnRandomGraphsWithLengths packs files of 1 to 5 types over random
// compatibility graphs, each type needing one item of a random length, so
// that the limit on the characters of a call keeps some compatible types
// apart, and checks the invariant, the limit and that the calls are the
// fewest possible, found by exhaustive search.
func TestPackOnRandomGraphsWithLengths(t *testing.T) {
	rng := rand.New(rand.NewSource(17))
	const limit = 100
	worse, bites := 0, 0 // packings above the fewest calls; where the limit takes calls
	for iter := range 400 {
		n := 1 + rng.Intn(5)
		size := 1 + rng.Intn(4)
		if iter%5 == 0 {
			size = 50
		}
		edges := map[[2]int]bool{}
		for a := range n {
			for b := a + 1; b < n; b++ {
				edges[[2]int{a, b}] = rng.Intn(3) > 0
			}
		}
		compat := func(a, b int) bool { return a == b || edges[[2]int{min(a, b), max(a, b)}] }
		counts, lengths := make([]int, n), make([]int, n)
		for i := range n {
			counts[i] = 1 + rng.Intn(5)
			lengths[i] = 5 + rng.Intn(limit-4)
		}
		spec, typeOf := graphSpec(counts, compat)
		need := spec.need
		spec.need = func(i int) []string {
			item := need(i)[0]
			return []string{item + "-" + strings.Repeat("x", lengths[typeOf[i]]-len(item)-1)}
		}
		spec.may = func(i int, item string) bool {
			var b int
			_, err := fmt.Sscanf(item, "n%d-", &b)
			return err == nil && compat(typeOf[i], b)
		}
		spec.limit = limit
		calls := pack(len(typeOf), size, spec)
		checkCalls(t, calls, len(typeOf), size, spec)
		for _, c := range calls {
			require.LessOrEqual(t, chars(c.items), limit, "iteration %d", iter)
		}
		opt := exhaustiveWithin(counts, compat, size, func(take []int) bool {
			sum := 0
			for i, k := range take {
				if k > 0 {
					sum += lengths[i]
				}
			}
			return sum <= limit
		})
		require.GreaterOrEqual(t, len(calls), opt, "iteration %d", iter)
		if len(calls) > opt {
			worse++
		}
		if opt > exhaustive(counts, compat, size) {
			bites++
		}
		require.True(t, withinBound(len(calls), opt), "iteration %d: %d calls, the fewest %d (counts %v, lengths %v, size %d, edges %v)", iter, len(calls), opt, counts, lengths, size, edges)
	}
	t.Logf("%d of 400 packings above the fewest calls; the limit takes calls in %d", worse, bites)
	require.Zero(t, worse)
	require.Greater(t, bites, 50)
}

// packing is a plan's removals to batch, and the lower bound on its calls.
type packing struct {
	name    string
	rules   []manifest.Rule
	files   []imagekittest.File
	size    int
	lower   int // the lower bound, known by construction
	changes []Change
}

// changesFor returns the changes the rules make to files, straight from
// the manifest semantics, in the files' order.
func changesFor(rules []manifest.Rule, files []imagekittest.File) []Change {
	var out []Change
	for _, f := range files {
		var rm, by []string
		for _, tag := range f.Tags {
			if trueForbidden(rules, f, tag) {
				rm = append(rm, tag)
			}
		}
		for _, r := range rules {
			if trueSelects(r, f) && slices.ContainsFunc(rm, func(tag string) bool { return trueForbidden([]manifest.Rule{r}, f, tag) }) {
				by = append(by, r.Name)
			}
		}
		if len(rm) > 0 {
			slices.Sort(rm)
			out = append(out, Change{FileID: f.FileID, FilePath: f.FilePath, TagsBefore: f.Tags, RemoveTags: slices.Compact(rm), Rules: by})
		}
	}
	return out
}

// typeGraph returns the files of changes grouped by their removals and
// the rules that select them, with the counts and the compatibility of the
// groups, judged by the manifest semantics.
func typeGraph(rules []manifest.Rule, files []imagekittest.File, changes []Change) ([]int, func(a, b int) bool) {
	byID := map[string]imagekittest.File{}
	for _, f := range files {
		byID[f.FileID] = f
	}
	index := map[string]int{}
	var counts []int
	var reps []Change
	for _, c := range changes {
		var sel []string
		for _, r := range rules {
			if trueSelects(r, byID[c.FileID]) {
				sel = append(sel, r.Name)
			}
		}
		key := fmt.Sprintf("%q %q", sel, c.RemoveTags)
		i, ok := index[key]
		if !ok {
			i = len(counts)
			index[key] = i
			counts = append(counts, 0)
			reps = append(reps, c)
		}
		counts[i]++
	}
	fits := func(a, b int) bool {
		for _, tag := range reps[a].RemoveTags {
			if !trueForbidden(rules, byID[reps[b].FileID], tag) {
				return false
			}
		}
		return true
	}
	return counts, func(a, b int) bool { return fits(a, b) && fits(b, a) }
}

// adversarialPackings are removals that the batching before this one
// packed badly: rules written differently that forbid the same tags, calls
// left over by several classes that only fit together when split, and a
// star of rules whose files may share calls with one group only.
func adversarialPackings() []packing {
	var out []packing
	add := func(p packing) {
		p.changes = changesFor(p.rules, p.files)
		out = append(out, p)
	}
	rng := rand.New(rand.NewSource(11))
	subset := func(prefix string, n int) []string {
		var tags []string
		for len(tags) == 0 {
			for k := 1; k <= n; k++ {
				if rng.Intn(2) == 0 {
					tags = append(tags, fmt.Sprintf("%s%d", prefix, k))
				}
			}
		}
		return append(tags, "keep")
	}

	// Forty rules forbid f* and one more f tag each: the same tags of
	// these files, in forty different texts. 26 files under each.
	{
		var rules []manifest.Rule
		var files []imagekittest.File
		for j := range 40 {
			dir := fmt.Sprintf("/r%02d/", j)
			rules = append(rules, rule(fmt.Sprintf("r%02d", j), []string{dir}, nil, "f*", fmt.Sprintf("f%d", j+1)))
			for i := range 26 {
				files = append(files, file(fmt.Sprintf("r%02d-%03d", j, i), fmt.Sprintf("%s%03d.jpg", dir, i), subset("f", 5)...))
			}
		}
		add(packing{name: "rules written differently forbid the same tags", rules: rules, files: files, size: 50, lower: (40*26 + 49) / 50})
	}
	// Ten folders forbid every t tag, each rule naming a tag no file
	// carries as well; 30 files each, one removal set per folder: the
	// leftover calls fit together only when split.
	{
		var rules []manifest.Rule
		var files []imagekittest.File
		for j := range 10 {
			dir := fmt.Sprintf("/s%d/", j)
			rules = append(rules, rule(fmt.Sprintf("s%d", j), []string{dir}, nil, "t*", fmt.Sprintf("absent-%d", j)))
			for i := range 30 {
				files = append(files, file(fmt.Sprintf("s%d-%03d", j, i), fmt.Sprintf("%s%03d.jpg", dir, i), fmt.Sprintf("t%d", j), "keep"))
			}
		}
		add(packing{name: "leftover calls fit only when split", rules: rules, files: files, size: 50, lower: 300 / 50})
	}
	// A hub folder forbids x and every y tag; twenty leaf folders forbid
	// x and their own y tag. Leaf files (25 each) may share a call with
	// hub files only, so the hub's 500 files fill the leaves' calls.
	{
		rules := []manifest.Rule{rule("hub", []string{"/hub/"}, nil, "x", "y*")}
		var files []imagekittest.File
		for i := range 500 {
			files = append(files, file(fmt.Sprintf("hub-%03d", i), fmt.Sprintf("/hub/%03d.jpg", i), "x", "keep"))
		}
		for j := range 20 {
			dir := fmt.Sprintf("/leaf%02d/", j)
			rules = append(rules, rule(fmt.Sprintf("leaf%02d", j), []string{dir}, nil, "x", fmt.Sprintf("y%d", j)))
			for i := range 25 {
				files = append(files, file(fmt.Sprintf("leaf%02d-%02d", j, i), fmt.Sprintf("%s%02d.jpg", dir, i), fmt.Sprintf("y%d", j)))
			}
		}
		add(packing{name: "a hub fills the calls of leaves that exclude each other", rules: rules, files: files, size: 50, lower: 20})
	}
	// Clusters of rules with their own tags: within a cluster, rules
	// written differently forbid the same tags; across clusters nothing
	// may be shared. Cluster sizes that leave 1, 26, 49 or 51 files.
	{
		var rules []manifest.Rule
		var files []imagekittest.File
		lower := 0
		for c, n := range []int{51, 26, 49, 1, 126, 77, 26, 99, 150, 74} {
			ns := fmt.Sprintf("c%d-", c)
			k := 1 + c%4 // rules in the cluster
			for j := range k {
				dir := fmt.Sprintf("/c%d/r%d/", c, j)
				rules = append(rules, rule(fmt.Sprintf("c%d-r%d", c, j), []string{dir}, nil, ns+"*", fmt.Sprintf("%st%d", ns, j+1)))
			}
			for i := range n {
				dir := fmt.Sprintf("/c%d/r%d/", c, i%k)
				files = append(files, file(fmt.Sprintf("c%d-%03d", c, i), fmt.Sprintf("%s%03d.jpg", dir, i), subset(ns+"t", 4)...))
			}
			lower += (n + 49) / 50
		}
		add(packing{name: "clusters that share nothing, each written several ways", rules: rules, files: files, size: 50, lower: lower})
	}
	// Nested rules: the whole library forbids x, /b/ forbids y too. Files
	// of /a/ losing x may share calls with files of /b/ losing x only.
	{
		rules := []manifest.Rule{rule("all", []string{"/"}, nil, "x"), rule("b", []string{"/b/"}, nil, "y")}
		var files []imagekittest.File
		for i := range 70 {
			files = append(files, file(fmt.Sprintf("a%03d", i), fmt.Sprintf("/a/%03d.jpg", i), "x"))
		}
		for i, tags := range [][]string{{"x"}, {"y"}, {"x", "y"}} {
			for k := range 20 + 15*i {
				files = append(files, file(fmt.Sprintf("b%d-%03d", i, k), fmt.Sprintf("/b/%d-%03d.jpg", i, k), tags...))
			}
		}
		add(packing{name: "nested rules", rules: rules, files: files, size: 50})
	}
	return out
}

// TestBatchesOnAdversarialPackings checks, on packings built to be hard,
// the safety invariant and that the calls stay within 1.1 times the lower
// bound: the fewest calls of at most size files in which files share a
// call only when every tag of the call is forbidden for each of them.
func TestBatchesOnAdversarialPackings(t *testing.T) {
	for _, p := range adversarialPackings() {
		t.Run(p.name, func(t *testing.T) {
			counts, compat := typeGraph(p.rules, p.files, p.changes)
			lower := p.lower
			if len(counts) <= 8 {
				opt := optimum(counts, compat, p.size)
				if lower != 0 {
					require.Equal(t, lower, opt, "the lower bound by construction")
				}
				lower = opt
			}
			require.NotZero(t, lower)
			rs, err := compileRules(p.rules)
			require.NoError(t, err)
			batches := makeBatches(p.changes, rs, p.size)
			plan := &Plan{Rules: p.rules, RulesDigest: RulesDigest(p.rules), Changes: p.changes, Batches: batches}
			assertInvariant(t, p.rules, p.files, plan, p.size)
			require.NoError(t, CheckConsistency(plan))
			assert.True(t, withinBound(len(batches), lower), "%d calls for a lower bound of %d", len(batches), lower)
			t.Logf("%d files, %d calls, lower bound %d", len(p.changes), len(batches), lower)
		})
	}
}

// BenchmarkBatchAdversarial batches the adversarial packings and reports
// the calls against the lower bound.
//
//	go test -run '^$' -bench BatchAdversarial ./reconcile/
func BenchmarkBatchAdversarial(b *testing.B) {
	for _, p := range adversarialPackings() {
		b.Run(p.name, func(b *testing.B) {
			lower := p.lower
			if counts, compat := typeGraph(p.rules, p.files, p.changes); len(counts) <= 8 {
				lower = optimum(counts, compat, p.size)
			}
			rs, err := compileRules(p.rules)
			if err != nil {
				b.Fatal(err)
			}
			var calls int
			for b.Loop() {
				calls = len(makeBatches(p.changes, rs, p.size))
			}
			b.ReportMetric(float64(calls), "calls")
			b.ReportMetric(float64(lower), "lower-bound")
			b.ReportMetric(float64(calls)/float64(lower), "x-lower")
		})
	}
}

// BenchmarkPackLongTags packs files of one class, each removing one tag of
// its own of 20 to 319 characters, so that the limit, not the batch size,
// bounds the calls, and reports them against the lower bound (the
// characters of all the tags over 500, rounded up) and against next fit
// alone.
//
//	go test -run '^$' -bench PackLongTags ./reconcile/
func BenchmarkPackLongTags(b *testing.B) {
	for _, n := range []int{100, 4000, 100_000} {
		b.Run(fmt.Sprintf("%d files", n), func(b *testing.B) {
			rng := rand.New(rand.NewSource(1))
			needs := make([][]string, n)
			total := 0
			for i := range needs {
				length := 20 + rng.Intn(300)
				needs[i] = []string{fmt.Sprintf("t%06d-", i) + strings.Repeat("x", length-8)}
				total += length
			}
			spec := packSpec{
				need:  func(i int) []string { return needs[i] },
				class: func(int) int { return 0 },
				may:   func(int, string) bool { return true },
			}
			var calls int
			for b.Loop() {
				calls = len(pack(n, 50, spec))
			}
			p := newPacker(n, 50, packSpec{need: spec.need, may: spec.may, limit: MaxTagsLength})
			lower := (total + MaxTagsLength - 1) / MaxTagsLength
			b.ReportMetric(float64(calls), "calls")
			b.ReportMetric(float64(len(p.cut(nil, p.allTypes()))), "next-fit-calls")
			b.ReportMetric(float64(lower), "lower-bound")
			b.ReportMetric(float64(calls)/float64(lower), "x-lower")
		})
	}
}

// TestBatchCallsCarryWhatTheEndpointNeeds batches AITags with the same
// packer as tags: a change that needs nothing of the endpoint is left out,
// and an AITag goes only to files for which it is forbidden.
func TestBatchCallsCarryWhatTheEndpointNeeds(t *testing.T) {
	rules := []manifest.Rule{
		{Name: "people", Paths: []string{"/a/"}, ForbiddenAITags: []string{"Person", "Face*"}},
		{Name: "text", Paths: []string{"/b/"}, ForbiddenAITags: []string{"Text"}},
	}
	changes := []Change{
		{FileID: "f1", FilePath: "/a/1.jpg", RemoveAITags: []string{"Person"}, Rules: []string{"people"}},
		{FileID: "f2", FilePath: "/a/2.jpg", RemoveAITags: []string{"Face", "Person"}, Rules: []string{"people"}},
		{FileID: "f3", FilePath: "/a/3.jpg", RemoveTags: []string{"x"}, Rules: []string{"people"}},
		{FileID: "f4", FilePath: "/b/4.jpg", RemoveAITags: []string{"Text"}, Rules: []string{"text"}},
	}
	rs, err := compileRules(rules)
	require.NoError(t, err)
	got := batchCalls(changes, rs, 50, EndpointRemoveAITags,
		func(c *Change) []string { return c.RemoveAITags },
		(*manifest.Selection).ForbidsAITag)
	want := []Batch{
		{Endpoint: EndpointRemoveAITags, FileIDs: []string{"f1", "f2"}, Tags: []string{"Face", "Person"}},
		{Endpoint: EndpointRemoveAITags, FileIDs: []string{"f4"}, Tags: []string{"Text"}},
	}
	assert.Equal(t, want, got)
}

// TestPackNeverExceedsOneCallPerRemovalSet packs files of more classes
// than pack compares (types x classes beyond maxCrossChecks), each with
// the same single need: packed class by class they would take one call
// each, but DESIGN.md allows at most one call per removal set per 50
// files.
func TestPackNeverExceedsOneCallPerRemovalSet(t *testing.T) {
	const n = 2100 // classes, one file each: n*n > maxCrossChecks
	require.Greater(t, n*n, maxCrossChecks)
	spec := packSpec{
		need:  func(i int) []string { return []string{"x"} },
		class: func(i int) int { return i },
		may:   func(i int, item string) bool { return item == "x" },
	}
	calls := pack(n, 50, spec)
	checkCalls(t, calls, n, 50, spec)
	assert.Equal(t, (n+49)/50, len(calls), "one call per removal set per 50 files")
}

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

func oracleForbidsAI(rules []manifest.Rule, f imagekittest.File, name string) bool {
	for _, r := range rules {
		if trueSelects(r, f) && trueMatches(r.ForbiddenAITags, name) {
			return true
		}
	}
	return false
}

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
