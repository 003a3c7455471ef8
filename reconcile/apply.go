package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tagprune/tagprune/api"
)

// Apply defaults.
const (
	DefaultConcurrency = 8
	DefaultFileRetries = 3
	DefaultGrace       = 10 * time.Second
)

// Batch outcomes in a report.
const (
	OutcomeOK      = "ok"
	OutcomePartial = "partial"
	OutcomeMissing = "missing"
	OutcomeFailed  = "failed"
	OutcomeSkipped = "skipped"
)

// Apply sends the plan's batches, at most opts.Concurrency at a time, and
// returns a report of every planned file. The report is returned even when
// err is not nil.
//
// A 207 answer's failed files are sent again with the same tags, at most
// opts.MaxFileRetries more times; what still fails is StatusFailed with the
// API's message. A 404 answer's missing files are StatusMissing and the rest
// of the call is sent again. Any other error is fatal: the call's files are
// StatusFailed, no new call starts, and Apply returns the error. Files whose
// removals the API did not confirm stay StatusPending.
//
// When ctx is cancelled no new call starts; calls in flight run on, detached
// from ctx, for at most opts.Grace. The report is then marked Interrupted and
// the error wraps ctx.Err(). Files that could not be changed because of a 207
// do not make err non-nil: the report's Summary.FilesFailed says so.
func Apply(ctx context.Context, lib Library, plan *Plan, opts ApplyOptions) (*Report, error) {
	return apply(ctx, lib, plan, opts, nil)
}

// apply is Apply, with the files known to be missing left out of the calls
// and reported StatusMissing.
func apply(ctx context.Context, lib Library, plan *Plan, opts ApplyOptions, missing []string) (*Report, error) {
	conc := cmp0(opts.Concurrency, DefaultConcurrency)
	retries := cmp0(opts.MaxFileRetries, DefaultFileRetries)
	grace := cmp0(opts.Grace, DefaultGrace)

	r := newReport("apply", plan, opts.Tool)
	a := &applier{
		lib:     lib,
		report:  r,
		index:   make(map[string]int, len(r.Files)),
		retries: retries,
		ctx:     ctx,
		opts:    opts,
		results: make([][]BatchResult, len(plan.Batches)),
	}
	for i, f := range r.Files {
		a.index[f.FileID] = i
	}
	a.mark(missing, StatusMissing, "")
	batches := plan.Batches
	if len(missing) > 0 {
		gone := make(map[string]bool, len(missing))
		for _, id := range missing {
			gone[id] = true
		}
		batches = nil
		for _, b := range plan.Batches {
			b.FileIDs = slices.DeleteFunc(slices.Clone(b.FileIDs), func(id string) bool { return gone[id] })
			if len(b.FileIDs) > 0 {
				batches = append(batches, b)
			}
		}
		a.results = make([][]BatchResult, len(batches))
	}

	// Calls run on a context that outlives ctx by at most the grace period.
	// Once ctx ends, the client starts no request for them: no first
	// attempt, no retry, no wait on the pacer or a backoff.
	callCtx, cancelCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelCalls()
	callCtx = api.ContextWithStop(callCtx, ctx)
	stopGrace := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancelCalls)
		<-callCtx.Done()
		t.Stop()
	})
	defer stopGrace()

	var g errgroup.Group
	g.SetLimit(conc)
	for bi, b := range batches {
		if a.stopped() {
			a.results[bi] = []BatchResult{skipped(b)}
			continue
		}
		g.Go(func() error {
			if a.stopped() {
				a.results[bi] = []BatchResult{skipped(b)}
				return nil
			}
			a.results[bi] = a.send(callCtx, b)
			return nil
		})
	}
	_ = g.Wait()

	for _, rs := range a.results {
		r.Batches = append(r.Batches, rs...)
	}
	finishReport(r, plan, lib)

	switch {
	case a.fatal != nil:
		r.Error = a.fatal.Error()
		return r, a.fatal
	case ctx.Err() != nil && r.Summary.FilesPending > 0:
		r.Interrupted = true
		err := fmt.Errorf("apply interrupted with %d of %d files not confirmed (left pending): %w", r.Summary.FilesPending, len(r.Files), ctx.Err())
		r.Error = err.Error()
		return r, err
	}
	return r, nil
}

// cmp0 returns v, or def when v is zero or negative.
func cmp0[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func skipped(b Batch) BatchResult {
	return BatchResult{FileIDs: b.FileIDs, Tags: b.Tags, Outcome: OutcomeSkipped}
}

// applier is the state of one Apply run.
type applier struct {
	lib     Library
	report  *Report
	index   map[string]int
	retries int
	ctx     context.Context
	opts    ApplyOptions
	results [][]BatchResult

	mu    sync.Mutex
	fatal error
	done  int
}

// stopped reports whether no new call may start.
func (a *applier) stopped() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fatal != nil || a.ctx.Err() != nil
}

