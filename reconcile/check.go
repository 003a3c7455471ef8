package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tagprune/tagprune/api"
)

// PlanCheck is what CheckPlan found when it re-read a saved plan's files.
type PlanCheck struct {
	Checked int           // planned files
	Stale   []StaleFile   // files whose remove(f) now differs from the plan
	Missing []MissingFile // files that no longer exist
}

// StaleFile is a planned file whose removals would now differ.
type StaleFile struct {
	FileID     string   `json:"fileId"`
	FilePath   string   `json:"filePath"` // as planned
	NowPath    string   `json:"nowPath"`
	RemoveTags []string `json:"removeTags"`    // as planned
	NowRemove  []string `json:"nowRemoveTags"` // remove(f) now
	How        string   `json:"how"`           // what changed, for people
}

// MissingFile is a planned file that no longer exists.
type MissingFile struct {
	FileID   string `json:"fileId"`
	FilePath string `json:"filePath"`
}

// StaleError is returned by CheckPlan and ApplySavedPlan when any planned
// file's removals would now differ from the plan. Nothing was changed.
type StaleError struct {
	Check *PlanCheck
}

func (e *StaleError) Error() string {
	s := e.Check.Stale
	var b strings.Builder
	fmt.Fprintf(&b, "plan is stale: %d of %d planned files changed since it was made", len(s), e.Check.Checked)
	for i, f := range s {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(s)-3)
			break
		}
		fmt.Fprintf(&b, "; %s (%s): %s", f.FilePath, f.FileID, f.How)
	}
	b.WriteString("; nothing was changed: run tagprune plan again")
	return b.String()
}

