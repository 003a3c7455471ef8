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
	"github.com/tagprune/tagprune/internal/sorted"
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

// MakePlan reads what the rules need from lib (observe), computes for every
// file the tags and AITags it must lose and the tags its renames add
// (diff), and groups them into calls (batch: addTags calls first, then
// removeTags and removeAITags calls; see planBatches).
//
// The rules are compiled first (manifest.Compile): rules that do not compile
// are refused with a manifest.Errors, before any request. A rename whose new
// tag a rule that selects the file forbids is refused, after reading, with a
// *RenameConflictError (see checkRenames).
//
// Observe: rules with paths are grouped by searchQuery, and within a
// searchQuery the rules whose folders overlap (one folder is a prefix of
// another, directly or through other rules) share one listing over their
// outermost folders. A listing whose rules forbid only exact tags asks for
// `path : "/x/" AND tags IN [...]` with the union of their tags; one with a
// glob or an allowlist, which may forbid any tag, asks for `tags EXISTS`
// instead (a file without tags has nothing to lose). fileIds are read with
// `id IN [...]` searches, one set per searchQuery. Every search also says
// `type = "file"`, and any object that is not a file with a fileId is
// skipped and not counted. Every URL is kept under 8 KB: a long list of
// folders is split into several listings, each over different folders, and
// a tag list too long for one URL into several `tags IN` lists, each its
// own listing over the same folders (never `tags EXISTS`, which would read
// every tagged file). For fileIds, a tag list too long to share a URL with
// the ids becomes `tags EXISTS`: the ids already bound what is read.
//
// Exact forbiddenAITags are asked for by name too, since `tags IN` matches
// AITags as well as tags, and their globs ask for `tags EXISTS`, which also
// does (manifest.Rule.ExactTags and MatchesAnyTag).
//
// Every answer is only a candidate: each file is judged locally by the
// compiled rules (the API's `tags IN` matches AITags too), from the first
// state of it that a listing returned. A listing tells that its own
// searchQuery selects the files it returns, so each file is judged with the
// rules that have no searchQuery and those of the listing's searchQuery;
// every rule that forbids one of its tags is among the rules of some listing
// that returns it, and the file's removals are the union over those
// listings.
//
// So no file is read twice in one plan, with three exceptions: a file
// named by a fileIds rule that is also under the paths of a listing may be
// returned by both searches (its path is unknown before it is read, and
// searchQuery cannot exclude a folder with its subfolders); rules with
// different searchQueries over overlapping folders read those folders once
// per searchQuery (only the API can evaluate each query); and a file that
// carries tags of two lists of a split tag list is returned by the search
// of each (excluding the other lists would make every URL longer, and so
// the lists more numerous). A library that changes while it is paged may
// also shift a file from one page to the next.
//
// With opts.RuleFilter, only the rules whose names it matches are evaluated
// (manifest.SelectRules): the plan carries those rules alone, its
// rulesDigest is theirs, and it records the filter and the names of the
// rules left out. A filter entry that matches no rule is refused with a
// *manifest.RuleFilterError before any request.
//
// Memory: pages are streamed and only the files to change are kept, so a
// full scan costs memory in proportion to the changes, not to the library.
// No set of every id seen is kept, so Summary.FilesScanned counts file objects
// read, and a file that several listings (or a shifting page) return is
// counted each time.
func MakePlan(ctx context.Context, lib Library, rules []manifest.Rule, opts PlanOptions) (*Plan, error) {
	if opts.BatchSize < 0 || opts.BatchSize > api.MaxRemoveTagsFiles {
		return nil, fmt.Errorf("batch size %d is out of range: use 1..%d", opts.BatchSize, api.MaxRemoveTagsFiles)
	}
	rules, leftOut, err := manifest.SelectRules(rules, opts.RuleFilter)
	if err != nil {
		return nil, err
	}
	rs, err := compileRules(rules)
	if err != nil {
		return nil, fmt.Errorf("checking the rules: %w", err)
	}
	listings, err := planListings(rules)
	if err != nil {
		return nil, err
	}
	o := observer{rs: rs, found: map[string]*found{}, progress: opts.Progress}
	for _, l := range listings {
		if err := o.read(ctx, lib, l); err != nil {
			return nil, err
		}
	}
	if err := o.checkRenames(ctx, lib); err != nil {
		return nil, err
	}
	p := &Plan{
		FormatVersion: FormatVersion,
		Tool:          opts.Tool,
		CreatedAt:     time.Now().UTC().Truncate(time.Second),
		RulesDigest:   RulesDigest(rules),
		Rules:         rules,
		Changes:       o.changes(),
	}
	if opts.Source != nil {
		src := *opts.Source
		p.Source = &src
	}
	if p.Rules == nil {
		p.Rules = []manifest.Rule{}
	}
	p.Batches = planBatches(p.Changes, rs, opts.BatchSize)
	if p.Batches == nil {
		p.Batches = []Batch{}
	}
	if len(opts.RuleFilter) > 0 {
		p.RuleFilter = slices.Clone(opts.RuleFilter)
		p.RulesLeftOut = leftOut
	}
	p.Allowlists = allowlistSummaries(p)
	p.Summary = planSummary(p, o.scanned)
	if s, ok := lib.(StatsSource); ok {
		addStats(&p.Summary, s.Stats())
	}
	return p, nil
}

