package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/internal/sorted"
	"github.com/tagprune/tagprune/manifest"
)

// PlanCheck is what CheckPlan found when it re-read a saved plan's files.
type PlanCheck struct {
	Checked int           // planned files
	Stale   []StaleFile   // files whose removals, rules or forbidden tags changed since the plan
	Missing []MissingFile // files that no longer exist
}

// StaleFile is a planned file that the plan no longer fits.
type StaleFile struct {
	FileID     string   `json:"fileId"`
	FilePath   string   `json:"filePath"` // as planned
	NowPath    string   `json:"nowPath"`
	RemoveTags []string `json:"removeTags"`    // as planned
	NowRemove  []string `json:"nowRemoveTags"` // remove(f) now
	Rules      []string `json:"rules"`         // as planned
	NowRules   []string `json:"nowRules"`      // the rules that forbid what it would lose now
	// NotForbidden holds the tags of the file's planned removeTags calls
	// that are no longer forbidden for it: sending those calls would remove
	// them.
	NotForbidden []string `json:"notForbidden,omitempty"`
	// The same for AITags and for the tags renames add: as planned, now,
	// and the names of planned calls that would now remove an AITag no
	// rule forbids, or add a tag no rename of a selecting rule names.
	RemoveAITags    []string `json:"removeAITags,omitempty"`
	NowRemoveAITags []string `json:"nowRemoveAITags,omitempty"`
	AddTags         []string `json:"addTags,omitempty"`
	NowAddTags      []string `json:"nowAddTags,omitempty"`
	NotForbiddenAI  []string `json:"notForbiddenAITags,omitempty"`
	NotRenamed      []string `json:"notRenamed,omitempty"`
	// Conflicts says which renames a rule that selects the file now
	// forbids.
	Conflicts []string `json:"conflicts,omitempty"`
	How       string   `json:"how"` // what changed, for people
}

// MissingFile is a planned file that no longer exists.
type MissingFile struct {
	FileID   string `json:"fileId"`
	FilePath string `json:"filePath"`
}

// StaleError is returned by CheckPlan and ApplySavedPlan when the library
// changed since the plan in a way that changes what the plan would do to
// some file. Nothing was sent.
type StaleError struct {
	Check *PlanCheck
}

func (e *StaleError) Error() string {
	s := e.Check.Stale
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d planned files changed since the plan was made", len(s), e.Check.Checked)
	for i, f := range s {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(s)-3)
			break
		}
		fmt.Fprintf(&b, "; %s (%s): %s", f.FilePath, f.FileID, f.How)
	}
	b.WriteString("; nothing was changed")
	return b.String()
}

// CheckPlan checks a saved plan against the library before it is applied,
// trusting nothing in the plan but its rules (see CheckConsistency, which it
// runs first and whose errors it returns). It re-reads the planned files
// with `id IN [...]` searches, learns which of them each searchQuery of the
// rules that could select them still selects (`id IN [...] AND (query)`),
// and judges each file afresh with the plan's rules (judgeFresh): a file is
// stale when the tags or AITags it would lose now, or the tags its renames
// would add, differ from the plan, when the rules that forbid them differ
// (it moved out of a rule's folders, or an edit took it out of a rule's
// searchQuery), when a tag of one of its planned calls is no longer
// forbidden for it (or no longer the new tag of one of its renames), or
// when a rule that selects it now forbids a rename's new tag. So a file
// that got a rename's new tag since the plan is stale: the report's
// addedTags never claim a tag the file already had. It returns the check
// and a *StaleError when
// any file is stale; files that no longer exist are listed as Missing and
// are not stale; files that entered the rules' scope since are not looked
// at. Other errors come from reading the library.
//
// The searches run DefaultConcurrency at a time (ApplySavedPlan runs its
// ApplyOptions.Concurrency), so that reading is paced by the library's rate
// limit rather than by its latency; every file is judged only once all of
// them are read.
func CheckPlan(ctx context.Context, lib Library, plan *Plan) (*PlanCheck, error) {
	return checkPlan(ctx, lib, plan, DefaultConcurrency)
}

// checkPlan is CheckPlan with at most conc searches in flight.
func checkPlan(ctx context.Context, lib Library, plan *Plan, conc int) (*PlanCheck, error) {
	rs, err := checkConsistency(plan)
	if err != nil {
		return nil, err
	}
	return checkFresh(ctx, lib, plan, rs, conc)
}

