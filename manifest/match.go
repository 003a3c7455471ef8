package manifest

import (
	"encoding/binary"
	"slices"
	"strings"
	"sync"

	"github.com/tagprune/tagprune/internal/sorted"
)

// Matcher is a list of rules compiled for matching files: the exact tags of
// every rule in one set, the globs in lists, the folders in an index. Finding
// the rules that select a file costs one lookup per folder of its path, and
// checking a tag costs one set lookup plus the globs and allowlists of those
// rules, whatever the number of rules and of exact forbidden tags.
//
// A Matcher is safe for concurrent use. It shares the rules given to Compile,
// which must not be modified afterwards.
type Matcher struct {
	rules   []Rule
	pols    []*Policy
	queries []string // distinct searchQueries, sorted
	queryOf []int32  // per rule: index into queries, or -1

	folders map[string]int32   // folder -> index into anchors
	anchors []anchor           // every folder of every rule's paths and exclusions
	idIn    map[string][]int32 // fileId -> rules listing it in FileIDs
	idOut   map[string][]int32 // fileId -> rules listing it in ExcludeFileIDs
	exact   map[string][]int32 // tag -> rules forbidding it by name (forbiddenTags, replaceTags keys)
	aiExact map[string][]int32 // AITag name -> rules forbidding it by name

	mu     sync.Mutex
	groups map[string]*Selection // interned by their rules
	byID   map[string]*Selection // by anchor and fileId, for files named by a rule
	none   *Selection
}

// anchor is a folder named by some rule, and the rules that select or
// exclude, through their folders, the files whose deepest such folder it is.
type anchor struct {
	folder  string
	in, out []int32 // rules naming exactly this folder in Paths, in ExcludePaths
	done    bool    // the fields below are computed
	sel     []int32 // rules with a folder at or above this one
	excl    []int32 // rules excluding a folder at or above this one
	base    *Selection
}

// Compile checks rules and compiles them for matching. Rules made by Load
// always compile; rules read from elsewhere (a plan file) may not, and the
// error is then an Errors naming each rule and problem: an empty or
// duplicate name, no paths nor fileIds, a folder path that is not
// normalised, a bad fileId, glob or searchQuery, a rule that forbids
// nothing, a replaceTags chain.
func Compile(rules []Rule) (*Matcher, error) {
	if errs := checkRules(rules); len(errs) > 0 {
		return nil, errs
	}
	m := &Matcher{
		rules:   rules,
		pols:    make([]*Policy, len(rules)),
		queryOf: make([]int32, len(rules)),
		folders: map[string]int32{},
		idIn:    map[string][]int32{},
		idOut:   map[string][]int32{},
		exact:   map[string][]int32{},
		aiExact: map[string][]int32{},
		groups:  map[string]*Selection{},
		byID:    map[string]*Selection{},
	}
	qs := map[string]bool{}
	for i := range rules {
		if q := rules[i].SearchQuery; q != "" {
			qs[q] = true
		}
	}
	m.queries = sorted.Keys(qs)
	for i := range rules {
		r := &rules[i]
		ri := int32(i)
		m.pols[i] = r.Policy()
		m.queryOf[i] = -1
		if r.SearchQuery != "" {
			q, _ := slices.BinarySearch(m.queries, r.SearchQuery)
			m.queryOf[i] = int32(q)
		}
		for _, p := range r.Paths {
			a := m.anchorOf(p)
			a.in = appendOnce(a.in, ri)
		}
		for _, p := range r.ExcludePaths {
			a := m.anchorOf(p)
			a.out = appendOnce(a.out, ri)
		}
		for _, id := range r.FileIDs {
			m.idIn[id] = appendOnce(m.idIn[id], ri)
		}
		for _, id := range r.ExcludeFileIDs {
			m.idOut[id] = appendOnce(m.idOut[id], ri)
		}
		for t := range m.pols[i].exact {
			m.exact[t] = appendOnce(m.exact[t], ri)
		}
		for t := range r.ReplaceTags {
			m.exact[t] = appendOnce(m.exact[t], ri)
		}
		for t := range m.pols[i].aiExact {
			m.aiExact[t] = appendOnce(m.aiExact[t], ri)
		}
	}
	m.none = m.intern(nil)
	return m, nil
}

// appendOnce appends i to a list built in ascending order of i, unless it is
// already its last element.
func appendOnce(list []int32, i int32) []int32 {
	if n := len(list); n > 0 && list[n-1] == i {
		return list
	}
	return append(list, i)
}

