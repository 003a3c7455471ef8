package imagekittest

import (
	"fmt"
	"strings"
	"time"
)

// This file holds the searchQuery fields: which operators each accepts, and
// the predicate a condition on it builds over a stored object.

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
	numOps  = []string{"=", "<", "<=", ">", ">=", "IN", "NOT =", "NOT IN"}
	boolOps = []string{"=", "NOT ="}
	metaOps = []string{"=", ":", "<", "<=", ">", ">=", "IN", "NOT =", "NOT IN", "HAS", "EXISTS", "NOT EXISTS"}
)

var fields map[string]*field

func init() {
	fields = map[string]*field{
		"id":            {ops: eqOps, build: buildID},
		"name":          {ops: []string{"=", ":", "IN", "NOT =", "NOT IN", "HAS"}, build: buildName},
		"path":          {ops: []string{"=", ":", "IN", "NOT =", "NOT IN"}, build: buildPath},
		"tags":          {ops: []string{"IN", "NOT IN", "HAS", "EXISTS", "NOT EXISTS"}, build: buildTags},
		"type":          {ops: eqOps, build: buildType},
		"createdAt":     {ops: numOps, build: buildDate((*entry).createdAt)},
		"updatedAt":     {ops: numOps, build: buildDate((*entry).updatedAt)},
		"width":         {ops: numOps, build: buildNumber("width", parseNumber, func(e *entry) (float64, bool) { return e.width, true })},
		"height":        {ops: numOps, build: buildNumber("height", parseNumber, func(e *entry) (float64, bool) { return e.height, true })},
		"size":          {ops: numOps, build: buildNumber("size", parseSize, func(e *entry) (float64, bool) { return e.size, true })},
		"videoDuration": {ops: numOps, build: buildNumber("videoDuration", parseDuration, func(e *entry) (float64, bool) { return e.duration, e.has(flagDuration) })},
		"format":        {ops: eqOps, build: buildFormat},
		"createdBy":     {ops: eqOps, build: buildCreatedBy},
		"private":       {ops: boolOps, build: buildBool("private", flagPrivate)},
		"published":     {ops: boolOps, build: buildBool("published", flagPublished)},
		"transparency":  {ops: boolOps, build: buildBool("transparency", flagAlpha)},
	}
}

// metaSections are the object members whose keys a query names as
// "SECTION.KEY".
var metaSections = []string{"customMetadata", "embeddedMetadata"}

func (p *parser) lookupField(t token) (*field, error) {
	name := t.text
	for _, section := range metaSections {
		key, ok := strings.CutPrefix(name, section+".")
		if !ok {
			continue
		}
		if t.kind != tString {
			return nil, p.errf("field name %s must be in double quotes", name)
		}
		if key == "" {
			return nil, p.errf("field %q names no %s key", name, section)
		}
		if section == "embeddedMetadata" && key == "LocationTaken" {
			return nil, p.errf("field %q is not supported: the emulator does not run geographic searches", name)
		}
		return &field{ops: metaOps, build: buildMeta(section, key)}, nil
	}
	if fd, ok := fields[name]; ok {
		return fd, nil
	}
	for known := range fields {
		if strings.EqualFold(known, name) {
			return nil, p.errf("unknown field %q; field names are case-sensitive: %s", name, known)
		}
	}
	for _, section := range metaSections {
		if strings.EqualFold(name, section) || strings.HasPrefix(strings.ToLower(name), strings.ToLower(section)+".") {
			return nil, p.errf("unknown field %q; a metadata field is written %q", name, section+".KEY")
		}
	}
	return nil, p.errf("unknown or unsupported field %q", name)
}

func cond(pred func(*entry) bool, h Hints) *node {
	return &node{op: opCond, pred: pred, hint: h, types: allKinds}
}

// negate wraps pred for NOT =, NOT IN and NOT EXISTS; the hints of a
// negated condition say nothing.
func negate(op operator, pred func(*entry) bool) *node {
	if op.not {
		return cond(func(e *entry) bool { return !pred(e) }, Hints{})
	}
	return nil
}

// plain returns the condition of pred, negated for a NOT operator.
func plain(op operator, pred func(*entry) bool) *node {
	if n := negate(op, pred); n != nil {
		return n
	}
	return cond(pred, Hints{})
}

func stringsOf(field string, vals []value) ([]string, error) {
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
	ids, err := stringsOf("id", vals)
	if err != nil {
		return nil, err
	}
	in := stringSet(ids)
	pred := func(e *entry) bool { return in(e.id) }
	if n := negate(op, pred); n != nil {
		return n, nil
	}
	return cond(pred, Hints{ByID: true, IDs: dedupe(ids)}), nil
}

