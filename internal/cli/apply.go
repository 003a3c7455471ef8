package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	Rules       []string // apply -f --rule: evaluate only the rules these NAMEs select
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
		Usage: "make the planned changes through ImageKit's bulk tag calls and write a report",
		UsageText: "tagprune apply -f PATH... [--rule NAME]... [--auto-approve] [--report FILE] [--concurrency N] [--max-changes N] [--batch-size N]\n" +
			"tagprune apply PLANFILE [--report FILE] [--concurrency N] [--max-changes N]",
		Description: `With -f, plans, shows the plan and asks for confirmation on a terminal
(without a terminal it refuses unless --auto-approve is given). With PLANFILE, applies
exactly that saved plan, without asking, once it has checked it. A plan made from
another API URL or library file, or whose calls are not what its own rules give, is
refused (exit 1). A plan the library has moved away from (a planned file's removals,
the rules behind them or the tags forbidden for it changed) is stale (exit 4). Either
way nothing is sent. --max-changes N refuses, changing nothing, a plan (made now or
saved) that changes more than N files.

Renames add their new tags first, then the removals run: a failure in between
loses nothing, and a second apply finishes the job.

--rule NAME (with -f) applies only the rules NAME selects (a glob selects every rule
it matches), for break-glass runs; a saved plan already holds the filter it was
made with.

A report is always written (default ` + defaultReport + `), even when the run fails or is
interrupted. Exit 0 when every planned file converged, 3 when some could not be
changed, 130 when interrupted. On SIGINT or SIGTERM no new request starts and the
calls in flight get --grace to finish; a second signal abandons them.

Examples:
  cp examples/library.json /tmp/lib.json
  tagprune apply -f examples/manifest.yaml --library /tmp/lib.json --auto-approve
  tagprune apply -f tagprune.yaml --max-changes 500 --report run.json --report run.xml
  tagprune apply plan.json                      # the plan saved by 'plan --out plan.json'
  tagprune apply -f tagprune.yaml --rule release-legal-hold --max-changes 50`,
		ArgsUsage: "[PLANFILE]",
		Flags: withGlobal(append([]urfave.Flag{
			manifestFlag(),
			ruleFlag(),
			&urfave.BoolFlag{Name: flagAutoApprove, Usage: "with -f, apply without asking (required when stdin is not a terminal); not with a PLANFILE, which never asks"},
			reportFlag("report `FILE` (default " + defaultReport + ")"),
			&urfave.IntFlag{Name: flagConcurrency, Value: reconcile.DefaultConcurrency,
				Usage: fmt.Sprintf("at most `N` calls in flight (removeTags, addTags, removeAITags, and a saved plan's reads), 1..%d", maxConcurrency)},
			&urfave.IntFlag{Name: flagMaxChanges, Value: noLimit, Usage: fmt.Sprintf("refuse to apply a plan that changes more than `N` files (%d: no limit)", noLimit)},
			batchSizeFlag(),
			&urfave.DurationFlag{Name: flagGrace, Value: reconcile.DefaultGrace,
				Usage: "on SIGINT/SIGTERM, how long (`DUR`) calls in flight may take to finish; a second signal abandons them"},
		}, sourceFlags()...)...),
		Action: action(e, parseApply, runApply),
	}
}

func parseApply(c *urfave.Context) (*applyOptions, error) {
	src, err := parseSource(c)
	if err != nil {
		return nil, err
	}
	o := &applyOptions{
		Global:      parseGlobal(c),
		Source:      src,
		Manifests:   c.StringSlice(flagManifest),
		Rules:       c.StringSlice(flagRule),
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
		for _, f := range []string{flagAutoApprove, flagBatchSize, flagRule} {
			if c.IsSet(f) {
				return nil, fmt.Errorf("--%s does not apply to a saved plan: it was fixed when the plan was made", f)
			}
		}
	}
	if err := checkBatchSize(o.BatchSize); err != nil {
		return nil, err
	}
	if err := checkRuleFlags(o.Rules); err != nil {
		return nil, err
	}
	if o.Concurrency < 1 || o.Concurrency > maxConcurrency {
		return nil, fmt.Errorf("--%s %d: want 1..%d", flagConcurrency, o.Concurrency, maxConcurrency)
	}
	if o.MaxChanges < noLimit {
		return nil, fmt.Errorf("--%s %d: want a number of files (0 or more), or %d for no limit", flagMaxChanges, o.MaxChanges, noLimit)
	}
	if o.Grace <= 0 {
		return nil, fmt.Errorf("--%s %s: want a positive duration such as %s", flagGrace, o.Grace, reconcile.DefaultGrace)
	}
	if len(o.Reports) == 0 {
		o.Reports = []string{defaultReport}
	}
	if err := checkReportPaths(o.Reports); err != nil {
		return nil, err
	}
	return o, nil
}

