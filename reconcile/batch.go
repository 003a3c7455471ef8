package reconcile

import (
	"cmp"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"slices"
	"strings"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/internal/sorted"
	"github.com/tagprune/tagprune/manifest"
)

// makeBatches groups the removals of changes into removeTags calls of at most
// size files (1..50; anything else means 50): batchCalls for tags.
func makeBatches(changes []Change, rs *ruleSet, size int) []Batch {
	return batchCalls(changes, rs, size, EndpointRemoveTags,
		removeTagsOf, (*manifest.Selection).Forbids)
}

// batchCalls groups, with pack, what the changes ask of one endpoint
// (need: their tags to remove or add, or AITags, sorted and without
// duplicates) into calls of at most size files (1..50; anything else means
// 50) whose items add up to at most MaxTagsLength characters. Changes that
// need nothing of it are left out, and so are items longer than
// MaxTagsLength on their own, which no call can carry (Apply reports
// their files failed).
//
// Every call (F, T) keeps the safety invariant: may(sel, t) holds for every
// item t in T and every file of F, where sel is the file's recorded
// selection (ruleSet.recorded: the rules known to select it, as the plan
// records it, which is the state MakePlan read). For removeTags, may is
// Selection.Forbids; for removeAITags, Selection.ForbidsAITag. Files whose
// recorded rules are the same are one class of pack.
//
// A nil may sends each file only its own items, so that files share a call
// only when they need the same items (rs is then not used). addTags calls
// are batched so: a tag is added only to files whose change adds it, the
// new tag of a rename of a selecting rule whose old tag the file carries,
// and which the file lacks (the twin of the safety invariant, as
// CheckConsistency and Apply check it).
func batchCalls(changes []Change, rs *ruleSet, size int, endpoint string, need func(*Change) []string, may func(sel *manifest.Selection, item string) bool) []Batch {
	idx := make([]int, 0, len(changes)) // the changes that need something
	short := map[int][]string{}         // the needs of those with items no call can carry, without them
	var sels []*manifest.Selection
	var classes []int
	if may != nil {
		sels = make([]*manifest.Selection, 0, len(changes))
		classes = make([]int, 0, len(changes))
	}
	classOf := map[*manifest.Selection]int{}
	for i := range changes {
		all := need(&changes[i])
		items := sendable(all)
		if len(items) == 0 {
			continue
		}
		if len(items) < len(all) {
			short[len(idx)] = items
		}
		idx = append(idx, i)
		if may == nil {
			continue
		}
		sel := rs.recorded(&changes[i])
		c, ok := classOf[sel]
		if !ok {
			c = len(classOf)
			classOf[sel] = c
		}
		sels = append(sels, sel)
		classes = append(classes, c)
	}
	spec := packSpec{need: func(i int) []string { return need(&changes[idx[i]]) }}
	if len(short) > 0 {
		spec.need = func(i int) []string {
			if items, ok := short[i]; ok {
				return items
			}
			return need(&changes[idx[i]])
		}
	}
	if may != nil {
		spec.class = func(i int) int { return classes[i] }
		spec.may = func(i int, item string) bool { return may(sels[i], item) }
	}
	calls := pack(len(idx), size, spec)
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
// items it must be sent (tags for removeTags and addTags, AITag names for
// removeAITags) and the items that may be sent to it.
type packSpec struct {
	// need returns the items file i must be sent: sorted, without
	// duplicates, not empty, each allowed by may(i, item) and each at
	// most limit characters long.
	need func(i int) []string
	// class returns a number that is equal for two files only when may
	// says the same for both, whatever the item (for tags: the files are
	// selected by the same rules). It is not used when may is nil.
	class func(i int) int
	// may reports whether item may be sent to file i: it is forbidden for
	// the file. When may is nil, only file i's own needs may be sent to it.
	may func(i int, item string) bool
	// limit is the most characters (as tagsLength counts them) that the
	// items of one call may add up to; 0 means MaxTagsLength.
	limit int
}

// packedCall is one call pack plans: files (indexes given to pack) and the
// sorted union of their needs, or of the parts of them it carries.
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
	// maxShareTypes bounds the types of a class, or of a group of
	// pairwise compatible classes, whose first fit (binPack) looks for
	// items that calls share.
	maxShareTypes = 1 << 16
)

