package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/manifest"
)

// maxURL is the longest list URL MakePlan and CheckPlan build, escaping
// included; urlReserve of it is kept for the base URL and the other query
// parameters, the rest is for the escaped searchQuery.
const (
	maxURL         = 8 << 10
	urlReserve     = 1 << 10
	maxQueryEscLen = maxURL - urlReserve
)

// MakePlan reads what the rules need from lib (observe), computes remove(f)
// for every file (diff) and groups the removals into calls (batch).
//
// Observe: rules with paths are grouped by searchQuery, and within a
// searchQuery the rules whose folders overlap (one folder is a prefix of
// another, directly or through other rules) share one listing over their
// outermost folders. A listing whose rules have only exact tags asks for
// `path : "/x/" AND tags IN [...]` with the union of their tags; one with a
// glob reads its folders in full. fileIds are read with `id IN [...]`
// searches, one set per searchQuery. Every URL is kept under 8 KB: a long
// list of folders is split into several listings, each over different
// folders, and a tag list too long for one URL is dropped (the folders are
// then read in full) rather than split, since splitting it would read a file
// that carries tags of two parts twice. Every answer is only a candidate:
// each file's own tags and each rule's paths, fileIds and exclusions are
// checked locally (the API's `tags IN` matches AITags too), and each rule
// evaluates a file once: in its path listing when the file is under its
// paths, else in its fileIds listing.
//
// So no file is read twice in one plan, with two exceptions that only the
// API could resolve: a file named by a fileIds rule that is also under the
// paths of a listing may be returned by both searches (its path is unknown
// before it is read, and searchQuery cannot exclude a folder with its
// subfolders), and rules with different searchQueries over overlapping
// folders read those folders once per searchQuery (only the API can
// evaluate each query). A library that changes while it is paged may also
// shift a file from one page to the next.
//
// Memory: pages are streamed and only the files to change are kept, so a
// full scan costs memory in proportion to the changes, not to the library.
// No set of every id seen is kept, so Summary.FilesScanned counts file objects
// read, and a file that several listings (or a shifting page) return is
// counted each time.
func MakePlan(ctx context.Context, lib Library, rules []manifest.Rule, opts PlanOptions) (*Plan, error) {
	return MakePlanRules(ctx, lib, RulesFromManifest(rules), opts)
}

// MakePlanRules is MakePlan over rules already converted to PlanRules.
func MakePlanRules(ctx context.Context, lib Library, rules []PlanRule, opts PlanOptions) (*Plan, error) {
	if opts.BatchSize < 0 || opts.BatchSize > api.MaxRemoveTagsFiles {
		return nil, fmt.Errorf("batch size %d is out of range: use 1..%d", opts.BatchSize, api.MaxRemoveTagsFiles)
	}
	listings, err := planListings(rules)
	if err != nil {
		return nil, err
	}
	o := observer{rules: rules, found: map[string]*found{}, progress: opts.Progress}
	for _, l := range listings {
		if err := o.read(ctx, lib, l); err != nil {
			return nil, err
		}
	}
	p := &Plan{
		FormatVersion: FormatVersion,
		Tool:          opts.Tool,
		CreatedAt:     time.Now().UTC().Truncate(time.Second),
		RulesDigest:   RulesDigest(rules),
		Rules:         rules,
		Changes:       o.changes(),
	}
	if p.Rules == nil {
		p.Rules = []PlanRule{}
	}
	p.Batches = makeBatches(p.Changes, rules, opts.BatchSize)
	if p.Batches == nil {
		p.Batches = []Batch{}
	}
	p.Summary = planSummary(p, o.scanned)
	if s, ok := lib.(StatsSource); ok {
		addStats(&p.Summary, s.Stats())
	}
	return p, nil
}

// planSummary returns the counts of a plan.
func planSummary(p *Plan, scanned int) Summary {
	s := Summary{FilesScanned: scanned, FilesToChange: len(p.Changes), RemoveTagsCalls: len(p.Batches)}
	for _, c := range p.Changes {
		s.TagsToRemove += len(c.RemoveTags)
	}
	return s
}