// files returns what the run writes and what it reads, for the preflight.
func (o *applyOptions) files() (outputs, inputs []file) {
	for _, r := range o.Reports {
		outputs = append(outputs, file{"--" + flagReport, r})
	}
	if o.Source.Library != "" {
		outputs = append(outputs, file{"--" + flagLibrary, o.Source.Library})
	}
	return outputs, sourceInputs(o.Source, o.Manifests, o.PlanFile)
}

// sourceInputs lists the files a run reads: the manifests, the saved plan,
// the library snapshot and the key file.
func sourceInputs(src sourceOptions, manifests []string, planFile string) []file {
	var in []file
	for _, m := range manifests {
		in = append(in, file{"-f", m})
	}
	if planFile != "" {
		in = append(in, file{"PLANFILE", planFile})
	}
	if src.Library != "" {
		in = append(in, file{"--" + flagLibrary, src.Library})
	}
	if src.PrivateKeyFile != "" {
		in = append(in, file{"--" + flagPrivateKeyFile, src.PrivateKeyFile})
	}
	return in
}

// runApply checks the files the run writes, then plans (or reads the saved
// plan), applies and reports. From the preflight on, every outcome writes a
// report: a failure or an interrupt before any change, a refusal, or the
// result of the calls.
func runApply(ctx context.Context, e *env, o *applyOptions) error {
	if err := preflight(o.files()); err != nil {
		return fmt.Errorf("%w; nothing was sent", err)
	}
	a := &applier{env: e, o: o, started: time.Now()}
	var saved *reconcile.Plan
	if o.PlanFile != "" {
		p, err := reconcile.ReadPlan(o.PlanFile) // a regular file only; the error names it
		if err != nil {
			return a.ended(nil, err)
		}
		saved = p
	}
	s, err := openSession(ctx, e, o.Global, o.Manifests, o.Rules, o.Source)
	if err != nil {
		return a.ended(nil, err)
	}
	a.session = s
	if saved != nil {
		return a.applySaved(ctx, saved)
	}
	e.intr.during(reading("writing the report"), nil)
	plan, err := s.plan(ctx, o.BatchSize)
	if err != nil {
		return a.ended(nil, err)
	}
	if err := reconcile.RenderText(e.Out, plan, o.Global.color(e.Out)); err != nil {
		return a.ended(plan, err)
	}
	if len(plan.Changes) == 0 {
		return a.finish(reconcile.PlanReport(plan), nil)
	}
	if err := a.overMaxChanges(plan); err != nil {
		return a.refuse(plan, err)
	}
	if !o.AutoApprove {
		if !isTerminal(e.In) {
			return a.refuse(plan, errors.New("refused: stdin is not a terminal, so tagprune cannot ask for confirmation; nothing was changed; "+
				"review the plan and pass --auto-approve, or save it with 'plan --out' and run 'apply PLANFILE'"))
		}
		e.intr.during(func(flight) string { return "nothing was changed" }, nil)
		if !confirm(ctx, e.In, e.Err, "Do you want to remove these tags?") {
			if ctx.Err() != nil {
				return a.ended(plan, interruptedError{msg: "interrupted at the confirmation: nothing was changed"})
			}
			return a.refuse(plan, errors.New("apply cancelled: nothing was changed"))
		}
	}
	rep, err := a.apply(ctx, plan)
	return a.finish(rep, err)
}

// overMaxChanges returns the refusal of a plan that changes more files than
// --max-changes allows, or nil.
func (a *applier) overMaxChanges(plan *reconcile.Plan) error {
	if a.o.MaxChanges < 0 || len(plan.Changes) <= a.o.MaxChanges {
		return nil
	}
	return fmt.Errorf("refused: the plan changes %s, more than --%s %d; nothing was changed",
		english.Plural(len(plan.Changes), "file", "files"), flagMaxChanges, a.o.MaxChanges)
}

// applier is one apply run.
type applier struct {
	*env
	session *session // nil until the library is open
	o       *applyOptions
	started time.Time
	command string // "apply", or "restore" for a run that undoes one
}