// pack groups n files into calls of at most size files (1..50; anything
// else means 50) whose items add up to at most spec.limit characters, such
// that every item of a call may be sent to every file of it, and every
// file's needs are all in the calls that name it. A file whose needs add
// up to at most the limit is in exactly one call; a file whose needs pass
// it is cut into parts (splitNeeds), each packed as a file of its own (a
// piece), so that the file is in one call per part. It is generic over
// what a call carries: only spec knows whether the items are tags or
// AITags.
//
// Two pieces are compatible when each one's needs may be sent to the
// other; a set of pieces may share a call exactly when they are pairwise
// compatible and the union of their needs fits in the limit, since a
// call's items are that union. The lower bound is the fewest calls of at
// most size pieces that put every piece in one call with only pieces it
// may share it with. Finding it is NP-hard in general (any graph is the
// compatibility graph of some rules and files, and the limit alone makes
// it a bin packing), so pack reaches it where the structure allows and
// stays close elsewhere:
//
//  1. Pieces are grouped into types: equal class and equal needs. Pieces
//     of one type are compatible, and so are pieces of one class (their
//     needs are all forbidden for the class). Whether types of two classes
//     are compatible is judged item by item with may, so rules written
//     differently that forbid the same tags of these files (`f*` and `f3`
//     beside `f*` and `f4`) are compatible.
//  2. Classes are joined into groups when some of their types are
//     compatible. A group whose types are all pairwise compatible and whose
//     needs add up, as a union, to at most the limit is cut into
//     ceil(pieces/size) calls, which is its lower bound: first each type's
//     full calls, which carry exactly its needs, then the rest, types one
//     after another (cut).
//  3. A group whose types are all pairwise compatible but whose needs pass
//     the limit is a bin packing by length (binPack): cut again, a new call
//     starting whenever the next type's needs would take the call past the
//     limit (next fit, in the order of the needs, so that similar sets
//     share their items), and first fit by decreasing length (firstFit,
//     which also finds the items calls share for at most maxShareTypes
//     types); the fewer calls are kept.
//  4. In any other group of at most maxGreedyTypes types, a greedy pass
//     places the types that have the fewest compatible types first: each
//     seeds calls of its own pieces and fills its last, partial call with
//     pieces of compatible types whose needs still fit in the limit, again
//     those with the fewest compatible types first, splitting a type over
//     several calls when it does not fit. Every call but the last of a
//     seed is full. It runs with greedyVariants orders of ties and keeps
//     the fewest calls.
//  5. A group of at most maxExactTypes types that 2 does not settle goes
//     through the greedy pass of 4 (and, when 3 applies, through 3 too),
//     then is searched for fewer calls (exact), within a bounded amount
//     of work: such groups get their lower bound whenever the search ends
//     in time.
//
// A group of more than maxGreedyTypes types that 2 and 3 do not settle, or
// inputs whose types times classes exceed maxCrossChecks, pack each class
// on its own as in 3. With a nil spec.may, pieces share calls only with
// pieces of equal needs (bySet).
//
// The bound. For a removal set S (the needs of a file), let parts(S) be 1
// when its items add up to at most the limit, and otherwise the number of
// parts splitNeeds cuts it into (every two of which together pass the
// limit, so fewer than 2 x length(S) / limit). Whatever the path, no group
// (nor, past maxCrossChecks, the whole input) takes more calls than
// grouping its pieces by needs alone (bySet), which is at most the sum
// over the distinct removal sets S of parts(S) x ceil(files with S /
// size): DESIGN.md's one call per removal set per size files, each set
// that passes the limit counting once per part. Files that are all of one
// class (for tags: their forbidden sets are equal) and whose needs add up,
// as a union, to at most the limit take exactly ceil(files/size) calls
// (2). No packing takes fewer than ceil(pieces/size) calls, nor fewer than
// the length of all the distinct items divided by the limit, rounded up.
//
// Time is O(N log N) to group the pieces plus O(T x K) may checks for T
// types and K classes, within those limits, O(t^2 x items) for a greedy
// group of t types, O(t x (log calls + maxShareChecks)) for a first fit,
// and at most maxExactTotal for the searches. The output depends only on
// the input, in its order; the files of a call are in the input's order.
func pack(n, size int, spec packSpec) []packedCall {
	if size <= 0 || size > api.MaxBulkFiles {
		size = api.MaxBulkFiles
	}
	if spec.limit <= 0 {
		spec.limit = MaxTagsLength
	}
	var of []int // the file of each piece, when some file is cut into parts
	p := newPacker(n, size, spec)
	if p == nil {
		var inner packSpec
		of, inner = pieces(n, spec)
		p = newPacker(len(of), size, inner)
	}
	var out []packedCall
	switch {
	case spec.may == nil:
		out = p.bySet(p.allTypes())
	case !p.cross && len(p.classes) > 1:
		// Too many classes to compare: each class on its own, or each
		// removal set on its own, whichever takes fewer calls.
		for c := range p.classes {
			out = p.binPack(out, p.classes[c].types)
		}
		out = fewer(out, p.bySet(p.allTypes()))
	default:
		for _, g := range p.groups() {
			out = append(out, p.packGroup(g)...)
		}
	}
	if !p.valid(out) {
		// A call the packing above got wrong (too many pieces, or items
		// past the limit) is never sent: by needs alone, every call is
		// within both by construction.
		out = p.bySet(p.allTypes())
	}
	for k := range out {
		files := out[k].files
		if of != nil {
			for j, i := range files {
				files[j] = of[i]
			}
		}
		slices.Sort(files)
		out[k].files = slices.Compact(files)
	}
	return out
}

