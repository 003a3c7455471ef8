package reconcile

import (
	"slices"
	"sort"
	"strings"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/manifest"
)

// mergeWindow is how many open calls a leftover call is tried against when
// calls of different forbidden sets are merged.
const mergeWindow = 64

// makeBatches groups the removals of changes into removeTags calls of at most
// size files (1..50; anything else means 50).
//
// Every call (F, T) keeps the safety invariant: every tag in T is forbidden
// for every file in F, where forbidden is judged from the plan's own rules
// and changes (ruleSet.recorded: the rules known to select each file, as the
// plan records it, which is the state MakePlan read). The algorithm:
//
//  1. Group the files by their exact removal set and cut each group into
//     calls of size files. Those calls remove exactly remove(f).
//  2. The leftover (partial) call of each group is split back into files,
//     which are pooled by signature (manifest.Selection.Signature: equal
//     signatures mean equal forbidden sets, so the union of their removal
//     sets is forbidden for all of them). Each pool is
//     cut into calls of size files carrying the union of their tags.
//  3. The last partial call of each pool is merged, first-fit decreasing over
//     at most mergeWindow open calls, into another call when both fit in size
//     files and the union of their tags is forbidden for every file of both
//     (checked against forbidden(f), not remove(f)).
//
// Bound: no step adds a call, so there are at most sum over removal sets S of
// ceil(|S|/size) calls, and exactly ceil(M/size) calls when all M files share
// one forbidden set (one pool, and steps 1 and 2 only leave its last call
// partial). Time is O(N log N) for sorting plus O(P * mergeWindow * size * T)
// for step 3 with P pools and T tags per call. The output is deterministic for
// a given input order: files keep their order in changes, tags are sorted.
func makeBatches(changes []Change, rs *ruleSet, size int) []Batch {
	if size <= 0 || size > api.MaxRemoveTagsFiles {
		size = api.MaxRemoveTagsFiles
	}

	// Step 1: group by exact removal set.
	groups := map[string][]int{}
	var keys []string
	for i := range changes {
		k := strings.Join(changes[i].RemoveTags, "\x00")
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	sort.Strings(keys)

	var out []Batch
	pools := map[string][]int{}
	var poolKeys []string
	sels := map[int]*manifest.Selection{} // selecting rules of leftover files
	for _, k := range keys {
		idx := groups[k]
		full := len(idx) / size * size
		for lo := 0; lo < full; lo += size {
			out = append(out, batchOf(changes, idx[lo:lo+size]))
		}
		for _, i := range idx[full:] {
			sel := rs.recorded(&changes[i])
			sels[i] = sel
			sig := sel.Signature()
			if _, ok := pools[sig]; !ok {
				poolKeys = append(poolKeys, sig)
			}
			pools[sig] = append(pools[sig], i)
		}
	}

	// Step 2: pool leftovers by signature.
	type call struct {
		files []int
		tags  []string
	}
	var partials []call
	for _, sig := range poolKeys {
		idx := pools[sig]
		for lo := 0; lo < len(idx); lo += size {
			hi := min(lo+size, len(idx))
			b := batchOf(changes, idx[lo:hi])
			if hi-lo == size {
				out = append(out, b)
				continue
			}
			partials = append(partials, call{files: idx[lo:hi], tags: b.Tags})
		}
	}

	// Step 3: merge partial calls across signatures where it stays safe.
	sort.SliceStable(partials, func(a, b int) bool { return len(partials[a].files) > len(partials[b].files) })
	okFor := func(files []int, have, union []string) bool {
		for _, t := range union {
			if _, found := slices.BinarySearch(have, t); found {
				continue
			}
			for _, i := range files {
				if !sels[i].Forbids(t) {
					return false
				}
			}
		}
		return true
	}
	var bins []call
	for _, p := range partials {
		merged := false
		tried := 0
		for j := range bins {
			if len(bins[j].files)+len(p.files) > size {
				continue
			}
			if tried++; tried > mergeWindow {
				break
			}
			union := unionSorted(bins[j].tags, p.tags)
			if okFor(bins[j].files, bins[j].tags, union) && okFor(p.files, p.tags, union) {
				bins[j].files = append(slices.Clip(bins[j].files), p.files...)
				bins[j].tags = union
				merged = true
				break
			}
		}
		if !merged {
			bins = append(bins, p)
		}
	}
	for _, b := range bins {
		ids := make([]string, len(b.files))
		for k, i := range b.files {
			ids[k] = changes[i].FileID
		}
		out = append(out, Batch{Endpoint: EndpointRemoveTags, FileIDs: ids, Tags: b.tags})
	}
	return out
}

// batchOf returns the call for the changes at idx: their ids, in order, and
// the sorted union of their removal sets.
func batchOf(changes []Change, idx []int) Batch {
	ids := make([]string, len(idx))
	var tags []string
	for k, i := range idx {
		ids[k] = changes[i].FileID
		tags = append(tags, changes[i].RemoveTags...)
	}
	slices.Sort(tags)
	return Batch{Endpoint: EndpointRemoveTags, FileIDs: ids, Tags: slices.Compact(tags)}
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