// name is the command the run carries out: apply unless it is a restore.
func (a *applier) name() string {
	if a.command == "" {
		return "apply"
	}
	return a.command
}

// applySaved checks that a saved plan is still current and applies it.
// --max-changes refuses it, before any request, when it changes more files
// than that: a cap in the job that applies reviewed plans stops a plan far
// larger than anyone expected, whoever approved it.
func (a *applier) applySaved(ctx context.Context, plan *reconcile.Plan) error {
	if err := a.overMaxChanges(plan); err != nil {
		return a.refuse(plan, err)
	}
	fmt.Fprintf(a.Err, "Checking that %s is still current (%s)...\n",
		a.o.PlanFile, english.Plural(len(plan.Changes), "planned file", "planned files"))
	a.intr.during(a.stoppingCalls, nil)
	a.session.progress.start(len(plan.Changes), "removing tags", a.removeTagsCalls)
	rep, err := reconcile.ApplySavedPlan(ctx, a.session.lib.client, plan, a.options())
	var stale *reconcile.StaleError
	if errors.As(err, &stale) {
		return a.conclude(rep, fmt.Errorf("refused a stale plan: %w", stale), "refused")
	}
	if err != nil && rep != nil && !sentCalls(rep) {
		if ctx.Err() != nil {
			err = interruptedError{msg: "interrupted while checking the plan: nothing was changed"}
			rep.Error = err.Error()
		}
		return a.conclude(rep, err, "ended")
	}
	return a.finish(rep, err)
}

// apply sends the plan's batches with a progress display.
func (a *applier) apply(ctx context.Context, plan *reconcile.Plan) (*reconcile.Report, error) {
	a.intr.during(a.stoppingCalls, nil)
	a.session.progress.start(len(plan.Changes), "removing tags", a.removeTagsCalls)
	defer a.session.progress.finish()
	return reconcile.Apply(ctx, a.session.lib.client, plan, a.options())
}

// stoppingCalls says what an interrupt waits for while calls are sent.
func (a *applier) stoppingCalls(f flight) string {
	if f.calls == 0 && a.removeTagsCalls() == 0 {
		return reading("writing the report")(f) // a saved plan is still being checked
	}
	if f.calls == 0 {
		s := "no call is in flight and none will start; "
		if f.reads > 0 {
			s += "cancelling the reads in flight; "
		}
		return s + "writing the report"
	}
	return fmt.Sprintf("no new call will start; waiting up to %s for %s in flight; press Ctrl-C again to abandon %s",
		a.o.Grace, english.Plural(f.calls, "call", "calls"), them(f.calls))
}

// removeTagsCalls returns the bulk calls (removeTags, addTags,
// removeAITags) sent so far, retries included.
func (a *applier) removeTagsCalls() int64 {
	st := a.session.lib.client.Stats()
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
	src := a.session.lib.source()
	return reconcile.ApplyOptions{
		Tool:        a.version,
		Source:      &src,
		Concurrency: a.o.Concurrency,
		Grace:       a.o.Grace,
		Progress:    func(done, _ int) { a.session.progress.set(done) },
	}
}

// ended reports a run that stopped before it sent any change: every file of
// plan (if there is one) is pending, and the report says why.
func (a *applier) ended(plan *reconcile.Plan, err error) error {
	var lib reconcile.Library
	if a.session != nil && a.session.lib != nil {
		lib = a.session.lib.client
	}
	rep := reconcile.EndedReport(a.name(), a.version, a.started, plan, lib, err)
	if plan == nil && a.session != nil {
		rep.Summary.FilesScanned = a.session.scanned
	}
	return a.conclude(rep, err, "ended")
}

// refuse reports a plan that the run refused to apply: nothing was sent.
func (a *applier) refuse(plan *reconcile.Plan, err error) error {
	rep := reconcile.PlanReport(plan)
	rep.Error = err.Error()
	return a.conclude(rep, err, "refused")
}

// finish reports a run that applied its plan, wholly or in part.
func (a *applier) finish(rep *reconcile.Report, runErr error) error {
	return a.conclude(rep, runErr, "applied")
}

