package reconcile

import (
	"bufio"
	"cmp"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tagprune/tagprune/manifest"
)

// NoChangesText is the line RenderText writes for a plan without changes.
const NoChangesText = "No changes. The library matches the manifest."

// unattributedRule names the group of removals that no rule named by their
// change forbids. A consistent plan never has one; a hand-edited or corrupt
// plan may, and the diff must still show every tag it would remove.
const unattributedRule = "(not attributed to a rule of this plan)"

// ANSI escape sequences used when colour is on.
const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
)

// RenderText writes the human diff of a plan (section 3 of DESIGN.md).
//
// Removals are grouped by rule, in the order of p.Rules, then by file path.
// Each rule that changes at least one file gets a header line with its name,
// its description and how many files it changes; rules that change nothing
// are left out. The header of an allowlist rule is followed by a line saying
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
//
// With color set, rule headers are bold, removed tags red and NoChangesText
// green; without it the output holds no escape sequences at all. Names,
// paths and tags with control characters or invalid UTF-8 are written
// quoted, so they can neither break lines nor send escape sequences to the
// terminal. RenderText returns the first error from w.
func RenderText(w io.Writer, p *Plan, color bool) error {
	bw := bufio.NewWriter(w)
	style := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	filter := textRuleFilter(p)
	if len(p.Changes) == 0 {
		if filter != "" {
			bw.WriteString(filter + "\n" + style(ansiGreen, NoChangesFilteredText) + "\n")
			return bw.Flush()
		}
		bw.WriteString(style(ansiGreen, NoChangesText) + "\n")
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
		header += ": would remove tags from " + plural(len(g.Files), "file", "files")
		bw.WriteString(style(ansiBold, header) + "\n")
		if g.Allowlist {
			bw.WriteString("  allowlist: " + allowlistLine(g, display) + "\n")
		}
		for _, f := range g.Files {
			bw.WriteString("  " + display(f.Path) + "\n")
			for _, t := range f.Tags {
				bw.WriteString("    " + style(ansiRed, "- "+display(t)) + "\n")
			}
		}
	}
	bw.WriteString("\n")
	if filter != "" {
		bw.WriteString(filter + "\n")
	}
	bw.WriteString(planSummaryLine(p) + "\n")
	return bw.Flush()
}

// planSummaryLine returns the one-line summary of a plan with changes, such
// as "Plan: 1,234 files to change, 1,310 tags to remove, 25 removeTags calls.".
// The counts come from the plan's changes and batches themselves.
func planSummaryLine(p *Plan) string {
	tags := 0
	for _, c := range p.Changes {
		tags += len(c.RemoveTags)
	}
	return "Plan: " + plural(len(p.Changes), "file", "files") + " to change, " +
		plural(tags, "tag", "tags") + " to remove, " +
		plural(len(p.Batches), "removeTags call", "removeTags calls") + "."
}

// ruleGroup is what one rule accounts for in a plan.
type ruleGroup struct {
	Name        string
	Description string
	Files       []fileTags // sorted by path, then file id
	Tags        int        // tags over all Files
	// For an allowlist rule: how many distinct tags it removes, and the
	// ones it removes from the most files.
	Allowlist bool
	Distinct  int
	Frequent  []TagCount
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
		parts = append(parts, quote(tc.Tag)+" ("+plural(tc.Files, "file", "files")+")")
	}
	if g.Distinct <= len(g.Frequent) {
		return "would remove " + plural(g.Distinct, "distinct tag", "distinct tags") + ": " + strings.Join(parts, ", ")
	}
	return "would remove " + plural(g.Distinct, "distinct tag", "distinct tags") +
		", most often " + strings.Join(parts, ", ") + ", …"
}

// fileTags is one file of a ruleGroup and the tags the rule removes from it.
type fileTags struct {
	ID   string
	Path string
	Tags []string
}

// groupByRule splits the plan's changes by rule, in the order of p.Rules,
// leaving out rules without changes. A tag goes to every rule named by its
// change that forbids it, or to the unattributed group when there is none.
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
	perGroup := map[int][]string{}
	for _, c := range p.Changes {
		clear(perGroup)
		var orphans []string
		for _, t := range c.RemoveTags {
			found := false
			for _, name := range c.Rules {
				g, ok := index[name]
				if !ok || !pols[g].Forbids(t) {
					continue
				}
				if tags := perGroup[g]; len(tags) == 0 || tags[len(tags)-1] != t {
					perGroup[g] = append(tags, t)
				}
				found = true
			}
			if !found {
				orphans = append(orphans, t)
			}
		}
		for g, tags := range perGroup {
			groups[g].Files = append(groups[g].Files, fileTags{ID: c.FileID, Path: c.FilePath, Tags: tags})
			groups[g].Tags += len(tags)
		}
		if len(orphans) > 0 {
			unattributed.Files = append(unattributed.Files, fileTags{ID: c.FileID, Path: c.FilePath, Tags: orphans})
			unattributed.Tags += len(orphans)
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

// commas formats n in decimal with a comma between groups of three digits.
func commas(n int) string {
	s := strconv.Itoa(n)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	b.WriteString(sign)
	for i, d := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}

// plural returns n with thousands separators followed by the singular noun
// when n is 1, else the plural one.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return commas(n) + " " + many
}
