package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	urfave "github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/internal/ansi"
	"github.com/tagprune/tagprune/internal/english"
	"github.com/tagprune/tagprune/reconcile"
)

// defaultRestoreReport is where restore writes its report when --report is
// not given: not tagprune-report.json, which is the apply report it is
// usually given.
const defaultRestoreReport = "tagprune-restore-report.json"

// flagDryRun is restore's preview-only flag.
const flagDryRun = "dry-run"

// restoreOptions are the flags and argument of tagprune restore.
type restoreOptions struct {
	Global      globalOptions
	Source      sourceOptions
	From        string // the report of the apply to undo
	AutoApprove bool
	DryRun      bool
	Reports     []string // where the restore report goes; defaultRestoreReport when none is given
	ReportsSet  bool     // --report was given
	Concurrency int
	Grace       time.Duration
}

func restoreCommand(e *env) *urfave.Command {
	return &urfave.Command{
		Name:      "restore",
		Usage:     "undo an apply: add back the tags its report says it removed",
		UsageText: "tagprune restore REPORT [--auto-approve] [--dry-run] [--report FILE] [--concurrency N]",
		Description: `Reads the report an apply wrote and undoes what it did: for every file,
the tags it removed are added back (through addTags) and the tags its renames
added are removed (only those: never a tag the file had before). The files are
read first, and only what is missing is added back, so a second restore finds
nothing to do. Files deleted since are 'missing'. AITags cannot be added back
(ImageKit has no such call): they are listed as not restorable.

Like apply -f, it shows what it would do and asks for confirmation on a
terminal; without a terminal it refuses unless --auto-approve is given.
--dry-run only shows it. A report is written (default ` + defaultRestoreReport + `),
with "command": "restore". Exit codes are apply's.

Examples:
  tagprune restore tagprune-report.json --dry-run
  tagprune restore tagprune-report.json --auto-approve --report restore.json
  tagprune restore run.json --library /tmp/library.json --auto-approve`,
		ArgsUsage: "REPORT",
		Flags: withGlobal(append([]urfave.Flag{
			&urfave.BoolFlag{Name: flagAutoApprove, Usage: "restore without asking (required when stdin is not a terminal)"},
			&urfave.BoolFlag{Name: flagDryRun, Usage: "only show what would be restored; change nothing"},
			reportFlag("report `FILE` (default " + defaultRestoreReport + "; with --dry-run, none unless given)"),
			&urfave.IntFlag{Name: flagConcurrency, Value: reconcile.DefaultConcurrency, Usage: "addTags and removeTags calls in flight at most"},
			&urfave.DurationFlag{Name: flagGrace, Value: reconcile.DefaultGrace, Usage: "on SIGINT/SIGTERM, how long calls in flight may take to finish"},
		}, sourceFlags()...)...),
		Action: func(c *urfave.Context) error {
			o, err := parseRestore(c)
			if err != nil {
				return err
			}
			return runRestore(c.Context, e, o)
		},
	}
}

func parseRestore(c *urfave.Context) (*restoreOptions, error) {
	o := &restoreOptions{
		Global:      parseGlobal(c),
		Source:      parseSource(c),
		From:        c.Args().First(),
		AutoApprove: c.Bool(flagAutoApprove),
		DryRun:      c.Bool(flagDryRun),
		Reports:     c.StringSlice(flagReport),
		Concurrency: c.Int(flagConcurrency),
		Grace:       c.Duration(flagGrace),
	}
	switch {
	case c.NArg() == 0:
		return nil, errors.New("nothing to restore: give the report of an apply, such as 'tagprune restore " + defaultReport + "'")
	case c.NArg() > 1:
		return nil, fmt.Errorf("restore takes one REPORT, got %d arguments", c.NArg())
	}
	if o.Concurrency < 1 || o.Concurrency > maxConcurrency {
		return nil, fmt.Errorf("--%s %d: want 1..%d", flagConcurrency, o.Concurrency, maxConcurrency)
	}
	o.ReportsSet = len(o.Reports) > 0
	if !o.ReportsSet {
		o.Reports = []string{defaultRestoreReport}
	}
	if err := checkReportPaths(o.Reports); err != nil {
		return nil, err
	}
	for _, p := range o.Reports {
		if sameFile(p, o.From) {
			return nil, fmt.Errorf("--%s %s is the report being restored: write the restore's report to another file", flagReport, p)
		}
	}
	return o, nil
}

