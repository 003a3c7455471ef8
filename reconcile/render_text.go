package reconcile

import (
	"bufio"
	"cmp"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tagprune/tagprune/internal/ansi"
	"github.com/tagprune/tagprune/internal/english"
	"github.com/tagprune/tagprune/manifest"
)

// NoChangesText is the line RenderText writes for a plan without changes.
const NoChangesText = "No changes. The library matches the manifest."

// unattributedRule names the group of removals that no rule named by their
// change forbids. A consistent plan never has one; a hand-edited or corrupt
// plan may, and the diff must still show every tag it would remove.
const unattributedRule = "(not attributed to a rule of this plan)"

// RenderText writes the human diff of a plan (section 3 of DESIGN.md).
//
// Removals are grouped by rule, in the order of p.Rules, then by file path.
// Each rule that changes at least one file gets a header line with its name,
// its description and how many files it changes; rules that change nothing
// are left out. Under each file, "- tag" is a tag the rule removes,
// "~ Old → New" a rename (New is added, then Old removed; "(already
// there)" when the file carries New already, so only Old goes), and
// "- name (AITag)" an AITag the rule removes. The header of an allowlist rule is followed by a line saying
// how many distinct tags it would remove and which it removes most often (a
// typo in an allowlist removes everything it does not name, and this line
// shows it at a glance). A tag forbidden by several rules is listed under
// each of them, so the per-rule lists may add up to more than the summary
// line, which counts every tag once per file. A tag that none of its change's rules
// forbids (an inconsistent plan) is still shown, under a last group named
// "(not attributed to a rule of this plan)". The last line is the summary,
// or NoChangesText when the plan changes nothing. A plan made with a rule
// filter says so on the line before the last: the filter, how many rules it
// evaluated, and which it left out (the first ten by name, the rest
// counted); it then ends with NoChangesFilteredText when it changes nothing.
// Tags that no call can carry (Plan.UnsendableTags) are listed, the first
// ten, before those lines.
//
// With color set, rule headers are bold, removed tags red and NoChangesText
// green; without it the output holds no escape sequences at all. Names,
// paths and tags with control characters or invalid UTF-8 are written
// quoted, so they can neither break lines nor send escape sequences to the
// terminal. RenderText returns the first error from w.
func RenderText(w io.Writer, p *Plan, color bool) error {
	bw := bufio.NewWriter(w)
	style := func(code, s string) string { return ansi.Style(color, code, s) }
	filter := textRuleFilter(p)
	if len(p.Changes) == 0 {
		if filter != "" {
			bw.WriteString(filter + "\n" + style(ansi.Green, NoChangesFilteredText) + "\n")
			return bw.Flush()
		}
		bw.WriteString(style(ansi.Green, NoChangesText) + "\n")
		return bw.Flush()
	}
	for i, g := range groupByRule(p) {
		if i > 0 {
			bw.WriteString("\n")
		}
		header := "Rule " + display(g.Name)
		if g.Description != "" {
			header += " (" + display(g.Description) + ")"
		}
		header += ": " + g.verb() + " " + english.Plural(len(g.Files), "file", "files")
		bw.WriteString(style(ansi.Bold, header) + "\n")
		if g.Allowlist && g.Removed > 0 {
			bw.WriteString("  allowlist: " + allowlistLine(g, display) + "\n")
		}
		for _, f := range g.Files {
			bw.WriteString("  " + display(f.Path) + "\n")
			for _, r := range f.Renames {
				bw.WriteString("    " + style(ansi.Yellow, "~ "+renameText(r, display)) + "\n")
			}
			for _, t := range f.Tags {
				bw.WriteString("    " + style(ansi.Red, "- "+display(t)) + "\n")
			}
			for _, t := range f.AITags {
				bw.WriteString("    " + style(ansi.Red, "- "+display(t)+" (AITag)") + "\n")
			}
		}
	}
	bw.WriteString("\n")
	if head, lines := unsendableNote(p, display); head != "" {
		bw.WriteString(style(ansi.Yellow, head) + "\n")
		for _, l := range lines {
			bw.WriteString("  " + l + "\n")
		}
		bw.WriteString("\n")
	}
	if filter != "" {
		bw.WriteString(filter + "\n")
	}
	bw.WriteString(planSummaryLine(p) + "\n")
	return bw.Flush()
}

