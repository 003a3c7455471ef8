package reconcile

import (
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tagprune/tagprune/internal/english"
)

// MarkdownLimit is GitHub's limit on the size of a pull-request comment, in
// characters. RenderMarkdown and RenderReportMarkdown always write fewer
// bytes than this, and so fewer characters, however large the input.
const MarkdownLimit = 65536

// ShownFiles is how many files of each rule (or status) the markdown
// renderers list in the open; the rest go in a collapsed <details> block.
const ShownFiles = 20

// Sizes that keep markdown output bounded.
const (
	// mdBudget is the most bytes a markdown document may take.
	mdBudget = MarkdownLimit - 1
	// closingReserve is kept free for the lines that close a section and
	// the document, whatever was written before.
	closingReserve = 512
	// overviewReserve is kept free for the per-rule sections while the
	// overview table is written.
	overviewReserve = MarkdownLimit / 2
	// cellRunes bounds the text of one table cell before escaping.
	cellRunes = 300
)

// RenderMarkdown writes a pull-request summary of a plan, never longer than
// GitHub's comment limit.
//
// It writes a title, the summary line of RenderText, for a plan made with a
// rule filter a quoted line naming the filter and the rules it left out
// (those past the first ten folded in a <details> block), a quoted note
// listing the first ten tags no call can carry (Plan.UnsendableTags), if
// any, an overview table
// with a row per rule of the plan, then a section per rule that changes files:
// its intro says, for an allowlist rule, how many distinct tags it would
// remove and which most often; then the first ShownFiles files in a table
// and the rest in a collapsed <details> block. When the whole would not fit under MarkdownLimit, files
// (and if need be whole rules) are left out and a line says how many, and
// to see the JSON plan for all of them. Text from the plan is escaped so
// that no path, tag or rule name can break a table, inject HTML or mention
// anyone. RenderMarkdown returns the first error from w.
func RenderMarkdown(w io.Writer, p *Plan) error {
	d := &mdDoc{}
	d.line("## tagprune plan")
	d.line("")
	switch {
	case len(p.Changes) == 0 && len(p.RuleFilter) > 0:
		d.line("**" + NoChangesFilteredText + "**")
	case len(p.Changes) == 0:
		d.line("**" + NoChangesText + "**")
	default:
		what := "would remove"
		if p.Summary.TagsToAdd > 0 {
			what = "would remove and add"
		}
		d.line("**" + planSummaryLine(p) + "** Nothing has been changed: this is what `tagprune apply` " + what + ".")
	}
	d.line("")
	var meta []string
	if !p.CreatedAt.IsZero() {
		meta = append(meta, "Planned at "+p.CreatedAt.UTC().Format(time.RFC3339))
	}
	if p.Tool != "" {
		meta = append(meta, "tagprune "+mdCell(p.Tool))
	}
	meta = append(meta, english.Plural(p.Summary.FilesScanned, "file", "files")+" scanned")
	d.line(strings.Join(meta, " · ") + ".")
	d.line("")
	if head, lines := unsendableNote(p, mdCell); head != "" {
		d.line("> **" + head + "**")
		for _, l := range lines {
			d.line("> - " + l)
		}
		d.line("")
	}
	d.mdRuleFilter(p.RuleFilter, p.RulesLeftOut, len(p.Rules), "rulesLeftOut in the JSON plan")

	groups := groupByRule(p)
	byName := make(map[string]ruleGroup, len(groups))
	renames, aiTags := false, false
	for _, g := range groups {
		byName[g.Name] = g
		renames = renames || g.Renamed > 0
		aiTags = aiTags || g.AITags > 0
	}
	if len(p.Rules) > 0 {
		// Columns for renames and AITags only when the plan has some, so
		// that a plan that only removes tags reads as it always did.
		extra := func(g ruleGroup) string {
			s := ""
			if renames {
				s += " | " + english.Thousands(g.Renamed)
			}
			if aiTags {
				s += " | " + english.Thousands(g.AITags)
			}
			return s
		}
		rows := make([]string, 0, len(p.Rules)+1)
		seen := map[string]bool{}
		for _, r := range p.Rules {
			if seen[r.Name] {
				continue
			}
			seen[r.Name] = true
			g := byName[r.Name]
			rows = append(rows, "| "+mdCell(r.Name)+" | "+mdCell(r.Description)+" | "+english.Thousands(len(g.Files))+" | "+english.Thousands(g.Removed)+extra(g)+" |")
		}
		if g, ok := byName[unattributedRule]; ok {
			rows = append(rows, "| "+mdCell(g.Name)+" |  | "+english.Thousands(len(g.Files))+" | "+english.Thousands(g.Removed)+extra(g)+" |")
		}
		header, align := "| Rule | Description | Files | Tags to remove", "| --- | --- | ---: | ---:"
		if renames {
			header, align = header+" | Renames", align+" | ---:"
		}
		if aiTags {
			header, align = header+" | AITags to remove", align+" | ---:"
		}
		d.table(header+" |\n"+align+" |", rows, "rules")
	}

	secs := make([]mdSection, 0, len(groups))
	for _, g := range groups {
		// A column for each kind of change the rule makes; removed tags
		// when it makes no other.
		tagsColumn := g.Removed > 0 || g.Renamed+g.AITags == 0
		header, align := "| File", "| ---"
		if tagsColumn {
			header, align = header+" | Tags to remove", align+" | ---"
		}
		if g.Renamed > 0 {
			header, align = header+" | Renames", align+" | ---"
		}
		if g.AITags > 0 {
			header, align = header+" | AITags to remove", align+" | ---"
		}
		s := mdSection{
			heading: "### " + mdCell(g.Name),
			intro:   g.doing(),
			header:  header + " |\n" + align + " |",
		}
		if g.Allowlist && g.Removed > 0 {
			line := allowlistLine(g, func(t string) string { return mdTags([]string{t}) })
			if !strings.HasSuffix(line, "…") {
				line += "."
			}
			s.intro += " As an allowlist, it " + line
		}
		if g.Description != "" {
			desc := mdCell(g.Description)
			if !strings.HasSuffix(desc, ".") && !strings.HasSuffix(desc, "!") && !strings.HasSuffix(desc, "?") {
				desc += "."
			}
			s.intro = desc + " " + s.intro
		}
		for _, f := range g.Files {
			row := "| " + mdCell(f.Path)
			if tagsColumn {
				row += " | " + mdTags(f.Tags)
			}
			if g.Renamed > 0 {
				row += " | " + mdRenames(f.Renames)
			}
			if g.AITags > 0 {
				row += " | " + mdTags(f.AITags)
			}
			s.rows = append(s.rows, row+" |")
		}
		secs = append(secs, s)
	}
	d.sections(secs, "the JSON plan (`tagprune plan --format json` or `--out`)")
	_, err := io.WriteString(w, d.b.String())
	return err
}

