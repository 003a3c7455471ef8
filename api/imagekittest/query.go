package imagekittest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Limits on a searchQuery. Beyond any of them ParseQuery returns a
// *QueryError instead of doing unbounded work.
const (
	// MaxQueryBytes is the longest searchQuery accepted. Long `id IN [...]`
	// lists make real queries several kilobytes long, so it is generous.
	MaxQueryBytes = 256 << 10
	// MaxQueryDepth is the deepest nesting of parentheses accepted.
	MaxQueryDepth = 100
	// MaxQueryListItems is the most list items accepted across the whole query.
	MaxQueryListItems = 10000
)

// Query is a parsed searchQuery. It is immutable and safe for concurrent use.
//
// The emulator supports ImageKit's documented searchQuery language:
//
//	id                    =  IN  NOT =  NOT IN
//	name                  =  :  IN  NOT =  NOT IN  HAS   (: is a case-sensitive prefix)
//	path                  =  :  IN  NOT =  NOT IN        (= that folder, : folder and subfolders)
//	tags                  IN  NOT IN  HAS  EXISTS  NOT EXISTS
//	type                  =  IN  NOT =  NOT IN           ("file", "file-version", "folder")
//	createdAt, updatedAt  =  <  <=  >  >=  IN  NOT =  NOT IN
//	width, height, size   =  <  <=  >  >=  IN  NOT =  NOT IN   (size also "10kb", "1mb", "2gb")
//	videoDuration         =  <  <=  >  >=  IN  NOT =  NOT IN   ("30sec", "1.5min", "2hr", or seconds)
//	format                =  IN  NOT =  NOT IN
//	createdBy             =  IN  NOT =  NOT IN
//	private, published, transparency   =  NOT =          (true or false)
//	"customMetadata.KEY", "embeddedMetadata.KEY"
//	                      =  :  IN  NOT =  NOT IN  HAS  <  <=  >  >=  EXISTS  NOT EXISTS
//
// Conditions combine with AND and OR (AND binds tighter) and group with
// parentheses. Keywords (AND, OR, NOT, IN, HAS, EXISTS) must be upper case: a
// lower-case keyword is an error rather than a guess. Field names are
// case-sensitive. Strings are in double quotes with \" and \\ escapes; numbers
// and booleans are bare.
//
// path compares the file's folder; a path value must start with "/" and is
// read as a folder, so "/a" and "/a/" are the same. IN takes a non-empty list
// in [ ]; NOT =, NOT IN and NOT EXISTS match exactly the objects that =, IN
// and EXISTS do not, including objects without the field.
//
// tags IN matches a file's tags and its AITags names, like the real API;
// tags NOT IN matches files that carry none of the values in either;
// tags EXISTS matches files with at least one tag or AITag.
//
// HAS is a case-insensitive word search: the value and the field are cut
// into words at every character that is not a letter or a digit, and a
// field matches when it holds every word of the value, the last one as a
// prefix (name HAS "red dre" matches "Red-Dress.jpg"). On tags (and AITag
// names) and on list values one tag or item must hold every word.
//
// Dates are "2020-01-01" (a whole UTC day), "2020-01-01T12:12:12" (UTC, to the
// second), RFC 3339 with a zone, or relative: "1h", "2d", "3w", "4m" (months),
// "1y", meaning that long before now. A date value covers an interval: a day
// for a date alone, a second for a time without fractions, a single instant for
// a relative date or a time with fractions. `=` matches inside the interval
// (for a relative date: the UTC day that holds it, so createdAt = "1d" is
// "created yesterday"), `<` before it, `<=` before its end, `>` after its end,
// `>=` from its start. So createdAt > "7d" is "created in the last 7 days" and
// createdAt > "2020-01-01" starts on 2020-01-02.
//
// Sizes use binary units: 1kb is 1024 bytes. videoDuration compares the
// file's duration member in seconds; a file without one (not a video)
// matches no =, <, >, IN condition on it. format is the extension of the file
// name in lower case ("jpeg" counts as "jpg"), or the MIME subtype when the
// name has none. createdBy compares the file object's createdBy member (a
// string, or an object's email): the API's file object does not carry the
// uploader, so only a library that records it can match.
//
// "customMetadata.KEY" and "embeddedMetadata.KEY" (field names in quotes)
// compare that key of the object's customMetadata or embeddedMetadata: strings
// with = : IN HAS, numbers (exactly, however large) and booleans with =,
// numbers and dates with < <= > >=; a list value matches when one of its items
// does. EXISTS matches a key that is present and not null. Geographic
// searches (such as on embeddedMetadata.LocationTaken) and anything else not
// listed is an error naming the unsupported part.
type Query struct {
	root  *node
	src   string
	hints Hints
	// rawFields says that matching reads members beyond File's fields.
	rawFields bool
	// typed says that the query names the type field.
	typed bool
	// kinds are the kinds of object it can match.
	kinds kinds
}