// CheckPlan re-reads the plan's files with `id IN [...]` searches (and, for
// rules with a searchQuery, `id IN [...] AND (query)` to learn whether the
// query still selects each file), recomputes remove(f) with the plan's own
// rules, and compares it with the plan. It returns the check and a
// *StaleError when any file is stale; files that no longer exist are listed
// as Missing and are not stale. Other errors come from reading the library.
func CheckPlan(ctx context.Context, lib Library, plan *Plan) (*PlanCheck, error) {
	ids := make([]string, 0, len(plan.Changes))
	for _, c := range plan.Changes {
		ids = append(ids, c.FileID)
	}
	ids = sortedUnique(ids)

	type now struct {
		path string
		tags []string
	}
	current := make(map[string]now, len(ids))
	err := listIDs(ctx, lib, ids, nil, func(f *api.File) {
		if _, ok := slices.BinarySearch(ids, f.FileID); ok {
			current[f.FileID] = now{path: f.FilePath, tags: f.Tags}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("checking the plan: %w", err)
	}

	// For each searchQuery, which of the planned files it still selects.
	selected := map[string]map[string]bool{}
	for _, q := range queriesOf(plan.Rules) {
		var cands []string
		for _, id := range ids {
			f, ok := current[id]
			if !ok {
				continue
			}
			for i := range plan.Rules {
				if r := &plan.Rules[i]; r.SearchQuery == q && r.InScope(id, f.path) {
					cands = append(cands, id)
					break
				}
			}
		}
		sel := map[string]bool{}
		selected[q] = sel
		if len(cands) == 0 {
			continue
		}
		err := listIDs(ctx, lib, cands, []string{"(" + q + ")"}, func(f *api.File) { sel[f.FileID] = true })
		if err != nil {
			return nil, fmt.Errorf("checking the plan: %w", err)
		}
	}

	chk := &PlanCheck{Checked: len(plan.Changes)}
	for _, c := range plan.Changes {
		f, ok := current[c.FileID]
		if !ok {
			chk.Missing = append(chk.Missing, MissingFile{FileID: c.FileID, FilePath: c.FilePath})
			continue
		}
		nowRemove := removeSet(plan.Rules, c.FileID, f.path, f.tags, func(q string) bool { return selected[q][c.FileID] })
		planned := sortedUnique(c.RemoveTags)
		if slices.Equal(planned, nowRemove) {
			continue
		}
		chk.Stale = append(chk.Stale, StaleFile{
			FileID: c.FileID, FilePath: c.FilePath, NowPath: f.path,
			RemoveTags: planned, NowRemove: nowRemove,
			How: staleHow(c, f.path, f.tags, planned, nowRemove),
		})
	}
	if len(chk.Stale) > 0 {
		return chk, &StaleError{Check: chk}
	}
	return chk, nil
}

// listIDs runs `id IN [...]` searches over ids, ANDed with tail, and calls
// fn for every file returned.
func listIDs(ctx context.Context, lib Library, ids, tail []string, fn func(*api.File)) error {
	if len(ids) == 0 {
		return nil
	}
	qs, err := idQueries(ids, tail)
	if err != nil {
		return err
	}
	for _, q := range qs {
		for f, err := range lib.List(ctx, api.ListParams{SearchQuery: q, Limit: api.MaxPageSize}) {
			if err != nil {
				return fmt.Errorf("reading files (searchQuery %s): %w", q, err)
			}
			fn(&f)
		}
	}
	return ctx.Err()
}

// queriesOf returns the distinct non-empty searchQueries of rules, sorted.
func queriesOf(rules []PlanRule) []string {
	var qs []string
	for _, r := range rules {
		if r.SearchQuery != "" {
			qs = append(qs, r.SearchQuery)
		}
	}
	return sortedUnique(qs)
}

// removeSet returns remove(f), sorted: the tags of f forbidden by a rule
// that selects it. matches says whether a searchQuery selects f.
func removeSet(rules []PlanRule, id, filePath string, tags []string, matches func(query string) bool) []string {
	var out []string
	for i := range rules {
		r := &rules[i]
		if !r.InScope(id, filePath) || (r.SearchQuery != "" && !matches(r.SearchQuery)) {
			continue
		}
		for _, t := range tags {
			if r.Forbids(t) && !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	slices.Sort(out)
	return out
}

// staleHow says, for people, how a file's removals changed since the plan.
func staleHow(c Change, nowPath string, nowTags, planned, nowRemove []string) string {
	var parts []string
	if nowPath != c.FilePath {
		parts = append(parts, fmt.Sprintf("moved to %s", nowPath))
	}
	var gone, added []string
	for _, t := range planned {
		if !slices.Contains(nowRemove, t) {
			gone = append(gone, t)
		}
	}
	for _, t := range nowRemove {
		if !slices.Contains(planned, t) {
			added = append(added, t)
		}
	}
	for _, t := range gone {
		if slices.Contains(nowTags, t) {
			parts = append(parts, fmt.Sprintf("tag %q is no longer forbidden for it", t))
		} else {
			parts = append(parts, fmt.Sprintf("tag %q was removed from it", t))
		}
	}
	for _, t := range added {
		parts = append(parts, fmt.Sprintf("it now carries forbidden tag %q", t))
	}
	return fmt.Sprintf("%s, so it would now lose %s instead of %s", strings.Join(parts, ", "), tagList(nowRemove), tagList(planned))
}

func tagList(tags []string) string {
	if len(tags) == 0 {
		return "no tags"
	}
	return "[" + strings.Join(tags, " ") + "]"
}

// ApplySavedPlan applies a saved plan the way `apply PLANFILE` does: it runs
// CheckPlan and refuses a stale plan (returning a report with every file
// StatusPending and the *StaleError; nothing is sent), drops the files that
// no longer exist from the batches (they are StatusMissing), then applies
// the rest with Apply. Files that entered the rules' scope after the plan
// are not touched. The report is returned even when err is not nil.
func ApplySavedPlan(ctx context.Context, lib Library, plan *Plan, opts ApplyOptions) (*Report, error) {
	chk, err := CheckPlan(ctx, lib, plan)
	if err != nil {
		r := newReport("apply", plan, opts.Tool)
		finishReport(r, plan, lib)
		r.Error = err.Error()
		r.Interrupted = ctx.Err() != nil
		return r, err
	}
	missing := make([]string, len(chk.Missing))
	for i, m := range chk.Missing {
		missing[i] = m.FileID
	}
	return apply(ctx, lib, plan, opts, missing)
}
