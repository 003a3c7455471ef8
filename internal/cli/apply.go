package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	urfave "github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/internal/ansi"
	"github.com/tagprune/tagprune/internal/english"
	"github.com/tagprune/tagprune/reconcile"
)

// applyOptions are the flags and argument of tagprune apply.
type applyOptions struct {
	Global      globalOptions
	Source      sourceOptions
	Manifests   []string // apply -f: plan, show, ask, apply
	PlanFile    string   // apply PLANFILE: apply that saved plan
	AutoApprove bool
	Reports     []string // at least one: defaultReport when none is given
	Concurrency int
	MaxChanges  int // noLimit or a number of files
	BatchSize   int
	Grace       time.Duration
}

func applyCommand(e *env) *urfave.Command {
	return &urfave.Command{
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
		Flags: withGlobal(append([]urfave.Flag{
			manifestFlag(),
			&urfave.BoolFlag{Name: flagAutoApprove, Usage: "apply without asking (required when stdin is not a terminal)"},
			reportFlag("report `FILE` (default " + defaultReport + ")"),
			&urfave.IntFlag{Name: flagConcurrency, Value: reconcile.DefaultConcurrency, Usage: "removeTags calls in flight at most"},
			&urfave.IntFlag{Name: flagMaxChanges, Value: noLimit, Usage: fmt.Sprintf("refuse to apply a plan that changes more than `N` files (%d: no limit)", noLimit)},
			batchSizeFlag(),
			&urfave.DurationFlag{Name: flagGrace, Value: reconcile.DefaultGrace, Usage: "on SIGINT/SIGTERM, how long calls in flight may take to finish"},
		}, sourceFlags()...)...),
		Action: func(c *urfave.Context) error {
			o, err := parseApply(c)
			if err != nil {
				return err
			}
			return runApply(c.Context, e, o)
		},
	}
}

func parseApply(c *urfave.Context) (*applyOptions, error) {
	o := &applyOptions{
		Global:      parseGlobal(c),
		Source:      parseSource(c),
		Manifests:   c.StringSlice(flagManifest),
		PlanFile:    c.Args().First(),
		AutoApprove: c.Bool(flagAutoApprove),
		Reports:     c.StringSlice(flagReport),
		Concurrency: c.Int(flagConcurrency),
		MaxChanges:  c.Int(flagMaxChanges),
		BatchSize:   c.Int(flagBatchSize),
		Grace:       c.Duration(flagGrace),
	}
	switch {
	case c.NArg() > 1:
		return nil, fmt.Errorf("apply takes at most one PLANFILE, got %d arguments", c.NArg())
	case o.PlanFile != "" && len(o.Manifests) > 0:
		return nil, errors.New("give either -f PATH (plan and apply) or PLANFILE (apply a saved plan), not both")
	case o.PlanFile == "" && len(o.Manifests) == 0:
		return nil, errors.New("nothing to apply: give -f PATH (a manifest) or PLANFILE (saved by 'tagprune plan --out')")
	}
	if o.PlanFile != "" {
		for _, f := range []string{flagAutoApprove, flagMaxChanges, flagBatchSize} {
			if c.IsSet(f) {
				return nil, fmt.Errorf("--%s does not apply to a saved plan: it was fixed when the plan was made", f)
			}
		}
	}
	if err := checkBatchSize(o.BatchSize); err != nil {
		return nil, err
	}
	if o.Concurrency < 1 || o.Concurrency > maxConcurrency {
		return nil, fmt.Errorf("--%s %d: want 1..%d", flagConcurrency, o.Concurrency, maxConcurrency)
	}
	if len(o.Reports) == 0 {
		o.Reports = []string{defaultReport}
	}
	if err := checkReportPaths(o.Reports); err != nil {
		return nil, err
	}
	return o, nil
}

func runApply(ctx context.Context, e *env, o *applyOptions) error {
	var saved *reconcile.Plan
	if o.PlanFile != "" {
		p, err := reconcile.ReadPlan(o.PlanFile)
		if err != nil {
			return err // ReadPlan names the file
		}
		saved = p
	}
	s, err := openSession(ctx, e, o.Global, o.Manifests, o.Source)
	if err != nil {
		return err
	}
	a := &applier{session: s, o: o, started: time.Now()}
	if saved != nil {
		return a.applySaved(ctx, saved)
	}
	plan, err := s.plan(ctx, o.BatchSize)
	if err != nil {
		return err
	}
	if err := reconcile.RenderText(e.Out, plan, o.Global.color(e.Out)); err != nil {
		return err
	}
	if len(plan.Changes) == 0 {
		return a.finish(reconcile.PlanReport(plan), nil)
	}
	if o.MaxChanges >= 0 && len(plan.Changes) > o.MaxChanges {
		rep := refused(plan, fmt.Sprintf("the plan changes %d files, more than --%s %d", len(plan.Changes), flagMaxChanges, o.MaxChanges))
		_ = a.finish(rep, nil)
		return fmt.Errorf("refused: the plan changes %s, more than --%s %d; nothing was changed",
			english.Plural(len(plan.Changes), "file", "files"), flagMaxChanges, o.MaxChanges)
	}
	if !o.AutoApprove {
		if !isTerminal(e.In) {
			rep := refused(plan, "stdin is not a terminal and --auto-approve was not given")
			_ = a.finish(rep, nil)
			return errors.New("refused: stdin is not a terminal, so tagprune cannot ask for confirmation; nothing was changed; " +
				"review the plan and pass --auto-approve, or save it with 'plan --out' and run 'apply PLANFILE'")
		}
		if !confirm(e.In, e.Err, "Do you want to remove these tags?") {
			rep := refused(plan, "not confirmed")
			_ = a.finish(rep, nil)
			return errors.New("apply cancelled: nothing was changed")
		}
	}
	rep, err := a.apply(ctx, plan)
	return a.finish(rep, err)
}

