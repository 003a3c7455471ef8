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
// Observe: the rules are grouped into listings that share a scope (the same
// paths, or fileIds) and the same searchQuery. A listing over paths whose
// rules have only exact tags asks for `path : "/x/" AND tags IN [...]`; one
// with a glob reads the whole scope. fileIds are read with `id IN [...]`
// searches, each URL kept under 8 KB. Every answer is only a candidate: each
// file's own tags and each rule's paths, fileIds and exclusions are checked
// locally (the API's `tags IN` matches AITags too).
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
// files it returns (all of them share its searchQuery).
type listing struct {
	query string
	rules []int
}

// planListings returns the searches that read every file a rule could
// change, in a deterministic order.
func planListings(rules []PlanRule) ([]listing, error) {
	type group struct {
		paths, ids []string
		query      string
		rules      []int
		tags       []string
		glob       bool
	}
	pathGroups := map[string]*group{}
	idGroups := map[string]*group{}
	for i := range rules {
		r := &rules[i]
		if len(r.ForbiddenTags) == 0 {
			return nil, fmt.Errorf("rule %q forbids no tags: give it at least one forbiddenTags entry", r.Name)
		}
		add := func(m map[string]*group, key string, paths, ids []string) {
			g := m[key]
			if g == nil {
				g = &group{paths: paths, query: r.SearchQuery}
				m[key] = g
			}
			g.ids = append(g.ids, ids...)
			g.rules = append(g.rules, i)
			g.tags = append(g.tags, r.exactTags()...)
			g.glob = g.glob || r.hasGlob()
		}
		if len(r.Paths) > 0 {
			paths := slices.Clone(r.Paths)
			slices.Sort(paths)
			paths = slices.Compact(paths)
			add(pathGroups, strings.Join(paths, "\x00")+"\x01"+r.SearchQuery, paths, nil)
		}
		if len(r.FileIDs) > 0 {
			add(idGroups, r.SearchQuery, nil, r.FileIDs)
		}
	}
	var out []listing
	for _, key := range sortedKeys(pathGroups) {
		g := pathGroups[key]
		tags := sortedUnique(g.tags)
		if g.glob {
			tags = nil
		}
		qs, err := pathQueries(g.paths, tags, g.query)
		if err != nil {
			return nil, err
		}
		for _, q := range qs {
			out = append(out, listing{query: q, rules: g.rules})
		}
	}
	for _, key := range sortedKeys(idGroups) {
		g := idGroups[key]
		var tail []string
		if !g.glob {
			if tc := inClause("tags", sortedUnique(g.tags)); escLen(tc) <= maxQueryEscLen/4 {
				tail = append(tail, tc)
			}
		}
		if g.query != "" {
			tail = append(tail, "("+g.query+")")
		}
		qs, err := idQueries(sortedUnique(g.ids), tail)
		if err != nil {
			return nil, err
		}
		for _, q := range qs {
			out = append(out, listing{query: q, rules: g.rules})
		}
	}
	return out, nil
}

// pathQueries returns the searches for files under paths that carry one of
// tags (any tag when tags is nil) and match query: one search when it fits
// in a URL, else the paths and tags split into as few searches as fit.
func pathQueries(paths, tags []string, query string) ([]string, error) {
	var tail string
	if query != "" {
		tail = "(" + query + ")"
	}
	budget := maxQueryEscLen - escLen(tail) - escLen(" AND  AND ")
	if budget < maxQueryEscLen/4 {
		return nil, fmt.Errorf("searchQuery %q is too long: keep it under %d bytes once URL-escaped", query, maxQueryEscLen*3/4)
	}
	pathBudget := budget
	if tags != nil {
		pathBudget = budget / 2
	}
	var pathClauses []string
	for _, chunk := range chunkByLen(paths, pathBudget, func(s string) int { return escLen(`path : ` + quote(s) + ` OR `) }) {
		var parts []string
		for _, p := range chunk {
			parts = append(parts, "path : "+quote(p))
		}
		c := strings.Join(parts, " OR ")
		if len(parts) > 1 {
			c = "(" + c + ")"
		}
		pathClauses = append(pathClauses, c)
	}
	var out []string
	for _, pc := range pathClauses {
		if tags == nil {
			out = append(out, joinAnd(pc, tail))
			continue
		}
		for _, tc := range chunkIn("tags", tags, budget-escLen(pc)) {
			out = append(out, joinAnd(pc, tc, tail))
		}
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
		o.check(&f, l.rules)
	}
	if o.progress != nil {
		o.progress(o.scanned)
	}
	return ctx.Err()
}

// check records the tags of f that the rules at idx forbid.
func (o *observer) check(f *api.File, idx []int) {
	for _, i := range idx {
		r := &o.rules[i]
		if !r.InScope(f.FileID, f.FilePath) {
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
