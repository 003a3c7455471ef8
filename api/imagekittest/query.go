package imagekittest

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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
// The emulator supports this subset of ImageKit's syntax:
//
//	id                    =  IN  NOT =  NOT IN
//	name                  =  :  IN  NOT =  NOT IN       (: is a case-sensitive prefix)
//	path                  =  :  IN  NOT =  NOT IN       (= that folder, : folder and subfolders)
//	tags                  IN  NOT IN  EXISTS  NOT EXISTS
//	type                  =  IN  NOT =  NOT IN          ("file", "file-version", "folder")
//	createdAt, updatedAt  =  <  <=  >  >=  IN  NOT =  NOT IN
//	width, height, size   =  <  <=  >  >=  NOT =        (size also "10kb", "1mb", "2gb")
//	format                =  IN  NOT =  NOT IN
//	private, published, transparency   =  NOT =         (true or false)
//	"customMetadata.KEY"  =  IN  NOT =  NOT IN
//
// Conditions combine with AND and OR (AND binds tighter) and group with
// parentheses. Keywords (AND, OR, NOT, IN, HAS, EXISTS) must be upper case: a
// lower-case keyword is an error rather than a guess. Field names are
// case-sensitive. Strings are in double quotes with \" and \\ escapes; numbers
// and booleans are bare.
//
// path compares the file's folder (File.Folder); a path value must start with
// "/" and is read as a folder, so "/a" and "/a/" are the same. IN takes a
// non-empty list in [ ]; NOT = and NOT IN match exactly the files that = and
// IN do not, including files without the field.
//
// tags IN matches a file's tags and its AITags names, like the real API;
// tags NOT IN matches files that carry none of the values in either;
// tags EXISTS matches files with at least one tag or AITag.
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
// Sizes use binary units: 1kb is 1024 bytes. format is the extension of the
// file name in lower case ("jpeg" counts as "jpg"), or the MIME subtype when
// the name has none. HAS, embeddedMetadata, and anything else not listed is an
// error naming the unsupported part.
type Query struct {
	root  *node
	src   string
	hints Hints
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
// subset). now anchors relative dates ("7d"). A malformed query, or one that
// uses an unsupported field or operator, or exceeds MaxQueryBytes,
// MaxQueryDepth or MaxQueryListItems, returns a *QueryError whose message
// names the offending part.
func ParseQuery(s string, now time.Time) (*Query, error) {
	if len(s) > MaxQueryBytes {
		return nil, &QueryError{Pos: MaxQueryBytes, Msg: fmt.Sprintf("query is %d bytes long, longer than the %d accepted", len(s), MaxQueryBytes)}
	}
	p := &parser{src: s, now: now}
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
	return &Query{root: root, src: s, hints: root.hints()}, nil
}

// Match reports whether f matches the query.
func (q *Query) Match(f *File) bool { return q.root.match(f) }

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
	pred func(*File) bool // for opCond
	hint Hints            // for opCond: what every file the condition matches satisfies
}

type nodeOp int

const (
	opCond nodeOp = iota
	opAnd
	opOr
)

