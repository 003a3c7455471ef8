package reconcile

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/internal/ansi"
	"github.com/tagprune/tagprune/internal/english"
	"github.com/tagprune/tagprune/internal/inputfile"
	"github.com/tagprune/tagprune/internal/sorted"
)

// MaxReportFileSize is the largest report file ReadReport reads, in bytes
// (1 GiB).
const MaxReportFileSize = 1 << 30

// ReportFileError is a report file that ReadReport refuses: it cannot be
// read, is not a report, is of another format version, or records nothing
// that restore could undo.
type ReportFileError struct {
	Path string
	Err  error
}

func (e *ReportFileError) Error() string { return readingError("report", e.Path, e.Err) }

// Unwrap returns what was wrong with the file.
func (e *ReportFileError) Unwrap() error { return e.Err }

// ReadReport reads a JSON report written by apply or restore, for restore.
// It reads only a regular file of at most MaxReportFileSize bytes, and
// refuses a file that is not JSON or is cut short, a formatVersion other
// than FormatVersion, the report of a plan (a plan changes nothing), and a
// report whose files lack an id, name one twice, or name an empty tag.
// Every refusal is a *ReportFileError naming the file.
func ReadReport(path string) (*Report, error) {
	refuse := func(format string, args ...any) (*Report, error) {
		return nil, &ReportFileError{Path: path, Err: fmt.Errorf(format, args...)}
	}
	b, err := inputfile.ReadFile(path, MaxReportFileSize)
	if err != nil {
		return nil, &ReportFileError{Path: path, Err: err}
	}
	var probe struct {
		FormatVersion *int   `json:"formatVersion"`
		Command       string `json:"command"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return refuse("not a valid report file (truncated or not JSON?): %w", err)
	}
	switch {
	case probe.FormatVersion == nil:
		return refuse("no formatVersion: this is not a tagprune report (supported formatVersion is %d)", FormatVersion)
	case *probe.FormatVersion != FormatVersion:
		return refuse("unsupported formatVersion %d: this tagprune reads formatVersion %d", *probe.FormatVersion, FormatVersion)
	case probe.Command == "plan":
		return refuse("this is the report of a plan, which changed nothing: give the report of an apply")
	case probe.Command != "apply" && probe.Command != "restore":
		return refuse("command %q: this is not the report of an apply or a restore", probe.Command)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return refuse("%w", err)
	}
	seen := make(map[string]bool, len(r.Files))
	for i, f := range r.Files {
		switch {
		case f.FileID == "":
			return refuse("file %d has no fileId", i+1)
		case seen[f.FileID]:
			return refuse("file %s is listed twice", f.FileID)
		}
		seen[f.FileID] = true
		for _, list := range [][]string{f.RemoveTags, f.RemovedTags, f.AddedTags, f.AddTags} {
			if slices.Contains(list, "") {
				return refuse("file %s (%s) names an empty tag, which no apply removes or adds", f.FileID, f.FilePath)
			}
		}
	}
	return &r, nil
}

// Restore is what restore would do to undo an apply (or a restore): its
// Plan's changes add back (AddTags) the tags the run removed that the file
// lacks now, and remove (RemoveTags) the tags the run added that the file
// still carries; its batches are the addTags calls, then the removeTags
// calls, files grouped by identical tag sets, each call's tags adding up
// to at most MaxTagsLength characters. The Plan has no rules: a
// restore is bound by the report, not by a manifest.
type Restore struct {
	Report string // the report file, for messages
	Plan   *Plan
	// Missing lists the files of the report that no longer exist.
	Missing []MissingFile
	// NotRestorable lists the AITags the run removed: ImageKit has no call
	// that adds AITags.
	NotRestorable []AITagsLost
}

// undo is what a report says one file went through, as far as restore can
// undo it.
type undo struct {
	f       *FileResult
	addBack []string // tags the run removed
	remove  []string // tags the run added
}

// PlanRestore reads the files that rep changed (`id IN [...]` searches)
// and works out how to undo what it did: for every file, the tags the run
// removed (RemovedTags; for a changed file of an older report, RemoveTags)
// that the file lacks now are added back, and the tags the run added
// (AddedTags: the new tags of renames, which the file did not have) that
// the file still carries are removed. Tags the run did not add are never
// removed, so a tag the user had stays. Files that no longer exist are
// Missing; AITags the run removed are NotRestorable. A second restore
// finds nothing to do. path names the report in messages; opts.BatchSize
// bounds the files per call. It sends only read requests.
func PlanRestore(ctx context.Context, lib Library, rep *Report, path string, opts PlanOptions) (*Restore, error) {
	if opts.BatchSize < 0 || opts.BatchSize > api.MaxBulkFiles {
		return nil, fmt.Errorf("batch size %d is out of range: use 1..%d", opts.BatchSize, api.MaxBulkFiles)
	}
	rst := &Restore{Report: path}
	var todo []undo
	for i := range rep.Files {
		f := &rep.Files[i]
		u := undo{f: f, addBack: f.removed(), remove: f.AddedTags}
		if ai := f.removedAI(); len(ai) > 0 {
			rst.NotRestorable = append(rst.NotRestorable, AITagsLost{FileID: f.FileID, FilePath: f.FilePath, AITags: slices.Clone(ai)})
		}
		if len(u.addBack)+len(u.remove) > 0 {
			todo = append(todo, u)
		}
	}
	ids := make([]string, len(todo))
	for i, u := range todo {
		ids[i] = u.f.FileID
	}
	ids = sorted.Unique(ids)
	now := make(map[string]current, len(ids))
	scanned := 0
	err := listIDs(ctx, lib, ids, nil, DefaultConcurrency, func(f *api.File) {
		scanned++
		if _, ok := slices.BinarySearch(ids, f.FileID); ok {
			now[f.FileID] = current{path: f.FilePath, tags: f.Tags}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("reading the files of %s: %w", path, err)
	}

	p := &Plan{FormatVersion: FormatVersion, Tool: opts.Tool, CreatedAt: time.Now().UTC().Truncate(time.Second),
		RulesDigest: RulesDigest(rep.Rules), Rules: rep.Rules, Changes: []Change{}}
	for _, u := range todo {
		cur, ok := now[u.f.FileID]
		if !ok {
			rst.Missing = append(rst.Missing, MissingFile{FileID: u.f.FileID, FilePath: u.f.FilePath})
			continue
		}
		has := setOf(cur.tags)
		var add, remove []string
		for _, t := range u.addBack {
			if !has[t] {
				add = append(add, t)
			}
		}
		for _, t := range u.remove {
			if has[t] && !slices.Contains(u.addBack, t) {
				remove = append(remove, t)
			}
		}
		if len(add)+len(remove) == 0 {
			continue
		}
		before := slices.Clone(cur.tags)
		if before == nil {
			before = []string{}
		}
		c := Change{FileID: u.f.FileID, FilePath: cur.path, TagsBefore: before, AddTags: sorted.Unique(add),
			RemoveTags: sorted.Unique(remove), Rules: slices.Clone(u.f.Rules)}
		if c.RemoveTags == nil {
			c.RemoveTags = []string{}
		}
		if c.Rules == nil {
			c.Rules = []string{}
		}
		p.Changes = append(p.Changes, c)
	}
	slices.SortFunc(p.Changes, func(a, b Change) int {
		return cmp.Or(strings.Compare(a.FilePath, b.FilePath), strings.Compare(a.FileID, b.FileID))
	})
	p.Batches = slices.Concat(
		batchCalls(p.Changes, nil, opts.BatchSize, EndpointAddTags, addTagsOf, nil),
		batchCalls(p.Changes, nil, opts.BatchSize, EndpointRemoveTags, removeTagsOf, nil))
	if p.Batches == nil {
		p.Batches = []Batch{}
	}
	p.Summary = planSummary(p, scanned)
	if s, ok := lib.(StatsSource); ok {
		addStats(&p.Summary, s.Stats())
	}
	rst.Plan = p
	return rst, nil
}

// ApplyRestore sends a restore's calls as Apply sends a plan's: the addTags
// calls first, then the removeTags calls, holding out of its removeTags
// call a file whose tags were not all added back. Before it sends anything
// it checks that every call adds only tags its files' changes add back and
// removes only tags they remove (what PlanRestore allowed). lib must be a
// TagEditor. The report has command "restore", the missing files as
// StatusMissing and the AITags that cannot be restored in NotRestorable;
// it is returned even when err is not nil.
func ApplyRestore(ctx context.Context, lib Library, rst *Restore, opts ApplyOptions) (*Report, error) {
	p := rst.Plan
	changes := make(map[string]*Change, len(p.Changes)+len(rst.Missing))
	for i := range p.Changes {
		changes[p.Changes[i].FileID] = &p.Changes[i]
	}
	var ps problems
	for bi, b := range p.Batches {
		for _, id := range b.FileIDs {
			c := changes[id]
			if c == nil {
				ps.add("restore call %d names file %s, which it does not restore", bi+1, id)
				continue
			}
			planned := c.AddTags
			if endpointOf(b) == EndpointRemoveTags {
				planned = c.RemoveTags
			}
			for _, t := range b.Tags {
				if !slices.Contains(planned, t) {
					ps.add("restore call %d (%s) names tag %q for file %s, which the restore does not change", bi+1, b.Endpoint, t, id)
				}
			}
		}
	}
	if err := ps.err(); err != nil {
		r := RestoreReport(rst, opts.Tool)
		r.Error = err.Error()
		return r, err
	}
	full, missing := rst.withMissing()
	r, err := apply(ctx, lib, full, opts, missing, "restore")
	r.NotRestorable = rst.NotRestorable
	return r, err
}

// withMissing returns the restore's plan with a change for each missing
// file too, so that its report lists them, and their ids.
func (rst *Restore) withMissing() (*Plan, []string) {
	full := *rst.Plan
	full.Changes = slices.Clone(rst.Plan.Changes)
	missing := make([]string, 0, len(rst.Missing))
	for _, m := range rst.Missing {
		full.Changes = append(full.Changes, Change{FileID: m.FileID, FilePath: m.FilePath, TagsBefore: []string{}, RemoveTags: []string{}})
		missing = append(missing, m.FileID)
	}
	return &full, missing
}

// RestoreReport returns the report of a restore that sent nothing (a dry
// run or a refusal): every file to restore StatusPending, the missing ones
// StatusMissing.
func RestoreReport(rst *Restore, tool string) *Report {
	full, _ := rst.withMissing()
	r := newReport("restore", full, tool)
	for i := len(rst.Plan.Changes); i < len(r.Files); i++ {
		r.Files[i].Status = StatusMissing
	}
	finishReport(r, full, nil)
	r.Summary.APICalls, r.Summary.Retries, r.Summary.RateLimited = rst.Plan.Summary.APICalls, rst.Plan.Summary.Retries, rst.Plan.Summary.RateLimited
	r.NotRestorable = rst.NotRestorable
	return r
}

// NothingToRestoreText is the line RenderRestoreText writes when a restore
// has nothing to change.
const NothingToRestoreText = "Nothing to restore: every file has the tags the report says were removed, and none of the tags it added."

// RenderRestoreText writes what a restore would do, for people: per file,
// "+ tag" for a tag it would add back and "- tag" for one it would remove
// (a tag the apply added), then the files that no longer exist, the AITags
// it cannot restore, and a summary line such as "Restore: 3 files to
// change, 3 tags to add, 3 tags to remove, 1 addTags call, 1 removeTags
// call." or NothingToRestoreText. Colour and quoting are those of
// RenderText. It returns the first error from w.
func RenderRestoreText(w io.Writer, rst *Restore, color bool) error {
	bw := bufio.NewWriter(w)
	style := func(code, s string) string { return ansi.Style(color, code, s) }
	p := rst.Plan
	if len(p.Changes) > 0 {
		bw.WriteString(style(ansi.Bold, "Restore from "+display(rst.Report)+": would add back (+) and would remove (-) tags on "+
			english.Plural(len(p.Changes), "file", "files")) + "\n")
		for _, c := range p.Changes {
			bw.WriteString("  " + display(c.FilePath) + "\n")
			for _, t := range c.AddTags {
				bw.WriteString("    " + style(ansi.Green, "+ "+display(t)) + "\n")
			}
			for _, t := range c.RemoveTags {
				bw.WriteString("    " + style(ansi.Red, "- "+display(t)) + "\n")
			}
		}
		bw.WriteString("\n")
	}
	if len(rst.Missing) > 0 {
		bw.WriteString(style(ansi.Bold, "No longer in the library ("+english.Plural(len(rst.Missing), "file", "files")+"): nothing to restore on them") + "\n")
		for _, m := range rst.Missing {
			bw.WriteString("  " + display(m.FilePath) + " (" + display(m.FileID) + ")\n")
		}
		bw.WriteString("\n")
	}
	if len(rst.NotRestorable) > 0 {
		n := 0
		for _, l := range rst.NotRestorable {
			n += len(l.AITags)
		}
		bw.WriteString(style(ansi.Bold, "Not restorable: "+english.Plural(n, "AITag", "AITags")+" removed from "+
			english.Plural(len(rst.NotRestorable), "file", "files")+" (ImageKit has no call that adds AITags back)") + "\n")
		for _, l := range rst.NotRestorable {
			names := make([]string, len(l.AITags))
			for i, t := range l.AITags {
				names[i] = display(t)
			}
			bw.WriteString("  " + display(l.FilePath) + ": " + strings.Join(names, ", ") + "\n")
		}
		bw.WriteString("\n")
	}
	if len(p.Changes) == 0 {
		bw.WriteString(style(ansi.Green, NothingToRestoreText) + "\n")
		return bw.Flush()
	}
	bw.WriteString(restoreSummaryLine(p) + "\n")
	return bw.Flush()
}

// restoreSummaryLine returns the summary of a restore with changes.
func restoreSummaryLine(p *Plan) string {
	add, remove := 0, 0
	for _, c := range p.Changes {
		add += len(c.AddTags)
		remove += len(c.RemoveTags)
	}
	addCalls, removeCalls, _ := countCalls(p.Batches)
	return "Restore: " + english.Plural(len(p.Changes), "file", "files") + " to change, " +
		english.Plural(add, "tag", "tags") + " to add, " + english.Plural(remove, "tag", "tags") + " to remove, " +
		english.Plural(addCalls, "addTags call", "addTags calls") + ", " + english.Plural(removeCalls, "removeTags call", "removeTags calls") + "."
}