// applier is one apply run once its library is open.
type applier struct {
	*session
	o       *applyOptions
	started time.Time
}

// applySaved checks that a saved plan is still current and applies it.
func (a *applier) applySaved(ctx context.Context, plan *reconcile.Plan) error {
	fmt.Fprintf(a.Err, "Checking that %s is still current (%s)...\n",
		a.o.PlanFile, english.Plural(len(plan.Changes), "planned file", "planned files"))
	a.progress.start(len(plan.Changes), "removing tags", a.removeTagsCalls)
	rep, err := reconcile.ApplySavedPlan(ctx, a.lib.client, plan, a.options())
	var stale *reconcile.StaleError
	if errors.As(err, &stale) {
		_ = a.finish(rep, nil)
		return fmt.Errorf("refused a stale plan: %w", stale)
	}
	return a.finish(rep, err)
}

// apply sends the plan's batches with a progress display.
func (a *applier) apply(ctx context.Context, plan *reconcile.Plan) (*reconcile.Report, error) {
	a.progress.start(len(plan.Changes), "removing tags", a.removeTagsCalls)
	defer a.progress.finish()
	return reconcile.Apply(ctx, a.lib.client, plan, a.options())
}

// removeTagsCalls returns the bulk calls (removeTags, addTags,
// removeAITags) sent so far, retries included.
func (a *applier) removeTagsCalls() int64 {
	st := a.lib.client.Stats()
	return st.RemoveTags + st.AddTags + st.RemoveAITags
}

// addedAndAITags says how many tags were added and AITags removed, for the
// outcome line of a run that planned any: "3 tags added, 2 AITags removed, ".
func addedAndAITags(s reconcile.Summary) string {
	out := ""
	if s.TagsToAdd > 0 || s.TagsAdded > 0 {
		out += english.Plural(s.TagsAdded, "tag", "tags") + " added, "
	}
	if s.AITagsToRemove > 0 || s.AITagsRemoved > 0 {
		out += english.Plural(s.AITagsRemoved, "AITag", "AITags") + " removed, "
	}
	return out
}

func (a *applier) options() reconcile.ApplyOptions {
	return reconcile.ApplyOptions{
		Tool:        a.version,
		Concurrency: a.o.Concurrency,
		Grace:       a.o.Grace,
		Progress:    func(done, _ int) { a.progress.set(done) },
	}
}

// finish writes the reports, saves a --library snapshot, prints the outcome
// and turns it into the error that decides the exit code.
func (a *applier) finish(rep *reconcile.Report, runErr error) error {
	a.progress.finish()
	if rep == nil {
		return runErr
	}
	if rep.StartedAt.IsZero() {
		rep.StartedAt = a.started
	}
	if saveErr := a.lib.save(); saveErr != nil {
		runErr = errors.Join(runErr, saveErr)
	}
	if err := writeReports(a.o.Reports, rep); err != nil {
		runErr = errors.Join(runErr, err)
	}
	_ = stepSummary(func(w io.Writer) error { return reconcile.RenderReportMarkdown(w, rep) })
	if rep.Command == "apply" && !strings.HasPrefix(rep.Error, "refused") {
		s := rep.Summary
		outcome := outcomeWord(rep, runErr)
		line := fmt.Sprintf("Apply %s: %s changed, %s removed, %s%d failed, %d missing, %d pending. Report: %s",
			outcome, english.Plural(s.FilesChanged, "file", "files"), english.Plural(s.TagsRemoved, "tag", "tags"),
			addedAndAITags(s), s.FilesFailed, s.FilesMissing, s.FilesPending, a.o.Reports[0])
		fmt.Fprintf(a.Out, "\n%s\n", ansi.Style(outcome == "complete" && a.global.color(a.Out), ansi.Green, line))
	}
	switch {
	case rep.Interrupted || errors.Is(runErr, context.Canceled):
		return interruptedError{}
	case runErr != nil:
		return runErr
	case rep.Summary.FilesFailed > 0:
		return &incompleteError{failed: rep.Summary.FilesFailed}
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