// sameFile reports whether two paths name one file: the same cleaned
// absolute path, or, when both exist, the same file on disk.
func sameFile(a, b string) bool {
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	if errA == nil && errB == nil && absA == absB {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

func runRestore(ctx context.Context, e *env, o *restoreOptions) error {
	rep, err := reconcile.ReadReport(o.From)
	if err != nil {
		return err // ReadReport names the file
	}
	s, err := openSession(ctx, e, o.Global, nil, o.Source)
	if err != nil {
		return err
	}
	r := &restorer{session: s, o: o, started: time.Now()}
	rst, err := reconcile.PlanRestore(ctx, s.lib.client, rep, o.From, reconcile.PlanOptions{Tool: e.version})
	if err != nil {
		if where := s.lib.unnamed(err); where != "" {
			return fmt.Errorf("read %s: %w", where, err)
		}
		return err
	}
	if err := reconcile.RenderRestoreText(e.Out, rst, o.Global.color(e.Out)); err != nil {
		return err
	}
	if o.DryRun {
		if !o.ReportsSet {
			return nil
		}
		rep := reconcile.RestoreReport(rst, e.version)
		rep.Error = "dry run: nothing was changed"
		return writeReports(o.Reports, rep)
	}
	if len(rst.Plan.Changes) == 0 {
		return r.finish(reconcile.RestoreReport(rst, e.version), nil, false)
	}
	if !o.AutoApprove {
		refuse := func(why string, err error) error {
			rep := reconcile.RestoreReport(rst, e.version)
			rep.Error = "refused: " + why
			_ = r.finish(rep, nil, false)
			return err
		}
		if !isTerminal(e.In) {
			return refuse("stdin is not a terminal and --auto-approve was not given",
				errors.New("refused: stdin is not a terminal, so tagprune cannot ask for confirmation; nothing was changed; "+
					"review what would be restored with --dry-run and pass --auto-approve"))
		}
		if !confirm(e.In, e.Err, "Do you want to restore these tags?") {
			return refuse("not confirmed", errors.New("restore cancelled: nothing was changed"))
		}
	}
	s.progress.start(len(rst.Plan.Changes), "restoring tags", r.calls)
	rep, err = reconcile.ApplyRestore(ctx, s.lib.client, rst, reconcile.ApplyOptions{
		Tool:        e.version,
		Concurrency: o.Concurrency,
		Grace:       o.Grace,
		Progress:    func(done, _ int) { s.progress.set(done) },
	})
	return r.finish(rep, err, true)
}

// restorer is one restore run once its library is open.
type restorer struct {
	*session
	o       *restoreOptions
	started time.Time
}

// calls returns the addTags and removeTags calls sent so far.
func (r *restorer) calls() int64 {
	st := r.lib.client.Stats()
	return st.AddTags + st.RemoveTags
}

// finish writes the reports, saves a --library snapshot, prints the outcome
// of a restore that ran (sent calls) and turns it into the error that
// decides the exit code, as apply does.
func (r *restorer) finish(rep *reconcile.Report, runErr error, ran bool) error {
	r.progress.finish()
	if rep.StartedAt.IsZero() {
		rep.StartedAt = r.started
	}
	if saveErr := r.lib.save(); saveErr != nil {
		runErr = errors.Join(runErr, saveErr)
	}
	if err := writeReports(r.o.Reports, rep); err != nil {
		runErr = errors.Join(runErr, err)
	}
	_ = stepSummary(func(w io.Writer) error { return reconcile.RenderReportMarkdown(w, rep) })
	if ran {
		s := rep.Summary
		outcome := outcomeWord(rep, runErr)
		line := fmt.Sprintf("Restore %s: %s restored, %s added back, %s removed, %d failed, %d missing, %d pending. Report: %s",
			outcome, english.Plural(s.FilesChanged, "file", "files"), english.Plural(s.TagsAdded, "tag", "tags"),
			english.Plural(s.TagsRemoved, "tag", "tags"), s.FilesFailed, s.FilesMissing, s.FilesPending, r.o.Reports[0])
		fmt.Fprintf(r.Out, "\n%s\n", ansi.Style(outcome == "complete" && r.global.color(r.Out), ansi.Green, line))
	}
	switch {
	case rep.Interrupted || errors.Is(runErr, context.Canceled):
		return interruptedError{command: "restore"}
	case runErr != nil:
		return runErr
	case rep.Summary.FilesFailed > 0:
		return &incompleteError{failed: rep.Summary.FilesFailed}
	}
	return nil
}
