package imagekittest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// entry is one object of the library in its compact form: the object's JSON
// exactly as given (or as last edited by a tag call), plus the few fields
// that searches, sorts and indexes read, decoded once.
type entry struct {
	raw    []byte
	id     string
	path   string // filePath
	name   string // name, or the last element of filePath when the object has none
	folder *folderNode
	// tags holds the tags and then the AITag names: tags[:ntags] and
	// tags[ntags:]. The strings are interned.
	tags     []string
	kind     *fileKind
	created  int64 // Unix seconds
	updated  int64
	createdN int32 // and nanoseconds
	updatedN int32
	size     float64
	width    float64
	height   float64
	duration float64 // seconds, when flagDuration
	seq      uint32  // library order
	ntags    uint32
	flags    uint16
}

const (
	flagPrivate uint16 = 1 << iota
	flagPublished
	flagAlpha
	flagDuration
	flagDeleted
	// The object lacks these keys; API answers add them, as the API always
	// sends them. The object itself is kept as given.
	flagNoType
	flagNoName
	flagNoTags
	flagNoAITags
)

// fileKind is an interned (type, mime, fileType) triple: few distinct
// triples exist, so each entry points at one.
type fileKind struct {
	typ      string // "" when absent: a file
	mime     string
	fileType string
}

// objType returns the object's type: "file" when the object has none.
func (e *entry) objType() string {
	if e.kind.typ == "" {
		return "file"
	}
	return e.kind.typ
}

func (e *entry) fileTags() []string { return e.tags[:e.ntags] }
func (e *entry) has(f uint16) bool  { return e.flags&f != 0 }

func (e *entry) createdAt() time.Time { return time.Unix(e.created, int64(e.createdN)).UTC() }
func (e *entry) updatedAt() time.Time { return time.Unix(e.updated, int64(e.updatedN)).UTC() }

// dir returns the folder that holds the object, ending with "/".
func (e *entry) dir() string {
	if e.folder != nil {
		return e.folder.path
	}
	return folderOf(e.path)
}

// folderOf returns the folder part of a file path: up to and including its
// last "/", or "/" when it has none.
func folderOf(filePath string) string {
	if i := strings.LastIndexByte(filePath, '/'); i >= 0 {
		return filePath[:i+1]
	}
	return "/"
}

// member returns the raw value of the object's top-level member key.
func (e *entry) member(key string) ([]byte, bool) {
	if e.raw == nil {
		return nil, false
	}
	m, ok := findMember(e.raw, key)
	if !ok {
		return nil, false
	}
	return e.raw[m.from:m.to], true
}

// file decodes the object into the File view: best effort, as the File
// type does not hold every field an object may have, nor every type a
// member may have (a size of 1.5 is no int64): such a member is left at its
// zero value. Empty tag lists are nil and a missing type is "file", as the
// API serves them.
func (e *entry) file() File {
	var f File
	// The object is valid JSON and its dates were checked when it was
	// loaded: the only errors left are members File cannot hold.
	_ = json.Unmarshal(e.raw, &f)
	if len(f.Tags) == 0 {
		f.Tags = nil
	}
	if len(f.AITags) == 0 {
		f.AITags = nil
	}
	if f.Type == "" {
		f.Type = "file"
	}
	return f
}

// appendAPI appends the object as an API answer serves it: without the
// whitespace of the library file, with the keys the API always sends added
// when the object lacks them.
func (e *entry) appendAPI(dst []byte) []byte {
	start := len(dst)
	dst = appendCompact(dst, e.raw)
	if !e.has(flagNoType | flagNoName | flagNoTags | flagNoAITags) {
		return dst
	}
	dst = dst[:len(dst)-1] // the closing brace
	sep := len(dst)-start > 1
	add := func(key string, value []byte) {
		if sep {
			dst = append(dst, ',')
		}
		sep = true
		dst = append(dst, '"')
		dst = append(dst, key...)
		dst = append(dst, '"', ':')
		dst = append(dst, value...)
	}
	if e.has(flagNoType) {
		add("type", []byte(`"file"`))
	}
	if e.has(flagNoName) {
		add("name", appendQuote(nil, e.name))
	}
	if e.has(flagNoTags) {
		add("tags", []byte("null"))
	}
	if e.has(flagNoAITags) {
		add("AITags", []byte("null"))
	}
	return append(dst, '}')
}