// planSummary returns the counts of a plan.
func planSummary(p *Plan, scanned int) Summary {
	s := Summary{FilesScanned: scanned, FilesToChange: len(p.Changes)}
	for _, c := range p.Changes {
		s.TagsToRemove += len(c.RemoveTags)
		s.TagsToAdd += len(c.AddTags)
		s.AITagsToRemove += len(c.RemoveAITags)
	}
	s.AddTagsCalls, s.RemoveTagsCalls, s.RemoveAITagsCalls = countCalls(p.Batches)
	return s
}

// addStats copies a library's request counts into a summary.
func addStats(s *Summary, st api.Stats) {
	s.APICalls = APICalls{List: int(st.List), Details: int(st.Details), RemoveTags: int(st.RemoveTags),
		AddTags: int(st.AddTags), RemoveAITags: int(st.RemoveAITags)}
	s.Retries = int(st.Retries)
	s.RateLimited = int(st.RateLimited)
}

// listing is one search MakePlan runs, and the rules it serves (all of
// them share its searchQuery, search). byID marks a search by
// `id IN [...]`; the others search folders.
type listing struct {
	query  string
	search string // the rules' searchQuery, "" for none
	rules  []int
	byID   bool
}

// typeFile is ANDed with every search tagprune builds: a search may return
// folders and file versions too, and only files carry the tags a rule
// governs.
const typeFile = `type = "file"`

// planListings returns the searches that read every file a rule could
// change, in a deterministic order: the folder searches by searchQuery and
// folder, then the fileIds searches by searchQuery.
func planListings(rules []manifest.Rule) ([]listing, error) {
	type idGroup struct {
		ids, tags []string
		rules     []int
		anyTag    bool
	}
	byQuery := map[string][]int{}
	idGroups := map[string]*idGroup{}
	for i := range rules {
		r := &rules[i]
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
			g.tags = append(g.tags, r.ExactTags()...)
			g.anyTag = g.anyTag || r.MatchesAnyTag()
		}
	}
	var out []listing
	for _, query := range sorted.Keys(byQuery) {
		for _, sc := range mergeScopes(rules, byQuery[query]) {
			tags := sc.tags
			if sc.anyTag {
				tags = nil
			}
			qs, err := pathQueries(sc.folders, tags, query)
			if err != nil {
				return nil, err
			}
			for _, q := range qs {
				out = append(out, listing{query: q, search: query, rules: sc.rules})
			}
		}
	}
	for _, query := range sorted.Keys(idGroups) {
		g := idGroups[query]
		tail := []string{tagsExists}
		if tags := sorted.Unique(g.tags); !g.anyTag && len(tags) > 0 {
			if tc := inClause("tags", tags); escLen(tc) <= maxQueryEscLen/4 {
				tail[0] = tc
			}
		}
		if query != "" {
			tail = append(tail, "("+query+")")
		}
		tail = append(tail, typeFile)
		qs, err := idQueries(sorted.Unique(g.ids), tail)
		if err != nil {
			return nil, err
		}
		for _, q := range qs {
			out = append(out, listing{query: q, search: query, rules: g.rules, byID: true})
		}
	}
	return out, nil
}