// addStats copies a library's request counts into a summary.
func addStats(s *Summary, st api.Stats) {
	s.APICalls = APICalls{List: int(st.List), Details: int(st.Details), RemoveTags: int(st.RemoveTags)}
	s.Retries = int(st.Retries)
	s.RateLimited = int(st.RateLimited)
}

// listing is one search MakePlan runs, and the rules it evaluates on the
// files it returns (all of them share its searchQuery). byID marks a
// search by `id IN [...]`; the others search folders.
type listing struct {
	query string
	rules []int
	byID  bool
}

// planListings returns the searches that read every file a rule could
// change, in a deterministic order: the folder searches by searchQuery and
// folder, then the fileIds searches by searchQuery.
func planListings(rules []PlanRule) ([]listing, error) {
	type idGroup struct {
		ids, tags []string
		rules     []int
		glob      bool
	}
	byQuery := map[string][]int{}
	idGroups := map[string]*idGroup{}
	for i := range rules {
		r := &rules[i]
		if len(r.ForbiddenTags) == 0 {
			return nil, fmt.Errorf("rule %q forbids no tags: give it at least one forbiddenTags entry", r.Name)
		}
		if len(r.Paths) > 0 {
			byQuery[r.SearchQuery] = append(byQuery[r.SearchQuery], i)
		}
		if len(r.FileIDs) > 0 {
			g := idGroups[r.SearchQuery]
			if g == nil {
				g = &idGroup{}
				idGroups[r.SearchQuery] = g
			}
			g.ids = append(g.ids, r.FileIDs...)
			g.rules = append(g.rules, i)
			g.tags = append(g.tags, r.exactTags()...)
			g.glob = g.glob || r.hasGlob()
		}
	}
	var out []listing
	for _, query := range sortedKeys(byQuery) {
		for _, sc := range mergeScopes(rules, byQuery[query]) {
			tags := sc.tags
			if sc.glob {
				tags = nil
			}
			qs, err := pathQueries(sc.folders, tags, query)
			if err != nil {
				return nil, err
			}
			for _, q := range qs {
				out = append(out, listing{query: q, rules: sc.rules})
			}
		}
	}
	for _, query := range sortedKeys(idGroups) {
		g := idGroups[query]
		var tail []string
		if !g.glob {
			if tc := inClause("tags", sortedUnique(g.tags)); escLen(tc) <= maxQueryEscLen/4 {
				tail = append(tail, tc)
			}
		}
		if query != "" {
			tail = append(tail, "("+query+")")
		}
		qs, err := idQueries(sortedUnique(g.ids), tail)
		if err != nil {
			return nil, err
		}
		for _, q := range qs {
			out = append(out, listing{query: q, rules: g.rules, byID: true})
		}
	}
	return out, nil
}

// scope is what one folder listing reads: the outermost folders of rules
// that share a searchQuery and whose folders overlap, and those rules.
type scope struct {
	folders []string // outermost folders, sorted; none is under another
	rules   []int    // indexes into the rules, ascending
	tags    []string // union of the rules' exact tags, sorted
	glob    bool     // some rule has a glob: the folders are read in full
}

