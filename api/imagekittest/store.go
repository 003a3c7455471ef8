package imagekittest

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// entry is one file of the store. The File is replaced, never edited in
// place, so a copy taken under the read lock stays consistent after it.
type entry struct {
	f       File
	seq     uint64 // library order
	folder  *folderNode
	deleted bool
}

// folderNode is one folder of the library, derived from file paths.
type folderNode struct {
	path     string // "/a/b/"; "/" for the root
	parent   *folderNode
	children map[string]*folderNode
	files    map[*entry]struct{}
	count    int       // files in this folder and below
	created  time.Time // earliest createdAt of a file that was ever below it
	updated  time.Time // latest updatedAt of a file that was ever below it
}

// store is the indexed in-memory library behind a Handler.
type store struct {
	mu       sync.RWMutex
	byID     map[string]*entry
	byTag    map[string]map[*entry]struct{} // tags and AITags names
	root     *folderNode
	folders  map[string]*folderNode
	created  []*entry // live entries by (createdAt, seq): the default order
	version  uint64   // bumped by every mutation that can reorder ASC_UPDATED
	versions int      // live entries of type file-version

	cacheMu sync.Mutex
	cache   map[string]cachedOrder // by sort field, ascending
}

type cachedOrder struct {
	version uint64
	order   []*entry
}

func newStore(files []File) (*store, error) {
	s := &store{
		byID:    make(map[string]*entry, len(files)),
		byTag:   make(map[string]map[*entry]struct{}),
		folders: make(map[string]*folderNode),
		created: make([]*entry, 0, len(files)),
		cache:   make(map[string]cachedOrder),
	}
	s.root = &folderNode{path: "/", children: map[string]*folderNode{}, files: map[*entry]struct{}{}}
	s.folders["/"] = s.root
	for i := range files {
		f := normalize(files[i])
		if f.FileID == "" {
			return nil, fmt.Errorf("file %d (%q) has an empty fileId: give every file a unique id", i, f.FilePath)
		}
		if _, dup := s.byID[f.FileID]; dup {
			return nil, fmt.Errorf("fileId %q appears more than once: file ids must be unique", f.FileID)
		}
		e := &entry{f: f, seq: uint64(i)}
		s.byID[f.FileID] = e
		for _, t := range indexTags(&e.f) {
			s.tagSet(t)[e] = struct{}{}
		}
		s.addToFolder(e)
		s.created = append(s.created, e)
		if f.Type == "file-version" {
			s.versions++
		}
	}
	slices.SortFunc(s.created, compareCreated)
	return s, nil
}