// fieldError is a library object whose field the emulator cannot use.
type fieldError struct {
	field string
	want  string
}

func (e *fieldError) Error() string {
	return fmt.Sprintf("field %q must be %s", e.field, e.want)
}

// decoder builds entries from objects, interning the strings that repeat.
type decoder struct {
	strs  map[string]string
	kinds map[fileKind]*fileKind
	raw   arena
	tags  stringSlab
	ents  entrySlab
	buf   []string // scratch tag list
}

func newDecoder() *decoder {
	return &decoder{strs: make(map[string]string), kinds: make(map[fileKind]*fileKind)}
}

// intern returns b as a string shared with every equal string seen before.
func (d *decoder) intern(b []byte) string {
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	d.strs[s] = s
	return s
}

func (d *decoder) internString(s string) string {
	if t, ok := d.strs[s]; ok {
		return t
	}
	d.strs[s] = s
	return s
}

func (d *decoder) kind(k fileKind) *fileKind {
	if p, ok := d.kinds[k]; ok {
		return p
	}
	p := new(fileKind)
	*p = k
	d.kinds[k] = p
	return p
}

// internField returns the interned string value of a member: "" when it
// is absent or null, an error when it is not a string.
func (d *decoder) internField(obj []byte, fs *objFields, m member, bit uint32, name string) (string, error) {
	if b, ok := rawStr(obj, fs, m, bit); ok {
		return d.intern(b), nil
	}
	s, _, err := str(obj, fs, m, bit, name)
	if err != nil {
		return "", err
	}
	return d.internString(s), nil
}

// objFields are the members of an object the emulator reads, as offsets.
type objFields struct {
	fileID, typ, name, filePath, mime, fileType member
	tags, aiTags                                member
	created, updated                            member
	size, width, height, duration               member
	private, published, alpha                   member
	seen                                        uint32
}

const (
	seenFileID uint32 = 1 << iota
	seenType
	seenName
	seenFilePath
	seenMime
	seenFileType
	seenTags
	seenAITags
	seenCreated
	seenUpdated
	seenSize
	seenWidth
	seenHeight
	seenDuration
	seenPrivate
	seenPublished
	seenAlpha
)

// scanFields checks the object at obj[0] and records the members the
// emulator reads. It returns the offset after the object.
func scanFields(obj []byte, fs *objFields) (int, error) {
	*fs = objFields{}
	return walkObject(obj, 0, 0, func(m member) error {
		k := obj[m.keyFrom+1 : m.keyTo-1]
		if hasEscape(k) {
			s, _ := unquote(obj[m.keyFrom:m.keyTo])
			k = []byte(s)
		}
		var slot *member
		var bit uint32
		switch string(k) {
		case "fileId":
			slot, bit = &fs.fileID, seenFileID
		case "type":
			slot, bit = &fs.typ, seenType
		case "name":
			slot, bit = &fs.name, seenName
		case "filePath":
			slot, bit = &fs.filePath, seenFilePath
		case "mime":
			slot, bit = &fs.mime, seenMime
		case "fileType":
			slot, bit = &fs.fileType, seenFileType
		case "tags":
			slot, bit = &fs.tags, seenTags
		case "AITags":
			slot, bit = &fs.aiTags, seenAITags
		case "createdAt":
			slot, bit = &fs.created, seenCreated
		case "updatedAt":
			slot, bit = &fs.updated, seenUpdated
		case "size":
			slot, bit = &fs.size, seenSize
		case "width":
			slot, bit = &fs.width, seenWidth
		case "height":
			slot, bit = &fs.height, seenHeight
		case "duration":
			slot, bit = &fs.duration, seenDuration
		case "isPrivateFile":
			slot, bit = &fs.private, seenPrivate
		case "isPublished":
			slot, bit = &fs.published, seenPublished
		case "hasAlpha":
			slot, bit = &fs.alpha, seenAlpha
		default:
			return nil
		}
		*slot = m
		fs.seen |= bit
		return nil
	})
}