// pieces returns what pack places when some file's needs pass
// spec.limit: a piece for each file whose needs fit in it, and one for
// each part (splitNeeds) of the needs of any other file, with the spec of
// the pieces; of[k] is the file of piece k.
func pieces(n int, spec packSpec) ([]int, packSpec) {
	of := make([]int, 0, n+1)
	var parts [][]string // the needs of each piece, nil for a whole file
	for i := range n {
		need := spec.need(i)
		if fitsIn(need, spec.limit) {
			of = append(of, i)
			parts = append(parts, nil)
			continue
		}
		for _, part := range splitNeeds(need, spec.limit) {
			of = append(of, i)
			parts = append(parts, part)
		}
	}
	inner := packSpec{limit: spec.limit, need: func(k int) []string {
		if parts[k] != nil {
			return parts[k]
		}
		return spec.need(of[k])
	}}
	if spec.class != nil {
		inner.class = func(k int) int { return spec.class(of[k]) }
	}
	if spec.may != nil {
		inner.may = func(k int, item string) bool { return spec.may(of[k], item) }
	}
	return of, inner
}

// valid reports whether every call holds 1..size pieces and items that add
// up to at most the limit.
func (p *packer) valid(calls []packedCall) bool {
	for _, c := range calls {
		if len(c.files) == 0 || len(c.files) > p.size || !fitsIn(c.items, p.limit) {
			return false
		}
	}
	return true
}

// packGroup returns the calls of a group of classes (see pack).
func (p *packer) packGroup(g []int) []packedCall {
	types := p.typesOf(g)
	whole := len(g) == 1 || p.clique(g)
	if whole && p.fitTogether(types) {
		return p.cut(nil, types)
	}
	var calls []packedCall
	switch {
	case whole && len(types) > maxExactTypes:
		// Every type may share a call with every other but for the
		// limit: packing them is a bin packing by length.
		calls = p.binPack(nil, types)
	case len(types) <= maxGreedyTypes:
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
		if whole {
			calls = fewer(calls, p.binPack(nil, types))
		}
	default:
		for _, c := range g {
			calls = p.binPack(calls, p.classes[c].types)
		}
	}
	// Files with equal needs are compatible whatever their class, so they
	// are in one group: the group never takes more than one call per
	// removal set (or part of one) per size files.
	if len(g) == 1 && len(calls) <= p.setCalls(types) {
		return calls // one class: bySet would take setCalls calls
	}
	return fewer(calls, p.bySet(types))
}