func (m *Matcher) anchorOf(folder string) *anchor {
	i, ok := m.folders[folder]
	if !ok {
		i = int32(len(m.anchors))
		m.folders[folder] = i
		m.anchors = append(m.anchors, anchor{folder: folder})
	}
	return &m.anchors[i]
}

// Rules returns the compiled rules, in the order given to Compile; rule
// indexes in a Selection or Result refer to it. The caller must not modify it.
func (m *Matcher) Rules() []Rule { return m.rules }

// Scope returns the rules whose paths or fileIds select the file with this id
// and path and that do not exclude it, whatever their searchQuery.
func (m *Matcher) Scope(fileID, filePath string) *Selection {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.scope(fileID, filePath)
}

// Select returns the rules that select the file with this id and path:
// those of Scope whose searchQuery is empty or, as matched reports, selects
// the file. matched is called once for each searchQuery of Scope's rules
// (Scope(...).Queries()); nil means that none selects it.
func (m *Matcher) Select(fileID, filePath string, matched func(query string) bool) *Selection {
	m.mu.Lock()
	s := m.scope(fileID, filePath)
	m.mu.Unlock()
	return m.filter(s, matched)
}

// scope is Scope with m.mu held.
func (m *Matcher) scope(fileID, filePath string) *Selection {
	ai := int32(-1)
	// The deepest rule folder that holds the file decides which rules
	// select it by folder: every other rule folder that holds it is above.
	for i := len(filePath) - 1; i >= 0; i-- {
		if filePath[i] != '/' {
			continue
		}
		if j, ok := m.folders[filePath[:i+1]]; ok {
			ai = j
			break
		}
	}
	var a *anchor
	base := m.none
	if ai >= 0 {
		a = &m.anchors[ai]
		m.settle(a)
		base = a.base
	}
	in, out := m.idIn[fileID], m.idOut[fileID]
	if len(in) == 0 && len(out) == 0 {
		return base
	}
	key := string(binary.AppendVarint(nil, int64(ai))) + fileID
	if s, ok := m.byID[key]; ok {
		return s
	}
	var sel, excl []int32
	if a != nil {
		sel, excl = a.sel, a.excl
	}
	rules := minus(minus(sorted.Union(sel, in), excl), out)
	s := m.intern(rules)
	m.byID[key] = s
	return s
}

// settle computes which rules select and exclude, by folder, the files
// whose deepest rule folder is a.
func (m *Matcher) settle(a *anchor) {
	if a.done {
		return
	}
	f := a.folder
	for i := len(f) - 1; i >= 0; i-- {
		if f[i] != '/' {
			continue
		}
		if j, ok := m.folders[f[:i+1]]; ok {
			b := &m.anchors[j]
			a.sel = sorted.Union(a.sel, b.in)
			a.excl = sorted.Union(a.excl, b.out)
		}
	}
	a.base = m.intern(minus(a.sel, a.excl))
	a.done = true
}

// filter returns the rules of s whose searchQuery is empty or matched.
func (m *Matcher) filter(s *Selection, matched func(string) bool) *Selection {
	if len(s.queries) == 0 {
		return s
	}
	var arr [32]byte
	mask := arr[:0]
	for _, q := range s.queries {
		bit := byte('0')
		if matched != nil && matched(m.queries[q]) {
			bit = '1'
		}
		mask = append(mask, bit)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if d, ok := s.byMask[string(mask)]; ok {
		return d
	}
	var rules []int32
	for _, r := range s.rules {
		q := m.queryOf[r]
		if q < 0 {
			rules = append(rules, r)
			continue
		}
		k, _ := slices.BinarySearch(s.queries, q)
		if mask[k] == '1' {
			rules = append(rules, r)
		}
	}
	d := m.intern(rules)
	if s.byMask == nil {
		s.byMask = map[string]*Selection{}
	}
	s.byMask[string(mask)] = d
	return d
}

// minus returns the elements of sorted a that are not in sorted b.
func minus(a, b []int32) []int32 {
	if len(b) == 0 || len(a) == 0 {
		return a
	}
	out := make([]int32, 0, len(a))
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j < len(b) && b[j] == x {
			continue
		}
		out = append(out, x)
	}
	return out
}

