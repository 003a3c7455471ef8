package main

import (
	"fmt"
	"log/slog"

	"github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/manifest"
	"github.com/tagprune/tagprune/reconcile"
)

// runEnv is what plan and apply share: the validated manifest, the logger,
// the progress display and the library.
type runEnv struct {
	c        *cli.Context
	rules    []manifest.Rule
	logger   *slog.Logger
	progress *progress
	lib      *library
}

// setup validates the flags and manifests, then opens the library. It sends
// no request: a bad manifest or flag costs no API call.
func setup(c *cli.Context) (*runEnv, error) {
	logger, err := newLogger(c)
	if err != nil {
		return nil, err
	}
	env := &runEnv{c: c, logger: logger, progress: newProgress(c)}
	if len(c.StringSlice(flagManifest)) > 0 {
		if env.rules, err = loadManifests(c, "text"); err != nil {
			return nil, err
		}
	}
	if env.lib, err = openLibrary(c, logger); err != nil {
		return nil, err
	}
	return env, nil
}

// plan reads the library and computes the plan, with a progress display.
func (e *runEnv) plan(batchSize int) (*reconcile.Plan, error) {
	e.progress.start(-1, "reading library", nil)
	defer e.progress.finish()
	plan, err := reconcile.MakePlan(e.c.Context, e.lib.client, e.rules, reconcile.PlanOptions{
		Tool:      version,
		BatchSize: batchSize,
		Progress:  e.progress.set,
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", e.lib.where, err)
	}
	return plan, nil
}
