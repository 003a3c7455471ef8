package reconcile

import (
	"slices"
	"strings"

	"github.com/tagprune/tagprune/api"
)

// planBatches returns every call of a plan, in the order Apply sends them:
// the addTags calls of the renames, then the removeTags calls (makeBatches),
// then the removeAITags calls. Apply waits for every addTags call to be
// answered before it starts a removal, so that a rename's old tag is
// removed only from files that got the new one.
//
// addTags and removeAITags calls group files by their identical set of
// tags (AddTags, RemoveAITags) and cut each group into calls of at most
// size files: every tag of such a call is one the plan adds to, or removes
// from, every file of it, so the safety invariant and its twin (no tag is
// added that no rename of a selecting rule names for the file) hold by
// construction.
func planBatches(changes []Change, rs *ruleSet, size int) []Batch {
	out := groupBatches(changes, EndpointAddTags, func(c *Change) []string { return c.AddTags }, size)
	removing := changes
	if slices.ContainsFunc(changes, func(c Change) bool { return len(c.RemoveTags) == 0 }) {
		removing = slices.DeleteFunc(slices.Clone(changes), func(c Change) bool { return len(c.RemoveTags) == 0 })
	}
	out = append(out, makeBatches(removing, rs, size)...)
	return append(out, groupBatches(changes, EndpointRemoveAITags, func(c *Change) []string { return c.RemoveAITags }, size)...)
}

// groupBatches groups the changes whose set (as set returns it, sorted) is
// not empty by that set and cuts each group into calls of at most size
// files (1..50; anything else means 50) to endpoint. Groups come in the
// order of their sets; files keep their order in changes.
func groupBatches(changes []Change, endpoint string, set func(*Change) []string, size int) []Batch {
	if size <= 0 || size > api.MaxBulkFiles {
		size = api.MaxBulkFiles
	}
	groups := map[string][]int{}
	var keys []string
	for i := range changes {
		tags := set(&changes[i])
		if len(tags) == 0 {
			continue
		}
		k := strings.Join(tags, "\x00")
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	slices.Sort(keys)
	var out []Batch
	for _, k := range keys {
		idx := groups[k]
		tags := set(&changes[idx[0]])
		for lo := 0; lo < len(idx); lo += size {
			hi := min(lo+size, len(idx))
			ids := make([]string, 0, hi-lo)
			for _, i := range idx[lo:hi] {
				ids = append(ids, changes[i].FileID)
			}
			out = append(out, Batch{Endpoint: endpoint, FileIDs: ids, Tags: slices.Clone(tags)})
		}
	}
	return out
}

// countCalls counts calls by endpoint; an empty endpoint is removeTags.
func countCalls(batches []Batch) (add, remove, removeAI int) {
	for _, b := range batches {
		switch endpointOf(b) {
		case EndpointAddTags:
			add++
		case EndpointRemoveAITags:
			removeAI++
		default:
			remove++
		}
	}
	return add, remove, removeAI
}

// endpointOf returns the endpoint of a batch; an empty endpoint is
// removeTags.
func endpointOf(b Batch) string {
	if b.Endpoint == "" {
		return EndpointRemoveTags
	}
	return b.Endpoint
}