// hasQuery returns the words of a HAS value, or an error when it has none.
func hasQuery(field string, v value) ([]string, error) {
	if !v.quoted {
		return nil, &QueryError{Pos: v.pos, Msg: fmt.Sprintf("value %s for field %s must be a string in double quotes", v.text, field)}
	}
	w := words(v.text)
	if len(w) == 0 {
		return nil, &QueryError{Pos: v.pos, Msg: fmt.Sprintf("HAS value %q has no letter or digit to search for", v.text)}
	}
	return w, nil
}

func buildName(p *parser, op operator, vals []value) (*node, error) {
	if op.name == "HAS" {
		want, err := hasQuery("name", vals[0])
		if err != nil {
			return nil, err
		}
		return cond(func(e *entry) bool { return hasWords(e.name, want) }, Hints{}), nil
	}
	names, err := stringsOf("name", vals)
	if err != nil {
		return nil, err
	}
	if op.name == ":" {
		prefix := names[0]
		return cond(func(e *entry) bool { return strings.HasPrefix(e.name, prefix) }, Hints{}), nil
	}
	in := stringSet(names)
	return plain(op, func(e *entry) bool { return in(e.name) }), nil
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
	if _, err := stringsOf("path", vals); err != nil {
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
		return cond(func(e *entry) bool { return strings.HasPrefix(e.dir(), root) },
			Hints{ByFolder: true, Folder: root, Subtree: true}), nil
	}
	in := stringSet(folders)
	pred := func(e *entry) bool { return in(e.dir()) }
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

// hasAnyTag reports whether e carries one of the tags in tags or AITags names.
func hasAnyTag(e *entry, in func(string) bool) bool {
	for _, t := range e.tags {
		if in(t) {
			return true
		}
	}
	return false
}

func buildTags(p *parser, op operator, vals []value) (*node, error) {
	switch op.name {
	case "EXISTS":
		return plain(op, func(e *entry) bool { return len(e.tags) > 0 }), nil
	case "HAS":
		want, err := hasQuery("tags", vals[0])
		if err != nil {
			return nil, err
		}
		return cond(func(e *entry) bool {
			for _, t := range e.tags {
				if hasWords(t, want) {
					return true
				}
			}
			return false
		}, Hints{}), nil
	}
	tags, err := stringsOf("tags", vals)
	if err != nil {
		return nil, err
	}
	in := stringSet(tags)
	pred := func(e *entry) bool { return hasAnyTag(e, in) }
	if n := negate(op, pred); n != nil {
		return n, nil
	}
	return cond(pred, Hints{ByTag: true, Tags: dedupe(tags)}), nil
}

func buildType(p *parser, op operator, vals []value) (*node, error) {
	types, err := stringsOf("type", vals)
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
	p.typed = true
	var named kinds
	for _, t := range types {
		named |= kindOf(t)
	}
	in := stringSet(types)
	n := plain(op, func(e *entry) bool { return in(e.objType()) })
	n.types = named
	if op.not {
		n.types = allKinds &^ named
	}
	return n, nil
}

func buildDate(get func(*entry) time.Time) func(*parser, operator, []value) (*node, error) {
	return func(p *parser, op operator, vals []value) (*node, error) {
		spans := make([]span, len(vals))
		for i, v := range vals {
			sp, err := parseDate(v, p.now, op.name == "=" || op.name == "IN")
			if err != nil {
				return nil, err
			}
			spans[i] = sp
		}
		pred := spanPred(op.name, spans)
		return plain(op, func(e *entry) bool { return pred(get(e)) }), nil
	}
}

// spanPred returns the test of a date against the date values of an
// operator: = and IN inside one of the spans, the others against the first.
func spanPred(op string, spans []span) func(time.Time) bool {
	switch op {
	case "<":
		lo := spans[0].lo
		return func(t time.Time) bool { return t.Before(lo) }
	case "<=":
		hi := spans[0].hi
		return func(t time.Time) bool { return t.Before(hi) }
	case ">":
		hi := spans[0].hi
		return func(t time.Time) bool { return !t.Before(hi) }
	case ">=":
		lo := spans[0].lo
		return func(t time.Time) bool { return !t.Before(lo) }
	default: // = and IN
		return func(t time.Time) bool {
			for _, sp := range spans {
				if !t.Before(sp.lo) && t.Before(sp.hi) {
					return true
				}
			}
			return false
		}
	}
}

// buildNumber builds conditions on a numeric field; parse reads a value
// (for size, also "1mb"), get returns the field and whether the object has
// it. An object without the field matches only the NOT operators.
func buildNumber(name string, parse func(value) (float64, bool), get func(*entry) (float64, bool)) func(*parser, operator, []value) (*node, error) {
	return func(p *parser, op operator, vals []value) (*node, error) {
		xs := make([]float64, len(vals))
		for i, v := range vals {
			x, ok := parse(v)
			if !ok {
				return nil, &QueryError{Pos: v.pos, Msg: fmt.Sprintf("value %q for field %s is not %s", v.text, name, numberWant[name])}
			}
			xs[i] = x
		}
		test := numberPred(op.name, xs)
		return plain(op, func(e *entry) bool {
			x, ok := get(e)
			return ok && test(x)
		}), nil
	}
}

var numberWant = map[string]string{
	"width":         "a number",
	"height":        "a number",
	"size":          `a number of bytes or a size like "10kb" or "1mb"`,
	"videoDuration": `a number of seconds or a duration like "30sec", "1.5min" or "2hr"`,
}

// numberPred returns the test of a number against the values of an
// operator: = and IN equal to one of them, the others against the first.
func numberPred(op string, xs []float64) func(float64) bool {
	x := xs[0]
	switch op {
	case "<":
		return func(v float64) bool { return v < x }
	case "<=":
		return func(v float64) bool { return v <= x }
	case ">":
		return func(v float64) bool { return v > x }
	case ">=":
		return func(v float64) bool { return v >= x }
	default:
		return func(v float64) bool {
			for _, x := range xs {
				if v == x {
					return true
				}
			}
			return false
		}
	}
}

func buildBool(name string, flag uint16) func(*parser, operator, []value) (*node, error) {
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
		return plain(op, func(e *entry) bool { return e.has(flag) == want }), nil
	}
}

