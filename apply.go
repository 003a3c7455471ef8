package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/reconcile"
)

const defaultReport = "tagprune-report.json"

func applyCommand() *cli.Command {
	return &cli.Command{
		Name:  "apply",
		Usage: "remove the forbidden tags through the bulk Remove Tags API and write a report",
		UsageText: "tagprune apply -f PATH... [--auto-approve] [--report FILE] [--concurrency N] [--max-changes N] [--batch-size N]\n" +
			"tagprune apply PLANFILE [--report FILE] [--concurrency N]",
		Description: `With -f, plans, shows the plan and asks for confirmation on a terminal
(without a terminal it refuses unless --auto-approve is given). With PLANFILE, applies
exactly that saved plan after checking that it is still current: exit 4, nothing
changed, when a planned file's removals would now differ.

A report is always written (default ` + defaultReport + `). Exit 0 when every planned
file converged, 3 when some could not be changed, 130 when interrupted.

Examples:
  cp examples/library.json /tmp/lib.json
  tagprune apply -f examples/manifest.yaml --library /tmp/lib.json --auto-approve
  tagprune apply -f tagprune.yaml --max-changes 500 --report run.json --report run.xml
  tagprune apply plan.json                      # the plan saved by 'plan --out plan.json'`,
		ArgsUsage: "[PLANFILE]",
		Flags: withGlobal(append([]cli.Flag{
			manifestFlag(false),
			&cli.BoolFlag{Name: "auto-approve", Usage: "apply without asking (required when stdin is not a terminal)"},
			reportFlag("report `FILE` (default " + defaultReport + ")"),
			&cli.IntFlag{Name: flagConcurrency, Value: 8, Usage: "removeTags calls in flight at most"},
			&cli.IntFlag{Name: "max-changes", Value: -1, Usage: "refuse to apply a plan that changes more than `N` files (-1: no limit)"},
			batchSizeFlag(),
			&cli.DurationFlag{Name: "grace", Value: 10 * time.Second, Usage: "on SIGINT/SIGTERM, how long calls in flight may take to finish"},
		}, libraryFlags()...)...),
		Action: runApply,
	}
}

func runApply(c *cli.Context) error {
	planFile := c.Args().First()
	switch {
	case c.NArg() > 1:
		return fmt.Errorf("apply takes at most one PLANFILE, got %d arguments", c.NArg())
	case planFile != "" && len(c.StringSlice(flagManifest)) > 0:
		return errors.New("give either -f PATH (plan and apply) or PLANFILE (apply a saved plan), not both")
	case planFile == "" && len(c.StringSlice(flagManifest)) == 0:
		return errors.New("nothing to apply: give -f PATH (a manifest) or PLANFILE (saved by 'tagprune plan --out')")
	}
	if planFile != "" {
		for _, f := range []string{"auto-approve", "max-changes", "batch-size"} {
			if c.IsSet(f) {
				return fmt.Errorf("--%s does not apply to a saved plan: it was fixed when the plan was made", f)
			}
		}
	}
	batch := c.Int("batch-size")
	if batch < 1 || batch > 50 {
		return fmt.Errorf("--batch-size %d: want 1..50 (the API takes at most 50 files per call)", batch)
	}
	if n := c.Int(flagConcurrency); n < 1 || n > 64 {
		return fmt.Errorf("--concurrency %d: want 1..64", n)
	}
	reports := c.StringSlice(flagReport)
	if len(reports) == 0 {
		reports = []string{defaultReport}
	}
	if err := checkReportPaths(reports); err != nil {
		return err
	}
	var saved *reconcile.Plan
	if planFile != "" {
		p, err := reconcile.ReadPlan(planFile)
		if err != nil {
			return err // ReadPlan names the file
		}
		saved = p
	}
	env, err := setup(c)
	if err != nil {
		return err
	}
	started := time.Now()
	if saved != nil {
		return env.applySaved(saved, planFile, reports, started)
	}
	plan, err := env.plan(batch)
	if err != nil {
		return err
	}
	if err := reconcile.RenderText(c.App.Writer, plan, useColor(c)); err != nil {
		return err
	}
	if len(plan.Changes) == 0 {
		return env.finish(reconcile.PlanReport(plan), nil, reports, started)
	}
	if limit := c.Int("max-changes"); limit >= 0 && len(plan.Changes) > limit {
		rep := refused(plan, fmt.Sprintf("the plan changes %d files, more than --max-changes %d", len(plan.Changes), limit))
		_ = env.finish(rep, nil, reports, started)
		return fmt.Errorf("refused: the plan changes %s, more than --max-changes %d; nothing was changed",
			plural(len(plan.Changes), "file", "files"), limit)
	}
	if !c.Bool("auto-approve") {
		if !isTerminal(c.App.Reader) {
			rep := refused(plan, "stdin is not a terminal and --auto-approve was not given")
			_ = env.finish(rep, nil, reports, started)
			return errors.New("refused: stdin is not a terminal, so tagprune cannot ask for confirmation; nothing was changed; " +
				"review the plan and pass --auto-approve, or save it with 'plan --out' and run 'apply PLANFILE'")
		}
		if !confirm(c.App.Reader, c.App.ErrWriter, "Do you want to remove these tags?") {
			rep := refused(plan, "not confirmed")
			_ = env.finish(rep, nil, reports, started)
			return errors.New("apply cancelled: nothing was changed")
		}
	}
	rep, err := env.apply(plan)
	return env.finish(rep, err, reports, started)
}