// mdDoc builds a markdown document that never grows past mdBudget bytes.
type mdDoc struct {
	b strings.Builder
}

// fits reports whether n more bytes can be written while keeping reserve
// bytes free.
func (d *mdDoc) fits(n, reserve int) bool { return d.b.Len()+n+reserve <= mdBudget }

// line writes s and a newline. It is for text whose size the caller has
// bounded; it still refuses to pass the budget.
func (d *mdDoc) line(s string) {
	if d.fits(len(s)+1, 0) {
		d.b.WriteString(s + "\n")
	}
}

// table writes a table with as many of rows as fit in the first half of the
// budget, then a line saying how many more were left out.
func (d *mdDoc) table(header string, rows []string, noun string) {
	d.line(header)
	n := 0
	for _, r := range rows {
		if !d.fits(len(r)+1, overviewReserve) {
			break
		}
		d.line(r)
		n++
	}
	if n < len(rows) {
		d.line("")
		d.line("_" + english.Thousands(len(rows)-n) + " more " + noun + " not shown to keep this comment under GitHub's size limit._")
	}
	d.line("")
}

// mdSection is a titled table of files, shown partly in the open and partly
// in a collapsed <details> block.
type mdSection struct {
	heading string   // "### ..." line
	intro   string   // a sentence under the heading
	header  string   // the table's header and delimiter lines
	rows    []string // table rows, one per file, without newlines
}