// planSummaryLine returns the one-line summary of a plan with changes, such
// as "Plan: 1,234 files to change, 1,310 tags to remove, 25 removeTags calls.".
// A plan that adds tags (renames) or removes AITags says so too: "Plan: 3
// files to change, 3 tags to remove, 2 tags to add, 1 AITag to remove, 1
// removeTags call, 1 addTags call, 1 removeAITags call.". The counts come
// from the plan's changes and batches themselves.
func planSummaryLine(p *Plan) string {
	tags, add, ai := 0, 0, 0
	for _, c := range p.Changes {
		tags += len(c.RemoveTags)
		add += len(c.AddTags)
		ai += len(c.RemoveAITags)
	}
	addCalls, removeCalls, aiCalls := countCalls(p.Batches)
	parts := []string{english.Plural(len(p.Changes), "file", "files") + " to change", english.Plural(tags, "tag", "tags") + " to remove"}
	if add > 0 {
		parts = append(parts, english.Plural(add, "tag", "tags")+" to add")
	}
	if ai > 0 {
		parts = append(parts, english.Plural(ai, "AITag", "AITags")+" to remove")
	}
	parts = append(parts, english.Plural(removeCalls, "removeTags call", "removeTags calls"))
	if addCalls > 0 {
		parts = append(parts, english.Plural(addCalls, "addTags call", "addTags calls"))
	}
	if aiCalls > 0 {
		parts = append(parts, english.Plural(aiCalls, "removeAITags call", "removeAITags calls"))
	}
	return "Plan: " + strings.Join(parts, ", ") + "."
}

// ruleGroup is what one rule accounts for in a plan.
type ruleGroup struct {
	Name        string
	Description string
	Files       []fileTags // sorted by path, then file id
	Removed     int        // tags removed but not renamed
	Renamed     int        // renames
	AITags      int        // AITags removed
	// For an allowlist rule: how many distinct tags it removes, and the
	// ones it removes from the most files.
	Allowlist bool
	Distinct  int
	Frequent  []TagCount
}

// verb says what the rule would do to its files: "would remove tags from",
// "would rename tags on", "would remove AITags from", or, when it does
// several of these, "would change the tags of".
func (g *ruleGroup) verb() string {
	switch {
	case g.Renamed == 0 && g.AITags == 0:
		return "would remove tags from"
	case g.Removed == 0 && g.AITags == 0:
		return "would rename tags on"
	case g.Removed == 0 && g.Renamed == 0:
		return "would remove AITags from"
	}
	return "would change the tags of"
}

// doing says, in a sentence, what the rule would do: "Would remove 3 tags
// from 2 files.", "Would remove 2 AITags from 2 files." or "Would rename 2
// tags and remove 1 AITag on 2 files.".
func (g *ruleGroup) doing() string {
	if g.Renamed == 0 && g.AITags == 0 {
		return "Would remove " + english.Plural(g.Removed, "tag", "tags") + " from " + english.Plural(len(g.Files), "file", "files") + "."
	}
	var parts []string
	if g.Renamed > 0 {
		parts = append(parts, "rename "+english.Plural(g.Renamed, "tag", "tags"))
	}
	if g.Removed > 0 {
		parts = append(parts, "remove "+english.Plural(g.Removed, "tag", "tags"))
	}
	if g.AITags > 0 {
		verb := "remove "
		if g.Removed > 0 {
			verb = ""
		}
		parts = append(parts, verb+english.Plural(g.AITags, "AITag", "AITags"))
	}
	last := len(parts) - 1
	text := parts[last]
	if last > 0 {
		text = strings.Join(parts[:last], ", ") + " and " + parts[last]
	}
	prep := " on "
	if g.Renamed == 0 {
		prep = " from "
	}
	return "Would " + text + prep + english.Plural(len(g.Files), "file", "files") + "."
}

// frequentShown is how many of an allowlist's most frequent removals the
// plan shows.
const frequentShown = 5

// allowlistLine says, for people, what an allowlist rule removes: an
// allowlist forbids every tag it does not name, so a typo in it removes
// far more than intended, and the counts show it at a glance. It lists
// every tag when there are at most frequentShown, else the most frequent.
// quote formats one tag.
func allowlistLine(g ruleGroup, quote func(string) string) string {
	var parts []string
	for _, tc := range g.Frequent {
		parts = append(parts, quote(tc.Tag)+" ("+english.Plural(tc.Files, "file", "files")+")")
	}
	if g.Distinct <= len(g.Frequent) {
		return "would remove " + english.Plural(g.Distinct, "distinct tag", "distinct tags") + ": " + strings.Join(parts, ", ")
	}
	return "would remove " + english.Plural(g.Distinct, "distinct tag", "distinct tags") +
		", most often " + strings.Join(parts, ", ") + ", …"
}

// fileTags is one file of a ruleGroup: the tags the rule removes from it,
// its renames and the AITags it removes.
type fileTags struct {
	ID      string
	Path    string
	Tags    []string // removed, not renamed by the rule
	Renames []renameLine
	AITags  []string
}

// renameLine is one rename of a file: Had says the file carries New
// already, so only Old is removed.
type renameLine struct {
	Old, New string
	Had      bool
}

// renameText formats a rename as "Old → New", and "(already there)" when
// the file carries New already; quote formats one tag.
func renameText(r renameLine, quote func(string) string) string {
	s := quote(r.Old) + " → " + quote(r.New)
	if r.Had {
		s += " (already there)"
	}
	return s
}

