package reconcile

import (
	"cmp"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"slices"
	"strings"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/manifest"
)

// makeBatches groups the removals of changes into removeTags calls of at most
// size files (1..50; anything else means 50): batchCalls for tags.
func makeBatches(changes []Change, rs *ruleSet, size int) []Batch {
	return batchCalls(changes, rs, size, EndpointRemoveTags,
		func(c *Change) []string { return c.RemoveTags },
		(*manifest.Selection).Forbids)
}

// batchCalls groups, with pack, what the changes ask of one endpoint
// (need: their tags to remove, or AITags, sorted and without duplicates)
// into calls of at most size files (1..50; anything else means 50).
// Changes that need nothing of it are left out.
//
// Every call (F, T) keeps the safety invariant: may(sel, t) holds for every
// item t in T and every file of F, where sel is the file's recorded
// selection (ruleSet.recorded: the rules known to select it, as the plan
// records it, which is the state MakePlan read). For removeTags, may is
// Selection.Forbids; for removeAITags, Selection.ForbidsAITag. Files whose
// recorded rules are the same are one class of pack.
func batchCalls(changes []Change, rs *ruleSet, size int, endpoint string, need func(*Change) []string, may func(sel *manifest.Selection, item string) bool) []Batch {
	idx := make([]int, 0, len(changes)) // the changes that need something
	sels := make([]*manifest.Selection, 0, len(changes))
	classes := make([]int, 0, len(changes))
	classOf := map[*manifest.Selection]int{}
	for i := range changes {
		if len(need(&changes[i])) == 0 {
			continue
		}
		sel := rs.recorded(&changes[i])
		c, ok := classOf[sel]
		if !ok {
			c = len(classOf)
			classOf[sel] = c
		}
		idx = append(idx, i)
		sels = append(sels, sel)
		classes = append(classes, c)
	}
	calls := pack(len(idx), size, packSpec{
		need:  func(i int) []string { return need(&changes[idx[i]]) },
		class: func(i int) int { return classes[i] },
		may:   func(i int, item string) bool { return may(sels[i], item) },
	})
	out := make([]Batch, len(calls))
	for k, c := range calls {
		ids := make([]string, len(c.files))
		for j, i := range c.files {
			ids[j] = changes[idx[i]].FileID
		}
		out[k] = Batch{Endpoint: endpoint, FileIDs: ids, Tags: c.items}
	}
	return out
}

// packSpec says what pack packs: files, numbered from 0, each with the
// items it must lose (tags for removeTags, AITag names for removeAITags)
// and the items that may be sent to it.
type packSpec struct {
	// need returns the items file i must lose: sorted, without
	// duplicates, not empty, and each of them allowed by may(i, item).
	need func(i int) []string
	// class returns a number that is equal for two files only when may
	// says the same for both, whatever the item (for tags: the files are
	// selected by the same rules).
	class func(i int) int
	// may reports whether item may be sent to file i: it is forbidden for
	// the file.
	may func(i int, item string) bool
}

// packedCall is one call pack plans: files (indexes given to pack) and the
// sorted union of their needs.
type packedCall struct {
	files []int
	items []string
}

// Limits on the work pack does to merge files of different classes.
const (
	// maxCrossChecks bounds types x classes: beyond it, files of
	// different classes are never merged into one call.
	maxCrossChecks = 1 << 22
	// maxGreedyTypes bounds the types of a group of classes whose files
	// may share calls but not all of them: beyond it, each class is packed
	// on its own.
	maxGreedyTypes = 4096
	// greedyVariants is how many orders the greedy pass tries.
	greedyVariants = 4
	// maxExactTypes and maxExactCliques bound the groups whose fewest
	// calls are searched; maxExactWork bounds the conditions checked by
	// the search of one group, and maxExactTotal by those of one pack.
	maxExactTypes   = 12
	maxExactCliques = 32
	maxExactWork    = 20_000_000
	maxExactTotal   = 200_000_000
)

