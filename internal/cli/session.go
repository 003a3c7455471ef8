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
	logger   *slog.Logger
	progress *progress
	lib      *library
}

// openSession builds the logger, loads the manifests (when there are any)
// and opens the library. It sends no request: a bad manifest or flag costs
// no API call.
func openSession(ctx context.Context, e *env, g globalOptions, manifests []string, src sourceOptions) (*session, error) {
	logger, err := g.logger(e.Err)
	if err != nil {
		return nil, err
	}
	s := &session{env: e, global: g, logger: logger, progress: newProgress(g, e.Err)}
	if len(manifests) > 0 {
		if s.rules, err = loadManifests(ctx, e, manifests, formatText); err != nil {
			return nil, err
		}
	}
	if s.lib, err = openLibrary(ctx, src, e.version, logger); err != nil {
		return nil, err
	}
	return s, nil
}

// plan reads the library and computes the plan, with a progress display.
func (s *session) plan(ctx context.Context, batchSize int) (*reconcile.Plan, error) {
	s.progress.start(-1, "reading library", nil)
	defer s.progress.finish()
	plan, err := reconcile.MakePlan(ctx, s.lib.client, s.rules, reconcile.PlanOptions{
		Tool:      s.version,
		BatchSize: batchSize,
		Progress:  s.progress.set,
	})
	if err != nil {
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
	return nil, errSilent
}
