package imagekittest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// folderNode is one folder of the library, derived from file paths.
type folderNode struct {
	path     string // "/a/b/"; "/" for the root
	name     string // "b"; "" for the root
	parent   *folderNode
	children map[string]*folderNode
	files    []*entry  // live files directly in it, in created order
	count    int       // live files in it and below
	created  time.Time // earliest createdAt of a file that was ever below it
	updated  time.Time // latest updatedAt of a file that was ever below it
	id       string    // its folderId
	ent      entry     // the folder as an object a searchQuery can match
}

// widen makes the folder's dates cover a file created and updated at
// those times. The caller holds the store's lock for writing.
func (n *folderNode) widen(created, updated time.Time) {
	if n.created.IsZero() || created.Before(n.created) {
		n.created = created
		n.ent.created, n.ent.createdN = created.Unix(), int32(created.Nanosecond())
	}
	if updated.After(n.updated) {
		n.updated = updated
		n.ent.updated, n.ent.updatedN = updated.Unix(), int32(updated.Nanosecond())
	}
}

// postings are the entries carrying one tag (in tags or AITag names), in
// created order. A tag removed from a file leaves the file in the list as
// a stale member until the list is compacted: searches check every
// candidate, so a superset is safe.
type postings struct {
	list  []*entry
	stale int
}

// store is the indexed in-memory library behind a Library.
type store struct {
	mu       sync.RWMutex
	dec      *decoder
	byID     map[string]*entry
	tags     map[string]*postings
	root     *folderNode
	folders  map[string]*folderNode
	created  []*entry // live entries in created order: the default order
	nextSeq  uint32
	versions int    // live entries of type file-version
	version  uint64 // bumped by every change
	grown    uint64 // bumped by every added entry
	changed  bool   // whether anything changed since the library was loaded

	cacheMu sync.Mutex
	orders  map[string]cachedOrder // sorted lists, by key
	cursors cursorCache
}

type cachedOrder struct {
	stamp uint64 // the version or grown count it was built at
	order []*entry
}

// newStore returns an empty store that expects about files files.
func newStore(files int) *store {
	s := &store{
		dec:     newDecoder(),
		byID:    make(map[string]*entry, files),
		created: make([]*entry, 0, files),
		tags:    make(map[string]*postings),
		folders: make(map[string]*folderNode),
		orders:  make(map[string]cachedOrder),
	}
	s.root = &folderNode{path: "/", children: map[string]*folderNode{}}
	s.folders["/"] = s.root
	return s
}