// groupByRule splits the plan's changes by rule, in the order of p.Rules,
// leaving out rules without changes. A rename goes to its rule; a removed
// tag goes to every rule named by its change that forbids it and does not
// rename it, and an AITag to every such rule that forbids it, or to the
// unattributed group when there is none.
func groupByRule(p *Plan) []ruleGroup {
	index := make(map[string]int, len(p.Rules))
	groups := make([]ruleGroup, 0, len(p.Rules)+1)
	for i := range p.Rules {
		r := &p.Rules[i]
		if _, dup := index[r.Name]; dup {
			continue
		}
		index[r.Name] = len(groups)
		groups = append(groups, ruleGroup{Name: r.Name, Description: r.Description, Allowlist: len(r.AllowedTags) > 0})
	}
	pols := make([]*manifest.Policy, len(groups))
	for i := range p.Rules {
		if g := index[p.Rules[i].Name]; pols[g] == nil {
			pols[g] = p.Rules[i].Policy()
		}
	}
	unattributed := ruleGroup{Name: unattributedRule}
	perGroup := map[int]*fileTags{}
	at := func(g int, c *Change) *fileTags {
		ft := perGroup[g]
		if ft == nil {
			ft = &fileTags{ID: c.FileID, Path: c.FilePath}
			perGroup[g] = ft
		}
		return ft
	}
	for ci := range p.Changes {
		c := &p.Changes[ci]
		clear(perGroup)
		orphans := &fileTags{ID: c.FileID, Path: c.FilePath}
		renamedBy := map[string][]int{}
		for _, r := range c.Renames {
			g, ok := index[r.Rule]
			if !ok || !slices.Contains(c.RemoveTags, r.Old) {
				continue
			}
			ft := at(g, c)
			ft.Renames = append(ft.Renames, renameLine{Old: r.Old, New: r.New, Had: !slices.Contains(c.AddTags, r.New)})
			renamedBy[r.Old] = append(renamedBy[r.Old], g)
		}
		for _, t := range c.RemoveTags {
			found := len(renamedBy[t]) > 0
			for _, name := range c.Rules {
				g, ok := index[name]
				if !ok || !pols[g].Forbids(t) {
					continue
				}
				found = true
				if slices.Contains(renamedBy[t], g) {
					continue
				}
				if ft := at(g, c); len(ft.Tags) == 0 || ft.Tags[len(ft.Tags)-1] != t {
					ft.Tags = append(ft.Tags, t)
				}
			}
			if !found {
				orphans.Tags = append(orphans.Tags, t)
			}
		}
		for _, t := range c.RemoveAITags {
			found := false
			for _, name := range c.Rules {
				g, ok := index[name]
				if !ok || !pols[g].ForbidsAITag(t) {
					continue
				}
				found = true
				if ft := at(g, c); len(ft.AITags) == 0 || ft.AITags[len(ft.AITags)-1] != t {
					ft.AITags = append(ft.AITags, t)
				}
			}
			if !found {
				orphans.AITags = append(orphans.AITags, t)
			}
		}
		for g, ft := range perGroup {
			groups[g].add(*ft)
		}
		if len(orphans.Tags)+len(orphans.AITags) > 0 {
			unattributed.add(*orphans)
		}
	}
	groups = append(groups, unattributed)
	out := groups[:0]
	for _, g := range groups {
		if len(g.Files) == 0 {
			continue
		}
		if g.Allowlist {
			g.Distinct, g.Frequent = tagFrequencies(g.Files)
		}
		slices.SortFunc(g.Files, func(a, b fileTags) int {
			return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.ID, b.ID))
		})
		out = append(out, g)
	}
	return out
}

// add counts a file in the group.
func (g *ruleGroup) add(ft fileTags) {
	g.Files = append(g.Files, ft)
	g.Removed += len(ft.Tags)
	g.Renamed += len(ft.Renames)
	g.AITags += len(ft.AITags)
}

// tagFrequencies returns how many distinct tags files lose, and the
// frequentShown ones lost by the most files (ties by tag).
func tagFrequencies(files []fileTags) (int, []TagCount) {
	counts := map[string]int{}
	for _, f := range files {
		for _, t := range f.Tags {
			counts[t]++
		}
	}
	all := make([]TagCount, 0, len(counts))
	for t, n := range counts {
		all = append(all, TagCount{Tag: t, Files: n})
	}
	slices.SortFunc(all, func(a, b TagCount) int { return cmp.Or(b.Files-a.Files, strings.Compare(a.Tag, b.Tag)) })
	return len(all), all[:min(len(all), frequentShown)]
}

// display returns s as it is when every rune of it is printable, else s
// quoted as a Go string, so that control characters, escape sequences and
// invalid UTF-8 show as visible escapes instead of acting on the output.
func display(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