// setCalls returns how many calls bySet makes of types of one class,
// whose needs all differ: ceil(pieces/size) for each.
func (p *packer) setCalls(types []int) int {
	n := 0
	for _, t := range types {
		n += (len(p.filesOf(t)) + p.size - 1) / p.size
	}
	return n
}

// fewer returns a, or b when it has fewer calls.
func fewer(a, b []packedCall) []packedCall {
	if len(b) < len(a) {
		return b
	}
	return a
}

// bySet returns the calls that group the pieces of types by their needs
// alone, whatever their class: each set of needs cut into calls of size
// pieces that carry exactly those needs. Every need of a piece may be sent
// to it and fits in the limit, so these calls are always safe, and they
// are as many as DESIGN.md allows at most: one per removal set (or part of
// one) per size files.
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

// packer is the state of one pack. Types are numbered from 0; the pieces
// of type t are files[start[t]:start[t+1]], in the input's order.
type packer struct {
	size    int
	limit   int // characters the items of a call may add up to
	spec    packSpec
	class   []int      // of each type
	length  []int      // of each type's needs, in characters
	start   []int      // of each type's pieces in files, and one past the last type
	files   []int      // every piece, type after type
	fitsBit [][]uint64 // of each type, when cross: bit c is set when its needs may be sent to class c
	classes []pclass
	cross   bool // types of different classes were compared
	work    int  // conditions checked by exact searches so far
}

// pclass is the pieces with one class number.
type pclass struct {
	rep   int   // a piece of the class
	types []int // its types, sorted by their needs
}

// newPacker groups the pieces into classes and types and, unless there
// are too many, compares the types with every class. A nil spec.class puts
// every piece in one class. It returns nil when the needs of some piece
// pass spec.limit: they must be cut into pieces first.
func newPacker(n, size int, spec packSpec) *packer {
	p := &packer{size: size, limit: spec.limit, spec: spec}
	classIdx := map[int]int{}
	classOf := func(i int) int { return 0 }
	if spec.class != nil {
		classOf = spec.class
	}
	// Types are found by a hash of their class and needs; the types that
	// share a hash are chained through sameHash.
	byHash := map[uint64]int{}
	var sameHash, first []int
	typeOf := make([]int, n)
	var h maphash.Hash
	var buf [binary.MaxVarintLen64]byte
	for i := range n {
		c, ok := classIdx[classOf(i)]
		if !ok {
			c = len(p.classes)
			classIdx[classOf(i)] = c
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
			p.length = append(p.length, tagsLength(need))
			if p.length[t] > p.limit {
				return nil
			}
			first = append(first, i)
			p.classes[c].types = append(p.classes[c].types, t)
		}
		typeOf[i] = t
	}
	// Lay the pieces out type after type.
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
	if k := len(p.classes); k > 1 && spec.may != nil && len(p.class)*k <= maxCrossChecks {
		p.cross = true
		p.compare()
	}
	return p
}