// pack groups n files into calls of at most size files (1..50; anything
// else means 50), such that every item of a call may be sent to every file
// of it, and every file is in exactly one call, whose items include its
// needs. It is generic over what a call carries: only spec knows whether
// the items are tags or AITags.
//
// Two files may share a call, are compatible, when each one's needs may be
// sent to the other; a set of files may share a call exactly when they are
// pairwise compatible, since a call's items are the union of its files'
// needs. The lower bound is the fewest calls of at most size files that
// put every file in one call with only files it is compatible with: a
// cover of the files by cliques of the compatibility graph, each of at
// most size files. Finding it is NP-hard in general (any graph is the
// compatibility graph of some rules and files), so pack reaches it where
// the structure allows and stays close elsewhere:
//
//  1. Files are grouped into types: equal class and equal needs. Files of
//     one type are compatible, and so are files of one class (their needs
//     are all forbidden for the class). Whether types of two classes are
//     compatible is judged item by item with may, so rules written
//     differently that forbid the same tags of these files (`f*` and `f3`
//     beside `f*` and `f4`) are compatible.
//  2. Classes are joined into groups when some of their types are
//     compatible. A group whose types are all pairwise compatible is cut
//     into ceil(files/size) calls, which is its lower bound: first each
//     type's full calls, which carry exactly its needs, then the rest,
//     types one after another.
//  3. In any other group, a greedy pass places the types that have the
//     fewest compatible types first: each seeds calls of its own files and
//     fills its last, partial call with files of compatible types, again
//     those with the fewest compatible types first, splitting a type over
//     several calls when it does not fit. Every call but the last of a
//     seed is full. It runs with greedyVariants orders of ties and keeps
//     the fewest calls.
//  4. A group of at most maxExactTypes types is then searched for fewer
//     calls (exact), within a bounded amount of work: such groups get
//     their lower bound whenever the search ends in time.
//
// A group whose types exceed maxGreedyTypes, or inputs whose types times
// classes exceed maxCrossChecks, pack each class on its own as in 2, which
// costs at most one call per class more than the lower bound. Whatever the
// path, no group (nor, past maxCrossChecks, the whole input) takes more
// calls than grouping its files by removal set alone (bySet): DESIGN.md's
// one call per removal set per size files holds always. Time is
// O(N log N) to group the files plus O(T x K) may checks for T types and K
// classes, within those limits, O(t^2) for a greedy group of t types, and
// at most maxExactTotal for the searches. The output depends only on the
// input, in its order; the files of a call are in the input's order.
func pack(n, size int, spec packSpec) []packedCall {
	if size <= 0 || size > api.MaxRemoveTagsFiles {
		size = api.MaxRemoveTagsFiles
	}
	p := newPacker(n, size, spec)
	var out []packedCall
	if !p.cross && len(p.classes) > 1 {
		// Too many classes to compare: each class on its own, or each
		// removal set on its own, whichever takes fewer calls.
		var all []int
		for c := range p.classes {
			out = p.cut(out, p.classes[c].types)
			all = append(all, p.classes[c].types...)
		}
		out = fewer(out, p.bySet(all))
	} else {
		for _, g := range p.groups() {
			out = append(out, p.packGroup(g)...)
		}
	}
	for _, c := range out {
		slices.Sort(c.files)
	}
	return out
}

// packGroup returns the calls of a group of classes (see pack).
func (p *packer) packGroup(g []int) []packedCall {
	types := p.typesOf(g)
	if len(g) == 1 || p.clique(g) {
		return p.cut(nil, types)
	}
	var calls []packedCall
	if len(types) <= maxGreedyTypes {
		for v := range greedyVariants {
			if c := p.greedy(types, v); calls == nil || len(c) < len(calls) {
				calls = c
			}
		}
		if len(types) <= maxExactTypes {
			if better := p.exact(types, len(calls)); better != nil {
				calls = better
			}
		}
	} else {
		for _, c := range g {
			calls = p.cut(calls, p.classes[c].types)
		}
	}
	// Files with equal needs are compatible whatever their class, so they
	// are in one group: the group never takes more than one call per
	// removal set per size files.
	return fewer(calls, p.bySet(types))
}