// normalize makes empty tag lists null, as the API serves them.
func normalize(f File) File {
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

// clone returns a copy of f that shares no slice or map with it.
func clone(f File) File {
	f.Tags = slices.Clone(f.Tags)
	f.AITags = slices.Clone(f.AITags)
	if f.CustomMetadata != nil {
		f.CustomMetadata = maps.Clone(f.CustomMetadata)
	}
	if f.CustomCoordinates != nil {
		c := *f.CustomCoordinates
		f.CustomCoordinates = &c
	}
	return f
}

// indexTags returns the distinct names under which f is found by `tags IN`.
func indexTags(f *File) []string {
	names := make([]string, 0, len(f.Tags)+len(f.AITags))
	names = append(names, f.Tags...)
	for _, t := range f.AITags {
		names = append(names, t.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// HasTag reports whether t is one of the file's tags or AITags names, which
// is what a `tags IN [...]` search matches.
func (f *File) HasTag(t string) bool {
	if slices.Contains(f.Tags, t) {
		return true
	}
	for _, a := range f.AITags {
		if a.Name == t {
			return true
		}
	}
	return false
}

func (s *store) tagSet(t string) map[*entry]struct{} {
	set := s.byTag[t]
	if set == nil {
		set = make(map[*entry]struct{})
		s.byTag[t] = set
	}
	return set
}

func (s *store) folderNode(path string) *folderNode {
	if n := s.folders[path]; n != nil {
		return n
	}
	parentPath := path[:strings.LastIndexByte(path[:len(path)-1], '/')+1]
	parent := s.folderNode(parentPath)
	n := &folderNode{path: path, parent: parent, children: map[string]*folderNode{}, files: map[*entry]struct{}{}}
	parent.children[path] = n
	s.folders[path] = n
	return n
}

func (s *store) addToFolder(e *entry) {
	n := s.folderNode(e.f.Folder())
	e.folder = n
	n.files[e] = struct{}{}
	for p := n; p != nil; p = p.parent {
		p.count++
		if p.created.IsZero() || e.f.CreatedAt.Before(p.created) {
			p.created = e.f.CreatedAt
		}
		if e.f.UpdatedAt.After(p.updated) {
			p.updated = e.f.UpdatedAt
		}
	}
}

func compareCreated(a, b *entry) int {
	if c := a.f.CreatedAt.Compare(b.f.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// sortSpec is one value of the sort parameter.
type sortSpec struct {
	field string // CREATED, NAME, UPDATED, SIZE, WIDTH, HEIGHT
	desc  bool
}

var sortFields = map[string]func(a, b *entry) int{
	"CREATED": compareCreated,
	"NAME":    func(a, b *entry) int { return cmp.Compare(a.f.Name, b.f.Name) },
	"UPDATED": func(a, b *entry) int { return a.f.UpdatedAt.Compare(b.f.UpdatedAt) },
	"SIZE":    func(a, b *entry) int { return cmp.Compare(a.f.Size, b.f.Size) },
	"WIDTH":   func(a, b *entry) int { return cmp.Compare(a.f.Width, b.f.Width) },
	"HEIGHT":  func(a, b *entry) int { return cmp.Compare(a.f.Height, b.f.Height) },
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
	return sortSpec{}, fmt.Errorf("sort %q is not supported: use ASC_ or DESC_ with CREATED, NAME, UPDATED, SIZE, WIDTH or HEIGHT", v)
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

// ascending returns every entry in the ascending order of field; entries
// of other fields than CREATED may be deleted and must be skipped. The
// caller holds s.mu for reading.
func (s *store) ascending(field string) []*entry {
	if field == "CREATED" {
		return s.created
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	c, ok := s.cache[field]
	if ok && (field != "UPDATED" || c.version == s.version) {
		return c.order
	}
	order := slices.Clone(s.created)
	asc := sortSpec{field: field}
	slices.SortFunc(order, asc.compare)
	s.cache[field] = cachedOrder{version: s.version, order: order}
	return order
}

// listFilter is what GET /v1/files asks for, apart from paging.
type listFilter struct {
	query    *Query
	folder   string // the path parameter: exactly this folder, when set
	fileType string // "", "all", "image" or "non-image"
	typ      string // file type wanted when there is no query: "file" or "file-version"
}

// everyFile reports whether every live file of type "file" matches.
func (lf *listFilter) everyFile() bool {
	return lf.query == nil && lf.folder == "" && lf.typ == "file" && (lf.fileType == "" || lf.fileType == "all")
}

func (lf *listFilter) match(e *entry) bool {
	f := &e.f
	if lf.query == nil && f.Type != lf.typ {
		return false
	}
	if lf.query != nil && f.Type == "file-version" {
		// Versions are only listed with type=file-version and no query.
		return false
	}
	if lf.folder != "" && e.folder.path != lf.folder {
		return false
	}
	switch lf.fileType {
	case "image", "non-image":
		if f.FileType != lf.fileType {
			return false
		}
	}
	return lf.query == nil || lf.query.Match(f)
}

// candidates returns the smallest indexed set that holds every match, as
// lists sorted by created order whose union is that set, or false when no
// index narrows the search. The lists may hold deleted entries and entries
// that no longer match: the caller filters them. The caller holds s.mu.
func (s *store) candidates(lf *listFilter) ([][]*entry, bool) {
	type source struct {
		size  int
		lists func() [][]*entry
	}
	var sources []source
	if lf.folder != "" {
		n := s.folders[lf.folder]
		if n == nil {
			return nil, true
		}
		sources = append(sources, source{len(n.files), func() [][]*entry { return [][]*entry{s.folderOrder(n, false)} }})
	}
	if lf.query != nil {
		h := lf.query.Hints()
		if h.ByID {
			ids := h.IDs
			sources = append(sources, source{len(ids), func() [][]*entry {
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
				size += len(s.byTag[t])
			}
			tags := h.Tags
			sources = append(sources, source{size, func() [][]*entry {
				lists := make([][]*entry, 0, len(tags))
				for _, t := range tags {
					if len(s.byTag[t]) > 0 {
						lists = append(lists, s.tagOrder(t))
					}
				}
				return lists
			}})
		}
		if h.ByFolder {
			path := h.Folder
			if !strings.HasSuffix(path, "/") {
				path += "/"
			}
			n := s.folders[path]
			if n == nil {
				return nil, true
			}
			size := len(n.files)
			if h.Subtree {
				size = n.count
			}
			sources = append(sources, source{size, func() [][]*entry { return [][]*entry{s.folderOrder(n, h.Subtree)} }})
		}
	}
	if len(sources) == 0 {
		return nil, false
	}
	best := slices.MinFunc(sources, func(a, b source) int { return cmp.Compare(a.size, b.size) })
	// A set that holds most of the library is cheaper to walk in order.
	if best.size*2 > len(s.created) && best.size > 4096 {
		return nil, false
	}
	return best.lists(), true
}

// tagOrder returns the files carrying tag t (in tags or AITags names) in
// created order, from a cache. Removing a tag leaves the cached list a
// superset, which is fine for candidates; adding one drops it (dropOrder).
func (s *store) tagOrder(t string) []*entry {
	return s.cachedOrder("tag:"+t, func() []*entry { return slices.Collect(maps.Keys(s.byTag[t])) })
}

// folderOrder returns the files in folder n, or under it, in created order,
// from a cache. Folders only lose files, so a cached list stays a superset.
func (s *store) folderOrder(n *folderNode, subtree bool) []*entry {
	if !subtree {
		return s.cachedOrder("folder:"+n.path, func() []*entry { return slices.Collect(maps.Keys(n.files)) })
	}
	return s.cachedOrder("subtree:"+n.path, func() []*entry { return n.subtree(make([]*entry, 0, n.count)) })
}

// cachedOrder returns the cached list under key, building it with collect
// and sorting it by created order when absent. The caller holds s.mu.
func (s *store) cachedOrder(key string, collect func() []*entry) []*entry {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if c, ok := s.cache[key]; ok {
		return c.order
	}
	order := collect()
	slices.SortFunc(order, compareCreated)
	s.cache[key] = cachedOrder{order: order}
	return order
}

// dropOrder forgets the cached list under key. The caller holds s.mu for
// writing.
func (s *store) dropOrder(key string) {
	s.cacheMu.Lock()
	delete(s.cache, key)
	s.cacheMu.Unlock()
}

func (n *folderNode) subtree(out []*entry) []*entry {
	for e := range n.files {
		out = append(out, e)
	}
	for _, c := range n.children {
		out = c.subtree(out)
	}
	return out
}

// walk calls visit for each distinct entry of the lists, each sorted by
// created order, in created order (or its reverse), until visit returns false.
func walk(lists [][]*entry, desc bool, visit func(*entry) bool) {
	if len(lists) == 1 {
		l := lists[0]
		if desc {
			for i := len(l) - 1; i >= 0 && visit(l[i]); i-- {
			}
		} else {
			for i := 0; i < len(l) && visit(l[i]); i++ {
			}
		}
		return
	}
	pos := make([]int, len(lists))
	if desc {
		for i, l := range lists {
			pos[i] = len(l) - 1
		}
	}
	var last *entry
	for {
		best := -1
		for i, l := range lists {
			if pos[i] < 0 || pos[i] >= len(l) {
				continue
			}
			if best < 0 {
				best = i
				continue
			}
			c := compareCreated(l[pos[i]], lists[best][pos[best]])
			if (c < 0) != desc && c != 0 {
				best = i
			}
		}
		if best < 0 {
			return
		}
		e := lists[best][pos[best]]
		if desc {
			pos[best]--
		} else {
			pos[best]++
		}
		if e == last {
			continue
		}
		last = e
		if !visit(e) {
			return
		}
	}
}

// listFiles returns the page [skip, skip+limit) of the files that match lf
// in the order sp.
func (s *store) listFiles(lf *listFilter, sp sortSpec, skip, limit int) []File {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var page []*entry
	skipped := 0
	visit := func(e *entry) bool {
		if e.deleted || !lf.match(e) {
			return true
		}
		if skipped < skip {
			skipped++
			return true
		}
		page = append(page, e)
		return len(page) < limit
	}
	lists, narrowed := s.candidates(lf)
	switch {
	case narrowed && sp.field == "CREATED":
		walk(lists, sp.desc, visit)
	case narrowed:
		var matches []*entry
		walk(lists, false, func(e *entry) bool {
			if !e.deleted && lf.match(e) {
				matches = append(matches, e)
			}
			return true
		})
		slices.SortFunc(matches, sp.compare)
		from := min(skip, len(matches))
		page = matches[from:min(len(matches), skip+limit)]
	case sp.field == "CREATED" && lf.everyFile() && s.versions == 0:
		// Every live entry matches: page by index.
		n := len(s.created)
		from, to := min(skip, n), min(skip+limit, n)
		if sp.desc {
			for i := n - 1 - from; i >= n-to; i-- {
				page = append(page, s.created[i])
			}
		} else {
			page = s.created[from:to]
		}
	default:
		walk([][]*entry{s.ascending(sp.field)}, sp.desc, visit)
	}
	out := make([]File, len(page))
	for i, e := range page {
		out[i] = e.f
	}
	return out
}

// folderObject is a folder as GET /v1/files serves it with type=folder or all.
type folderObject struct {
	Type           string         `json:"type"`
	FolderID       string         `json:"folderId"`
	Name           string         `json:"name"`
	FolderPath     string         `json:"folderPath"`
	CustomMetadata map[string]any `json:"customMetadata"`
	CreatedAt      time.Time      `json:"createdAt"`
	UpdatedAt      time.Time      `json:"updatedAt"`
}

// listFolders returns the folders that hold files: the direct subfolders of
// parent when it is set, else every folder, sorted by path (or by name when
// sp sorts by name).
func (s *store) listFolders(parent string, sp sortSpec) []folderObject {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var nodes []*folderNode
	if parent != "" {
		if n := s.folders[parent]; n != nil {
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
	out := make([]folderObject, len(nodes))
	for i, n := range nodes {
		trimmed := strings.TrimSuffix(n.path, "/")
		out[i] = folderObject{
			Type:           "folder",
			FolderID:       folderID(n.path),
			Name:           trimmed[strings.LastIndexByte(trimmed, '/')+1:],
			FolderPath:     trimmed,
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

// get returns a copy of the file with that id.
func (s *store) get(id string) (File, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.byID[id]
	if e == nil {
		return File{}, false
	}
	return e.f, true
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

// tagUpdate is the result of a removeTags or addTags call that found every file.
type tagUpdate struct {
	Updated []string    // successfullyUpdatedFileIds
	Failed  []fileError // left unchanged
}

type fileError struct {
	FileID string `json:"fileId"`
	Error  string `json:"error"`
}

// updateTags removes (or adds) tags on the files ids, except those for which
// fail reports an error message. It changes nothing and returns the missing
// ids when any id is unknown. The whole call is atomic.
func (s *store) updateTags(ids, tags []string, add bool, now time.Time, fail func(id string) string) (tagUpdate, []string) {
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
		e := s.byID[id]
		var next []string
		if add {
			next = slices.Clone(e.f.Tags)
			for _, t := range tags {
				if !slices.Contains(next, t) {
					next = append(next, t)
				}
			}
		} else {
			next = slices.DeleteFunc(slices.Clone(e.f.Tags), func(t string) bool { return slices.Contains(tags, t) })
		}
		if slices.Equal(next, e.f.Tags) {
			continue
		}
		before := indexTags(&e.f)
		f := e.f
		f.Tags = next
		f.UpdatedAt = now
		e.f = normalize(f)
		after := indexTags(&e.f)
		for _, t := range before {
			if _, ok := slices.BinarySearch(after, t); !ok {
				delete(s.byTag[t], e)
				if len(s.byTag[t]) == 0 {
					delete(s.byTag, t)
				}
			}
		}
		for _, t := range after {
			if _, ok := slices.BinarySearch(before, t); !ok {
				s.dropOrder("tag:" + t)
			}
			s.tagSet(t)[e] = struct{}{}
		}
		for p := e.folder; p != nil; p = p.parent {
			if now.After(p.updated) {
				p.updated = now
			}
		}
		s.version++
	}
	return res, nil
}

// remove deletes the file with that id and reports whether it existed.
func (s *store) remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.byID[id]
	if e == nil {
		return false
	}
	delete(s.byID, id)
	for _, t := range indexTags(&e.f) {
		delete(s.byTag[t], e)
		if len(s.byTag[t]) == 0 {
			delete(s.byTag, t)
		}
	}
	delete(e.folder.files, e)
	for p := e.folder; p != nil; p = p.parent {
		p.count--
	}
	if i, ok := slices.BinarySearchFunc(s.created, e, compareCreated); ok {
		s.created = slices.Delete(s.created, i, i+1)
	}
	e.deleted = true
	if e.f.Type == "file-version" {
		s.versions--
	}
	s.version++
	return true
}

// files returns a deep copy of every file in library order.
func (s *store) files() []File {
	s.mu.RLock()
	defer s.mu.RUnlock()
	entries := slices.Clone(s.created)
	slices.SortFunc(entries, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]File, len(entries))
	for i, e := range entries {
		out[i] = clone(e.f)
	}
	return out
}
