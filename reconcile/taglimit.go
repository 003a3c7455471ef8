package reconcile

import (
	"cmp"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/tagprune/tagprune/internal/english"
	"github.com/tagprune/tagprune/manifest"
)

// MaxTagsLength is the most characters the tags of one call may add up to.
// ImageKit refuses an addTags or removeTags call whose tags add up to more
// with 400 ("Combined length of all tags should be less than or equal to
// 500", in its OpenAPI description of both endpoints), changing nothing.
// No source gives a limit for removeAITags; tagprune holds its AITag names
// to the same one. Characters are counted as tagsLength counts them.
//
// Batching keeps every call within it (see pack); a tag (or AITag) that is
// longer on its own cannot be sent in any call: the plan keeps it in the
// change, sends it in no call, and Apply reports the file failed.
const MaxTagsLength = manifest.MaxTagsLength

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

// sendable returns items without those longer than MaxTagsLength on their
// own, which no call can carry; items itself when there are none.
func sendable(items []string) []string {
	if !slices.ContainsFunc(items, tooLong) {
		return items
	}
	return slices.DeleteFunc(slices.Clone(items), tooLong)
}

// tooLong reports whether a tag is longer than MaxTagsLength on its own.
func tooLong(tag string) bool { return len(tag) > MaxTagsLength && tagLength(tag) > MaxTagsLength }

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

// shortTag returns a tag for a message: as it is when short, else its
// first characters and how long it is.
func shortTag(tag string) string {
	const keep = 40
	if tagLength(tag) <= keep {
		return fmt.Sprintf("%q", tag)
	}
	return fmt.Sprintf("%q…", string([]rune(tag)[:keep]))
}

// Unsendable is a tag (or AITag) of a plan's change that no call can
// carry: it is longer than MaxTagsLength on its own.
type Unsendable struct {
	FileID   string `json:"fileId"`
	FilePath string `json:"filePath"`
	// Endpoint is the call it would need: EndpointRemoveTags,
	// EndpointAddTags (the new tag of a rename) or EndpointRemoveAITags.
	Endpoint string `json:"endpoint"`
	Tag      string `json:"tag"`
	Length   int    `json:"length"` // in characters, as MaxTagsLength counts them
}

// Error says why the file cannot be changed as planned, for a report.
func (u Unsendable) Error() string {
	what, how := "tag", "removed through removeTags; edit the file's tags in ImageKit instead"
	switch u.Endpoint {
	case EndpointAddTags:
		what, how = "the new tag", "added through addTags, so its rename cannot be carried out"
	case EndpointRemoveAITags:
		what, how = "AITag", "removed through removeAITags"
	}
	return fmt.Sprintf("%s %s is %d characters long, more than the %d that ImageKit accepts in one call: it cannot be %s",
		what, shortTag(u.Tag), u.Length, MaxTagsLength, how)
}

// UnsendableTags returns the tags and AITags of the plan's changes that no
// call can carry, in the order of the changes, then of the endpoints
// (addTags, removeTags, removeAITags). A plan holds them in its changes
// and in no batch; Apply reports their files failed.
func (p *Plan) UnsendableTags() []Unsendable {
	var out []Unsendable
	for _, c := range p.Changes {
		out = appendUnsendable(out, &c)
	}
	return out
}

// appendUnsendable appends the unsendable tags of one change.
func appendUnsendable(out []Unsendable, c *Change) []Unsendable {
	for _, step := range []struct {
		endpoint string
		tags     []string
	}{{EndpointAddTags, c.AddTags}, {EndpointRemoveTags, c.RemoveTags}, {EndpointRemoveAITags, c.RemoveAITags}} {
		for _, t := range step.tags {
			if tooLong(t) {
				out = append(out, Unsendable{FileID: c.FileID, FilePath: c.FilePath, Endpoint: step.endpoint, Tag: t, Length: tagLength(t)})
			}
		}
	}
	return out
}

// maxListedUnsendable is how many unsendable tags a rendered plan lists.
const maxListedUnsendable = 10

// unsendableNote returns, for a rendered plan, a line saying that some tags
// cannot be sent and what apply will do, and a line for each of the first
// maxListedUnsendable of them (quote writes a path or a tag for the
// output), or "" and nil when there are none.
func unsendableNote(p *Plan, quote func(string) string) (string, []string) {
	us := p.UnsendableTags()
	if len(us) == 0 {
		return "", nil
	}
	head := fmt.Sprintf("Cannot be sent: %s longer than the %d characters ImageKit accepts in one call; apply will report %s failed:",
		english.Plural(len(us), "tag is", "tags are"), MaxTagsLength, map[bool]string{true: "its file", false: "their files"}[len(us) == 1])
	var lines []string
	for i, u := range us {
		if i == maxListedUnsendable {
			lines = append(lines, fmt.Sprintf("and %d more", len(us)-i))
			break
		}
		what := map[string]string{EndpointRemoveTags: "tag", EndpointAddTags: "new tag", EndpointRemoveAITags: "AITag"}[u.Endpoint]
		tag := u.Tag
		if tagLength(tag) > 40 {
			tag = string([]rune(tag)[:40]) + "…"
		}
		line := fmt.Sprintf("%s: %s %s (%d characters)", quote(u.FilePath), what, quote(tag), u.Length)
		if u.Endpoint == EndpointAddTags {
			line += ", so its rename is not carried out"
		}
		lines = append(lines, line)
	}
	return head, lines
}
