package imagekittest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// sortSpec is one value of the sort parameter.
type sortSpec struct {
	field string // CREATED, NAME, UPDATED, SIZE, WIDTH, HEIGHT, DURATION
	desc  bool
}

var sortFields = map[string]func(a, b *entry) int{
	"CREATED": compareCreated,
	"NAME":    func(a, b *entry) int { return cmp.Compare(a.name, b.name) },
	"UPDATED": func(a, b *entry) int {
		return cmp.Or(cmp.Compare(a.updated, b.updated), cmp.Compare(a.updatedN, b.updatedN))
	},
	"SIZE":     func(a, b *entry) int { return cmp.Compare(a.size, b.size) },
	"WIDTH":    func(a, b *entry) int { return cmp.Compare(a.width, b.width) },
	"HEIGHT":   func(a, b *entry) int { return cmp.Compare(a.height, b.height) },
	"DURATION": func(a, b *entry) int { return cmp.Compare(a.duration, b.duration) },
}

// parseSort reads the sort parameter; "" is ASC_CREATED.
func parseSort(v string) (sortSpec, error) {
	if v == "" {
		return sortSpec{field: "CREATED"}, nil
	}
	dir, field, ok := strings.Cut(v, "_")
	if ok && (dir == "ASC" || dir == "DESC") {
		if _, known := sortFields[field]; known {
			return sortSpec{field: field, desc: dir == "DESC"}, nil
		}
	}
	return sortSpec{}, fmt.Errorf("sort %q is not supported: use ASC_ or DESC_ with CREATED, NAME, UPDATED, SIZE, WIDTH, HEIGHT or DURATION", v)
}

func (sp sortSpec) String() string {
	if sp.desc {
		return "DESC_" + sp.field
	}
	return "ASC_" + sp.field
}

// compare orders two entries by the sort, ties broken by created order, so
// that a DESC sort is exactly the reverse of its ASC sort.
func (sp sortSpec) compare(a, b *entry) int {
	c := sortFields[sp.field](a, b)
	if c == 0 {
		c = compareCreated(a, b)
	}
	if sp.desc {
		return -c
	}
	return c
}

// listFilter is what GET /v1/files asks for, apart from paging.
type listFilter struct {
	query    *Query
	folder   string // the path parameter: exactly this folder, when set
	fileType string // "", "all", "image" or "non-image"
	// What kinds of object are listed. Without a query, the type parameter
	// decides; with one, files always are, and versions and folders when
	// the query names a type or the handler lists them in every search.
	files, versions, folders bool
}

// key identifies the listing for the page cursors.
func (lf *listFilter) key(sp sortSpec) string {
	q := ""
	if lf.query != nil {
		q = lf.query.src
	}
	return fmt.Sprintf("%s|%s|%s|%v%v|%s", sp, lf.folder, lf.fileType, lf.files, lf.versions, q)
}

// everyFile reports whether every live file of type "file" matches and
// nothing else does.
func (lf *listFilter) everyFile() bool {
	return lf.query == nil && lf.folder == "" && lf.files && !lf.versions && (lf.fileType == "" || lf.fileType == "all")
}

func (lf *listFilter) match(e *entry) bool {
	if e.has(flagDeleted) {
		return false
	}
	if e.objType() == "file-version" {
		if !lf.versions {
			return false
		}
	} else if !lf.files {
		return false
	}
	if lf.folder != "" && e.folder.path != lf.folder {
		return false
	}
	switch lf.fileType {
	case "image", "non-image":
		if e.kind.fileType != lf.fileType {
			return false
		}
	}
	return lf.query == nil || lf.query.root.match(e)
}

// source is where a listing's files come from: lists in created order
// whose union holds every match (merged while walked), or one list already
// in the listing's order.
type source struct {
	lists [][]*entry
	desc  bool // walk the lists backwards
}

// source picks the cheapest lists that hold every file the listing can
// match. The caller holds s.mu.
func (s *store) source(lf *listFilter, sp sortSpec) source {
	lists, narrowed := s.candidates(lf)
	switch {
	case narrowed && sp.field == "CREATED":
		return source{lists: lists, desc: sp.desc}
	case narrowed:
		// Few candidates: sort the matches once; the cursor keeps the list.
		var matches []*entry
		w := newWalker(source{lists: lists}, nil)
		for e := w.next(); e != nil; e = w.next() {
			if lf.match(e) {
				matches = append(matches, e)
			}
		}
		slices.SortFunc(matches, sp.compare)
		return source{lists: [][]*entry{matches}}
	default:
		return source{lists: [][]*entry{s.ascending(sp.field)}, desc: sp.desc}
	}
}

