package reconcile

import (
	"context"
	"errors"
	"time"
)

// EndedReport returns the report of an apply that ended, because of err,
// before it sent any change: while it read the library, checked a saved
// plan, or was refused. plan is what it would have applied, every file
// StatusPending, or nil when it ended before it had a plan (then no file is
// listed). The report's Error is err's text, Interrupted says whether err
// is an interrupt (it matches context.Canceled), and its request counts are
// lib's when lib counts them (lib may be nil).
func EndedReport(command, tool string, started time.Time, plan *Plan, lib Library, err error) *Report {
	if plan == nil {
		plan = &Plan{}
	}
	r := newReport(command, plan, tool)
	if !started.IsZero() {
		r.StartedAt = started.UTC()
	}
	finishReport(r, plan, lib)
	if err != nil {
		r.Error = err.Error()
		r.Interrupted = errors.Is(err, context.Canceled)
	}
	return r
}

// MarkUnsaved corrects the report of an apply whose changes were made to a
// copy of the library that could not be saved (--library mode): a file the
// report says changed was not, so it becomes StatusPending with why as its
// error, and the summary's file and tag counts follow.
func MarkUnsaved(r *Report, why string) {
	for i := range r.Files {
		f := &r.Files[i]
		if f.Status != StatusChanged {
			continue
		}
		f.Status, f.Error = StatusPending, why
		r.Summary.FilesChanged--
		r.Summary.FilesPending++
		r.Summary.TagsRemoved -= len(f.RemoveTags)
	}
}