// allTypes returns every type, class after class.
func (p *packer) allTypes() []int {
	out := make([]int, 0, len(p.class))
	for c := range p.classes {
		out = append(out, p.classes[c].types...)
	}
	return out
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

// cut appends the calls of types that are all pairwise compatible: first
// each type's full calls, which carry exactly its needs, then the rest of
// every type, one after another, a new call starting when one holds size
// pieces or when the next type's needs would take its items past the
// limit (next fit). When the needs of types add up, as a union, to at most
// the limit, that is ceil(pieces/size) calls.
func (p *packer) cut(out []packedCall, types []int) []packedCall {
	var c openCall
	for _, t := range types {
		files := p.filesOf(t)
		full := len(files) / p.size * p.size
		for lo := 0; lo < full; lo += p.size {
			out = append(out, packedCall{files: files[lo : lo+p.size : lo+p.size], items: slices.Clone(p.need(t))})
		}
		for rest := files[full:]; len(rest) > 0; {
			if len(c.files) == p.size || !p.fitsIn(&c, t) {
				out = p.close(out, &c)
			}
			p.join(&c, t)
			k := min(len(rest), p.size-len(c.files))
			c.files = append(c.files, rest[:k]...)
			rest = rest[k:]
		}
	}
	return p.close(out, &c)
}

// firstFit returns the calls of types that are all pairwise compatible,
// first fit by decreasing length: each type's full calls carry exactly its
// needs, and the rest of each type, the longest needs first, goes to the
// first calls that have room for its pieces and whose items its needs fit
// in with, then to a new call. The first call with room for the whole
// length of a type's needs is found in O(log calls) (roomTree). With
// share, calls before it that share an item with the type, where the type
// may need less room, are tried too, at most maxShareChecks of them per
// type, and the room of a call is what the union of its items leaves;
// without, it is what their lengths added up leave, which costs no set of
// items per call.
func (p *packer) firstFit(types []int, share bool) []packedCall {
	order := slices.Clone(types)
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(p.length[b], p.length[a]) })
	var out []packedCall
	var open []*openCall
	var room roomTree
	holding := map[string][]int{} // with share, the open calls that hold each item
	for _, t := range order {
		files := p.filesOf(t)
		full := len(files) / p.size * p.size
		for lo := 0; lo < full; lo += p.size {
			out = append(out, packedCall{files: files[lo : lo+p.size : lo+p.size], items: slices.Clone(p.need(t))})
		}
		for rest := files[full:]; len(rest) > 0; {
			j := room.first(p.length[t])
			checks := 0
			for _, it := range p.need(t) {
				if !share {
					break
				}
				for _, k := range holding[it] {
					if checks == maxShareChecks {
						break
					}
					if (j < 0 || k < j) && len(open[k].files) < p.size {
						checks++
						if p.fitsIn(open[k], t) {
							j = k
						}
					}
				}
			}
			if j < 0 {
				j = len(open)
				open = append(open, &openCall{})
			}
			c := open[j]
			if share {
				p.unionLength(c) // counted from now on: the room is exact
				if !slices.Contains(c.types, t) {
					for _, it := range p.need(t) {
						if _, ok := c.items[it]; !ok {
							holding[it] = append(holding[it], j)
						}
					}
				}
			}
			p.join(c, t)
			k := min(len(rest), p.size-len(c.files))
			c.files = append(c.files, rest[:k]...)
			rest = rest[k:]
			switch {
			case len(c.files) == p.size:
				room.set(j, -1)
			case share:
				room.set(j, p.limit-c.length)
			default:
				room.set(j, p.limit-c.sum)
			}
		}
	}
	for _, c := range open {
		out = p.close(out, c)
	}
	return out
}

// maxShareChecks bounds the calls firstFit tries for a type because they
// share an item with it.
const maxShareChecks = 64

// roomTree holds the room left in each call (-1 for none) and finds the
// first call with at least some room, in O(log calls).
type roomTree struct {
	n    int   // leaves; a power of two, or 0
	tree []int // tree[1] is the root, tree[n+i] the room of call i
}

// set sets the room of call i, growing the tree as needed.
func (r *roomTree) set(i, room int) {
	if i >= r.n {
		n := max(1, r.n)
		for n <= i {
			n *= 2
		}
		tree := make([]int, 2*n)
		for k := range tree {
			tree[k] = -1
		}
		if r.n > 0 {
			copy(tree[n:], r.tree[r.n:])
		}
		for k := n - 1; k > 0; k-- {
			tree[k] = max(tree[2*k], tree[2*k+1])
		}
		r.n, r.tree = n, tree
	}
	k := r.n + i
	r.tree[k] = room
	for k > 1 {
		k /= 2
		r.tree[k] = max(r.tree[2*k], r.tree[2*k+1])
	}
}

