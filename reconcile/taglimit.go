package reconcile

import (
	"cmp"
	"slices"
	"unicode/utf8"
)

// MaxTagsLength is the most characters the tags of one call may add up to.
// ImageKit refuses an addTags or removeTags call whose tags add up to more
// with 400 ("Combined length of all tags should be less than or equal to
// 500", in its OpenAPI description of both endpoints), changing nothing.
// No source gives a limit for removeAITags; tagprune holds its AITag names
// to the same one. Characters are counted as tagsLength counts them.
// Batching keeps every call within it (see pack).
const MaxTagsLength = 500

// tagsLength returns the combined length of tags as MaxTagsLength counts
// it: the Unicode code points of every tag, added up, with nothing for
// separators. The emulator (api/imagekittest) counts them the same way.
// Whether ImageKit counts code points, UTF-16 units or bytes, and whether
// it counts separators, is not documented (docs/IMAGEKIT-ASSUMPTIONS.md,
// T5); for ASCII tags the first three agree.
func tagsLength(tags []string) int {
	n := 0
	for _, t := range tags {
		n += tagLength(t)
	}
	return n
}

// tagLength is the length of one tag as tagsLength counts it.
func tagLength(tag string) int { return utf8.RuneCountInString(tag) }

// fitsIn reports whether tags add up to at most limit characters, without
// counting them when their bytes do.
func fitsIn(tags []string, limit int) bool {
	n := 0
	for _, t := range tags {
		n += len(t)
	}
	return n <= limit || tagsLength(tags) <= limit
}

// splitNeeds cuts items (sorted, without duplicates, each at most limit
// long) into parts whose lengths each add up to at most limit, first fit
// by decreasing length (ties in the items' order): each item goes to the
// first part it fits in. So every two parts together pass the limit (an
// item went to a later part only because it did not fit in the earlier
// one), and items adding up to n characters make fewer than 2n/limit + 1
// parts. Each part is sorted. Items that fit in one part are returned as
// the only part.
func splitNeeds(items []string, limit int) [][]string {
	if fitsIn(items, limit) {
		return [][]string{items}
	}
	order := slices.Clone(items)
	slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(tagLength(b), tagLength(a)) })
	var parts [][]string
	var lengths []int
	for _, it := range order {
		n := tagLength(it)
		k := slices.IndexFunc(lengths, func(l int) bool { return l+n <= limit })
		if k < 0 {
			k = len(parts)
			parts = append(parts, nil)
			lengths = append(lengths, 0)
		}
		parts[k] = append(parts[k], it)
		lengths[k] += n
	}
	for _, part := range parts {
		slices.Sort(part)
	}
	return parts
}