// current is the state of a planned file as read when the plan is applied.
type current struct {
	path string
	tags []string
	ai   []string // AITag names, when some rule has forbiddenAITags
}

// checkFresh is CheckPlan for a plan that passed checkConsistency.
func checkFresh(ctx context.Context, lib Library, plan *Plan, rs *ruleSet, conc int) (*PlanCheck, error) {
	ids := make([]string, 0, len(plan.Changes))
	for _, c := range plan.Changes {
		ids = append(ids, c.FileID)
	}
	ids = sorted.Unique(ids)

	now := make(map[string]current, len(ids))
	err := listIDs(ctx, lib, ids, nil, conc, func(f *api.File) {
		if _, ok := slices.BinarySearch(ids, f.FileID); ok {
			cur := current{path: f.FilePath, tags: f.Tags}
			if rs.aiRules {
				cur.ai = aiNames(f.AITags)
			}
			now[f.FileID] = cur
		}
	})
	if err != nil {
		return nil, fmt.Errorf("checking the plan: %w", err)
	}

	// For each searchQuery, which planned files it selects now, asked only
	// of the files that some rule of that query could select.
	cands := map[string][]string{}
	for _, id := range ids {
		f, ok := now[id]
		if !ok {
			continue
		}
		for _, q := range rs.m.Scope(id, f.path).Queries() {
			cands[q] = append(cands[q], id)
		}
	}
	selected := make(map[string]map[string]bool, len(cands))
	var searches []idSearch
	for _, q := range sorted.Keys(cands) {
		sel := map[string]bool{}
		selected[q] = sel
		searches = append(searches, idSearch{ids: cands[q], tail: []string{"(" + q + ")"}, fn: func(f *api.File) { sel[f.FileID] = true }})
	}
	if err := listIDSearches(ctx, lib, searches, conc); err != nil {
		return nil, fmt.Errorf("checking the plan: %w", err)
	}

	calls := plannedCalls(plan.Batches)
	chk := &PlanCheck{Checked: len(plan.Changes)}
	for i := range plan.Changes {
		c := &plan.Changes[i]
		f, ok := now[c.FileID]
		if !ok {
			chk.Missing = append(chk.Missing, MissingFile{FileID: c.FileID, FilePath: c.FilePath})
			continue
		}
		sel := rs.m.Select(c.FileID, f.path, func(q string) bool { return selected[q][c.FileID] })
		if s, stale := judgeFresh(rs, c, f, sel, calls[c.FileID]); stale {
			chk.Stale = append(chk.Stale, s)
		}
	}
	if len(chk.Stale) > 0 {
		return chk, &StaleError{Check: chk}
	}
	return chk, nil
}

// listIDs runs `id IN [...]` searches over ids, ANDed with tail and with
// `type = "file"`, at most conc at a time, and calls fn for every file
// returned, never from two goroutines at once; objects that are not files
// are skipped.
func listIDs(ctx context.Context, lib Library, ids, tail []string, conc int, fn func(*api.File)) error {
	return listIDSearches(ctx, lib, []idSearch{{ids: ids, tail: tail, fn: fn}}, conc)
}

// idSearch is a set of ids to read, the clauses ANDed with `id IN [...]`
// and what to do with each file read.
type idSearch struct {
	ids, tail []string
	fn        func(*api.File)
}

