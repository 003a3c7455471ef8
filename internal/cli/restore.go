package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	urfave "github.com/urfave/cli/v2"

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
		Description: `Reads the report an apply wrote and undoes what the API confirmed: for every
file, the tags it removed are added back (through addTags) and the tags its renames
added are removed (only those: never a tag the file had before). The files are
read first, and only what is missing is added back, so a second restore finds
nothing to do. Files deleted since are 'missing'. AITags cannot be added back
(ImageKit has no such call): they are listed as not restorable. The report of an
interrupted or failed apply works too, and so does the report of a restore.

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
			&urfave.IntFlag{Name: flagConcurrency, Value: reconcile.DefaultConcurrency,
				Usage: fmt.Sprintf("at most `N` addTags and removeTags calls in flight, 1..%d", maxConcurrency)},
			&urfave.DurationFlag{Name: flagGrace, Value: reconcile.DefaultGrace,
				Usage: "on SIGINT/SIGTERM, how long (`DUR`) calls in flight may take to finish; a second signal abandons them"},
		}, sourceFlags()...)...),
		Action: action(e, parseRestore, runRestore),
	}
}

func parseRestore(c *urfave.Context) (*restoreOptions, error) {
	src, err := parseSource(c)
	if err != nil {
		return nil, err
	}
	o := &restoreOptions{
		Global:      parseGlobal(c),
		Source:      src,
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
	if o.Grace <= 0 {
		return nil, fmt.Errorf("--%s %s: want a positive duration such as 10s", flagGrace, o.Grace)
	}
	o.ReportsSet = len(o.Reports) > 0
	if !o.ReportsSet {
		o.Reports = []string{defaultRestoreReport}
	}
	if err := checkReportPaths(o.Reports); err != nil {
		return nil, err
	}
	return o, nil
}

// files returns what the run writes and what it reads, for the preflight:
// a dry run writes no library, and no report unless one was asked for.
func (o *restoreOptions) files() (outputs, inputs []file) {
	if !o.DryRun || o.ReportsSet {
		for _, r := range o.Reports {
			outputs = append(outputs, file{"--" + flagReport, r})
		}
	}
	if o.Source.Library != "" && !o.DryRun {
		outputs = append(outputs, file{"--" + flagLibrary, o.Source.Library})
	}
	return outputs, append([]file{{"REPORT", o.From}}, sourceInputs(o.Source, nil, "")...)
}

// applyOptions are the options of the apply a restore carries out.
func (o *restoreOptions) applyOptions() *applyOptions {
	return &applyOptions{
		Global:      o.Global,
		Source:      o.Source,
		AutoApprove: o.AutoApprove,
		Reports:     o.Reports,
		Concurrency: o.Concurrency,
		Grace:       o.Grace,
		MaxChanges:  noLimit,
	}
}

// runRestore checks the files the run writes, reads the report to undo and
// the files it names, shows what it would do, asks, and restores. Like
// apply, from the preflight on every outcome but a dry run's writes a
// report.
func runRestore(ctx context.Context, e *env, o *restoreOptions) error {
	if err := preflight(o.files()); err != nil {
		return fmt.Errorf("%w; nothing was sent", err)
	}
	a := &applier{env: e, o: o.applyOptions(), started: time.Now(), command: "restore"}
	// A dry run ends like a plan: an error is only printed.
	ended := func(err error) error {
		if o.DryRun && !o.ReportsSet {
			return err
		}
		return a.ended(nil, err)
	}
	from, err := reconcile.ReadReport(o.From)
	if err != nil {
		return ended(err) // ReadReport names the file
	}
	s, err := openSession(ctx, e, o.Global, nil, nil, o.Source)
	if err != nil {
		return ended(err)
	}
	a.session = s
	e.intr.during(reading("writing the report"), nil)
	s.progress.start(-1, "reading library", nil)
	rst, err := reconcile.PlanRestore(ctx, s.lib.client, from, o.From, reconcile.PlanOptions{Tool: e.version})
	s.progress.finish()
	if err != nil {
		switch where := s.lib.unnamed(err); {
		case ctx.Err() != nil:
			err = interruptedError{msg: "interrupted while reading the library: nothing was changed"}
		case where != "":
			err = fmt.Errorf("read %s: %w", where, err)
		}
		return ended(err)
	}
	if err := reconcile.RenderRestoreText(e.Out, rst, o.Global.color(e.Out)); err != nil {
		return ended(err)
	}
	if o.DryRun {
		if !o.ReportsSet {
			return nil
		}
		rep := reconcile.RestoreReport(rst, e.version)
		rep.Error = "dry run: nothing was changed"
		return writeReports(o.Reports, rep)
	}
	refuse := func(err error) error {
		rep := reconcile.RestoreReport(rst, e.version)
		rep.Error = err.Error()
		return a.conclude(rep, err, "refused")
	}
	if len(rst.Plan.Changes) == 0 {
		return a.conclude(reconcile.RestoreReport(rst, e.version), nil, "applied")
	}
	if !o.AutoApprove {
		if !isTerminal(e.In) {
			return refuse(errors.New("refused: stdin is not a terminal, so tagprune cannot ask for confirmation; nothing was changed; " +
				"review what would be restored with --dry-run and pass --auto-approve"))
		}
		e.intr.during(func(flight) string { return "nothing was changed" }, nil)
		if !confirm(ctx, e.In, e.Err, "Do you want to restore these tags?") {
			if ctx.Err() != nil {
				return a.ended(rst.Plan, interruptedError{msg: "interrupted at the confirmation: nothing was changed"})
			}
			return refuse(errors.New("restore cancelled: nothing was changed"))
		}
	}
	a.intr.during(a.stoppingCalls, nil)
	s.progress.start(len(rst.Plan.Changes), "restoring tags", a.removeTagsCalls)
	rep, err := reconcile.ApplyRestore(ctx, s.lib.client, rst, a.options())
	return a.conclude(rep, err, "applied")
}
