package reconcile

import "slices"

// planBatches returns every call of a plan, in the order Apply sends them:
// the addTags calls of the renames, then the removeTags calls (makeBatches),
// then the removeAITags calls, each batched by batchCalls: at most size
// files per call, and items that add up to at most MaxTagsLength
// characters. Apply waits for every addTags call to be answered before it
// starts a removal, so that a rename's old tag is removed only from files
// that got the new one.
//
// Only removeTags calls merge files whose removals differ. addTags and
// removeAITags calls send each file only its own items (batchCalls with no
// may): files share such a call only when they gain, or lose, the same
// tags. An addTags call so adds only the tags the file's change adds (the
// new tag of a rename of a selecting rule whose old tag the file carries,
// and which the file lacks): the twin of the safety invariant, as
// CheckConsistency and Apply check it, without relying on a second add of
// a tag being harmless. A removeAITags call so removes from a file only
// AITags it carries and its change removes, as Apply checks: ImageKit has
// no call that adds an AITag back, and that removing an AITag a file lacks
// is harmless is unconfirmed (docs/IMAGEKIT-ASSUMPTIONS.md, T7).
func planBatches(changes []Change, rs *ruleSet, size int) []Batch {
	return slices.Concat(
		batchCalls(changes, nil, size, EndpointAddTags, addTagsOf, nil),
		makeBatches(changes, rs, size),
		batchCalls(changes, nil, size, EndpointRemoveAITags, removeAITagsOf, nil))
}

// addTagsOf, removeTagsOf and removeAITagsOf return what a change needs of
// each endpoint.
func addTagsOf(c *Change) []string      { return c.AddTags }
func removeTagsOf(c *Change) []string   { return c.RemoveTags }
func removeAITagsOf(c *Change) []string { return c.RemoveAITags }

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
