package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/internal/english"
	"github.com/tagprune/tagprune/internal/sorted"
	"github.com/tagprune/tagprune/manifest"
)

// RenameConflict is a rename that a plan cannot carry out on a file: a
// rule that selects the file forbids the new tag (it would be added, then
// removed, and the information lost), or two rules rename the same tag to
// different tags.
type RenameConflict struct {
	FileID   string
	FilePath string
	Rename   Rename
	// ForbiddenBy names the rules that select the file and forbid
	// Rename.New, sorted.
	ForbiddenBy []string
	// Other, when set, is another rule's rename of Rename.Old to another
	// tag.
	Other *Rename
}

func (c *RenameConflict) String() string {
	where := fmt.Sprintf("%s (%s)", display(c.FilePath), c.FileID)
	if c.Other != nil {
		return fmt.Sprintf("%s: rule %q renames %q to %q but rule %q renames it to %q",
			where, c.Rename.Rule, c.Rename.Old, c.Rename.New, c.Other.Rule, c.Other.New)
	}
	return fmt.Sprintf("%s: rule %q renames %q to %q, but %s %q there",
		where, c.Rename.Rule, c.Rename.Old, c.Rename.New, ruleNames(c.ForbiddenBy, "forbids", "forbid"), c.Rename.New)
}

// ruleNames says `rule "a" forbids` or `rules "a" and "b" forbid`.
func ruleNames(names []string, one, many string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return "rule " + q[0] + " " + one
	}
	return "rules " + strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1] + " " + many
}

// maxListedConflicts is how many conflicts a *RenameConflictError lists.
const maxListedConflicts = 10

// RenameConflictError is a plan refused because some renames cannot be
// carried out (see RenameConflict). Nothing was changed. The way out is to
// change the rules: allow the new tag where the rename applies, or narrow
// one of the rules' files.
type RenameConflictError struct {
	Conflicts []RenameConflict // the first maxListedConflicts, by file path
	Files     int              // files with a conflict
	More      int              // conflicts beyond those listed
}

func (e *RenameConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "replaceTags cannot rename tags on %s: ", english.Plural(e.Files, "file", "files"))
	for i := range e.Conflicts {
		if i == 3 {
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Conflicts[i].String())
	}
	if n := len(e.Conflicts) - 3 + e.More; n > 0 {
		fmt.Fprintf(&b, "; and %d more", n)
	}
	b.WriteString("; nothing was changed")
	return b.String()
}

// renameConflicts returns the conflicts of a file's renames under the
// rules that select it (sel). renames are sorted by Old, then rule.
func (rs *ruleSet) renameConflicts(fileID, filePath string, sel *manifest.Selection, renames []manifest.Rename) []RenameConflict {
	var out []RenameConflict
	for i, r := range renames {
		rn := rs.rename(r)
		if i > 0 && renames[i-1].Old == r.Old && renames[i-1].New != r.New {
			other := rs.rename(renames[i-1])
			out = append(out, RenameConflict{FileID: fileID, FilePath: filePath, Rename: other, Other: &rn})
		}
		if by := sel.ForbiddenBy(r.New); len(by) > 0 {
			out = append(out, RenameConflict{FileID: fileID, FilePath: filePath, Rename: rn, ForbiddenBy: rs.names(by)})
		}
	}
	return out
}

// rename returns a manifest rename with its rule's name.
func (rs *ruleSet) rename(r manifest.Rename) Rename {
	return Rename{Old: r.Old, New: r.New, Rule: rs.rules[r.Rule].Name}
}

// renames returns a file's renames as a change records them, and the tags
// they add: each new tag the file does not carry yet, sorted.
func (rs *ruleSet) renames(rn []manifest.Rename, tagsBefore []string) ([]Rename, []string) {
	if len(rn) == 0 {
		return nil, nil
	}
	out := make([]Rename, len(rn))
	var add []string
	for i, r := range rn {
		out[i] = rs.rename(r)
		if !slices.Contains(tagsBefore, r.New) {
			add = append(add, r.New)
		}
	}
	return out, sorted.Unique(add)
}

// unionRenames returns the renames of a and b, sorted by Old, then rule,
// then New, without duplicates.
func unionRenames(a, b []manifest.Rename) []manifest.Rename {
	if len(b) == 0 {
		return a
	}
	out := append(slices.Clone(a), b...)
	slices.SortFunc(out, func(x, y manifest.Rename) int {
		return cmp.Or(strings.Compare(x.Old, y.Old), cmp.Compare(x.Rule, y.Rule), strings.Compare(x.New, y.New))
	})
	return slices.Compact(out)
}

// checkRenames refuses renames that cannot be carried out: a new tag that
// a rule selecting the file forbids, or one tag renamed to two. The
// listings judged each file under the rules without a searchQuery and those
// of the searchQueries that returned it; a rule whose searchQuery no
// listing answered for the file but that would forbid one of its new tags
// may select it too, so those files are read once more with
// `id IN [...] AND (query)` to learn whether it does. It returns a
// *RenameConflictError, an error from reading, or nil.
func (o *observer) checkRenames(ctx context.Context, lib Library) error {
	var ids []string
	probe := map[string][]string{} // searchQuery -> files it may select
	pols := make([]*manifest.Policy, len(o.rs.rules))
	for id, fd := range o.found {
		if len(fd.renames) == 0 {
			continue
		}
		ids = append(ids, id)
		for _, r := range o.rs.m.Scope(id, fd.path).Rules() {
			q := o.rs.rules[r].SearchQuery
			if q == "" || slices.Contains(fd.queries, q) || slices.Contains(probe[q], id) {
				continue
			}
			if pols[r] == nil {
				pols[r] = o.rs.rules[r].Policy()
			}
			pol := pols[r]
			if slices.ContainsFunc(fd.renames, func(rn manifest.Rename) bool { return pol.Forbids(rn.New) }) {
				probe[q] = append(probe[q], id)
			}
		}
	}
	selected := make(map[string]map[string]bool, len(probe))
	for _, q := range sorted.Keys(probe) {
		sel := map[string]bool{}
		selected[q] = sel
		err := listIDs(ctx, lib, sorted.Unique(probe[q]), []string{"(" + q + ")"}, DefaultConcurrency, func(f *api.File) { sel[f.FileID] = true })
		if err != nil {
			return fmt.Errorf("checking renames against searchQuery %s: %w", q, err)
		}
	}
	slices.SortFunc(ids, func(a, b string) int {
		return cmp.Or(strings.Compare(o.found[a].path, o.found[b].path), strings.Compare(a, b))
	})
	e := &RenameConflictError{}
	for _, id := range ids {
		fd := o.found[id]
		sel := o.rs.m.Select(id, fd.path, func(q string) bool { return slices.Contains(fd.queries, q) || selected[q][id] })
		cs := o.rs.renameConflicts(id, fd.path, sel, fd.renames)
		if len(cs) == 0 {
			continue
		}
		e.Files++
		for _, c := range cs {
			if len(e.Conflicts) < maxListedConflicts {
				e.Conflicts = append(e.Conflicts, c)
			} else {
				e.More++
			}
		}
	}
	if e.Files > 0 {
		return e
	}
	return nil
}