// head returns the part of the section that is always shown when the
// section is shown at all: heading, intro and the first ShownFiles rows.
func (s *mdSection) head() string {
	var b strings.Builder
	b.WriteString(s.heading + "\n\n" + s.intro + "\n\n" + s.header + "\n")
	for _, r := range s.rows[:min(len(s.rows), ShownFiles)] {
		b.WriteString(r + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

// sections writes secs in order. The head of every section is kept room
// for before the collapsed rows of earlier sections are written, so a large
// first section cannot push the others out; collapsed rows are written while
// they fit, and a line says how many were left out and to see the full
// document named by seeAlso. Sections whose heads no longer fit are left
// out, and a last line says so.
func (d *mdDoc) sections(secs []mdSection, seeAlso string) {
	heads := make([]string, len(secs))
	later := make([]int, len(secs)+1) // room for the heads after section i
	for i := range secs {
		heads[i] = secs[i].head()
	}
	for i := len(secs) - 1; i >= 0; i-- {
		later[i] = later[i+1] + len(heads[i]) + closingReserve
	}
	for i, s := range secs {
		if !d.fits(len(heads[i]), closingReserve) {
			files := 0
			for _, t := range secs[i:] {
				files += len(t.rows)
			}
			d.line("_" + english.Plural(len(secs)-i, "more section", "more sections") + " (" + english.Plural(files, "file", "files") +
				") not shown to keep this comment under GitHub's size limit; see " + seeAlso + "._")
			return
		}
		d.b.WriteString(heads[i])
		if len(s.rows) <= ShownFiles {
			continue
		}
		rest := s.rows[ShownFiles:]
		reserve := later[i+1] + closingReserve
		open := "<details><summary>" + english.Plural(len(rest), "more file", "more files") + "</summary>\n\n" + s.header + "\n"
		n := 0
		if d.fits(len(open), reserve) {
			d.b.WriteString(open)
			for _, r := range rest {
				if !d.fits(len(r)+1, reserve) {
					break
				}
				d.b.WriteString(r + "\n")
				n++
			}
			if n < len(rest) {
				d.line("")
				d.line("_" + english.Plural(len(rest)-n, "more file", "more files") +
					" not shown to keep this comment under GitHub's size limit; see " + seeAlso + "._")
			}
			d.b.WriteString("\n</details>\n\n")
			continue
		}
		d.line("_" + english.Plural(len(rest), "more file", "more files") +
			" not shown to keep this comment under GitHub's size limit; see " + seeAlso + "._")
		d.line("")
	}
}

// mdTags returns tags as one escaped table cell, bounded in size.
func mdTags(tags []string) string {
	var b strings.Builder
	size := 0
	for i, t := range tags {
		t = display(t)
		if i > 0 && size+len(t) > cellRunes {
			b.WriteString(", … (" + english.Thousands(len(tags)-i) + " more)")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(mdCell(t))
		size += len(t) + 2
	}
	return b.String()
}

// planVerbs says what apply would do to the files of a plan report: "remove
// tags from", or, with renames and AITags, "remove tags, add tags to and
// remove AITags from".
func planVerbs(adds, ai bool) string {
	switch {
	case adds && ai:
		return "remove tags, add tags to and remove AITags from"
	case adds:
		return "remove tags from and add tags to"
	case ai:
		return "remove tags and AITags from"
	}
	return "remove tags from"
}

// minusTags returns the tags of a that are not in b, in a's order.
func minusTags(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	var out []string
	for _, t := range a {
		if !slices.Contains(b, t) {
			out = append(out, t)
		}
	}
	return out
}

// mdRenames returns renames as one escaped table cell ("Red → red"),
// bounded in size.
func mdRenames(rn []renameLine) string {
	var b strings.Builder
	for i, r := range rn {
		text := renameText(r, mdCell)
		if i > 0 && b.Len()+len(text) > cellRunes {
			b.WriteString(", … (" + english.Thousands(len(rn)-i) + " more)")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(text)
	}
	return b.String()
}

// mdCell returns s made safe for a markdown table cell or heading: control
// characters and invalid UTF-8 are shown as escapes, text past cellRunes
// runes is cut, and characters that markdown or HTML would act on are
// escaped, so the text cannot end the cell, start a code span, link, HTML
// tag or emphasis, or mention a user or team.
func mdCell(s string) string {
	s = display(s)
	if r := []rune(s); len(r) > cellRunes {
		s = string(r[:cellRunes]) + "…"
	}
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '|', '~', '#', '!':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '@':
			b.WriteString("&#64;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// RenderReportMarkdown writes a report as markdown for a pull request, a
// step summary or a .md report file, never longer than GitHub's comment
// limit.
//
// It writes a title, a line saying whether every planned file converged, a
// table of file counts by status, the run's times and API counts, then a
// section per status in this order: failed files with their errors,
// pending, missing, changed. A report of a plan made with a rule filter
// says so under the title, as RenderMarkdown does. A file's row names the
// rules that forbid what it loses (all but missing files). Each section
// lists its first ShownFiles files in the open and the rest in a collapsed
// <details> block, left out with a line pointing to the JSON report when
// the whole would not fit. The file counts come from r.Files; tags removed,
// scanned files and API counts from r.Summary. A run that adds tags
// (renames, restore) or removes AITags has columns for them, and pending
// and failed files show what the API confirmed before the run stopped. The
// report of a plan (command "plan") says that nothing was changed and lists
// its pending files as the files apply would change; that of a restore says
// "restored". Text from the report is escaped as by RenderMarkdown.
// RenderReportMarkdown returns the first error from w.
func RenderReportMarkdown(w io.Writer, r *Report) error {
	byStatus := map[string][]FileResult{}
	adds, ai := false, false
	for _, f := range r.Files {
		byStatus[f.Status] = append(byStatus[f.Status], f)
		adds = adds || len(f.AddTags)+len(f.AddedTags) > 0
		ai = ai || len(f.RemoveAITags)+len(f.RemovedAITags) > 0
	}
	failed, pending := len(byStatus[StatusFailed]), len(byStatus[StatusPending])
	other := len(r.Files) - failed - pending - len(byStatus[StatusChanged]) - len(byStatus[StatusMissing])

	d := &mdDoc{}
	command := r.Command
	if command == "" {
		command = "apply"
	}
	d.line("## tagprune " + mdCell(command) + " report")
	d.line("")
	isPlan := command == "plan"
	again := "`tagprune apply`"
	if command == "restore" {
		again = "`tagprune restore`"
	}
	switch {
	case isPlan:
		d.line("**Nothing has been changed:** `tagprune apply` would " + planVerbs(adds, ai) + " " +
			english.Plural(pending, "file", "files") + ".")
	case failed+pending+other == 0:
		d.line("**All " + english.Plural(len(r.Files), "planned file", "planned files") + " converged.**")
	default:
		d.line("**" + english.Plural(failed+pending+other, "planned file has", "planned files have") + " not converged** (" +
			english.Thousands(failed) + " failed, " + english.Thousands(pending) + " pending). Running " + again + " again changes what is left.")
	}
	d.line("")
	if r.Interrupted {
		d.line("> **Interrupted:** no new call was started once the run was stopped.")
		d.line("")
	}
	if r.Error != "" {
		d.line("> **Error:** " + mdCell(r.Error))
		d.line("")
	}
	d.mdRuleFilter(r.RuleFilter, r.RulesLeftOut, len(r.Rules), "rulesLeftOut in the JSON report")
	s := r.Summary
	if isPlan {
		// A plan changed nothing: its counts say what apply would do.
		header, align, row := "| Files to change | Tags to remove", "| ---: | ---:", "| "+english.Thousands(pending)+" | "+english.Thousands(s.TagsToRemove)
		if adds {
			header, align, row = header+" | Tags to add", align+" | ---:", row+" | "+english.Thousands(s.TagsToAdd)
		}
		if ai {
			header, align, row = header+" | AITags to remove", align+" | ---:", row+" | "+english.Thousands(s.AITagsToRemove)
		}
		d.line(header + " |")
		d.line(align + " |")
		d.line(row + " |")
	} else {
		header := "| Changed | Failed | Missing | Pending | Tags removed"
		align := "| ---: | ---: | ---: | ---: | ---:"
		row := "| " + english.Thousands(len(byStatus[StatusChanged])) + " | " + english.Thousands(failed) + " | " + english.Thousands(len(byStatus[StatusMissing])) +
			" | " + english.Thousands(pending) + " | " + english.Thousands(s.TagsRemoved)
		if adds {
			header, align, row = header+" | Tags added", align+" | ---:", row+" | "+english.Thousands(s.TagsAdded)
		}
		if ai {
			header, align, row = header+" | AITags removed", align+" | ---:", row+" | "+english.Thousands(s.AITagsRemoved)
		}
		d.line(header + " |")
		d.line(align + " |")
		d.line(row + " |")
	}
	d.line("")
	var meta []string
	if !r.StartedAt.IsZero() {
		meta = append(meta, "Started "+r.StartedAt.UTC().Format(time.RFC3339))
		if !r.FinishedAt.IsZero() {
			meta = append(meta, "took "+r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String())
		}
	}
	if r.Tool != "" {
		meta = append(meta, "tagprune "+mdCell(r.Tool))
	}
	calls := english.Thousands(s.APICalls.List) + " list, " + english.Thousands(s.APICalls.Details) + " details, " + english.Thousands(s.APICalls.RemoveTags) + " removeTags"
	if s.APICalls.AddTags > 0 || adds {
		calls += ", " + english.Thousands(s.APICalls.AddTags) + " addTags"
	}
	if s.APICalls.RemoveAITags > 0 || ai {
		calls += ", " + english.Thousands(s.APICalls.RemoveAITags) + " removeAITags"
	}
	meta = append(meta, english.Plural(s.FilesScanned, "file", "files")+" scanned",
		"API requests: "+calls+" ("+english.Plural(s.Retries, "retry", "retries")+", "+
			english.Thousands(s.RateLimited)+" rate-limited)")
	d.line(strings.Join(meta, " · ") + ".")
	d.line("")

	// Optional columns: what was added (renames, restore) and which AITags
	// go, only in reports that have any.
	type column struct {
		title string
		cell  func(FileResult) string
	}
	var planned, done []column
	if adds {
		planned = append(planned, column{"Tags to add", func(f FileResult) string { return mdTags(f.AddTags) }})
		done = append(done, column{"Tags added", func(f FileResult) string { return mdTags(f.AddedTags) }})
	}
	if ai {
		planned = append(planned, column{"AITags to remove", func(f FileResult) string { return mdTags(f.RemoveAITags) }})
		done = append(done, column{"AITags removed", func(f FileResult) string { return mdTags(f.removedAI()) }})
	}
	table := func(base string, cols []column) (string, func(FileResult) string) {
		header := base
		for _, c := range cols {
			header += " | " + c.title
		}
		n := strings.Count(header, "|")
		cells := func(f FileResult) string {
			s := ""
			for _, c := range cols {
				s += " | " + c.cell(f)
			}
			return s
		}
		return header + " |\n" + strings.Repeat("| --- ", n) + "|", cells
	}
	fileCell := func(f FileResult) string { return mdCell(f.FilePath) + " | " + mdCell(f.FileID) }
	// Pending and failed files show where they stand: the tags and AITags
	// still to remove, and the tags added before the run stopped or the
	// file failed (a rename interrupted between its two steps has its new
	// tag added and its old one still there).
	var partial []column
	if adds {
		partial = append(partial, column{"Tags added", func(f FileResult) string { return mdTags(f.AddedTags) }})
	}
	if ai {
		partial = append(partial, column{"AITags not removed", func(f FileResult) string { return mdTags(minusTags(f.RemoveAITags, f.RemovedAITags)) }})
	}
	errorColumn := column{"Error", func(f FileResult) string { return mdCell(f.Error) }}
	// Every row but a missing file's names the rules behind its changes.
	rulesColumn := column{"Rules", func(f FileResult) string { return mdTags(f.Rules) }}
	withRules := func(cols []column, more ...column) []column {
		return append(append(slices.Clip(cols), rulesColumn), more...)
	}
	failedHeader, failedCells := table("| File | File ID | Tags not removed", withRules(partial, errorColumn))
	pendingHeader, pendingCells := table("| File | File ID | Tags not removed", withRules(partial))
	changedHeader, changedCells := table("| File | Tags removed", withRules(done))
	plannedHeader, plannedCells := table("| File | File ID | Tags to remove", withRules(planned))
	pendingIntro := "These files were not reached; nothing was changed on them."
	if slices.ContainsFunc(byStatus[StatusPending], func(f FileResult) bool {
		return len(f.AddedTags)+len(f.RemovedTags)+len(f.RemovedAITags) > 0
	}) {
		pendingIntro = "These files were not finished: what is not removed is still on them, and the tags added were added before the run stopped."
	}
	failedIntro := "These files could not be changed; their tags are as they were."
	if partial != nil {
		failedIntro = "These files could not be changed: what is not removed is still on them, and the tags added were added before they failed."
	}
	changedIntro := "The tags were removed from these files."
	switch {
	case command == "restore":
		changedIntro = "These files were restored: the tags were added back, and the tags the apply had added were removed."
	case adds || ai:
		changedIntro = "These files were changed as planned."
	}
	kinds := []struct {
		status, title, intro, header string
		row                          func(FileResult) string
	}{
		{StatusFailed, "Failed", failedIntro, failedHeader,
			func(f FileResult) string {
				return "| " + fileCell(f) + " | " + mdTags(f.RemoveTags) + failedCells(f) + " |"
			}},
		{StatusPending, "Pending", pendingIntro, pendingHeader,
			func(f FileResult) string {
				return "| " + fileCell(f) + " | " + mdTags(f.RemoveTags) + pendingCells(f) + " |"
			}},
		{StatusMissing, "Missing", "These files no longer exist in the library.",
			"| File | File ID |\n| --- | --- |",
			func(f FileResult) string { return "| " + fileCell(f) + " |" }},
		{StatusChanged, "Changed", changedIntro, changedHeader,
			func(f FileResult) string {
				return "| " + mdCell(f.FilePath) + " | " + mdTags(f.removed()) + changedCells(f) + " |"
			}},
	}
	if isPlan {
		kinds[1].title, kinds[1].intro = "Would change", "`tagprune apply` would remove these tags."
		kinds[1].header = plannedHeader
		kinds[1].row = func(f FileResult) string {
			return "| " + fileCell(f) + " | " + mdTags(f.RemoveTags) + plannedCells(f) + " |"
		}
		if adds || ai {
			kinds[1].intro = "`tagprune apply` would make these changes: what is listed to remove, it would remove; what is listed to add, it would add."
		}
	}
	var secs []mdSection
	for _, k := range kinds {
		files := byStatus[k.status]
		if len(files) == 0 {
			continue
		}
		sec := mdSection{heading: "### " + k.title + " (" + english.Thousands(len(files)) + ")", intro: k.intro, header: k.header}
		for _, f := range files {
			sec.rows = append(sec.rows, k.row(f))
		}
		secs = append(secs, sec)
	}
	d.sections(secs, "the JSON report")
	_, err := io.WriteString(w, d.b.String())
	return err
}