// listIDSearches runs the `id IN [...]` searches of every idSearch, at most
// conc at a time (1 when conc is below 1), so that reading is paced by the
// library's rate limit rather than by one search's latency after
// another's. The fn of each search is called for every file it returns,
// never from two goroutines at once. The first error stops the other
// searches and is returned.
func listIDSearches(ctx context.Context, lib Library, searches []idSearch, conc int) error {
	type query struct {
		q  string
		fn func(*api.File)
	}
	var qs []query
	for _, s := range searches {
		if len(s.ids) == 0 {
			continue
		}
		list, err := idQueries(s.ids, append(slices.Clip(s.tail), typeFile))
		if err != nil {
			return err
		}
		for _, q := range list {
			qs = append(qs, query{q: q, fn: s.fn})
		}
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(conc, 1))
	for _, q := range qs {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			for f, err := range lib.List(gctx, api.ListParams{SearchQuery: q.q, Limit: api.MaxPageSize}) {
				if err != nil {
					return fmt.Errorf("reading files (searchQuery %s): %w", q.q, err)
				}
				if isFile(&f) {
					mu.Lock()
					q.fn(&f)
					mu.Unlock()
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// listChange says, for people, how a file's planned list (of tags, AITags or
// rules) became the list it has now. Each planned item no longer there is
// described with still when has holds it (the file still carries the tag,
// the rule still selects the file), else with gone; each item there now
// but not planned, with added. Each format takes the item once (%q).
func listChange(planned, now []string, has map[string]bool, still, gone, added string) []string {
	var out []string
	inNow, inPlan := setOf(now), setOf(planned)
	for _, x := range planned {
		switch {
		case inNow[x]:
		case has[x]:
			out = append(out, fmt.Sprintf(still, x))
		default:
			out = append(out, fmt.Sprintf(gone, x))
		}
	}
	for _, x := range now {
		if !inPlan[x] {
			out = append(out, fmt.Sprintf(added, x))
		}
	}
	return out
}

// staleHow says, for people, how a file changed since the plan, and what
// that changes.
func staleHow(c *Change, s *StaleFile, nowTags []string, rs *ruleSet, sel *manifest.Selection) string {
	var parts []string
	if s.NowPath != c.FilePath {
		parts = append(parts, fmt.Sprintf("moved to %s", s.NowPath))
	}
	nowRemove, planned := setOf(s.NowRemove), setOf(s.RemoveTags)
	carries := setOf(nowTags)
	parts = append(parts, listChange(s.RemoveTags, s.NowRemove, carries,
		"tag %q is no longer forbidden for it", "tag %q was removed from it", "it now carries forbidden tag %q")...)
	selecting := map[string]bool{}
	for _, i := range sel.Rules() {
		selecting[rs.rules[i].Name] = true
	}
	parts = append(parts, listChange(s.Rules, s.NowRules, selecting,
		"rule %q no longer forbids any of its tags", "rule %q no longer selects it", "rule %q now forbids some of its tags")...)
	for _, t := range s.NotForbidden {
		if planned[t] && carries[t] && !nowRemove[t] {
			continue // said above: no longer forbidden
		}
		if carries[t] {
			parts = append(parts, fmt.Sprintf("its planned call would remove tag %q, which no rule forbids for it now", t))
		} else {
			parts = append(parts, fmt.Sprintf("tag %q of its planned call is no longer forbidden for it", t))
		}
	}
	how := strings.Join(parts, ", ")
	if !slices.Equal(s.RemoveTags, s.NowRemove) {
		how += fmt.Sprintf(", so it would now lose %s instead of %s", tagList(s.NowRemove), tagList(s.RemoveTags))
	}
	return strings.TrimPrefix(how, ", ")
}

func tagList(tags []string) string {
	if len(tags) == 0 {
		return "no tags"
	}
	return "[" + strings.Join(tags, " ") + "]"
}

// ApplySavedPlan applies a saved plan the way `apply PLANFILE` does, trusting
// nothing in it. It refuses, sending nothing and returning a report with
// every file StatusPending:
//   - a plan whose recorded source is not opts.Source (*SourceMismatchError);
//   - a plan that disagrees with its own rules (CheckConsistency);
//   - a plan the library no longer fits (CheckPlan's *StaleError).
//
// The check runs at most opts.Concurrency searches at a time, as apply
// runs its calls. Otherwise it drops the files that no longer exist from
// the batches (they are StatusMissing) and applies the rest as Apply does.
// Files that entered the rules' scope after the plan are not touched. So
// every tag of every call it sends is forbidden, by the plan's rules, for
// every file of the call according to the state it has just read. The
// report is returned even when err is not nil.
func ApplySavedPlan(ctx context.Context, lib Library, plan *Plan, opts ApplyOptions) (*Report, error) {
	refuse := func(err error) (*Report, error) {
		r := newReport("apply", plan, opts.Tool)
		finishReport(r, plan, lib)
		r.Error = err.Error()
		r.Interrupted = ctx.Err() != nil
		return r, err
	}
	if !sameSource(plan.Source, opts.Source) {
		return refuse(&SourceMismatchError{Plan: plan.Source, Target: opts.Source})
	}
	chk, err := checkPlan(ctx, lib, plan, cmp0(opts.Concurrency, DefaultConcurrency))
	if err != nil {
		return refuse(err)
	}
	missing := make([]string, len(chk.Missing))
	for i, m := range chk.Missing {
		missing[i] = m.FileID
	}
	return apply(ctx, lib, plan, opts, missing, "apply")
}