// tagsExists narrows a search to files that carry a tag (or an AITag) when
// the tags that may be forbidden cannot be listed.
const tagsExists = "tags EXISTS"

// scope is what one folder listing reads: the outermost folders of rules
// that share a searchQuery and whose folders overlap, and those rules.
type scope struct {
	folders []string // outermost folders, sorted; none is under another
	rules   []int    // indexes into the rules, ascending
	tags    []string // union of the rules' exact tags, sorted
	anyTag  bool     // some rule has a glob or an allowlist: any tagged file is read
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
func mergeScopes(rules []manifest.Rule, idx []int) []scope {
	var folders []string
	for _, i := range idx {
		folders = append(folders, rules[i].Paths...)
	}
	folders = sorted.Unique(folders)
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
		sc.tags = append(sc.tags, rules[i].ExactTags()...)
		sc.anyTag = sc.anyTag || rules[i].MatchesAnyTag()
	}
	for _, f := range folders {
		if root[f] == f {
			sc := byTop[find(f)]
			sc.folders = append(sc.folders, f)
		}
	}
	out := make([]scope, 0, len(byTop))
	for _, sc := range byTop {
		sc.tags = sorted.Unique(sc.tags)
		out = append(out, *sc)
	}
	slices.SortFunc(out, func(a, b scope) int { return strings.Compare(a.folders[0], b.folders[0]) })
	return out
}

// pathQueries returns the searches for files under folders that carry one
// of tags (any tag when tags is nil: `tags EXISTS`) and match query, each
// short enough for one URL. The folders are never under one another, so a
// long list of folders is split into searches over different folders,
// which no file matches twice. A long list of tags is split too, into
// several `tags IN [...]` lists, each searched over every folder: a file
// that carries tags of two lists is returned by both searches, and the
// observer judges it once, as it does a file that two listings return. So
// a long tag list costs one search per list, never a read of every tagged
// file.
func pathQueries(folders, tags []string, query string) ([]string, error) {
	var tail string
	if query != "" {
		tail = "(" + query + ")"
	}
	budget := maxQueryEscLen - escLen(tail) - escLen(" AND  AND  AND "+typeFile)
	if budget < maxQueryEscLen/4 {
		return nil, fmt.Errorf("searchQuery %q is too long: keep it under %d bytes once URL-escaped", query, maxQueryEscLen*3/4)
	}
	folderLen := func(s string) int { return escLen(`path : ` + quote(s) + ` OR `) }
	var tcs []string
	var fcs [][]string
	switch {
	case len(tags) == 0:
		tcs = []string{tagsExists}
		fcs = chunkByLen(folders, budget-escLen(tagsExists), folderLen)
	default:
		// The tags have half the URL, or what one list of the folders
		// leaves; the folders have what the longest tag list leaves.
		fcs = chunkByLen(folders, budget/2, folderLen)
		tagBudget := budget / 2
		if len(fcs) == 1 {
			tagBudget = budget - sumLen(fcs[0], folderLen)
		}
		tcs = chunkIn("tags", tags, tagBudget)
		longest := 0
		for _, tc := range tcs {
			longest = max(longest, escLen(tc))
		}
		fcs = chunkByLen(folders, budget-longest, folderLen)
	}
	var out []string
	for _, chunk := range fcs {
		var parts []string
		for _, p := range chunk {
			parts = append(parts, "path : "+quote(p))
		}
		pc := strings.Join(parts, " OR ")
		if len(parts) > 1 {
			pc = "(" + pc + ")"
		}
		for _, tc := range tcs {
			out = append(out, joinAnd(pc, tc, tail, typeFile))
		}
	}
	return out, nil
}