// first returns the first call with at least room left, or -1.
func (r *roomTree) first(room int) int {
	if r.n == 0 || r.tree[1] < room {
		return -1
	}
	k := 1
	for k < r.n {
		if r.tree[2*k] >= room {
			k = 2 * k
		} else {
			k = 2*k + 1
		}
	}
	return k - r.n
}

// binPack appends the calls of types that are all pairwise compatible:
// those of cut or of firstFit, whichever are fewer. firstFit is not tried
// when cut already takes ceil(pieces/size) calls, which no packing beats,
// and looks for shared items only for at most maxShareTypes types.
func (p *packer) binPack(out []packedCall, types []int) []packedCall {
	calls := p.cut(nil, types)
	pieces := 0
	for _, t := range types {
		pieces += len(p.filesOf(t))
	}
	if len(calls) > (pieces+p.size-1)/p.size {
		calls = fewer(calls, p.firstFit(types, len(types) <= maxShareTypes))
	}
	return append(out, calls...)
}

// openCall is a call being filled: its pieces, the types they are of, the
// lengths of their needs added up (at least the length of their union),
// and, once counted (exact), the union of their needs (items) and its
// length in characters.
type openCall struct {
	files  []int
	types  []int
	sum    int
	exact  bool
	items  map[string]struct{}
	length int
}

// fitsIn reports whether the needs of type t may join those of c without
// taking its items past the limit. The union is counted only when the
// lengths added up pass the limit.
func (p *packer) fitsIn(c *openCall, t int) bool {
	if c.sum+p.length[t] <= p.limit || slices.Contains(c.types, t) {
		return true
	}
	n := p.unionLength(c)
	for _, it := range p.need(t) {
		if _, ok := c.items[it]; !ok {
			n += tagLength(it)
		}
	}
	return n <= p.limit
}

// unionLength returns the length of the union of c's needs, counting the
// union the first time and keeping it counted as types join.
func (p *packer) unionLength(c *openCall) int {
	if !c.exact {
		if c.items == nil {
			c.items = map[string]struct{}{}
		}
		for _, t := range c.types {
			p.count(c, t)
		}
		c.exact = true
	}
	return c.length
}

// count adds the needs of type t to the counted union of c.
func (p *packer) count(c *openCall, t int) {
	for _, it := range p.need(t) {
		if _, ok := c.items[it]; !ok {
			c.items[it] = struct{}{}
			c.length += tagLength(it)
		}
	}
}

// join adds the needs of type t to c, if they are not there yet.
func (p *packer) join(c *openCall, t int) {
	if slices.Contains(c.types, t) {
		return
	}
	c.types = append(c.types, t)
	c.sum += p.length[t]
	if c.exact {
		p.count(c, t)
	}
	if c.files == nil {
		c.files = make([]int, 0, p.size)
	}
}

// close appends c to out, when it holds pieces, and empties it.
func (p *packer) close(out []packedCall, c *openCall) []packedCall {
	if len(c.files) > 0 {
		out = append(out, packedCall{files: c.files, items: p.itemsOf(c.types)})
	}
	c.files, c.types, c.sum, c.exact, c.length = nil, c.types[:0], 0, false, 0
	clear(c.items)
	return out
}