// candidates returns the smallest indexed set that holds every match, as
// lists sorted by created order whose union is that set, or false when no
// index narrows the search. The lists may hold deleted entries and entries
// that no longer match: the caller filters them. The caller holds s.mu.
func (s *store) candidates(lf *listFilter) ([][]*entry, bool) {
	type option struct {
		size  int
		lists func() [][]*entry
	}
	var options []option
	if lf.folder != "" {
		n := s.folders[lf.folder]
		if n == nil {
			return nil, true
		}
		options = append(options, option{len(n.files), func() [][]*entry { return [][]*entry{n.files} }})
	}
	if lf.query != nil {
		h := lf.query.hints
		if h.ByID {
			ids := h.IDs
			options = append(options, option{len(ids), func() [][]*entry {
				var out []*entry
				for _, id := range ids {
					if e := s.byID[id]; e != nil && !slices.Contains(out, e) {
						out = append(out, e)
					}
				}
				slices.SortFunc(out, compareCreated)
				return [][]*entry{out}
			}})
		}
		if h.ByTag {
			size := 0
			for _, t := range h.Tags {
				size += s.tagCount(t)
			}
			tags := h.Tags
			options = append(options, option{size, func() [][]*entry {
				lists := make([][]*entry, 0, len(tags))
				for _, t := range tags {
					if p := s.tags[t]; p != nil {
						lists = append(lists, p.list)
					}
				}
				return lists
			}})
		}
		if h.ByFolder {
			n := s.folders[h.Folder]
			if n == nil {
				return nil, true
			}
			if h.Subtree {
				options = append(options, option{n.count, func() [][]*entry { return [][]*entry{s.subtree(n)} }})
			} else {
				options = append(options, option{len(n.files), func() [][]*entry { return [][]*entry{n.files} }})
			}
		}
	}
	if len(options) == 0 {
		return nil, false
	}
	best := slices.MinFunc(options, func(a, b option) int { return cmp.Compare(a.size, b.size) })
	return best.lists(), true
}

// walker yields the distinct entries of a source in order, and can be
// copied to resume later from where it stopped.
type walker struct {
	lists [][]*entry
	desc  bool
	pos   []int
	last  *entry
}

func newWalker(src source, pos []int) *walker {
	w := &walker{lists: src.lists, desc: src.desc, pos: pos}
	if w.pos == nil {
		w.pos = make([]int, len(src.lists))
		if src.desc {
			for i, l := range src.lists {
				w.pos[i] = len(l) - 1
			}
		}
	}
	return w
}

func (w *walker) clone() *walker {
	c := *w
	c.pos = slices.Clone(w.pos)
	return &c
}

// next returns the next entry, or nil at the end.
func (w *walker) next() *entry {
	if len(w.lists) == 1 {
		l, i := w.lists[0], w.pos[0]
		if i < 0 || i >= len(l) {
			return nil
		}
		if w.desc {
			w.pos[0]--
		} else {
			w.pos[0]++
		}
		return l[i]
	}
	for {
		best := -1
		for i, l := range w.lists {
			if w.pos[i] < 0 || w.pos[i] >= len(l) {
				continue
			}
			if best < 0 {
				best = i
				continue
			}
			c := compareCreated(l[w.pos[i]], w.lists[best][w.pos[best]])
			if c != 0 && (c < 0) != w.desc {
				best = i
			}
		}
		if best < 0 {
			return nil
		}
		e := w.lists[best][w.pos[best]]
		if w.desc {
			w.pos[best]--
		} else {
			w.pos[best]++
		}
		if e != w.last {
			w.last = e
			return e
		}
	}
}

// cursorCache remembers where recent pages of recent listings ended, so
// that the next page of a listing starts there instead of walking past
// skip matches again. A cursor is good for the store version it was made
// at: any change to the library voids them all, and the next page walks
// from the start as the API would.
type cursorCache struct {
	mu    sync.Mutex
	byKey map[string]*cursors
	clock uint64
}

type cursors struct {
	version uint64
	used    uint64
	src     source
	ends    []cursor // sorted by end
}

type cursor struct {
	end int // matches before the walker's position
	w   *walker
}

const (
	maxCursorKeys = 16 // listings remembered
	maxCursorEnds = 8  // pages remembered per listing
)

// resume returns a walker positioned after the most matches at most skip,
// and that number, or nil when no cursor of this version fits.
func (c *cursorCache) resume(key string, version uint64, skip int) (source, *walker, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := c.byKey[key]
	if cs == nil || cs.version != version {
		return source{}, nil, 0
	}
	c.clock++
	cs.used = c.clock
	best := -1
	for i, cur := range cs.ends {
		if cur.end <= skip {
			best = i
		}
	}
	if best < 0 {
		return cs.src, nil, 0
	}
	return cs.src, cs.ends[best].w.clone(), cs.ends[best].end
}