func isNull(v []byte) bool { return len(v) == 4 && string(v) == "null" }

// str returns the string value of a member: "" and false when it is
// absent or null, an error when it is not a string.
func str(obj []byte, fs *objFields, m member, bit uint32, name string) (string, bool, error) {
	if fs.seen&bit == 0 {
		return "", false, nil
	}
	v := obj[m.from:m.to]
	if isNull(v) {
		return "", false, nil
	}
	if v[0] != '"' {
		return "", false, &fieldError{name, "a string"}
	}
	s, _ := unquote(v)
	return s, true, nil
}

// rawStr is str without copying: the bytes between the quotes of a string
// member without escapes, for interning; ok is false otherwise.
func rawStr(obj []byte, fs *objFields, m member, bit uint32) ([]byte, bool) {
	if fs.seen&bit == 0 {
		return nil, false
	}
	v := obj[m.from:m.to]
	if len(v) < 2 || v[0] != '"' || hasEscape(v) || !isASCII(v) {
		return nil, false
	}
	return v[1 : len(v)-1], true
}

// entry builds the entry of the valid object obj. The entry keeps obj
// itself as its raw JSON: the caller hands over a stable copy. requirePath
// says that filePath must be present and start with "/".
func (d *decoder) entry(obj []byte, fs *objFields, seq uint32, requirePath bool) (_ *entry, err error) {
	e := d.ents.next()
	e.raw = obj
	e.seq = seq
	defer func() {
		if err != nil {
			*e = entry{flags: flagDeleted} // never part of the library
		}
	}()
	var ok bool
	if e.id, ok, err = str(obj, fs, fs.fileID, seenFileID, "fileId"); err != nil {
		return nil, err
	} else if !ok || e.id == "" {
		return nil, errNoFileID
	}
	if e.path, ok, err = str(obj, fs, fs.filePath, seenFilePath, "filePath"); err != nil {
		return nil, err
	} else if requirePath && (!ok || !strings.HasPrefix(e.path, "/")) {
		return nil, &pathError{e.path}
	}
	var k fileKind
	if k.typ, err = d.internField(obj, fs, fs.typ, seenType, "type"); err != nil {
		return nil, err
	}
	if k.mime, err = d.internField(obj, fs, fs.mime, seenMime, "mime"); err != nil {
		return nil, err
	}
	if k.fileType, err = d.internField(obj, fs, fs.fileType, seenFileType, "fileType"); err != nil {
		return nil, err
	}
	e.kind = d.kind(k)
	if fs.seen&seenType == 0 {
		e.flags |= flagNoType
	}
	base := e.path[strings.LastIndexByte(e.path, '/')+1:]
	if b, ok := rawStr(obj, fs, fs.name, seenName); ok && string(b) == base {
		e.name = base // shares the path's bytes
	} else {
		name, hasName, err := str(obj, fs, fs.name, seenName, "name")
		if err != nil {
			return nil, err
		}
		e.name = base
		if hasName && name != base {
			e.name = name
		}
	}
	if fs.seen&seenName == 0 {
		e.flags |= flagNoName
	}
	if err := d.tagList(obj, fs, e); err != nil {
		return nil, err
	}
	if e.created, e.createdN, err = stamp(obj, fs, fs.created, seenCreated, "createdAt"); err != nil {
		return nil, err
	}
	if e.updated, e.updatedN, err = stamp(obj, fs, fs.updated, seenUpdated, "updatedAt"); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		dst  *float64
		m    member
		bit  uint32
		flag uint16
		name string
	}{
		{&e.size, fs.size, seenSize, 0, "size"}, {&e.width, fs.width, seenWidth, 0, "width"},
		{&e.height, fs.height, seenHeight, 0, "height"}, {&e.duration, fs.duration, seenDuration, flagDuration, "duration"},
	} {
		if fs.seen&f.bit == 0 || isNull(obj[f.m.from:f.m.to]) {
			continue
		}
		x, ok := number(obj[f.m.from:f.m.to])
		if !ok {
			return nil, &fieldError{f.name, "a number"}
		}
		*f.dst = x
		e.flags |= f.flag
	}
	for _, f := range []struct {
		m    member
		bit  uint32
		flag uint16
		name string
	}{{fs.private, seenPrivate, flagPrivate, "isPrivateFile"}, {fs.published, seenPublished, flagPublished, "isPublished"}, {fs.alpha, seenAlpha, flagAlpha, "hasAlpha"}} {
		if fs.seen&f.bit == 0 {
			continue
		}
		switch string(obj[f.m.from:f.m.to]) {
		case "true":
			e.flags |= f.flag
		case "false", "null":
		default:
			return nil, &fieldError{f.name, "true or false"}
		}
	}
	return e, nil
}

