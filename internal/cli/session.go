package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tagprune/tagprune/internal/english"
	"github.com/tagprune/tagprune/manifest"
	"github.com/tagprune/tagprune/reconcile"
)

// session is what plan, apply and export share once their flags are
// parsed: the rules, the logger, the progress display and the library.
type session struct {
	*env
	global   globalOptions
	rules    []manifest.Rule
	filter   []string // --rule: the NAMEs plan evaluates, all rules when empty
	logger   *slog.Logger
	progress *progress
	waits    *waitView
	lib      *library
	scanned  int // files read by the last plan, as it went
}

// openSession builds the logger, loads the manifests (when there are any),
// checks that each --rule NAME of filter selects one of their rules, and
// opens the library. It sends no request: a bad manifest or flag costs no
// API call, and a bad --rule does not even read the library. From then on
// the run's lines for people go through the progress display, and the
// client's long waits are shown on stderr.
func openSession(ctx context.Context, e *env, g globalOptions, manifests, filter []string, src sourceOptions) (*session, error) {
	logger, err := g.logger(e.Err)
	if err != nil {
		return nil, err
	}
	s := &session{env: e, global: g, logger: logger, progress: newProgress(g, e.Err)}
	s.waits = newWaitView(s.progress, e.Err)
	e.intr.during(func(flight) string { return "nothing was sent" }, s.progress.say)
	if len(manifests) > 0 {
		if s.rules, err = loadManifests(ctx, e, manifests, formatText); err != nil {
			if ctx.Err() != nil {
				return nil, interruptedError{msg: "interrupted while loading the manifests: nothing was sent"}
			}
			return nil, err
		}
		if err := checkRuleFilter(s.rules, filter); err != nil {
			return nil, err
		}
		s.filter = filter
	}
	if s.lib, err = openLibrary(ctx, src, e.version, logger, e.intr, s.waits.hook); err != nil {
		return nil, err
	}
	return s, nil
}

// reading is what stopping means while the library is only read: the reads
// in flight are cancelled, and nothing has been changed. after, if not
// empty, says what the run still does.
func reading(after string) func(flight) string {
	return func(flight) string {
		s := "cancelling the reads in flight; nothing was changed"
		if after != "" {
			s += "; " + after
		}
		return s
	}
}

// plan reads the library and computes the plan, with a progress display.
// An interrupt ends it with an error that matches context.Canceled.
func (s *session) plan(ctx context.Context, batchSize int) (*reconcile.Plan, error) {
	s.progress.start(-1, "reading library", nil)
	defer s.progress.finish()
	s.scanned = 0
	src := s.lib.source()
	plan, err := reconcile.MakePlan(ctx, s.lib.client, s.rules, reconcile.PlanOptions{
		Tool:       s.version,
		Source:     &src,
		BatchSize:  batchSize,
		RuleFilter: s.filter,
		Progress: func(n int) {
			s.scanned = n
			s.progress.set(n)
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, interruptedError{msg: "interrupted while reading the library: nothing was changed"}
		}
		var conflict *reconcile.RenameConflictError
		if errors.As(err, &conflict) {
			return nil, err // the rules' fault, not the library's: it names the files
		}
		if where := s.lib.unnamed(err); where != "" {
			return nil, fmt.Errorf("read %s: %w", where, err)
		}
		return nil, err
	}
	return plan, nil
}

// manifestErrors is the error of manifests that failed to load, once their
// errors have been printed: it says how many there were and the first one.
type manifestErrors struct {
	n     int
	first string
}

func (e *manifestErrors) Error() string {
	return fmt.Sprintf("%s found; the first: %s", english.Plural(e.n, "manifest error", "manifest errors"), e.first)
}

// Is makes a manifestErrors match errSilent: its errors are printed already.
func (e *manifestErrors) Is(target error) bool { return target == errSilent }

// loadManifests loads the manifests at paths and prints every error found,
// in the text format (on stderr) or the github one (on stdout).
func loadManifests(ctx context.Context, e *env, paths []string, format string) ([]manifest.Rule, error) {
	rules, err := manifest.Load(ctx, paths...)
	if err == nil {
		return rules, nil
	}
	var errs manifest.Errors
	if !errors.As(err, &errs) {
		return nil, err
	}
	for _, me := range errs {
		if format == formatGitHub {
			fmt.Fprintln(e.Out, githubAnnotation(me))
		} else {
			fmt.Fprintln(e.Err, me.Error())
		}
	}
	fmt.Fprintf(e.Err, "%s found; nothing was read or changed.\n", english.Plural(len(errs), "manifest error", "manifest errors"))
	first := ""
	if len(errs) > 0 {
		first = errs[0].Error()
	}
	return nil, &manifestErrors{n: len(errs), first: first}
}