// send makes one planned call, and its retries and re-sends.
func (a *applier) send(ctx context.Context, b Batch) []BatchResult {
	var out []BatchResult
	ids := slices.Clone(b.FileIDs)
	round := 0
	for len(ids) > 0 {
		res, err := a.lib.RemoveTags(ctx, ids, b.Tags)
		br := BatchResult{FileIDs: ids, Tags: b.Tags, HTTPStatus: res.StatusCode, Attempts: res.Attempts}
		var pe *api.PartialError
		var ae *api.Error
		var next []string
		switch {
		case err == nil:
			br.Outcome = OutcomeOK
			a.mark(ids, StatusChanged, "")
		case errors.As(err, &pe):
			br.Outcome = OutcomePartial
			if br.HTTPStatus == 0 {
				br.HTTPStatus = 207
			}
			br.Error = err.Error()
			a.mark(intersect(res.Succeeded, ids), StatusChanged, "")
			msgs := map[string]string{}
			for _, fe := range slices.Concat(pe.Failed, res.Failed) {
				msgs[fe.FileID] = fe.Error
			}
			for _, id := range ids {
				if !slices.Contains(res.Succeeded, id) {
					next = append(next, id)
				}
			}
			round++
			if round > a.retries || a.ctx.Err() != nil {
				for _, id := range next {
					msg := msgs[id]
					if msg == "" {
						msg = "the API did not confirm the removal"
					}
					if a.ctx.Err() != nil {
						a.mark([]string{id}, StatusPending, "")
					} else {
						a.mark([]string{id}, StatusFailed, fmt.Sprintf("%s (after %d attempts)", msg, round))
					}
				}
				next = nil
			}
		case errors.As(err, &ae) && ae.Kind == api.ErrNotFound && len(intersect(ae.MissingFileIDs, ids)) > 0:
			br.Outcome = OutcomeMissing
			br.HTTPStatus, br.Attempts = ae.StatusCode, ae.Attempts
			br.Error = err.Error()
			missing := intersect(ae.MissingFileIDs, ids)
			a.mark(missing, StatusMissing, "")
			for _, id := range ids {
				if !slices.Contains(missing, id) {
					next = append(next, id)
				}
			}
			if a.ctx.Err() != nil {
				// Interrupted: re-sending the rest would start a new call.
				// Those files stay pending.
				next = nil
			}
		case a.ctx.Err() != nil && (ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
			// Interrupted and out of grace: the outcome is unknown.
			br.Outcome = OutcomeFailed
			br.Error = err.Error()
			if errors.As(err, &ae) {
				br.HTTPStatus, br.Attempts = ae.StatusCode, ae.Attempts
			}
		default:
			br.Outcome = OutcomeFailed
			br.Error = err.Error()
			if errors.As(err, &ae) {
				br.HTTPStatus, br.Attempts = ae.StatusCode, ae.Attempts
			}
			a.mark(ids, StatusFailed, err.Error())
			a.setFatal(fmt.Errorf("removing tags %q from %d files: %w", b.Tags, len(ids), err))
		}
		out = append(out, br)
		ids = next
	}
	return out
}

// mark sets the status of files and reports progress.
func (a *applier) mark(ids []string, status, msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range ids {
		i, ok := a.index[id]
		if !ok {
			continue
		}
		f := &a.report.Files[i]
		if f.Status == StatusPending && status != StatusPending {
			a.done++
		}
		f.Status, f.Error = status, msg
	}
	if a.opts.Progress != nil && len(ids) > 0 {
		a.opts.Progress(a.done, len(a.report.Files))
	}
}

func (a *applier) setFatal(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fatal == nil {
		a.fatal = err
	}
}

// intersect returns the elements of a that are in b, in a's order.
func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// newReport returns a report of the plan's files, all StatusPending.
func newReport(command string, plan *Plan, tool string) *Report {
	r := &Report{
		FormatVersion: FormatVersion,
		Command:       command,
		Tool:          tool,
		StartedAt:     time.Now().UTC(),
		Rules:         plan.Rules,
		Files:         make([]FileResult, len(plan.Changes)),
		Batches:       []BatchResult{},
	}
	if r.Rules == nil {
		r.Rules = []PlanRule{}
	}
	for i, c := range plan.Changes {
		r.Files[i] = FileResult{FileID: c.FileID, FilePath: c.FilePath, RemoveTags: c.RemoveTags, Rules: c.Rules, Status: StatusPending}
	}
	return r
}

// finishReport fills the report's summary and end time.
func finishReport(r *Report, plan *Plan, lib Library) {
	r.FinishedAt = time.Now().UTC()
	s := Summary{
		FilesScanned:    plan.Summary.FilesScanned,
		FilesToChange:   len(plan.Changes),
		TagsToRemove:    plan.Summary.TagsToRemove,
		RemoveTagsCalls: len(plan.Batches),
	}
	for _, f := range r.Files {
		switch f.Status {
		case StatusChanged:
			s.FilesChanged++
			s.TagsRemoved += len(f.RemoveTags)
		case StatusFailed:
			s.FilesFailed++
		case StatusMissing:
			s.FilesMissing++
		default:
			s.FilesPending++
		}
	}
	if lib != nil {
		if st, ok := lib.(StatsSource); ok {
			addStats(&s, st.Stats())
		}
	}
	r.Summary = s
}