// intern returns the one Selection of these rules (sorted, unique),
// building it the first time. m.mu is held.
func (m *Matcher) intern(rules []int32) *Selection {
	var kb strings.Builder
	for _, r := range rules {
		kb.Write(binary.AppendUvarint(nil, uint64(r)))
	}
	key := kb.String()
	if s, ok := m.groups[key]; ok {
		return s
	}
	s := &Selection{m: m, rules: slices.Clip(rules), member: make([]uint64, (len(m.rules)+63)/64)}
	globs := map[string]int{}
	aiGlobs := map[string]int{}
	for _, r := range rules {
		s.member[r/64] |= 1 << (r % 64)
		p := m.pols[r]
		for _, g := range p.globs {
			s.globs = addGlob(s.globs, globs, g, r)
		}
		for _, g := range p.aiGlobs {
			s.aiGlobs = addGlob(s.aiGlobs, aiGlobs, g, r)
		}
		if p.allowlist {
			s.allow = append(s.allow, r)
		}
		if len(p.replace) > 0 {
			s.replace = true
		}
		if q := m.queryOf[r]; q >= 0 {
			s.queries = append(s.queries, q)
		}
	}
	slices.Sort(s.queries)
	s.queries = slices.Compact(s.queries)
	m.groups[key] = s
	return s
}

func addGlob(list []ruleGlob, index map[string]int, g string, r int32) []ruleGlob {
	if k, ok := index[g]; ok {
		list[k].rules = append(list[k].rules, r)
		return list
	}
	index[g] = len(list)
	return append(list, ruleGlob{pattern: g, rules: []int32{r}})
}

// Selection is the set of rules that select a file, compiled: it says which
// tags and AITags are forbidden for that file. Matcher.Select and
// Matcher.Scope return the same *Selection for the same set of rules, so two
// files with equal Selections have equal forbidden sets.
type Selection struct {
	m       *Matcher
	rules   []int32    // ascending
	member  []uint64   // bit r is set when rule r is in the selection
	globs   []ruleGlob // forbiddenTags globs of the rules, each once
	aiGlobs []ruleGlob // forbiddenAITags globs of the rules, each once
	allow   []int32    // rules with an allowlist
	replace bool       // some rule has replaceTags
	queries []int32    // the distinct searchQueries of the rules, as indexes into m.queries

	byMask map[string]*Selection // filtered by which queries match; guarded by m.mu

	sigOnce sync.Once
	sig     string
}

// ruleGlob is a glob and the rules that forbid what it matches.
type ruleGlob struct {
	pattern string
	rules   []int32
}

func (s *Selection) has(r int32) bool { return s.member[r/64]&(1<<(r%64)) != 0 }

// Rules returns the indexes of the selecting rules, ascending.
func (s *Selection) Rules() []int {
	out := make([]int, len(s.rules))
	for i, r := range s.rules {
		out[i] = int(r)
	}
	return out
}

// Len returns the number of selecting rules.
func (s *Selection) Len() int { return len(s.rules) }

// Queries returns the distinct searchQueries of the selecting rules, sorted.
func (s *Selection) Queries() []string {
	out := make([]string, len(s.queries))
	for i, q := range s.queries {
		out[i] = s.m.queries[q]
	}
	return out
}

// Forbids reports whether tag is forbidden for the file: some selecting
// rule lists it in forbiddenTags (exactly or by a glob), replaces it, or has
// an allowlist that it matches no entry of.
func (s *Selection) Forbids(tag string) bool {
	for _, r := range s.m.exact[tag] {
		if s.has(r) {
			return true
		}
	}
	for _, g := range s.globs {
		if globMatch(g.pattern, tag) {
			return true
		}
	}
	for _, r := range s.allow {
		if !s.m.pols[r].allows(tag) {
			return true
		}
	}
	return false
}

// ForbiddenBy returns the indexes of the selecting rules that forbid tag
// (as Forbids judges it), ascending; none when tag is not forbidden. It is
// for saying which rules are involved, not for the hot path: it tests every
// selecting rule.
func (s *Selection) ForbiddenBy(tag string) []int {
	var out []int
	for _, r := range s.rules {
		if s.m.pols[r].Forbids(tag) {
			out = append(out, int(r))
		}
	}
	return out
}

// ForbidsAITag reports whether an AITag of this name is forbidden for the
// file by some selecting rule's forbiddenAITags.
func (s *Selection) ForbidsAITag(name string) bool {
	for _, r := range s.m.aiExact[name] {
		if s.has(r) {
			return true
		}
	}
	for _, g := range s.aiGlobs {
		if globMatch(g.pattern, name) {
			return true
		}
	}
	return false
}