// applySaved checks that a saved plan is still current and applies it.
func (e *runEnv) applySaved(plan *reconcile.Plan, planFile string, reports []string, started time.Time) error {
	fmt.Fprintf(e.c.App.ErrWriter, "Checking that %s is still current (%s)...\n",
		planFile, plural(len(plan.Changes), "planned file", "planned files"))
	e.progress.start(len(plan.Changes), "removing tags", e.removeTagsCalls)
	rep, err := reconcile.ApplySavedPlan(e.c.Context, e.lib.client, plan, e.applyOptions())
	var stale *reconcile.StaleError
	if errors.As(err, &stale) {
		_ = e.finish(rep, nil, reports, started)
		fmt.Fprintln(e.c.App.ErrWriter, stale.Error())
		return &exitErr{code: exitStale, err: errors.New("refused a stale plan: nothing was changed; run 'tagprune plan' again")}
	}
	return e.finish(rep, err, reports, started)
}

// apply sends the plan's batches with a progress display.
func (e *runEnv) apply(plan *reconcile.Plan) (*reconcile.Report, error) {
	total := len(plan.Changes)
	e.progress.start(total, "removing tags", e.removeTagsCalls)
	defer e.progress.finish()
	return reconcile.Apply(e.c.Context, e.lib.client, plan, e.applyOptions())
}

// removeTagsCalls returns the removeTags calls sent so far, retries included.
func (e *runEnv) removeTagsCalls() int64 { return e.lib.client.Stats().RemoveTags }

func (e *runEnv) applyOptions() reconcile.ApplyOptions {
	return reconcile.ApplyOptions{
		Tool:        version,
		Concurrency: e.c.Int(flagConcurrency),
		Grace:       e.c.Duration("grace"),
		Progress:    func(done, _ int) { e.progress.set(done) },
	}
}

// finish writes the reports, saves a --library snapshot, prints the outcome
// and turns it into the exit code.
func (e *runEnv) finish(rep *reconcile.Report, runErr error, reports []string, started time.Time) error {
	e.progress.finish()
	if rep == nil {
		return runErr
	}
	if rep.StartedAt.IsZero() {
		rep.StartedAt = started
	}
	if saveErr := e.lib.save(); saveErr != nil {
		runErr = errors.Join(runErr, saveErr)
	}
	if err := writeReports(reports, rep); err != nil {
		runErr = errors.Join(runErr, err)
	}
	_ = stepSummary(func(w io.Writer) error { return reconcile.RenderReportMarkdown(w, rep) })
	if rep.Command == "apply" && !strings.HasPrefix(rep.Error, "refused") {
		s := rep.Summary
		outcome := outcomeWord(rep, runErr)
		line := fmt.Sprintf("Apply %s: %s changed, %s removed, %d failed, %d missing, %d pending. Report: %s",
			outcome, plural(s.FilesChanged, "file", "files"), plural(s.TagsRemoved, "tag", "tags"),
			s.FilesFailed, s.FilesMissing, s.FilesPending, reports[0])
		fmt.Fprintf(e.c.App.Writer, "\n%s\n", green(line, outcome == "complete" && useColor(e.c)))
	}
	switch {
	case rep.Interrupted || errors.Is(runErr, context.Canceled):
		return &exitErr{code: exitInterrupted, err: errors.New("interrupted: no new call was started; the report lists changed and pending files; run apply again to finish")}
	case runErr != nil:
		return runErr
	case rep.Summary.FilesFailed > 0:
		return &exitErr{code: exitIncomplete, err: fmt.Errorf("%s could not be changed; see the report", plural(rep.Summary.FilesFailed, "file", "files"))}
	}
	return nil
}

func outcomeWord(rep *reconcile.Report, err error) string {
	switch {
	case rep.Interrupted:
		return "interrupted"
	case err != nil:
		return "stopped"
	case rep.Summary.FilesFailed > 0:
		return "incomplete"
	}
	return "complete"
}

// refused is the report of an apply that sent nothing: every file pending.
func refused(plan *reconcile.Plan, why string) *reconcile.Report {
	rep := reconcile.PlanReport(plan)
	rep.Command = "apply"
	rep.Error = "refused: " + why
	return rep
}