// Hints is what every file matching a Query must satisfy, for index lookups.
// A field left at its zero value with its By flag false says nothing.
type Hints struct {
	IDs      []string // when ByID: every match has one of these ids (empty: nothing matches)
	ByID     bool
	Tags     []string // when ByTag: every match carries one of these in tags or AITags names
	ByTag    bool
	Folder   string // when ByFolder: every match is in this folder ("/a/b/"), or under it when Subtree
	Subtree  bool
	ByFolder bool
}

// QueryError is a searchQuery the emulator cannot parse or does not support.
type QueryError struct {
	Pos int    // byte offset into the query
	Msg string // names the unsupported or malformed part
}

// Error returns the message with the offset it concerns.
func (e *QueryError) Error() string {
	return fmt.Sprintf("searchQuery at offset %d: %s", e.Pos, e.Msg)
}

// String returns the query text the Query was parsed from.
func (q *Query) String() string { return q.src }

// ParseQuery parses an ImageKit searchQuery (see Query for the supported
// language). now anchors relative dates ("7d"). A malformed query, or one
// that uses an unsupported field or operator, or exceeds MaxQueryBytes,
// MaxQueryDepth or MaxQueryListItems, returns a *QueryError whose message
// names the offending part.
func ParseQuery(s string, now time.Time) (*Query, error) {
	if len(s) > MaxQueryBytes {
		return nil, &QueryError{Pos: MaxQueryBytes, Msg: fmt.Sprintf("query is %d bytes long, longer than the %d accepted", len(s), MaxQueryBytes)}
	}
	p := &parser{lexer: lexer{src: s}, now: now}
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok.kind == tEOF {
		return nil, &QueryError{Pos: 0, Msg: "empty query"}
	}
	root, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		if p.tok.kind == tRParen {
			return nil, p.errf("unmatched )")
		}
		return nil, p.errf("unexpected %s after a complete condition; expected AND, OR or the end of the query", p.tok.describe())
	}
	return &Query{root: root, src: s, hints: root.hints(), rawFields: p.rawFields, typed: p.typed, kinds: root.matchable()}, nil
}

// Match reports whether f matches the query.
func (q *Query) Match(f *File) bool {
	e := entryOfFile(f)
	if q.rawFields {
		raw, err := json.Marshal(f)
		if err == nil {
			e.raw = raw
		}
	}
	return q.root.match(e)
}

// entryOfFile returns the entry a query sees for f.
func entryOfFile(f *File) *entry {
	e := &entry{
		id:       f.FileID,
		path:     f.FilePath,
		name:     f.Name,
		kind:     &fileKind{typ: f.Type, mime: f.Mime, fileType: f.FileType},
		created:  f.CreatedAt.Unix(),
		createdN: int32(f.CreatedAt.Nanosecond()),
		updated:  f.UpdatedAt.Unix(),
		updatedN: int32(f.UpdatedAt.Nanosecond()),
		size:     float64(f.Size),
		width:    float64(f.Width),
		height:   float64(f.Height),
		duration: f.Duration,
	}
	e.tags = append(e.tags, f.Tags...)
	e.ntags = uint32(len(f.Tags))
	for _, a := range f.AITags {
		e.tags = append(e.tags, a.Name)
	}
	for _, b := range []struct {
		on   bool
		flag uint16
	}{{f.IsPrivateFile, flagPrivate}, {f.IsPublished, flagPublished}, {f.HasAlpha, flagAlpha}, {f.Duration != 0, flagDuration}} {
		if b.on {
			e.flags |= b.flag
		}
	}
	return e
}

// Hints returns what every matching file must satisfy, derived from the
// conditions that every match must meet. The result is a fresh copy the
// caller may keep or change.
func (q *Query) Hints() Hints {
	h := q.hints
	h.IDs = slices.Clone(h.IDs)
	h.Tags = slices.Clone(h.Tags)
	if h.ByID && h.IDs == nil {
		h.IDs = []string{}
	}
	return h
}

// node is a parsed query: an AND or OR of children, or a single condition.
type node struct {
	op   nodeOp
	kids []*node
	pred func(*entry) bool // for opCond
	hint Hints             // for opCond: what every file the condition matches satisfies
	// types are the kinds of object (kindFile, ...) the condition can
	// match; a condition that is not on type can match every kind.
	types kinds
}

// kinds is a set of kinds of object a listing holds.
type kinds uint8

const (
	kindFile kinds = 1 << iota
	kindVersion
	kindFolder
	allKinds = kindFile | kindVersion | kindFolder
)

// kindOf returns the kind of an object type.
func kindOf(typ string) kinds {
	switch typ {
	case "file-version":
		return kindVersion
	case "folder":
		return kindFolder
	default:
		return kindFile
	}
}