func (n *node) match(f *File) bool {
	switch n.op {
	case opAnd:
		for _, k := range n.kids {
			if !k.match(f) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range n.kids {
			if k.match(f) {
				return true
			}
		}
		return false
	default:
		return n.pred(f)
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

// Tokens.

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tString
	tLParen
	tRParen
	tLBrack
	tRBrack
	tComma
	tOp // = : < <= > >=
)

type token struct {
	kind tokKind
	pos  int
	text string // the word, the unquoted string, or the operator
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tString:
		return fmt.Sprintf("string %s", strconv.Quote(t.text))
	default:
		return strconv.Quote(t.text)
	}
}

type parser struct {
	src   string
	off   int
	now   time.Time
	tok   token
	items int
}

func (p *parser) errf(format string, args ...any) error {
	return &QueryError{Pos: p.tok.pos, Msg: fmt.Sprintf(format, args...)}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == '+'
}

// next reads the next token into p.tok.
func (p *parser) next() error {
	s := p.src
	for p.off < len(s) && (s[p.off] == ' ' || s[p.off] == '\t' || s[p.off] == '\n' || s[p.off] == '\r') {
		p.off++
	}
	start := p.off
	if start >= len(s) {
		p.tok = token{kind: tEOF, pos: start}
		return nil
	}
	c := s[start]
	single := func(k tokKind) error {
		p.off++
		p.tok = token{kind: k, pos: start, text: s[start:p.off]}
		return nil
	}
	switch c {
	case '(':
		return single(tLParen)
	case ')':
		return single(tRParen)
	case '[':
		return single(tLBrack)
	case ']':
		return single(tRBrack)
	case ',':
		return single(tComma)
	case '=', ':':
		return single(tOp)
	case '<', '>':
		p.off++
		if p.off < len(s) && s[p.off] == '=' {
			p.off++
		}
		p.tok = token{kind: tOp, pos: start, text: s[start:p.off]}
		return nil
	case '!':
		return &QueryError{Pos: start, Msg: `operator "!" is not supported; use NOT = or NOT IN`}
	case '"':
		return p.lexString()
	}
	if !isWordByte(c) {
		r, _ := utf8.DecodeRuneInString(s[start:])
		return &QueryError{Pos: start, Msg: fmt.Sprintf("unexpected character %q", r)}
	}
	for p.off < len(s) && isWordByte(s[p.off]) {
		p.off++
	}
	p.tok = token{kind: tWord, pos: start, text: s[start:p.off]}
	return nil
}

func (p *parser) lexString() error {
	s := p.src
	start := p.off
	var b strings.Builder
	i := start + 1
	from := i
	for i < len(s) {
		switch s[i] {
		case '"':
			b.WriteString(s[from:i])
			p.off = i + 1
			p.tok = token{kind: tString, pos: start, text: b.String()}
			return nil
		case '\\':
			if i+1 >= len(s) {
				return &QueryError{Pos: start, Msg: "unterminated string"}
			}
			if e := s[i+1]; e != '"' && e != '\\' {
				r, _ := utf8.DecodeRuneInString(s[i+1:])
				return &QueryError{Pos: i, Msg: fmt.Sprintf(`escape "\%c" is not supported; only \" and \\ are`, r)}
			}
			b.WriteString(s[from:i])
			b.WriteByte(s[i+1])
			i += 2
			from = i
		default:
			i++
		}
	}
	return &QueryError{Pos: start, Msg: "unterminated string"}
}

// keyword reports whether the current token is the upper-case keyword kw, and
// fails when it is the same word in another case.
func (p *parser) keyword(kw string) (bool, error) {
	if p.tok.kind != tWord {
		return false, nil
	}
	if p.tok.text == kw {
		return true, nil
	}
	if strings.EqualFold(p.tok.text, kw) {
		return false, p.errf("keyword %q must be written in upper case: %s", p.tok.text, kw)
	}
	return false, nil
}

var keywords = []string{"AND", "OR", "NOT", "IN", "HAS", "EXISTS"}

func (p *parser) parseOr(depth int) (*node, error) {
	return p.parseChain(depth, "OR", opOr, p.parseAnd)
}

func (p *parser) parseAnd(depth int) (*node, error) {
	return p.parseChain(depth, "AND", opAnd, p.parsePrimary)
}

// parseChain parses operands joined by the keyword kw (AND binds tighter
// than OR because parseOr's operands are parseAnd's chains).
func (p *parser) parseChain(depth int, kw string, op nodeOp, operand func(int) (*node, error)) (*node, error) {
	first, err := operand(depth)
	if err != nil {
		return nil, err
	}
	kids := []*node{first}
	for {
		ok, err := p.keyword(kw)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		k, err := operand(depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &node{op: op, kids: kids}, nil
}

func (p *parser) parsePrimary(depth int) (*node, error) {
	switch p.tok.kind {
	case tLParen:
		if depth >= MaxQueryDepth {
			return nil, p.errf("parentheses nested more than %d deep", MaxQueryDepth)
		}
		open := p.tok.pos
		if err := p.next(); err != nil {
			return nil, err
		}
		n, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			if p.tok.kind == tEOF {
				return nil, &QueryError{Pos: open, Msg: "unclosed ("}
			}
			return nil, p.errf("unexpected %s; expected AND, OR or )", p.tok.describe())
		}
		return n, p.next()
	case tWord, tString:
		return p.parseCond()
	case tEOF:
		return nil, p.errf("query ends where a condition was expected")
	default:
		return nil, p.errf("unexpected %s where a condition was expected", p.tok.describe())
	}
}

// operator is a parsed comparison: one of = : < <= > >= IN HAS EXISTS, with
// not set for NOT =, NOT IN, NOT EXISTS.
type operator struct {
	name string
	not  bool
	pos  int
}

func (o operator) String() string {
	if o.not {
		return "NOT " + o.name
	}
	return o.name
}

func (p *parser) parseCond() (*node, error) {
	ftok := p.tok
	if ftok.kind == tWord {
		for _, kw := range keywords {
			if strings.EqualFold(ftok.text, kw) {
				if kw == "NOT" {
					return nil, p.errf("NOT before a condition is not supported; use NOT =, NOT IN or NOT EXISTS after the field name")
				}
				return nil, p.errf("keyword %q where a field name was expected", ftok.text)
			}
		}
	}
	fd, err := p.lookupField(ftok)
	if err != nil {
		return nil, err
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	op, err := p.parseOperator(ftok.text)
	if err != nil {
		return nil, err
	}
	if !fd.allows(op) {
		return nil, &QueryError{Pos: op.pos, Msg: fmt.Sprintf("operator %s is not supported on field %s (supported: %s)", op, ftok.text, fd.opsList())}
	}
	if op.name == "EXISTS" {
		return fd.build(p, op, nil)
	}
	vals, err := p.parseValues(op)
	if err != nil {
		return nil, err
	}
	return fd.build(p, op, vals)
}

func (p *parser) parseOperator(field string) (operator, error) {
	op := operator{pos: p.tok.pos}
	if ok, err := p.keyword("NOT"); err != nil {
		return op, err
	} else if ok {
		op.not = true
		if err := p.next(); err != nil {
			return op, err
		}
	}
	switch p.tok.kind {
	case tOp:
		op.name = p.tok.text
		if op.not && op.name != "=" {
			return op, p.errf("operator NOT %s is not supported; after NOT use =, IN or EXISTS", op.name)
		}
		return op, p.next()
	case tWord:
		for _, kw := range []string{"IN", "HAS", "EXISTS"} {
			ok, err := p.keyword(kw)
			if err != nil {
				return op, err
			}
			if ok {
				op.name = kw
				if op.not && kw == "HAS" {
					return op, p.errf("operator NOT HAS is not supported")
				}
				return op, p.next()
			}
		}
	}
	if p.tok.kind == tEOF {
		return op, p.errf("query ends after field %s; expected an operator", field)
	}
	return op, p.errf("unexpected %s after field %s; expected an operator", p.tok.describe(), field)
}

// value is one literal of a condition: a quoted string or a bare word.
type value struct {
	text   string
	quoted bool
	pos    int
}

func (p *parser) parseValues(op operator) ([]value, error) {
	if op.name == "IN" {
		if p.tok.kind != tLBrack {
			return nil, p.errf("operator %s needs a list in [ ], not %s", op, p.tok.describe())
		}
		open := p.tok.pos
		if err := p.next(); err != nil {
			return nil, err
		}
		var vals []value
		for {
			if p.tok.kind == tRBrack {
				if len(vals) == 0 {
					return nil, p.errf("empty list after %s", op)
				}
				return vals, p.next()
			}
			if len(vals) > 0 {
				if p.tok.kind != tComma {
					if p.tok.kind == tEOF {
						return nil, &QueryError{Pos: open, Msg: "unclosed ["}
					}
					return nil, p.errf("unexpected %s in a list; expected , or ]", p.tok.describe())
				}
				if err := p.next(); err != nil {
					return nil, err
				}
			}
			v, err := p.parseValue()
			if err != nil {
				return nil, err
			}
			p.items++
			if p.items > MaxQueryListItems {
				return nil, &QueryError{Pos: v.pos, Msg: fmt.Sprintf("more than %d list items in the query", MaxQueryListItems)}
			}
			vals = append(vals, v)
		}
	}
	if p.tok.kind == tLBrack {
		return nil, p.errf("operator %s takes a single value, not a list; use IN", op)
	}
	v, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	return []value{v}, nil
}

func (p *parser) parseValue() (value, error) {
	switch p.tok.kind {
	case tString:
		v := value{text: p.tok.text, quoted: true, pos: p.tok.pos}
		return v, p.next()
	case tWord:
		for _, kw := range keywords {
			if strings.EqualFold(p.tok.text, kw) {
				return value{}, p.errf("keyword %q where a value was expected", p.tok.text)
			}
		}
		v := value{text: p.tok.text, pos: p.tok.pos}
		return v, p.next()
	case tEOF:
		return value{}, p.errf("query ends where a value was expected")
	default:
		return value{}, p.errf("unexpected %s where a value was expected", p.tok.describe())
	}
}

// Fields.

// field describes one searchable field: the operators it accepts and how
// a condition on it is built.
type field struct {
	ops   []string // operator names as operator.String returns them
	build func(p *parser, op operator, vals []value) (*node, error)
}

func (fd *field) allows(op operator) bool {
	for _, o := range fd.ops {
		if o == op.String() {
			return true
		}
	}
	return false
}

func (fd *field) opsList() string { return strings.Join(fd.ops, " ") }

var (
	eqOps   = []string{"=", "IN", "NOT =", "NOT IN"}
	cmpOps  = []string{"=", "<", "<=", ">", ">=", "NOT ="}
	dateOps = []string{"=", "<", "<=", ">", ">=", "IN", "NOT =", "NOT IN"}
	boolOps = []string{"=", "NOT ="}
)

var fields map[string]*field

func init() {
	fields = map[string]*field{
		"id":           {ops: eqOps, build: buildID},
		"name":         {ops: []string{"=", ":", "IN", "NOT =", "NOT IN"}, build: buildName},
		"path":         {ops: []string{"=", ":", "IN", "NOT =", "NOT IN"}, build: buildPath},
		"tags":         {ops: []string{"IN", "NOT IN", "EXISTS", "NOT EXISTS"}, build: buildTags},
		"type":         {ops: eqOps, build: buildType},
		"createdAt":    {ops: dateOps, build: buildDate(func(f *File) time.Time { return f.CreatedAt })},
		"updatedAt":    {ops: dateOps, build: buildDate(func(f *File) time.Time { return f.UpdatedAt })},
		"width":        {ops: cmpOps, build: buildNumber("width", false, func(f *File) float64 { return float64(f.Width) })},
		"height":       {ops: cmpOps, build: buildNumber("height", false, func(f *File) float64 { return float64(f.Height) })},
		"size":         {ops: cmpOps, build: buildNumber("size", true, func(f *File) float64 { return float64(f.Size) })},
		"format":       {ops: eqOps, build: buildFormat},
		"private":      {ops: boolOps, build: buildBool("private", func(f *File) bool { return f.IsPrivateFile })},
		"published":    {ops: boolOps, build: buildBool("published", func(f *File) bool { return f.IsPublished })},
		"transparency": {ops: boolOps, build: buildBool("transparency", func(f *File) bool { return f.HasAlpha })},
	}
}

func (p *parser) lookupField(t token) (*field, error) {
	name := t.text
	if key, ok := strings.CutPrefix(name, "customMetadata."); ok {
		if t.kind != tString {
			return nil, p.errf("field name %s must be in double quotes", name)
		}
		if key == "" {
			return nil, p.errf("field %q names no custom metadata key", name)
		}
		fd := &field{ops: eqOps, build: buildCustom(key)}
		return fd, nil
	}
	if strings.HasPrefix(name, "embeddedMetadata.") {
		return nil, p.errf("field %q is not supported: embeddedMetadata is not searchable in the emulator", name)
	}
	if fd, ok := fields[name]; ok {
		return fd, nil
	}
	for known := range fields {
		if strings.EqualFold(known, name) {
			return nil, p.errf("unknown field %q; field names are case-sensitive: %s", name, known)
		}
	}
	return nil, p.errf("unknown or unsupported field %q", name)
}

func cond(pred func(*File) bool, h Hints) *node {
	return &node{op: opCond, pred: pred, hint: h}
}

// negate wraps pred for NOT = and NOT IN; the hints of a negated condition
// say nothing.
func negate(op operator, pred func(*File) bool) *node {
	if op.not {
		return cond(func(f *File) bool { return !pred(f) }, Hints{})
	}
	return nil
}

func stringsOf(p *parser, field string, vals []value) ([]string, error) {
	out := make([]string, len(vals))
	for i, v := range vals {
		if !v.quoted {
			return nil, &QueryError{Pos: v.pos, Msg: fmt.Sprintf("value %s for field %s must be a string in double quotes", v.text, field)}
		}
		out[i] = v.text
	}
	return out, nil
}

// stringSet returns a membership test for vals: a map for long lists.
func stringSet(vals []string) func(string) bool {
	if len(vals) <= 8 {
		return func(s string) bool {
			for _, v := range vals {
				if v == s {
					return true
				}
			}
			return false
		}
	}
	set := make(map[string]struct{}, len(vals))
	for _, v := range vals {
		set[v] = struct{}{}
	}
	return func(s string) bool { _, ok := set[s]; return ok }
}

func dedupe(vals []string) []string { return union(vals) }

func buildID(p *parser, op operator, vals []value) (*node, error) {
	ids, err := stringsOf(p, "id", vals)
	if err != nil {
		return nil, err
	}
	in := stringSet(ids)
	pred := func(f *File) bool { return in(f.FileID) }
	if n := negate(op, pred); n != nil {
		return n, nil
	}
	return cond(pred, Hints{ByID: true, IDs: dedupe(ids)}), nil
}

func buildName(p *parser, op operator, vals []value) (*node, error) {
	names, err := stringsOf(p, "name", vals)
	if err != nil {
		return nil, err
	}
	if op.name == ":" {
		prefix := names[0]
		return cond(func(f *File) bool { return strings.HasPrefix(f.Name, prefix) }, Hints{}), nil
	}
	in := stringSet(names)
	pred := func(f *File) bool { return in(f.Name) }
	if n := negate(op, pred); n != nil {
		return n, nil
	}
	return cond(pred, Hints{}), nil
}

// normFolder returns the folder path v names, ending with "/".
func normFolder(v value) (string, error) {
	if !strings.HasPrefix(v.text, "/") {
		return "", &QueryError{Pos: v.pos, Msg: fmt.Sprintf("path %q must start with /", v.text)}
	}
	if strings.Contains(v.text, "//") {
		return "", &QueryError{Pos: v.pos, Msg: fmt.Sprintf("path %q has an empty folder name (//)", v.text)}
	}
	if !strings.HasSuffix(v.text, "/") {
		return v.text + "/", nil
	}
	return v.text, nil
}

func buildPath(p *parser, op operator, vals []value) (*node, error) {
	if _, err := stringsOf(p, "path", vals); err != nil {
		return nil, err
	}
	folders := make([]string, len(vals))
	for i, v := range vals {
		d, err := normFolder(v)
		if err != nil {
			return nil, err
		}
		folders[i] = d
	}
	if op.name == ":" {
		root := folders[0]
		return cond(func(f *File) bool { return strings.HasPrefix(f.Folder(), root) },
			Hints{ByFolder: true, Folder: root, Subtree: true}), nil
	}
	in := stringSet(folders)
	pred := func(f *File) bool { return in(f.Folder()) }
	if n := negate(op, pred); n != nil {
		return n, nil
	}
	folders = dedupe(folders)
	if len(folders) == 1 {
		return cond(pred, Hints{ByFolder: true, Folder: folders[0]}), nil
	}
	alts := make([]Hints, len(folders))
	for i, d := range folders {
		alts[i] = Hints{ByFolder: true, Folder: d}
	}
	return cond(pred, orHints(alts)), nil
}

// hasAnyTag reports whether f carries one of the tags in tags or AITags names.
func hasAnyTag(f *File, in func(string) bool) bool {
	for _, t := range f.Tags {
		if in(t) {
			return true
		}
	}
	for _, t := range f.AITags {
		if in(t.Name) {
			return true
		}
	}
	return false
}

func buildTags(p *parser, op operator, vals []value) (*node, error) {
	if op.name == "EXISTS" {
		pred := func(f *File) bool { return len(f.Tags) > 0 || len(f.AITags) > 0 }
		if n := negate(op, pred); n != nil {
			return n, nil
		}
		return cond(pred, Hints{}), nil
	}
	tags, err := stringsOf(p, "tags", vals)
	if err != nil {
		return nil, err
	}
	in := stringSet(tags)
	pred := func(f *File) bool { return hasAnyTag(f, in) }
	if n := negate(op, pred); n != nil {
		return n, nil
	}
	return cond(pred, Hints{ByTag: true, Tags: dedupe(tags)}), nil
}

func buildType(p *parser, op operator, vals []value) (*node, error) {
	types, err := stringsOf(p, "type", vals)
	if err != nil {
		return nil, err
	}
	for i, t := range types {
		switch t {
		case "file", "file-version", "folder":
		default:
			return nil, &QueryError{Pos: vals[i].pos, Msg: fmt.Sprintf(`type %q is not one of "file", "file-version", "folder"`, t)}
		}
	}
	in := stringSet(types)
	pred := func(f *File) bool {
		t := f.Type
		if t == "" {
			t = "file"
		}
		return in(t)
	}
	if n := negate(op, pred); n != nil {
		return n, nil
	}
	return cond(pred, Hints{}), nil
}

// span is the interval a date value covers: [lo, hi).
type span struct{ lo, hi time.Time }

func buildDate(get func(*File) time.Time) func(*parser, operator, []value) (*node, error) {
	return func(p *parser, op operator, vals []value) (*node, error) {
		spans := make([]span, len(vals))
		for i, v := range vals {
			sp, err := parseDate(v, p.now, op.name == "=" || op.name == "IN")
			if err != nil {
				return nil, err
			}
			spans[i] = sp
		}
		var pred func(*File) bool
		switch op.name {
		case "<":
			lo := spans[0].lo
			pred = func(f *File) bool { return get(f).Before(lo) }
		case "<=":
			hi := spans[0].hi
			pred = func(f *File) bool { return get(f).Before(hi) }
		case ">":
			hi := spans[0].hi
			pred = func(f *File) bool { return !get(f).Before(hi) }
		case ">=":
			lo := spans[0].lo
			pred = func(f *File) bool { return !get(f).Before(lo) }
		default: // = and IN
			pred = func(f *File) bool {
				t := get(f)
				for _, sp := range spans {
					if !t.Before(sp.lo) && t.Before(sp.hi) {
						return true
					}
				}
				return false
			}
		}
		if n := negate(op, pred); n != nil {
			return n, nil
		}
		return cond(pred, Hints{}), nil
	}
}

const day = 24 * time.Hour

// parseDate returns the interval a date value covers. A relative date is a
// single instant, or with equality the UTC day that holds it.
func parseDate(v value, now time.Time, equality bool) (span, error) {
	s := v.text
	if n, unit, ok := relativeDate(s); ok {
		if n > 10000 {
			return span{}, &QueryError{Pos: v.pos, Msg: fmt.Sprintf("relative date %q is too far in the past", s)}
		}
		var t time.Time
		switch unit {
		case 'h':
			t = now.Add(-time.Duration(n) * time.Hour)
		case 'd':
			t = now.AddDate(0, 0, -n)
		case 'w':
			t = now.AddDate(0, 0, -7*n)
		case 'm':
			t = now.AddDate(0, -n, 0)
		case 'y':
			t = now.AddDate(-n, 0, 0)
		}
		if equality {
			d := t.UTC().Truncate(day)
			return span{d, d.Add(day)}, nil
		}
		return span{t, t.Add(time.Nanosecond)}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return span{t, t.Add(day)}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Nanosecond() == 0 && !strings.Contains(s, ".") {
				return span{t, t.Add(time.Second)}, nil
			}
			return span{t, t.Add(time.Nanosecond)}, nil
		}
	}
	return span{}, &QueryError{Pos: v.pos, Msg: fmt.Sprintf(`date %q is not supported; use "2020-01-01", "2020-01-01T12:12:12", RFC 3339 with a zone, or a relative date like "7d" (h, d, w, m, y)`, s)}
}

// relativeDate splits "7d" into 7 and 'd'.
func relativeDate(s string) (int, byte, bool) {
	if len(s) < 2 || len(s) > 8 {
		return 0, 0, false
	}
	unit := s[len(s)-1]
	switch unit {
	case 'h', 'd', 'w', 'm', 'y':
	default:
		return 0, 0, false
	}
	n := 0
	for _, c := range []byte(s[:len(s)-1]) {
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, unit, true
}

// parseNumber parses a plain decimal number: digits with an optional sign
// and fraction, nothing else.
func parseNumber(s string) (float64, bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits, dot := 0, false
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"b", 1},
}

func parseSize(s string) (float64, bool) {
	lower := strings.ToLower(s)
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(lower, u.suffix); ok {
			x, ok := parseNumber(strings.TrimSpace(num))
			return x * u.mult, ok
		}
	}
	return parseNumber(s)
}

func buildNumber(name string, size bool, get func(*File) float64) func(*parser, operator, []value) (*node, error) {
	return func(p *parser, op operator, vals []value) (*node, error) {
		v := vals[0]
		x, ok := parseNumber(v.text)
		if !ok && size {
			x, ok = parseSize(v.text)
		}
		if !ok {
			want := "a number"
			if size {
				want = `a number of bytes or a size like "10kb" or "1mb"`
			}
			return nil, &QueryError{Pos: v.pos, Msg: fmt.Sprintf("value %q for field %s is not %s", v.text, name, want)}
		}
		var pred func(*File) bool
		switch op.name {
		case "<":
			pred = func(f *File) bool { return get(f) < x }
		case "<=":
			pred = func(f *File) bool { return get(f) <= x }
		case ">":
			pred = func(f *File) bool { return get(f) > x }
		case ">=":
			pred = func(f *File) bool { return get(f) >= x }
		default:
			pred = func(f *File) bool { return get(f) == x }
		}
		if n := negate(op, pred); n != nil {
			return n, nil
		}
		return cond(pred, Hints{}), nil
	}
}

func buildBool(name string, get func(*File) bool) func(*parser, operator, []value) (*node, error) {
	return func(p *parser, op operator, vals []value) (*node, error) {
		v := vals[0]
		var want bool
		switch v.text {
		case "true":
			want = true
		case "false":
		default:
			return nil, &QueryError{Pos: v.pos, Msg: fmt.Sprintf("value %q for field %s is not true or false", v.text, name)}
		}
		pred := func(f *File) bool { return get(f) == want }
		if n := negate(op, pred); n != nil {
			return n, nil
		}
		return cond(pred, Hints{}), nil
	}
}

// fileFormat returns the format the format field compares: the name's
// extension in lower case, else the MIME subtype, with "jpeg" as "jpg".
func fileFormat(f *File) string {
	var ext string
	if i := strings.LastIndexByte(f.Name, '.'); i >= 0 && i < len(f.Name)-1 {
		ext = f.Name[i+1:]
	} else if _, sub, ok := strings.Cut(f.Mime, "/"); ok {
		ext, _, _ = strings.Cut(sub, "+")
	}
	return normFormat(ext)
}

func normFormat(s string) string {
	s = strings.ToLower(s)
	if s == "jpeg" {
		return "jpg"
	}
	return s
}

func buildFormat(p *parser, op operator, vals []value) (*node, error) {
	formats, err := stringsOf(p, "format", vals)
	if err != nil {
		return nil, err
	}
	for i, s := range formats {
		formats[i] = normFormat(s)
	}
	in := stringSet(formats)
	pred := func(f *File) bool { return in(fileFormat(f)) }
	if n := negate(op, pred); n != nil {
		return n, nil
	}
	return cond(pred, Hints{}), nil
}

// customValue is a literal compared with a custom metadata value.
type customValue struct {
	s     string
	num   float64
	isNum bool
	b     bool
	isB   bool
}

func buildCustom(key string) func(*parser, operator, []value) (*node, error) {
	return func(p *parser, op operator, vals []value) (*node, error) {
		want := make([]customValue, len(vals))
		for i, v := range vals {
			if v.quoted {
				want[i] = customValue{s: v.text}
				continue
			}
			if v.text == "true" || v.text == "false" {
				want[i] = customValue{b: v.text == "true", isB: true}
				continue
			}
			x, ok := parseNumber(v.text)
			if !ok {
				return nil, &QueryError{Pos: v.pos, Msg: fmt.Sprintf("value %s for field customMetadata.%s is not a quoted string, a number or a boolean", v.text, key)}
			}
			want[i] = customValue{num: x, isNum: true}
		}
		pred := func(f *File) bool {
			got, ok := f.CustomMetadata[key]
			if !ok {
				return false
			}
			for _, w := range want {
				if customEqual(got, w) {
					return true
				}
			}
			return false
		}
		if n := negate(op, pred); n != nil {
			return n, nil
		}
		return cond(pred, Hints{}), nil
	}
}

// customEqual reports whether a custom metadata value decoded from JSON (or
// set by a test) equals w. A list matches when one of its items does.
func customEqual(got any, w customValue) bool {
	switch g := got.(type) {
	case string:
		return !w.isNum && !w.isB && g == w.s
	case bool:
		return w.isB && g == w.b
	case float64:
		return w.isNum && g == w.num
	case float32:
		return w.isNum && float64(g) == w.num
	case int:
		return w.isNum && float64(g) == w.num
	case int64:
		return w.isNum && float64(g) == w.num
	case json.Number:
		x, err := g.Float64()
		return w.isNum && err == nil && x == w.num
	case []any:
		for _, item := range g {
			if customEqual(item, w) {
				return true
			}
		}
	case []string:
		for _, item := range g {
			if customEqual(item, w) {
				return true
			}
		}
	}
	return false
}