// fileFormat returns the format the format field compares: the name's
// extension in lower case, else the MIME subtype, with "jpeg" as "jpg".
func fileFormat(e *entry) string {
	var ext string
	if i := strings.LastIndexByte(e.name, '.'); i >= 0 && i < len(e.name)-1 {
		ext = e.name[i+1:]
	} else if _, sub, ok := strings.Cut(e.kind.mime, "/"); ok {
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
	formats, err := stringsOf("format", vals)
	if err != nil {
		return nil, err
	}
	for i, s := range formats {
		formats[i] = normFormat(s)
	}
	in := stringSet(formats)
	return plain(op, func(e *entry) bool { return in(fileFormat(e)) }), nil
}

func buildCreatedBy(p *parser, op operator, vals []value) (*node, error) {
	who, err := stringsOf("createdBy", vals)
	if err != nil {
		return nil, err
	}
	p.rawFields = true
	in := stringSet(who)
	return plain(op, func(e *entry) bool {
		v, ok := e.member("createdBy")
		if !ok {
			return false
		}
		if v[0] == '{' {
			m, ok := findMember(v, "email")
			if !ok {
				return false
			}
			v = v[m.from:m.to]
		}
		if v[0] != '"' {
			return false
		}
		s, _ := unquote(v)
		return in(s)
	}), nil
}

// buildMeta builds conditions on "SECTION.KEY": the key of the object's
// customMetadata or embeddedMetadata member.
func buildMeta(section, key string) func(*parser, operator, []value) (*node, error) {
	name := section + "." + key
	return func(p *parser, op operator, vals []value) (*node, error) {
		p.rawFields = true
		get := func(e *entry) ([]byte, bool) {
			sec, ok := e.member(section)
			if !ok || sec[0] != '{' {
				return nil, false
			}
			m, ok := findMember(sec, key)
			if !ok || isNull(sec[m.from:m.to]) {
				return nil, false
			}
			return sec[m.from:m.to], true
		}
		if op.name == "EXISTS" {
			return plain(op, func(e *entry) bool { _, ok := get(e); return ok }), nil
		}
		test, err := metaTest(name, op, vals, p.now)
		if err != nil {
			return nil, err
		}
		return plain(op, func(e *entry) bool {
			v, ok := get(e)
			return ok && anyItem(v, test)
		}), nil
	}
}

// anyItem reports whether test holds for the JSON value v or, when v is an
// array, for one of its items.
func anyItem(v []byte, test func([]byte) bool) bool {
	if v[0] != '[' {
		return test(v)
	}
	found := false
	_ = eachElement(v, func(el []byte) error {
		if !found && test(el) {
			found = true
		}
		return nil
	})
	return found
}