// conclude ends every apply run: it saves a changed --library snapshot (a
// snapshot that cannot be saved makes its files pending again: the report
// never claims a change that was not kept), writes the reports (to a
// fallback file when they cannot be written), prints the outcome on stdout
// and returns the error that decides the exit code. how is "applied",
// "refused" or "ended" (stopped before any change).
func (a *applier) conclude(rep *reconcile.Report, runErr error, how string) error {
	a.intr.during(func(flight) string { return "writing the report" }, nil)
	if a.session != nil {
		a.session.progress.finish()
	}
	rep.Command = a.name()
	if rep.StartedAt.IsZero() {
		rep.StartedAt = a.started.UTC()
	}
	interrupted := rep.Interrupted || errors.Is(runErr, context.Canceled)
	rep.Interrupted = interrupted
	if runErr != nil && rep.Error == "" {
		rep.Error = runErr.Error()
	}

	saveErr := a.saveLibrary(rep)
	reportErr := a.writeReports(rep)
	_ = stepSummary(func(w io.Writer) error { return reconcile.RenderReportMarkdown(w, rep) })
	fmt.Fprintf(a.Out, "\n%s\n", a.headline(rep, runErr, saveErr, how))

	switch {
	case reportErr != nil || saveErr != nil:
		var errs []error
		if runErr != nil && !errors.Is(runErr, context.Canceled) {
			errs = append(errs, runErr)
		}
		return errors.Join(append(errs, saveErr, reportErr)...)
	case interrupted && how == "applied":
		return interruptedError{command: a.command}
	case runErr != nil:
		return runErr
	case rep.Summary.FilesFailed > 0:
		return &incompleteError{failed: rep.Summary.FilesFailed}
	}
	return nil
}

// saveLibrary writes a --library snapshot back to its file when a call that
// changes tags reached it (a run that changed nothing leaves the file as it
// is), and marks the report's changes unsaved when that fails.
func (a *applier) saveLibrary(rep *reconcile.Report) error {
	if a.session == nil || a.session.lib == nil || a.session.lib.handler == nil {
		return nil
	}
	if st := a.session.lib.client.Stats(); st.RemoveTags+st.AddTags+st.RemoveAITags == 0 {
		return nil
	}
	err := a.session.lib.save()
	if err == nil {
		return nil
	}
	why := "not saved: the change was made in memory, but " + err.Error()
	reconcile.MarkUnsaved(rep, why)
	if rep.Error == "" {
		rep.Error = err.Error() + "; nothing was saved"
	}
	return fmt.Errorf("%w: nothing was saved, so the report lists the files as pending", err)
}

// headline is the outcome on stdout, in one line.
func (a *applier) headline(rep *reconcile.Report, runErr, saveErr error, how string) string {
	report := a.o.Reports[0]
	title := "Apply"
	if a.command == "restore" {
		title = "Restore"
	}
	var stale *reconcile.StaleError
	switch {
	case how == "refused" && errors.As(runErr, &stale):
		return fmt.Sprintf("%s refused: the plan is stale; nothing was changed. Report: %s", title, report)
	case how == "refused":
		return fmt.Sprintf("%s refused: nothing was changed. Report: %s", title, report)
	case how == "ended" && rep.Interrupted:
		return fmt.Sprintf("%s interrupted before any change: nothing was changed. Report: %s", title, report)
	case how == "ended":
		return fmt.Sprintf("%s failed before any change: nothing was changed. Report: %s", title, report)
	case saveErr != nil:
		return fmt.Sprintf("%s failed: the library file could not be written, so nothing was saved. Report: %s", title, report)
	}
	s := rep.Summary
	outcome := outcomeWord(rep, runErr)
	var line string
	if a.command == "restore" {
		line = fmt.Sprintf("Restore %s: %s restored, %s added back, %s removed, %d failed, %d missing, %d pending. Report: %s",
			outcome, english.Plural(s.FilesChanged, "file", "files"), english.Plural(s.TagsAdded, "tag", "tags"),
			english.Plural(s.TagsRemoved, "tag", "tags"), s.FilesFailed, s.FilesMissing, s.FilesPending, report)
	} else {
		line = fmt.Sprintf("Apply %s: %s changed, %s removed, %s%d failed, %d missing, %d pending. Report: %s",
			outcome, english.Plural(s.FilesChanged, "file", "files"), english.Plural(s.TagsRemoved, "tag", "tags"),
			addedAndAITags(s), s.FilesFailed, s.FilesMissing, s.FilesPending, report)
	}
	return ansi.Style(outcome == "complete" && a.o.Global.color(a.Out), ansi.Green, line)
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

// sentCalls reports whether a run sent any removeTags call.
func sentCalls(rep *reconcile.Report) bool {
	return rep.Summary.APICalls.RemoveTags > 0
}

func them(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