// save remembers that the listing's matches before w's position number end.
func (c *cursorCache) save(key string, version uint64, src source, end int, w *walker) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey == nil {
		c.byKey = make(map[string]*cursors)
	}
	c.clock++
	cs := c.byKey[key]
	if cs == nil || cs.version != version {
		if cs == nil && len(c.byKey) >= maxCursorKeys {
			var oldest string
			var used uint64
			for k, v := range c.byKey {
				if oldest == "" || v.used < used {
					oldest, used = k, v.used
				}
			}
			delete(c.byKey, oldest)
		}
		cs = &cursors{version: version, src: src}
		c.byKey[key] = cs
	}
	cs.used = c.clock
	i, found := slices.BinarySearchFunc(cs.ends, end, func(cur cursor, end int) int { return cmp.Compare(cur.end, end) })
	if found {
		cs.ends[i].w = w
		return
	}
	cs.ends = slices.Insert(cs.ends, i, cursor{end: end, w: w})
	if len(cs.ends) > maxCursorEnds {
		cs.ends = cs.ends[1:] // the earliest pages are the least likely to come again
	}
}

// listFiles calls emit, under the store's read lock, with each entry of the
// page [skip, skip+limit) of the files that match lf in the order sp.
// Paging through a listing page after page costs the same for every page,
// whatever its skip: each page resumes where the previous one ended.
func (s *store) listFiles(lf *listFilter, sp sortSpec, skip, limit int, emit func(*entry)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sp.field == "CREATED" && lf.everyFile() && s.versions == 0 {
		// Every live entry matches: page by index.
		n := len(s.created)
		from, to := min(skip, n), min(skip+limit, n)
		if !sp.desc {
			for _, e := range s.created[from:to] {
				emit(e)
			}
			return
		}
		for i := n - 1 - from; i >= n-to; i-- {
			emit(s.created[i])
		}
		return
	}
	key := lf.key(sp)
	src, w, done := s.cursors.resume(key, s.version, skip)
	if src.lists == nil {
		src = s.source(lf, sp)
	}
	if w == nil {
		w = newWalker(src, nil)
	}
	for done < skip {
		e := w.next()
		if e == nil {
			break
		}
		if lf.match(e) {
			done++
		}
	}
	n := 0
	for n < limit {
		e := w.next()
		if e == nil {
			break
		}
		if lf.match(e) {
			emit(e)
			n++
		}
	}
	if done == skip {
		s.cursors.save(key, s.version, src, skip+n, w)
	}
}

// folderObject is a folder as GET /v1/files serves it.
type folderObject struct {
	Type           string         `json:"type"`
	FolderID       string         `json:"folderId"`
	Name           string         `json:"name"`
	FolderPath     string         `json:"folderPath"`
	CustomMetadata map[string]any `json:"customMetadata"`
	CreatedAt      time.Time      `json:"createdAt"`
	UpdatedAt      time.Time      `json:"updatedAt"`
}

// folderKind is the kind of every folder's entry.
var folderKind = &fileKind{typ: "folder"}

// listFolders returns the folders that hold files and match lf: the direct
// subfolders of lf.folder when it is set, else every folder, sorted by path
// (or by name when sp sorts by name).
func (s *store) listFolders(lf *listFilter, sp sortSpec) []folderObject {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var nodes []*folderNode
	if lf.folder != "" {
		if n := s.folders[lf.folder]; n != nil {
			for _, c := range n.children {
				if c.count > 0 {
					nodes = append(nodes, c)
				}
			}
		}
	} else {
		for _, n := range s.folders {
			if n != s.root && n.count > 0 {
				nodes = append(nodes, n)
			}
		}
	}
	if lf.query != nil {
		nodes = slices.DeleteFunc(nodes, func(n *folderNode) bool { return !lf.query.root.match(&n.ent) })
	}
	out := make([]folderObject, len(nodes))
	for i, n := range nodes {
		out[i] = folderObject{
			Type:           "folder",
			FolderID:       n.id,
			Name:           n.name,
			FolderPath:     strings.TrimSuffix(n.path, "/"),
			CustomMetadata: map[string]any{},
			CreatedAt:      n.created,
			UpdatedAt:      n.updated,
		}
	}
	slices.SortFunc(out, func(a, b folderObject) int {
		c := cmp.Compare(a.FolderPath, b.FolderPath)
		if sp.field == "NAME" {
			c = cmp.Or(cmp.Compare(a.Name, b.Name), c)
		}
		if sp.desc {
			return -c
		}
		return c
	})
	return out
}

// folderID derives a stable 24-hex-digit id from a folder path (FNV-1a).
func folderID(path string) string {
	var h1, h2 uint64 = 14695981039346656037, 1099511628211
	for i := 0; i < len(path); i++ {
		h1 ^= uint64(path[i])
		h1 *= 1099511628211
		h2 = h2*31 + uint64(path[i])
	}
	return fmt.Sprintf("%016x%08x", h1, uint32(h2))
}