// sumLen returns the sum of size over values.
func sumLen(values []string, size func(string) int) int {
	n := 0
	for _, v := range values {
		n += size(v)
	}
	return n
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

// found is a file to change, as accumulated over the listings.
type found struct {
	path       string
	tagsBefore []string
	aiBefore   []string // names of its AITags, when some rule has forbiddenAITags
	remove     []string // sorted
	removeAI   []string // sorted
	rules      []int    // sorted
	renames    []manifest.Rename
	queries    []string // the searchQueries of the listings that returned it
}

// observer runs the listings and keeps only the files to change.
type observer struct {
	rs       *ruleSet
	found    map[string]*found
	scanned  int
	progress func(int)
}

// read runs one listing, judging every file it returns.
func (o *observer) read(ctx context.Context, lib Library, l listing) error {
	for f, err := range lib.List(ctx, api.ListParams{SearchQuery: l.query, Limit: api.MaxPageSize}) {
		if err != nil {
			return fmt.Errorf("reading the library (searchQuery %s): %w", l.query, err)
		}
		if !isFile(&f) {
			continue
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

// isFile reports whether a listed object is a file that can be changed: a
// search may also return folders and file versions.
func isFile(f *api.File) bool { return f.Type == "file" && f.FileID != "" }

// check records what f must lose (and gain, through renames) under the
// rules without a searchQuery and those of the listing's searchQuery, which
// selects f since the listing returned it. A file returned by an earlier
// listing is judged by the state that listing returned, so that a change is
// one consistent snapshot.
func (o *observer) check(f *api.File, l *listing) {
	fd := o.found[f.FileID]
	filePath, tags, ai := f.FilePath, f.Tags, []string(nil)
	if fd != nil {
		filePath, tags, ai = fd.path, fd.tagsBefore, fd.aiBefore
	} else if o.rs.aiRules {
		ai = aiNames(f.AITags)
	}
	sel := o.rs.m.Select(f.FileID, filePath, func(q string) bool { return q == l.search })
	res := sel.Evaluate(tags, ai)
	if len(res.Remove) == 0 && len(res.RemoveAITags) == 0 {
		return
	}
	if fd == nil {
		fd = &found{path: f.FilePath, tagsBefore: slices.Clone(f.Tags), aiBefore: ai}
		o.found[f.FileID] = fd
	}
	fd.remove = sorted.Union(fd.remove, res.Remove)
	fd.removeAI = sorted.Union(fd.removeAI, res.RemoveAITags)
	fd.rules = sorted.Union(fd.rules, sorted.Union(res.RemoveBy, res.RemoveAIBy))
	fd.renames = unionRenames(fd.renames, res.Renames)
	if l.search != "" && !slices.Contains(fd.queries, l.search) {
		fd.queries = append(fd.queries, l.search)
	}
}

// aiNames returns the names of AITags, in order.
func aiNames(ai []api.AITag) []string {
	if len(ai) == 0 {
		return nil
	}
	out := make([]string, len(ai))
	for i, a := range ai {
		out[i] = a.Name
	}
	return out
}

// changes returns the files to change, sorted by path then id, with their
// tags and rules sorted.
func (o *observer) changes() []Change {
	out := make([]Change, 0, len(o.found))
	for id, fd := range o.found {
		before := fd.tagsBefore
		if before == nil {
			before = []string{}
		}
		c := Change{FileID: id, FilePath: fd.path, TagsBefore: before, RemoveTags: fd.remove, Rules: o.rs.names(fd.rules),
			RemoveAITags: fd.removeAI}
		if c.RemoveTags == nil {
			c.RemoveTags = []string{}
		}
		if len(c.RemoveAITags) == 0 {
			c.RemoveAITags = nil
		}
		if o.rs.aiRules {
			c.AITagsBefore = fd.aiBefore
		}
		c.Renames, c.AddTags = o.rs.renames(fd.renames, fd.tagsBefore)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.FilePath, b.FilePath), cmp.Compare(a.FileID, b.FileID))
	})
	return out
}