// mergeScopes merges the rules at idx (all with paths and one searchQuery)
// into scopes, so that no folder is under two scopes. Two rules share a
// scope when a folder of one is a folder of the other, or under it, or
// above it, and merging is repeated until no two scopes overlap (a merged
// scope may overlap one that neither part did).
//
// That fixed point is computed in one pass: every folder has a root, the
// outermost folder of any rule above or equal to it, and two folders
// overlap only if they share a root; a root's own rule overlaps every rule
// under it. So the scopes are the groups of roots joined by rules that have
// folders under several of them, found with a union-find over the roots.
// The scopes come sorted by their first folder.
func mergeScopes(rules []PlanRule, idx []int) []scope {
	var folders []string
	for _, i := range idx {
		folders = append(folders, rules[i].Paths...)
	}
	folders = sortedUnique(folders)
	// Folders under a folder sort right after it, so one pass finds roots.
	root := make(map[string]string, len(folders))
	cur := ""
	for _, f := range folders {
		if cur == "" || !strings.HasPrefix(f, cur) {
			cur = f
		}
		root[f] = cur
	}
	parent := map[string]string{}
	var find func(string) string
	find = func(r string) string {
		p, ok := parent[r]
		if !ok || p == r {
			return r
		}
		top := find(p)
		parent[r] = top
		return top
	}
	for _, i := range idx {
		paths := rules[i].Paths
		first := find(root[paths[0]])
		for _, p := range paths[1:] {
			if other := find(root[p]); other != first {
				parent[other] = first
			}
		}
	}
	byTop := map[string]*scope{}
	for _, i := range idx {
		top := find(root[rules[i].Paths[0]])
		sc := byTop[top]
		if sc == nil {
			sc = &scope{}
			byTop[top] = sc
		}
		sc.rules = append(sc.rules, i)
		sc.tags = append(sc.tags, rules[i].exactTags()...)
		sc.glob = sc.glob || rules[i].hasGlob()
	}
	for _, f := range folders {
		if root[f] == f {
			sc := byTop[find(f)]
			sc.folders = append(sc.folders, f)
		}
	}
	out := make([]scope, 0, len(byTop))
	for _, sc := range byTop {
		sc.tags = sortedUnique(sc.tags)
		out = append(out, *sc)
	}
	slices.SortFunc(out, func(a, b scope) int { return strings.Compare(a.folders[0], b.folders[0]) })
	return out
}

// pathQueries returns the searches for files under folders that carry one
// of tags (any tag when tags is nil) and match query: one search when it
// fits in a URL, else the folders split into as few searches as fit. The
// folders are never under one another, so no file matches two searches;
// for the same reason the tags are not split: a tag list too long to share
// a URL with a folder is dropped, and the folders are read in full.
func pathQueries(folders, tags []string, query string) ([]string, error) {
	var tail string
	if query != "" {
		tail = "(" + query + ")"
	}
	budget := maxQueryEscLen - escLen(tail) - escLen(" AND  AND ")
	if budget < maxQueryEscLen/4 {
		return nil, fmt.Errorf("searchQuery %q is too long: keep it under %d bytes once URL-escaped", query, maxQueryEscLen*3/4)
	}
	var tc string
	if tags != nil {
		if tc = inClause("tags", tags); escLen(tc) > budget/2 {
			tc = ""
		}
	}
	var out []string
	for _, chunk := range chunkByLen(folders, budget-escLen(tc), func(s string) int { return escLen(`path : ` + quote(s) + ` OR `) }) {
		var parts []string
		for _, p := range chunk {
			parts = append(parts, "path : "+quote(p))
		}
		pc := strings.Join(parts, " OR ")
		if len(parts) > 1 {
			pc = "(" + pc + ")"
		}
		out = append(out, joinAnd(pc, tc, tail))
	}
	return out, nil
}

// idQueries returns `id IN [...]` searches over ids, each ANDed with the
// tail clauses and short enough for one URL.
func idQueries(ids, tail []string) ([]string, error) {
	t := joinAnd(tail...)
	budget := maxQueryEscLen - escLen(t) - escLen(" AND ")
	if budget < maxQueryEscLen/4 {
		return nil, fmt.Errorf("searchQuery %q is too long: keep it under %d bytes once URL-escaped", t, maxQueryEscLen*3/4)
	}
	var out []string
	for _, c := range chunkIn("id", ids, budget) {
		out = append(out, joinAnd(c, t))
	}
	return out, nil
}

// chunkIn splits values into `field IN [...]` clauses of at most budget
// bytes once URL-escaped (and at most MaxPageSize values each).
func chunkIn(field string, values []string, budget int) []string {
	over := escLen(field + " IN []")
	var out []string
	for _, chunk := range chunkByLen(values, budget-over, func(s string) int { return escLen(quote(s) + ",") }) {
		out = append(out, inClause(field, chunk))
	}
	return out
}