// Result is what a file must lose, and gain, under the selecting rules.
type Result struct {
	// Remove holds the file's tags that are forbidden for it, sorted and
	// without duplicates. It never holds the empty tag: the API refuses an
	// empty tag in a removeTags call, so a file's empty tag is left alone
	// even where a glob or an allowlist forbids it.
	Remove []string
	// RemoveBy holds the indexes of the selecting rules that forbid at
	// least one tag of Remove, ascending.
	RemoveBy []int
	// RemoveAITags holds the names of the file's AITags that are
	// forbidden, sorted and without duplicates (never the empty name).
	RemoveAITags []string
	// RemoveAIBy holds the rules that forbid at least one of RemoveAITags.
	RemoveAIBy []int
	// Renames holds, for every tag of Remove that a selecting rule
	// replaces, the replacement, sorted by Old then by rule.
	Renames []Rename
}

// Rename is one replaceTags entry that applies to a file.
type Rename struct {
	Old, New string
	Rule     int // index of the rule whose entry it is
}

// Evaluate returns what a file with these tags and AITag names must lose
// under the selecting rules. Its cost grows with the number of tags, and
// with the globs and allowlists of the selecting rules; not with the number
// of rules or of exact forbidden tags.
func (s *Selection) Evaluate(tags, aiTags []string) Result {
	var res Result
	if len(s.rules) == 0 {
		return res
	}
	var by []int32
	for _, t := range tags {
		if t == "" {
			continue
		}
		hit := false
		for _, r := range s.m.exact[t] {
			if s.has(r) {
				hit = true
				by = append(by, r)
				if new, ok := s.m.pols[r].replace[t]; ok {
					res.Renames = append(res.Renames, Rename{Old: t, New: new, Rule: int(r)})
				}
			}
		}
		for _, g := range s.globs {
			if globMatch(g.pattern, t) {
				hit = true
				by = append(by, g.rules...)
			}
		}
		for _, r := range s.allow {
			if !s.m.pols[r].allows(t) {
				hit = true
				by = append(by, r)
			}
		}
		if hit {
			res.Remove = append(res.Remove, t)
		}
	}
	res.Remove, res.RemoveBy = settleResult(res.Remove, by)
	by = by[:0]
	for _, n := range aiTags {
		if n == "" {
			continue
		}
		hit := false
		for _, r := range s.m.aiExact[n] {
			if s.has(r) {
				hit = true
				by = append(by, r)
			}
		}
		for _, g := range s.aiGlobs {
			if globMatch(g.pattern, n) {
				hit = true
				by = append(by, g.rules...)
			}
		}
		if hit {
			res.RemoveAITags = append(res.RemoveAITags, n)
		}
	}
	res.RemoveAITags, res.RemoveAIBy = settleResult(res.RemoveAITags, by)
	if len(res.Renames) > 1 {
		slices.SortFunc(res.Renames, func(a, b Rename) int {
			if c := strings.Compare(a.Old, b.Old); c != 0 {
				return c
			}
			return a.Rule - b.Rule
		})
		res.Renames = slices.Compact(res.Renames)
	}
	return res
}

// settleResult sorts and deduplicates a result's names and rules.
func settleResult(names []string, by []int32) ([]string, []int) {
	if len(names) == 0 {
		return nil, nil
	}
	slices.Sort(names)
	names = slices.Compact(names)
	slices.Sort(by)
	by = slices.Compact(by)
	rules := make([]int, len(by))
	for i, r := range by {
		rules[i] = int(r)
	}
	return names, rules
}

// Signature returns a string that is equal for two Selections whose rules
// say the same about tags: the sorted patterns of their forbiddenTags, the
// replaced tags, and the sorted allowlists. Equal signatures mean equal
// forbidden sets (the converse does not hold). AITags are not part of it.
func (s *Selection) Signature() string {
	s.sigOnce.Do(func() {
		var forb []string
		var allows []string
		for _, r := range s.rules {
			rule := &s.m.rules[r]
			forb = append(forb, rule.ForbiddenTags...)
			for old := range rule.ReplaceTags {
				forb = append(forb, old)
			}
			if len(rule.AllowedTags) > 0 {
				allows = append(allows, strings.Join(sorted.Unique(rule.AllowedTags), "\x00"))
			}
		}
		forb = sorted.Unique(forb)
		allows = sorted.Unique(allows)
		s.sig = strings.Join(forb, "\x00") + "\x01" + strings.Join(allows, "\x01")
	})
	return s.sig
}