// matchable returns the kinds of object the query can match.
func (n *node) matchable() kinds {
	switch n.op {
	case opAnd:
		k := allKinds
		for _, kid := range n.kids {
			k &= kid.matchable()
		}
		return k
	case opOr:
		var k kinds
		for _, kid := range n.kids {
			k |= kid.matchable()
		}
		return k
	default:
		return n.types
	}
}

type nodeOp int

const (
	opCond nodeOp = iota
	opAnd
	opOr
)

func (n *node) match(e *entry) bool {
	switch n.op {
	case opAnd:
		for _, k := range n.kids {
			if !k.match(e) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range n.kids {
			if k.match(e) {
				return true
			}
		}
		return false
	default:
		return n.pred(e)
	}
}

func (n *node) hints() Hints {
	switch n.op {
	case opAnd:
		h := n.kids[0].hints()
		for _, k := range n.kids[1:] {
			h = andHints(h, k.hints())
		}
		return h
	case opOr:
		all := make([]Hints, len(n.kids))
		for i, k := range n.kids {
			all[i] = k.hints()
		}
		return orHints(all)
	default:
		return n.hint
	}
}

// andHints combines the hints of two conditions that must both hold: ids
// intersect, and of two tag or folder constraints the narrower is kept.
func andHints(a, b Hints) Hints {
	var h Hints
	switch {
	case a.ByID && b.ByID:
		in := make(map[string]bool, len(b.IDs))
		for _, id := range b.IDs {
			in[id] = true
		}
		h.ByID = true
		h.IDs = []string{}
		for _, id := range a.IDs {
			if in[id] {
				h.IDs = append(h.IDs, id)
			}
		}
	case a.ByID:
		h.ByID, h.IDs = true, a.IDs
	case b.ByID:
		h.ByID, h.IDs = true, b.IDs
	}
	switch {
	case a.ByTag && b.ByTag:
		h.ByTag = true
		h.Tags = a.Tags
		if len(b.Tags) < len(a.Tags) {
			h.Tags = b.Tags
		}
	case a.ByTag:
		h.ByTag, h.Tags = true, a.Tags
	case b.ByTag:
		h.ByTag, h.Tags = true, b.Tags
	}
	switch {
	case a.ByFolder && b.ByFolder:
		h.ByFolder = true
		h.Folder, h.Subtree = a.Folder, a.Subtree
		if narrowerFolder(b, a) {
			h.Folder, h.Subtree = b.Folder, b.Subtree
		}
	case a.ByFolder:
		h.ByFolder, h.Folder, h.Subtree = true, a.Folder, a.Subtree
	case b.ByFolder:
		h.ByFolder, h.Folder, h.Subtree = true, b.Folder, b.Subtree
	}
	return h
}

// narrowerFolder reports whether a's folder constraint selects fewer folders
// than b's, as far as can be told cheaply: a single folder beats a subtree,
// and a deeper subtree beats a shallower one.
func narrowerFolder(a, b Hints) bool {
	if a.Subtree != b.Subtree {
		return !a.Subtree
	}
	return len(a.Folder) > len(b.Folder)
}

// orHints combines the hints of alternatives: a constraint survives only
// when every alternative has one of the same kind, and then it widens to
// cover them all.
func orHints(all []Hints) Hints {
	h := all[0]
	var ids, tags [][]string
	for _, a := range all {
		h.ByID = h.ByID && a.ByID
		h.ByTag = h.ByTag && a.ByTag
		ids = append(ids, a.IDs)
		tags = append(tags, a.Tags)
	}
	h.IDs, h.Tags = nil, nil
	if h.ByID {
		h.IDs = union(ids...)
	}
	if h.ByTag {
		h.Tags = union(tags...)
	}
	for _, b := range all[1:] {
		if !h.ByFolder {
			break
		}
		h.ByFolder = b.ByFolder
		switch {
		case !b.ByFolder:
		case h.Folder == b.Folder:
			h.Subtree = h.Subtree || b.Subtree
		case h.Subtree && strings.HasPrefix(b.Folder, h.Folder):
		case b.Subtree && strings.HasPrefix(h.Folder, b.Folder):
			h.Folder, h.Subtree = b.Folder, true
		default:
			h.Folder, h.Subtree = commonFolder(h.Folder, b.Folder), true
			h.ByFolder = h.Folder != "/"
		}
	}
	if !h.ByFolder {
		h.Folder, h.Subtree = "", false
	}
	return h
}

// union returns the values of the lists in order, each once.
func union(lists ...[]string) []string {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	seen := make(map[string]bool, n)
	out := make([]string, 0, n)
	for _, l := range lists {
		for _, s := range l {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// commonFolder returns the deepest folder that holds both folders a and b,
// each of which ends with "/".
func commonFolder(a, b string) string {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	i := strings.LastIndexByte(a[:n], '/')
	if i < 0 {
		return "/"
	}
	return a[:i+1]
}