// chunkByLen cuts values into consecutive chunks whose sizes, as measured by
// size, add up to at most budget; a value too long on its own gets a chunk
// of its own. Chunks hold at most MaxPageSize values.
func chunkByLen(values []string, budget int, size func(string) int) [][]string {
	var out [][]string
	start, used := 0, 0
	for i, v := range values {
		n := size(v)
		if i > start && (used+n > budget || i-start >= api.MaxPageSize) {
			out = append(out, values[start:i])
			start, used = i, 0
		}
		used += n
	}
	if start < len(values) {
		out = append(out, values[start:])
	}
	return out
}

// inClause returns `field IN ["a","b"]`.
func inClause(field string, values []string) string {
	var b strings.Builder
	b.WriteString(field + ` IN [`)
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quote(v))
	}
	b.WriteByte(']')
	return b.String()
}

// quote returns s as an ImageKit searchQuery string: in double quotes, with
// `"` and `\` escaped by a backslash.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// joinAnd joins the non-empty clauses with AND.
func joinAnd(clauses ...string) string {
	var parts []string
	for _, c := range clauses {
		if c != "" {
			parts = append(parts, c)
		}
	}
	return strings.Join(parts, " AND ")
}

// escLen is the length of s once escaped as a URL query value.
func escLen(s string) int { return len(url.QueryEscape(s)) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// found is a file to change, as accumulated over the listings.
type found struct {
	path       string
	tagsBefore []string
	remove     []string
	rules      []string
}

// observer runs the listings and keeps only the files to change.
type observer struct {
	rules    []PlanRule
	found    map[string]*found
	scanned  int
	progress func(int)
}

// read runs one listing, checking every file it returns against the
// listing's rules.
func (o *observer) read(ctx context.Context, lib Library, l listing) error {
	for f, err := range lib.List(ctx, api.ListParams{SearchQuery: l.query, Limit: api.MaxPageSize}) {
		if err != nil {
			return fmt.Errorf("reading the library (searchQuery %s): %w", l.query, err)
		}
		o.scanned++
		if o.progress != nil && o.scanned%api.MaxPageSize == 0 {
			o.progress(o.scanned)
		}
		o.check(&f, &l)
	}
	if o.progress != nil {
		o.progress(o.scanned)
	}
	return ctx.Err()
}

// check records the tags of f that the listing's rules forbid.
func (o *observer) check(f *api.File, l *listing) {
	for _, i := range l.rules {
		r := &o.rules[i]
		if !evaluates(r, l.byID, f.FileID, f.FilePath) {
			continue
		}
		for _, t := range f.Tags {
			if !r.Forbids(t) {
				continue
			}
			fd := o.found[f.FileID]
			if fd == nil {
				fd = &found{path: f.FilePath, tagsBefore: slices.Clone(f.Tags)}
				o.found[f.FileID] = fd
			}
			if !slices.Contains(fd.remove, t) {
				fd.remove = append(fd.remove, t)
			}
			if !slices.Contains(fd.rules, r.Name) {
				fd.rules = append(fd.rules, r.Name)
			}
		}
	}
}

// evaluates reports whether a listing (by id when byID, else by folder)
// is where rule r evaluates the file (id, filePath): a file in r's scope
// (InScope) is evaluated by r's folder listing when it is under r's paths,
// else by r's fileIds listing. A file that both listings return, or that a
// folder listing merged with other rules returns while r names it by id, is
// so evaluated once for r.
func evaluates(r *PlanRule, byID bool, id, filePath string) bool {
	if slices.Contains(r.ExcludeIDs, id) || underAny(filePath, r.ExcludePaths) {
		return false
	}
	if underAny(filePath, r.Paths) {
		return !byID
	}
	return byID && slices.Contains(r.FileIDs, id)
}

// changes returns the files to change, sorted by path then id, with their
// tags and rules sorted.
func (o *observer) changes() []Change {
	out := make([]Change, 0, len(o.found))
	for id, fd := range o.found {
		slices.Sort(fd.remove)
		slices.Sort(fd.rules)
		before := fd.tagsBefore
		if before == nil {
			before = []string{}
		}
		out = append(out, Change{FileID: id, FilePath: fd.path, TagsBefore: before, RemoveTags: fd.remove, Rules: fd.rules})
	}
	slices.SortFunc(out, func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.FilePath, b.FilePath), cmp.Compare(a.FileID, b.FileID))
	})
	return out
}