// fewer returns a, or b when it has fewer calls.
func fewer(a, b []packedCall) []packedCall {
	if len(b) < len(a) {
		return b
	}
	return a
}

// bySet returns the calls that group the files of types by their needs
// alone, whatever their class: each set of needs cut into calls of size
// files that carry exactly those needs. Every need of a file may be sent
// to it, so these calls are always safe, and they are as many as DESIGN.md
// allows at most: one per removal set per size files.
func (p *packer) bySet(types []int) []packedCall {
	bySet := map[string][]int{}
	var keys []string
	var key []byte
	for _, t := range types {
		key = key[:0]
		for _, it := range p.need(t) {
			key = binary.AppendUvarint(key, uint64(len(it)))
			key = append(key, it...)
		}
		if _, ok := bySet[string(key)]; !ok {
			keys = append(keys, string(key))
		}
		bySet[string(key)] = append(bySet[string(key)], p.filesOf(t)...)
	}
	var out []packedCall
	for _, k := range keys {
		files := bySet[k]
		slices.Sort(files)
		need := p.spec.need(files[0])
		for lo := 0; lo < len(files); lo += p.size {
			hi := min(lo+p.size, len(files))
			out = append(out, packedCall{files: files[lo:hi:hi], items: slices.Clone(need)})
		}
	}
	return out
}

// packer is the state of one pack. Types are numbered from 0; the files
// of type t are files[start[t]:start[t+1]], in the input's order.
type packer struct {
	size    int
	spec    packSpec
	class   []int      // of each type
	start   []int      // of each type's files in files, and one past the last type
	files   []int      // every file, type after type
	fitsBit [][]uint64 // of each type, when cross: bit c is set when its needs may be sent to class c
	classes []pclass
	cross   bool // types of different classes were compared
	work    int  // conditions checked by exact searches so far
}

// pclass is the files with one class number.
type pclass struct {
	rep   int   // a file of the class
	types []int // its types, sorted by their needs
}

// newPacker groups the files into classes and types and, unless there are
// too many, compares the types with every class.
func newPacker(n, size int, spec packSpec) *packer {
	p := &packer{size: size, spec: spec}
	classIdx := map[int]int{}
	// Types are found by a hash of their class and needs; the types that
	// share a hash are chained through sameHash.
	byHash := map[uint64]int{}
	var sameHash, first []int
	typeOf := make([]int, n)
	var h maphash.Hash
	var buf [binary.MaxVarintLen64]byte
	for i := range n {
		c, ok := classIdx[spec.class(i)]
		if !ok {
			c = len(p.classes)
			classIdx[spec.class(i)] = c
			p.classes = append(p.classes, pclass{rep: i})
		}
		need := spec.need(i)
		h.Reset()
		h.Write(binary.AppendUvarint(buf[:0], uint64(c)))
		for _, it := range need {
			h.Write(binary.AppendUvarint(buf[:0], uint64(len(it))))
			h.WriteString(it)
		}
		sum := h.Sum64()
		t, ok := byHash[sum]
		for ok && (p.class[t] != c || !slices.Equal(spec.need(first[t]), need)) {
			t = sameHash[t]
			ok = t >= 0
		}
		if !ok {
			t = len(p.class)
			chained, ok := byHash[sum]
			if !ok {
				chained = -1
			}
			sameHash = append(sameHash, chained)
			byHash[sum] = t
			p.class = append(p.class, c)
			first = append(first, i)
			p.classes[c].types = append(p.classes[c].types, t)
		}
		typeOf[i] = t
	}
	// Lay the files out type after type.
	p.start = make([]int, len(p.class)+1)
	for _, t := range typeOf {
		p.start[t+1]++
	}
	for t := range p.class {
		p.start[t+1] += p.start[t]
	}
	p.files = make([]int, n)
	next := slices.Clone(p.start[:len(p.class)])
	for i, t := range typeOf {
		p.files[next[t]] = i
		next[t]++
	}
	// Types in order of their needs, so that calls come out in a stable,
	// readable order.
	for c := range p.classes {
		slices.SortStableFunc(p.classes[c].types, func(a, b int) int { return compareNeeds(p.need(a), p.need(b)) })
	}
	if k := len(p.classes); k > 1 && len(p.class)*k <= maxCrossChecks {
		p.cross = true
		p.compare()
	}
	return p
}