var errNoFileID = errors.New("it has no fileId: give every file a unique, non-empty fileId")

type pathError struct{ path string }

func (e *pathError) Error() string {
	return fmt.Sprintf("filePath %q must start with /", e.path)
}

// tagList reads the tags and the AITag names of obj into e.
func (d *decoder) tagList(obj []byte, fs *objFields, e *entry) error {
	list := d.buf[:0]
	if fs.seen&seenTags == 0 {
		e.flags |= flagNoTags
	} else if v := obj[fs.tags.from:fs.tags.to]; !isNull(v) {
		if v[0] != '[' {
			return &fieldError{"tags", "an array of strings or null"}
		}
		err := eachElement(v, func(el []byte) error {
			if el[0] != '"' {
				return &fieldError{"tags", "an array of strings or null"}
			}
			if hasEscape(el) || !isASCII(el) {
				s, _ := unquote(el)
				list = append(list, d.internString(s))
			} else {
				list = append(list, d.intern(el[1:len(el)-1]))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	ntags := len(list)
	if fs.seen&seenAITags == 0 {
		e.flags |= flagNoAITags
	} else if v := obj[fs.aiTags.from:fs.aiTags.to]; !isNull(v) {
		want := "an array of objects with a string name, or null"
		if v[0] != '[' {
			return &fieldError{"AITags", want}
		}
		err := eachElement(v, func(el []byte) error {
			if el[0] != '{' {
				return &fieldError{"AITags", want}
			}
			m, ok := findMember(el, "name")
			if !ok {
				return nil
			}
			nv := el[m.from:m.to]
			if isNull(nv) {
				return nil
			}
			if nv[0] != '"' {
				return &fieldError{"AITags", want}
			}
			s, _ := unquote(nv)
			list = append(list, d.internString(s))
			return nil
		})
		if err != nil {
			return err
		}
	}
	d.buf = list
	e.tags = d.tags.copy(list)
	e.ntags = uint32(ntags)
	return nil
}

// eachElement calls visit with each element of the valid array v.
func eachElement(v []byte, visit func(el []byte) error) error {
	i := skipSpace(v, 1)
	if v[i] == ']' {
		return nil
	}
	for {
		end, err := skipValue(v, i, 0)
		if err != nil {
			return err
		}
		if err := visit(v[i:end]); err != nil {
			return err
		}
		i = skipSpace(v, end)
		if v[i] == ']' {
			return nil
		}
		i = skipSpace(v, i+1)
	}
}

// number parses a JSON number; integers of up to 15 digits without a
// conversion that allocates.
func number(v []byte) (float64, bool) {
	if len(v) == 0 || len(v) > 15 {
		f, err := strconv.ParseFloat(string(v), 64)
		return f, err == nil || isRangeErr(err)
	}
	var n int64
	neg := v[0] == '-'
	digits := v
	if neg {
		digits = v[1:]
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			f, err := strconv.ParseFloat(string(v), 64)
			return f, err == nil || isRangeErr(err)
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return float64(n), len(digits) > 0
}

func isRangeErr(err error) bool { return errors.Is(err, strconv.ErrRange) }

// stamp reads a date member: the zero time when absent or null.
func stamp(obj []byte, fs *objFields, m member, bit uint32, name string) (int64, int32, error) {
	zero := time.Time{}
	if fs.seen&bit == 0 || isNull(obj[m.from:m.to]) {
		return zero.Unix(), 0, nil
	}
	v := obj[m.from:m.to]
	if v[0] != '"' {
		return 0, 0, &fieldError{name, `an RFC 3339 date such as "2024-01-31T12:00:00Z"`}
	}
	t, ok := parseRFC3339(v[1 : len(v)-1])
	if !ok {
		// As the File type decodes it.
		if err := t.UnmarshalJSON(v); err != nil {
			return 0, 0, &fieldError{name, `an RFC 3339 date such as "2024-01-31T12:00:00Z"`}
		}
	}
	return t.Unix(), int32(t.Nanosecond()), nil
}

// parseRFC3339 parses the common form 2006-01-02T15:04:05[.frac]Z without
// allocating; other forms return false and are left to time.Parse.
func parseRFC3339(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[len(b)-1] != 'Z' {
		return time.Time{}, false
	}
	num := func(from, to int) int {
		n := 0
		for _, c := range b[from:to] {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if rest := b[19 : len(b)-1]; len(rest) > 0 {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return time.Time{}, false
		}
		frac := num(20, len(b)-1)
		if frac < 0 {
			return time.Time{}, false
		}
		nsec = frac * int(math.Pow10(10-len(rest)))
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day {
		return time.Time{}, false // February 30 and the like
	}
	return t, true
}

// arena hands out stable copies of byte slices from large shared chunks,
// so that a million small objects cost a few allocations.
type arena struct{ chunk []byte }

const arenaChunk = 4 << 20

func (a *arena) copy(b []byte) []byte {
	if len(b) > arenaChunk/16 {
		return bytes.Clone(b)
	}
	if cap(a.chunk)-len(a.chunk) < len(b) {
		a.chunk = make([]byte, 0, arenaChunk)
	}
	n := len(a.chunk)
	a.chunk = append(a.chunk, b...)
	return a.chunk[n:len(a.chunk):len(a.chunk)]
}

// stringSlab hands out string slices from shared chunks.
type stringSlab struct{ chunk []string }

func (s *stringSlab) copy(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	if len(list) > 256 {
		return append([]string(nil), list...)
	}
	if cap(s.chunk)-len(s.chunk) < len(list) {
		s.chunk = make([]string, 0, 16<<10)
	}
	n := len(s.chunk)
	s.chunk = append(s.chunk, list...)
	return s.chunk[n:len(s.chunk):len(s.chunk)]
}

// entrySlab hands out entries from shared chunks, which hold every entry
// in the order it was made: library order.
type entrySlab struct{ chunks [][]entry }

func (s *entrySlab) next() *entry {
	n := len(s.chunks)
	if n == 0 || len(s.chunks[n-1]) == cap(s.chunks[n-1]) {
		s.chunks = append(s.chunks, make([]entry, 0, 4096))
		n++
	}
	c := s.chunks[n-1]
	c = c[:len(c)+1]
	s.chunks[n-1] = c
	return &c[len(c)-1]
}