// fitTogether reports whether the needs of types add up, as a union, to at
// most the limit.
func (p *packer) fitTogether(types []int) bool {
	sum := 0
	for _, t := range types {
		sum += p.length[t]
	}
	if sum <= p.limit {
		return true
	}
	var c openCall
	for _, t := range types {
		p.join(&c, t)
		if c.sum > p.limit && p.unionLength(&c) > p.limit {
			return false
		}
	}
	return true
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
			if p.canShare(types[i], types[j]) {
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
		var c openCall
		p.join(&c, types[seed])
		c.files = append(c.files, take(seed, left[seed])...)
		clear(cand)
		for _, j := range adj[seed] {
			cand[j] = alive[j]
		}
		for len(c.files) < p.size {
			pick := -1
			for j := range m {
				if !cand[j] || !alive[j] {
					continue
				}
				if !p.fitsIn(&c, types[j]) {
					cand[j] = false // the call's items only grow
					continue
				}
				if pick < 0 || fillFirst(j, pick) {
					pick = j
				}
			}
			if pick < 0 {
				break
			}
			c.files = append(c.files, take(pick, min(p.size-len(c.files), left[pick]))...)
			p.join(&c, types[pick])
			keep := make([]bool, m)
			for _, j := range adj[pick] {
				keep[j] = cand[j]
			}
			cand = keep
		}
		out = p.close(out, &c)
	}
}

// canShare reports whether pieces of types a and b may share a call: they
// are compatible and their needs fit in the limit together.
func (p *packer) canShare(a, b int) bool {
	if !p.compatible(a, b) {
		return false
	}
	if a == b || p.length[a]+p.length[b] <= p.limit {
		return true
	}
	return tagsLength(sorted.Union(p.need(a), p.need(b))) <= p.limit
}

// exact searches calls for types (at most maxExactTypes of them) fewer than
// have, and returns the fewest it finds, or nil. A packing is a number of
// calls x[K] for each maximal set K of types whose pieces may share a call
// (pairwise compatible, and their needs within the limit together: a
// clique, when the limit leaves them all together), since the types of
// any call are within such a set; the pieces fit in those calls exactly
// when, for every set W of types, the calls of the sets that meet W have
// room for W's pieces (Hall's condition). The search tries have-1 calls, then fewer, down to the
// largest ceil(files(W)/size), which no packing beats, and gives up after
// maxExactWork conditions checked (or once the searches of one pack
// checked maxExactTotal), keeping the best found.
func (p *packer) exact(types []int, have int) []packedCall {
	n := len(types)
	counts := make([]int, n)
	for i, t := range types {
		counts[i] = len(p.filesOf(t))
	}
	cliques := p.maximalShared(types)
	if len(cliques) == 0 || len(cliques) > maxExactCliques {
		return nil
	}
	// Only connected sets of types need a condition, two types being
	// adjacent when they may share a call: the sets that meet a set of
	// types are those that meet its connected parts, whose conditions add
	// up to at least its own. Of the sets that meet the same cliques, the
	// one with the most pieces decides.
	adj := make([]uint, n)
	for a := range n {
		for b := range n {
			if a != b && p.canShare(types[a], types[b]) {
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

// maximalShared returns the maximal sets of types (at most maxExactTypes
// of them, numbered by their index in types) whose pieces may share a
// call, as bit sets: pairwise compatible, with needs that add up, as a
// union, to at most the limit. Every subset of such a set is one too.
func (p *packer) maximalShared(types []int) []uint {
	n := len(types)
	ok := make([]bool, 1<<n)
	ok[0] = true
	for s := uint(1); s < 1<<n; s++ {
		top := bits.Len(s) - 1
		rest := s &^ (1 << top)
		if !ok[rest] {
			continue
		}
		shares := true
		for r := rest; r != 0 && shares; r &= r - 1 {
			shares = p.compatible(types[top], types[bits.TrailingZeros(r)])
		}
		if !shares {
			continue
		}
		members := make([]int, 0, n)
		for r := s; r != 0; r &= r - 1 {
			members = append(members, types[bits.TrailingZeros(r)])
		}
		ok[s] = p.fitTogether(members)
	}
	var out []uint
	for s := uint(1); s < 1<<n; s++ {
		if !ok[s] {
			continue
		}
		maximal := true
		for v := range n {
			if s&(1<<v) == 0 && ok[s|1<<v] {
				maximal = false
				break
			}
		}
		if maximal {
			out = append(out, s)
		}
	}
	return out
}