// need returns the needs of type t.
func (p *packer) need(t int) []string { return p.spec.need(p.files[p.start[t]]) }

// filesOf returns the files of type t, in the input's order.
func (p *packer) filesOf(t int) []int { return p.files[p.start[t]:p.start[t+1]:p.start[t+1]] }

// compareNeeds orders two sorted item lists lexicographically.
func compareNeeds(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if c := strings.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// compare fills every type's fits, asking may once per class and item.
func (p *packer) compare() {
	k := len(p.classes)
	words := (k + 63) / 64
	memo := make([]map[string]bool, k)
	for c := range memo {
		memo[c] = map[string]bool{}
	}
	may := func(c int, item string) bool {
		ok, seen := memo[c][item]
		if !seen {
			ok = p.spec.may(p.classes[c].rep, item)
			memo[c][item] = ok
		}
		return ok
	}
	p.fitsBit = make([][]uint64, len(p.class))
	for t := range p.class {
		bits := make([]uint64, words)
		for c := range k {
			fits := c == p.class[t]
			if !fits {
				fits = true
				for _, it := range p.need(t) {
					if !may(c, it) {
						fits = false
						break
					}
				}
			}
			if fits {
				bits[c/64] |= 1 << (c % 64)
			}
		}
		p.fitsBit[t] = bits
	}
}

// fits reports whether the needs of type t may be sent to class c.
func (p *packer) fits(t, c int) bool {
	if !p.cross {
		return p.class[t] == c
	}
	return p.fitsBit[t][c/64]&(1<<(c%64)) != 0
}

// compatible reports whether files of types a and b may share a call.
func (p *packer) compatible(a, b int) bool {
	ca, cb := p.class[a], p.class[b]
	return ca == cb || p.fits(a, cb) && p.fits(b, ca)
}

// groups returns the classes joined by compatible types: two classes are
// in one group when a type of each is compatible with the other, directly
// or through other classes. Groups and their classes are in order of
// their first file.
func (p *packer) groups() [][]int {
	k := len(p.classes)
	parent := make([]int, k)
	for c := range parent {
		parent[c] = c
	}
	find := func(c int) int {
		for parent[c] != c {
			parent[c] = parent[parent[c]]
			c = parent[c]
		}
		return c
	}
	if p.cross {
		// fitsAny[a][b]: some type of a fits b.
		fitsAny := make([][]bool, k)
		for a := range fitsAny {
			fitsAny[a] = make([]bool, k)
			for _, t := range p.classes[a].types {
				for b := range k {
					fitsAny[a][b] = fitsAny[a][b] || p.fits(t, b)
				}
			}
		}
		for a := range k {
			for b := a + 1; b < k; b++ {
				// A type of a fitting b and one of b fitting a are
				// compatible.
				if fitsAny[a][b] && fitsAny[b][a] {
					if ra, rb := find(a), find(b); ra != rb {
						parent[max(ra, rb)] = min(ra, rb)
					}
				}
			}
		}
	}
	byRoot := map[int]int{}
	var out [][]int
	for c := range k {
		r := find(c)
		g, ok := byRoot[r]
		if !ok {
			g = len(out)
			byRoot[r] = g
			out = append(out, nil)
		}
		out[g] = append(out[g], c)
	}
	return out
}

// clique reports whether every type of the classes is compatible with
// every other.
func (p *packer) clique(classes []int) bool {
	for i, a := range classes {
		for _, b := range classes[i+1:] {
			for _, t := range p.classes[a].types {
				if !p.fits(t, b) {
					return false
				}
			}
			for _, t := range p.classes[b].types {
				if !p.fits(t, a) {
					return false
				}
			}
		}
	}
	return true
}

func (p *packer) typesOf(classes []int) []int {
	var out []int
	for _, c := range classes {
		out = append(out, p.classes[c].types...)
	}
	return out
}

// cut appends the calls of types that are all pairwise compatible:
// ceil(files/size) of them, first each type's full calls, then the rest
// of every type, one after another.
func (p *packer) cut(out []packedCall, types []int) []packedCall {
	var rest []int
	var restTypes []int
	for _, t := range types {
		files := p.filesOf(t)
		full := len(files) / p.size * p.size
		for lo := 0; lo < full; lo += p.size {
			out = append(out, packedCall{files: files[lo : lo+p.size : lo+p.size], items: slices.Clone(p.need(t))})
		}
		if full < len(files) {
			rest = append(rest, files[full:]...)
			for range files[full:] {
				restTypes = append(restTypes, t)
			}
		}
	}
	for lo := 0; lo < len(rest); lo += p.size {
		hi := min(lo+p.size, len(rest))
		out = append(out, packedCall{files: rest[lo:hi:hi], items: p.itemsOf(slices.Compact(slices.Clone(restTypes[lo:hi])))})
	}
	return out
}

// itemsOf returns the sorted union of the needs of types.
func (p *packer) itemsOf(types []int) []string {
	if len(types) == 1 {
		return slices.Clone(p.need(types[0]))
	}
	var items []string
	for _, t := range types {
		items = append(items, p.need(t)...)
	}
	slices.Sort(items)
	return slices.Compact(items)
}

// greedy returns the calls of types whose compatibility is not complete,
// placing the least compatible types first (see pack); variant picks how
// ties are broken.
func (p *packer) greedy(types []int, variant int) []packedCall {
	var out []packedCall
	m := len(types)
	adj := make([][]int, m)
	for i := range m {
		for j := i + 1; j < m; j++ {
			if p.compatible(types[i], types[j]) {
				adj[i] = append(adj[i], j)
				adj[j] = append(adj[j], i)
			}
		}
	}
	left := make([]int, m) // files not yet placed
	next := make([]int, m) // index of the next file to place
	deg := make([]int, m)  // compatible types with files left
	alive := make([]bool, m)
	for i, t := range types {
		left[i] = len(p.filesOf(t))
		deg[i] = len(adj[i])
		alive[i] = true
	}
	exhaust := func(i int) {
		alive[i] = false
		for _, j := range adj[i] {
			deg[j]--
		}
	}
	take := func(i, n int) []int {
		files := p.filesOf(types[i])[next[i] : next[i]+n : next[i]+n]
		next[i] += n
		left[i] -= n
		if left[i] == 0 {
			exhaust(i)
		}
		return files
	}
	// before reports whether type i should be placed before type j: the
	// one with fewer compatible types left, then, as the variant says, the
	// one with more files left or the one with fewer.
	before := func(fewer bool) func(i, j int) bool {
		return func(i, j int) bool {
			if deg[i] != deg[j] {
				return deg[i] < deg[j]
			}
			if left[i] != left[j] {
				return (left[i] > left[j]) != fewer
			}
			return i < j
		}
	}
	seedFirst, fillFirst := before(variant&1 != 0), before(variant&2 != 0)
	cand := make([]bool, m)
	for {
		seed := -1
		for i := range m {
			if alive[i] && (seed < 0 || seedFirst(i, seed)) {
				seed = i
			}
		}
		if seed < 0 {
			return out
		}
		for left[seed] >= p.size {
			out = append(out, packedCall{files: take(seed, p.size), items: slices.Clone(p.need(types[seed]))})
		}
		if !alive[seed] {
			continue
		}
		files := slices.Clone(take(seed, left[seed]))
		members := []int{types[seed]}
		clear(cand)
		for _, j := range adj[seed] {
			cand[j] = alive[j]
		}
		for len(files) < p.size {
			pick := -1
			for j := range m {
				if cand[j] && alive[j] && (pick < 0 || fillFirst(j, pick)) {
					pick = j
				}
			}
			if pick < 0 {
				break
			}
			files = append(files, take(pick, min(p.size-len(files), left[pick]))...)
			members = append(members, types[pick])
			keep := make([]bool, m)
			for _, j := range adj[pick] {
				keep[j] = cand[j]
			}
			cand = keep
		}
		out = append(out, packedCall{files: files, items: p.itemsOf(members)})
	}
}

// unionSorted returns the sorted union of two sorted, duplicate-free lists.
func unionSorted(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// exact searches calls for types (at most maxExactTypes of them) fewer than
// have, and returns the fewest it finds, or nil. A packing is a number of
// calls x[K] for each maximal clique K of the types' compatibility graph;
// the files fit in those calls exactly when, for every set W of types, the
// calls of the cliques that meet W have room for W's files (Hall's
// condition). The search tries have-1 calls, then fewer, down to the
// largest ceil(files(W)/size), which no packing beats, and gives up after
// maxExactWork conditions checked (or once the searches of one pack
// checked maxExactTotal), keeping the best found.
func (p *packer) exact(types []int, have int) []packedCall {
	n := len(types)
	counts := make([]int, n)
	for i, t := range types {
		counts[i] = len(p.filesOf(t))
	}
	cliques := maximalCliques(n, func(a, b int) bool { return p.compatible(types[a], types[b]) })
	if len(cliques) == 0 || len(cliques) > maxExactCliques {
		return nil
	}
	// Only connected sets of types need a condition: the cliques that meet
	// a set are those that meet its connected parts, whose conditions add
	// up to at least its own. Of the sets that meet the same cliques, the
	// one with the most files decides.
	adj := make([]uint, n)
	for a := range n {
		for b := range n {
			if a != b && p.compatible(types[a], types[b]) {
				adj[a] |= 1 << b
			}
		}
	}
	connected := func(w uint) bool {
		reach := w & -w
		for {
			more := reach
			for r := reach; r != 0; r &= r - 1 {
				more |= adj[bits.TrailingZeros(r)] & w
			}
			if more == reach {
				return reach == w
			}
			reach = more
		}
	}
	strongest := map[uint64]int{} // cliques met -> most calls needed
	lower := 0
	for w := uint(1); w < 1<<n; w++ {
		if !connected(w) {
			continue
		}
		files := 0
		for i := range n {
			if w&(1<<i) != 0 {
				files += counts[i]
			}
		}
		var meets uint64
		for k, c := range cliques {
			if c&w != 0 {
				meets |= 1 << k
			}
		}
		calls := (files + p.size - 1) / p.size
		strongest[meets] = max(strongest[meets], calls)
		lower = max(lower, calls)
	}
	type condition struct {
		meets uint64 // bit k: clique k meets the set
		calls int    // ceil(files of the set / size)
	}
	conds := make([]condition, 0, len(strongest))
	for meets, calls := range strongest {
		conds = append(conds, condition{meets: meets, calls: calls})
	}
	slices.SortFunc(conds, func(a, b condition) int { return cmp.Or(b.calls-a.calls, cmp.Compare(a.meets, b.meets)) })
	m := len(cliques)
	x := make([]int, m)
	sums := make([]int, len(conds)) // calls so far of the cliques that meet W
	work := 0
	var search func(k, budget int) bool
	search = func(k, budget int) bool {
		if work += len(conds); work > maxExactWork || p.work+work > maxExactTotal {
			return false
		}
		open := ^uint64(0) << k
		for c, cd := range conds {
			have := sums[c]
			if cd.meets&open != 0 {
				have += budget
			}
			if have < cd.calls {
				return false
			}
		}
		if k == m {
			return true
		}
		for v := budget; v >= 0; v-- {
			x[k] = v
			for c, cd := range conds {
				if cd.meets&(1<<k) != 0 {
					sums[c] += v
				}
			}
			ok := search(k+1, budget-v)
			for c, cd := range conds {
				if cd.meets&(1<<k) != 0 {
					sums[c] -= v
				}
			}
			if ok {
				return true
			}
		}
		x[k] = 0
		return false
	}
	var best []int
	for b := have - 1; b >= lower; b-- {
		if !search(0, b) {
			break
		}
		best = slices.Clone(x)
	}
	p.work += work
	if best == nil {
		return nil
	}
	return p.fill(types, counts, cliques, best)
}

// fill returns the calls of a packing of x[k] calls per clique k: files are
// sent to the cliques' calls by a maximum flow (which Hall's condition
// guarantees places them all), and each clique's files are cut into its
// calls, type after type.
func (p *packer) fill(types, counts []int, cliques []uint, x []int) []packedCall {
	n, m := len(types), len(cliques)
	// Nodes: 0 source, 1..n types, n+1..n+m cliques, n+m+1 sink.
	size := n + m + 2
	sink := size - 1
	capacity := make([][]int, size)
	for i := range capacity {
		capacity[i] = make([]int, size)
	}
	total := 0
	for i := range n {
		capacity[0][1+i] = counts[i]
		total += counts[i]
		for k, c := range cliques {
			if c&(1<<i) != 0 {
				capacity[1+i][1+n+k] = total + counts[i] // unbounded
			}
		}
	}
	for k := range m {
		capacity[1+n+k][sink] = x[k] * p.size
	}
	flow := make([][]int, size)
	for i := range flow {
		flow[i] = make([]int, size)
	}
	for {
		// Breadth-first search for an augmenting path.
		prev := make([]int, size)
		for i := range prev {
			prev[i] = -1
		}
		prev[0] = 0
		queue := []int{0}
		for len(queue) > 0 && prev[sink] < 0 {
			u := queue[0]
			queue = queue[1:]
			for v := range size {
				if prev[v] < 0 && capacity[u][v]-flow[u][v] > 0 {
					prev[v] = u
					queue = append(queue, v)
				}
			}
		}
		if prev[sink] < 0 {
			break
		}
		push := total
		for v := sink; v != 0; v = prev[v] {
			push = min(push, capacity[prev[v]][v]-flow[prev[v]][v])
		}
		for v := sink; v != 0; v = prev[v] {
			flow[prev[v]][v] += push
			flow[v][prev[v]] -= push
		}
	}
	next := make([]int, n)
	var out []packedCall
	for k := range m {
		var files []int
		var fileTypes []int
		for i := range n {
			f := flow[1+i][1+n+k]
			if f <= 0 {
				continue
			}
			files = append(files, p.filesOf(types[i])[next[i]:next[i]+f]...)
			next[i] += f
			for range f {
				fileTypes = append(fileTypes, types[i])
			}
		}
		for lo := 0; lo < len(files); lo += p.size {
			hi := min(lo+p.size, len(files))
			out = append(out, packedCall{files: files[lo:hi:hi], items: p.itemsOf(slices.Compact(slices.Clone(fileTypes[lo:hi])))})
		}
	}
	for i := range n {
		if next[i] != counts[i] {
			return nil // cannot happen when x meets Hall's condition
		}
	}
	return out
}

// maximalCliques returns the maximal cliques of a graph of n vertices (at
// most 64), as bit sets (Bron–Kerbosch with pivoting).
func maximalCliques(n int, adjacent func(a, b int) bool) []uint {
	nbr := make([]uint64, n)
	for a := range n {
		for b := range n {
			if a != b && adjacent(a, b) {
				nbr[a] |= 1 << b
			}
		}
	}
	var out []uint
	var bk func(r, p, x uint64)
	bk = func(r, p, x uint64) {
		if p == 0 && x == 0 {
			out = append(out, uint(r))
			return
		}
		pivot := bits.TrailingZeros64(p | x)
		for cand := p &^ nbr[pivot]; cand != 0; cand &= cand - 1 {
			v := bits.TrailingZeros64(cand)
			bk(r|1<<v, p&nbr[v], x&nbr[v])
			p &^= 1 << v
			x |= 1 << v
		}
	}
	bk(0, (1<<n)-1, 0)
	return out
}