// compareCreated orders entries by createdAt, then by library order.
func compareCreated(a, b *entry) int {
	if c := cmp.Compare(a.created, b.created); c != 0 {
		return c
	}
	if c := cmp.Compare(a.createdN, b.createdN); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// addLoaded registers an entry of the library being loaded; finishLoad
// indexes them all. When the id is taken it returns the entry that holds
// it and adds nothing.
func (s *store) addLoaded(e *entry) *entry {
	if prev := s.byID[e.id]; prev != nil {
		return prev
	}
	s.byID[e.id] = e
	s.created = append(s.created, e)
	if e.seq >= s.nextSeq {
		s.nextSeq = e.seq + 1
	}
	return nil
}

// finishLoad sorts the loaded entries and builds the indexes, each list in
// created order. Every list is made at its final size: appending would
// leave up to half of each unused.
func (s *store) finishLoad() {
	slices.SortFunc(s.created, compareCreated)
	files := make(map[*folderNode]int)
	tags := make(map[string]int)
	for _, e := range s.created {
		e.folder = s.folderNode(e.dir())
		files[e.folder]++
		for i, t := range e.tags {
			if !slices.Contains(e.tags[:i], t) {
				tags[t]++
			}
		}
	}
	for n, c := range files {
		n.files = make([]*entry, 0, c)
	}
	for t, c := range tags {
		s.tags[t] = &postings{list: make([]*entry, 0, c)}
	}
	for _, e := range s.created {
		s.index(e, true)
	}
}

// index adds a live entry to the folder and tag indexes. appendOnly says the
// entry comes after every indexed one in created order.
func (s *store) index(e *entry, appendOnly bool) {
	n := s.folderNode(e.dir())
	e.folder = n
	n.files = insertOrdered(n.files, e, appendOnly)
	created, updated := e.createdAt(), e.updatedAt()
	for p := n; p != nil; p = p.parent {
		p.count++
		p.widen(created, updated)
	}
	for i, t := range e.tags {
		if slices.Contains(e.tags[:i], t) {
			continue
		}
		s.addPosting(t, e, appendOnly)
	}
	if e.objType() == "file-version" {
		s.versions++
	}
}

// insertOrdered inserts e into list, kept in created order.
func insertOrdered(list []*entry, e *entry, appendOnly bool) []*entry {
	if appendOnly || len(list) == 0 || compareCreated(list[len(list)-1], e) < 0 {
		return append(list, e)
	}
	i, _ := slices.BinarySearchFunc(list, e, compareCreated)
	return slices.Insert(list, i, e)
}

func (s *store) addPosting(t string, e *entry, appendOnly bool) {
	p := s.tags[t]
	if p == nil {
		p = &postings{}
		s.tags[t] = p
	}
	if !appendOnly && len(p.list) > 0 && compareCreated(p.list[len(p.list)-1], e) >= 0 {
		i, found := slices.BinarySearchFunc(p.list, e, compareCreated)
		if found {
			p.stale-- // it was removed and is back
			return
		}
		p.list = slices.Insert(p.list, i, e)
		return
	}
	p.list = append(p.list, e)
}

// dropPosting marks e, which no longer carries t, as stale in t's list, and
// compacts the list when half of it is stale.
func (s *store) dropPosting(t string, e *entry) {
	p := s.tags[t]
	if p == nil {
		return
	}
	p.stale++
	if p.stale*2 <= len(p.list) {
		return
	}
	p.list = slices.DeleteFunc(p.list, func(x *entry) bool {
		return x.has(flagDeleted) || !slices.Contains(x.tags, t)
	})
	p.stale = 0
	if len(p.list) == 0 {
		delete(s.tags, t)
	}
}

// tagCount is the number of live entries carrying t, stale members included.
func (s *store) tagCount(t string) int {
	if p := s.tags[t]; p != nil {
		return len(p.list) - p.stale
	}
	return 0
}

// folderNode returns the node of a folder path ending with "/", creating it
// and its parents.
func (s *store) folderNode(path string) *folderNode {
	if n := s.folders[path]; n != nil {
		return n
	}
	trimmed := path[:len(path)-1]
	cut := strings.LastIndexByte(trimmed, '/')
	parent := s.folderNode(path[:cut+1])
	n := &folderNode{path: s.dec.internString(path), name: trimmed[cut+1:], parent: parent, children: map[string]*folderNode{}, id: folderID(path)}
	n.ent = entry{id: n.id, name: n.name, path: trimmed, folder: parent, kind: folderKind}
	parent.children[n.path] = n
	s.folders[n.path] = n
	return n
}

// all returns every entry ever added, in library order, deleted ones
// included. The caller holds s.mu.
func (s *store) all(visit func(e *entry) bool) {
	for _, chunk := range s.dec.ents.chunks {
		for i := range chunk {
			if chunk[i].raw == nil {
				continue // a slot whose object was refused
			}
			if !visit(&chunk[i]) {
				return
			}
		}
	}
}

// ascending returns every live entry in the ascending order of field, from
// a cache. Deleted entries may remain in it and must be skipped. The caller
// holds s.mu for reading.
func (s *store) ascending(field string) []*entry {
	if field == "CREATED" {
		return s.created
	}
	stamp := s.grown
	if field == "UPDATED" {
		stamp = s.version
	}
	return s.cachedOrder("sort:"+field, stamp, func() []*entry {
		order := slices.Clone(s.created)
		slices.SortStableFunc(order, sortSpec{field: field}.compare)
		return order
	})
}

// subtree returns the live files in folder n and below, in created order,
// from a cache. Folders only lose files between two additions, so a cached
// list is a superset of the live files.
func (s *store) subtree(n *folderNode) []*entry {
	if n == s.root {
		return s.created
	}
	return s.cachedOrder("subtree:"+n.path, s.grown, func() []*entry {
		out := make([]*entry, 0, n.count)
		for _, e := range s.created {
			if strings.HasPrefix(e.folder.path, n.path) {
				out = append(out, e)
			}
		}
		return out
	})
}

// cachedOrder returns the list cached under key when it was built at stamp,
// else builds it with build. The caller holds s.mu.
func (s *store) cachedOrder(key string, stamp uint64, build func() []*entry) []*entry {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if c, ok := s.orders[key]; ok && c.stamp == stamp {
		return c.order
	}
	order := build()
	s.orders[key] = cachedOrder{stamp: stamp, order: order}
	return order
}

// missing returns the ids that are not in the store, each once, in order.
// The caller holds s.mu.
func (s *store) missing(ids []string) []string {
	var out []string
	for _, id := range ids {
		if s.byID[id] == nil && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// tagOp is what a tag call does.
type tagOp int

const (
	opRemoveTags tagOp = iota
	opAddTags
	opRemoveAITags
)

// tagUpdate is the result of a tag call that found every file.
type tagUpdate struct {
	Updated []string    // successfullyUpdatedFileIds
	Failed  []fileError // left unchanged
}

type fileError struct {
	FileID string `json:"fileId"`
	Error  string `json:"error"`
}

// updateTags applies a tag call to the files ids, except those for which
// fail reports an error message. It changes nothing and returns the missing
// ids when any id is unknown. The whole call is atomic. A file whose tags
// change gets updatedAt now; a call that changes nothing for a file leaves
// it as it was.
func (s *store) updateTags(op tagOp, ids, tags []string, now time.Time, fail func(id string) string) (tagUpdate, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if miss := s.missing(ids); len(miss) > 0 {
		return tagUpdate{}, miss
	}
	var res tagUpdate
	done := make(map[string]bool, len(ids))
	for _, id := range ids {
		if done[id] {
			continue
		}
		done[id] = true
		if msg := fail(id); msg != "" {
			res.Failed = append(res.Failed, fileError{FileID: id, Error: msg})
			continue
		}
		res.Updated = append(res.Updated, id)
		s.editTags(s.byID[id], op, tags, now)
	}
	return res, nil
}

// editTags rewrites e's tags or AITags in its JSON, and its updatedAt,
// when the call changes them. The caller holds s.mu for writing.
func (s *store) editTags(e *entry, op tagOp, tags []string, now time.Time) {
	var raw []byte
	var changed bool
	switch op {
	case opRemoveTags:
		raw, changed = editList(e.raw, "tags", func(el []byte) bool {
			t, _ := unquote(el)
			return !slices.Contains(tags, t)
		}, nil)
	case opAddTags:
		var add []string
		for _, t := range tags {
			if !slices.Contains(e.fileTags(), t) && !slices.Contains(add, t) {
				add = append(add, t)
			}
		}
		raw, changed = editList(e.raw, "tags", nil, add)
	case opRemoveAITags:
		raw, changed = editList(e.raw, "AITags", func(el []byte) bool {
			m, ok := findMember(el, "name")
			if !ok {
				return true
			}
			name, _ := unquote(el[m.from:m.to])
			return !slices.Contains(tags, name)
		}, nil)
	}
	if !changed {
		return
	}
	raw = setMember(raw, "updatedAt", appendQuote(nil, formatTime(now)))
	before := e.tags
	var fs objFields
	if _, err := scanFields(raw, &fs); err != nil {
		panic("imagekittest: an edited object is not valid JSON: " + err.Error())
	}
	e.flags &^= flagNoTags | flagNoAITags
	if err := s.dec.tagList(raw, &fs, e); err != nil {
		panic("imagekittest: an edited object has bad tags: " + err.Error())
	}
	e.raw = raw
	at := now.UTC().Truncate(time.Millisecond)
	e.updated, e.updatedN = at.Unix(), int32(at.Nanosecond())
	for _, t := range before {
		if !slices.Contains(e.tags, t) {
			s.dropPosting(t, e)
		}
	}
	for i, t := range e.tags {
		if !slices.Contains(before, t) && !slices.Contains(e.tags[:i], t) {
			s.addPosting(t, e, false)
		}
	}
	for p := e.folder; p != nil; p = p.parent {
		p.widen(p.created, at)
	}
	s.touch()
}

// formatTime formats a time as the API does: UTC, to the millisecond.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// touch records a change. The caller holds s.mu for writing.
func (s *store) touch() {
	s.version++
	s.changed = true
}

// remove deletes the entry with that id and reports whether it existed.
func (s *store) remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.byID[id]
	if e == nil {
		return false
	}
	s.unindex(e)
	s.touch()
	return true
}

// unindex takes a live entry out of the library. The caller holds s.mu for
// writing.
func (s *store) unindex(e *entry) {
	s.mark(e)
	if i, ok := slices.BinarySearchFunc(e.folder.files, e, compareCreated); ok {
		e.folder.files = slices.Delete(e.folder.files, i, i+1)
	}
	if i, ok := slices.BinarySearchFunc(s.created, e, compareCreated); ok {
		s.created = slices.Delete(s.created, i, i+1)
	}
}

// mark flags a live entry deleted and takes it out of every index but the
// ordered lists of its folder and of the library. The caller holds s.mu for
// writing.
func (s *store) mark(e *entry) {
	delete(s.byID, e.id)
	e.flags |= flagDeleted
	for i, t := range e.tags {
		if !slices.Contains(e.tags[:i], t) {
			s.dropPosting(t, e)
		}
	}
	for p := e.folder; p != nil; p = p.parent {
		p.count--
	}
	if e.objType() == "file-version" {
		s.versions--
	}
}

// add puts a new object into the library: it is checked like a loaded one.
// The caller holds s.mu for writing.
func (s *store) add(obj []byte) (*entry, error) {
	var fs objFields
	if _, err := scanFields(obj, &fs); err != nil {
		return nil, err
	}
	e, err := s.dec.entry(obj, &fs, s.nextSeq, true)
	if err != nil {
		return nil, err
	}
	if _, dup := s.byID[e.id]; dup {
		*e = entry{flags: flagDeleted}
		return nil, fmt.Errorf("fileId %q is taken", e.id)
	}
	s.nextSeq++
	s.byID[e.id] = e
	s.created = insertOrdered(s.created, e, false)
	s.index(e, false)
	s.grown++
	s.touch()
	return e, nil
}

// byPath returns the live file at filePath, or nil.
func (s *store) byPath(filePath string) *entry {
	n := s.folders[folderOf(filePath)]
	if n == nil {
		return nil
	}
	for _, e := range n.files {
		if e.path == filePath && e.objType() != "file-version" {
			return e
		}
	}
	return nil
}

// removeFolder deletes every file in folder path (ending with "/") and
// below, and reports whether the folder held any.
func (s *store) removeFolder(path string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.folders[path]
	if n == nil || n.count == 0 || n == s.root {
		return false
	}
	for _, e := range s.created {
		if strings.HasPrefix(e.folder.path, path) {
			s.mark(e)
		}
	}
	gone := func(e *entry) bool { return e.has(flagDeleted) }
	s.created = slices.DeleteFunc(s.created, gone)
	for p, f := range s.folders {
		if strings.HasPrefix(p, path) {
			f.files = slices.DeleteFunc(f.files, gone)
		}
	}
	s.touch()
	return true
}
