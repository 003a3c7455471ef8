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
	"github.com/tagprune/tagprune/manifest"
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
	// OutcomeSplit marks a call the API refused as a bad request (400):
	// its files were sent again in two halves, each its own entry, so that
	// the files the API refuses end failed and the others changed.
	OutcomeSplit   = "split"
	OutcomeFailed  = "failed"
	OutcomeSkipped = "skipped"
)

// Apply sends the plan's batches, at most opts.Concurrency at a time, and
// returns a report of every planned file. The report is returned even when
// err is not nil.
//
// The plan is made by MakePlan from one read of the library, and its
// batches come from that same read, so every tag of every call is
// forbidden, by the plan's rules, for every file of the call in the state
// that read returned, and every tag added is the new tag of a rename of a
// rule that selects the file: the safety invariant and its twin hold by
// construction. Apply checks them again all the same (CheckConsistency)
// before it sends anything, and refuses, sending nothing, a plan that
// fails. A saved plan goes through ApplySavedPlan, which also checks it
// against the library's state. Plans that add tags or remove AITags need a
// lib that is also a TagEditor.
//
// Calls go in two phases: every addTags call first, then, once all of them
// are answered, the removeTags and removeAITags calls. A file whose new
// tags were not all added (a 207, a 400, an interrupt) is held out of its
// removeTags call, so that a rename never loses its tag: it keeps every tag
// it had and its status says why.
//
// A 207 answer's failed files are sent again, at most opts.MaxFileRetries
// more times; what still fails is StatusFailed with the API's message. A
// 404 answer's missing files are StatusMissing and the rest of the call is
// sent again. A 400 answer (the API refuses the call as sent) splits the
// call into two halves sent on their own, down to single files, so that
// the files the API refuses end StatusFailed with its message and the
// others are changed; the apply goes on (a call of n files costs at most
// 2n-1 requests so). Whatever is sent again carries only the tags that
// its own files' changes plan (tagsFor), so that a call refused for the
// length of its tags can succeed once split.
//
// A tag no call can carry, longer than MaxTagsLength on its own, is in no
// batch (see Plan.UnsendableTags): its file is StatusFailed, saying why,
// whatever its other calls do, and a file whose rename's new tag is such a
// tag keeps every tag it has, as when its addTags call fails. Any other error is fatal: the call's
// files are StatusFailed, no new call starts, and Apply returns the error.
// Files whose calls the API did not all confirm stay StatusPending; what it
// did confirm is in their AddedTags, RemovedTags and RemovedAITags.
//
// When ctx is cancelled no new call starts, nor any re-send of a call;
// calls in flight run on, detached from ctx, for at most opts.Grace. The
// report is then marked Interrupted and the error wraps ctx.Err(). Files
// that could not be changed because of a 207 or a 400 do not make err
// non-nil: the report's Summary.FilesFailed says so.
func Apply(ctx context.Context, lib Library, plan *Plan, opts ApplyOptions) (*Report, error) {
	if _, err := checkConsistency(plan); err != nil {
		r := newReport("apply", plan, opts.Tool)
		finishReport(r, plan, lib)
		r.Error = err.Error()
		return r, err
	}
	return apply(ctx, lib, plan, opts, nil, "apply")
}

// apply is Apply, with the files known to be missing left out of the calls
// and reported StatusMissing; command names the run in its report.
func apply(ctx context.Context, lib Library, plan *Plan, opts ApplyOptions, missing []string, command string) (*Report, error) {
	conc := cmp0(opts.Concurrency, DefaultConcurrency)
	retries := cmp0(opts.MaxFileRetries, DefaultFileRetries)
	grace := cmp0(opts.Grace, DefaultGrace)

	r := newReport(command, plan, opts.Tool)
	a := &applier{
		lib:     lib,
		report:  r,
		plan:    plan,
		index:   make(map[string]int, len(r.Files)),
		retries: retries,
		ctx:     ctx,
		opts:    opts,
	}
	for i, f := range r.Files {
		a.index[f.FileID] = i
	}
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
	}
	if err := a.prepare(batches); err != nil {
		finishReport(r, plan, lib)
		r.Error = err.Error()
		return r, err
	}
	a.gone(missing)

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

	for i, phase := range phases(batches) {
		if i > 0 {
			phase = a.holdUnrenamed(phase)
		}
		results := make([][]BatchResult, len(phase))
		var g errgroup.Group
		g.SetLimit(conc)
		for bi, b := range phase {
			if len(b.FileIDs) == 0 || a.stopped() {
				results[bi] = []BatchResult{skipped(b)}
				continue
			}
			g.Go(func() error {
				if a.stopped() {
					results[bi] = []BatchResult{skipped(b)}
					return nil
				}
				results[bi] = a.send(callCtx, b)
				return nil
			})
		}
		_ = g.Wait()
		for _, rs := range results {
			r.Batches = append(r.Batches, rs...)
		}
	}
	a.settle()
	finishReport(r, plan, lib)

	switch {
	case a.fatal != nil:
		r.Error = a.fatal.Error()
		return r, a.fatal
	case ctx.Err() != nil && r.Summary.FilesPending > 0:
		r.Interrupted = true
		err := fmt.Errorf("%s interrupted with %d of %d files not confirmed (left pending): %w", command, r.Summary.FilesPending, len(r.Files), ctx.Err())
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
	br := BatchResult{Endpoint: b.Endpoint, FileIDs: b.FileIDs, Tags: b.Tags, Outcome: OutcomeSkipped}
	if len(b.FileIDs) == 0 {
		br.FileIDs = []string{}
		br.Error = "not sent: none of its files got the new tags of their renames, so they keep the tags they had"
	}
	return br
}

// applier is the state of one Apply run.
type applier struct {
	lib     Library
	editor  TagEditor // lib, when the plan has addTags or removeAITags calls
	report  *Report
	plan    *Plan
	index   map[string]int
	retries int
	ctx     context.Context
	opts    ApplyOptions

	mu    sync.Mutex
	fatal error
	done  int
	state []fileState // by index into report.Files
}

// stopped reports whether no new call may start.
func (a *applier) stopped() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fatal != nil || a.ctx.Err() != nil
}

// send makes one planned call, and its retries and re-sends.
func (a *applier) send(ctx context.Context, b Batch) []BatchResult {
	type pendingCall struct {
		ids   []string
		round int // how many times these files were sent again after a 207
	}
	var out []BatchResult
	work := []pendingCall{{ids: slices.Clone(b.FileIDs)}}
	for n := 0; len(work) > 0; n++ {
		w := work[0]
		work = work[1:]
		if n > 0 && a.ctx.Err() != nil {
			// Interrupted: a re-send would start a new call. Its files
			// stay pending.
			continue
		}
		sent := b
		sent.FileIDs, sent.Tags = w.ids, a.tagsFor(b, w.ids)
		res, err := a.call(ctx, sent)
		br := BatchResult{Endpoint: b.Endpoint, FileIDs: w.ids, Tags: sent.Tags, HTTPStatus: res.StatusCode, Attempts: res.Attempts}
		var pe *api.PartialError
		var ae *api.Error
		switch {
		case err == nil:
			br.Outcome = OutcomeOK
			a.mark(sent, w.ids, StatusChanged, "")
		case errors.As(err, &pe):
			br.Outcome = OutcomePartial
			if br.HTTPStatus == 0 {
				br.HTTPStatus = 207
			}
			br.Error = err.Error()
			a.mark(sent, intersect(res.Succeeded, w.ids), StatusChanged, "")
			msgs := map[string]string{}
			for _, fe := range slices.Concat(pe.Failed, res.Failed) {
				msgs[fe.FileID] = fe.Error
			}
			next := minusIDs(w.ids, res.Succeeded)
			round := w.round + 1
			if round > a.retries || a.ctx.Err() != nil {
				for _, id := range next {
					msg := msgs[id]
					if msg == "" {
						msg = "the API did not confirm the " + words(sent).noun
					}
					if a.ctx.Err() != nil {
						a.mark(sent, []string{id}, StatusPending, "")
					} else {
						a.mark(sent, []string{id}, StatusFailed, fmt.Sprintf("%s (after %d attempts)", msg, round))
					}
				}
				next = nil
			}
			if len(next) > 0 {
				work = append(work, pendingCall{ids: next, round: round})
			}
		case errors.As(err, &ae) && ae.Kind == api.ErrNotFound && len(intersect(ae.MissingFileIDs, w.ids)) > 0:
			br.Outcome = OutcomeMissing
			br.HTTPStatus, br.Attempts = ae.StatusCode, ae.Attempts
			br.Error = err.Error()
			missing := intersect(ae.MissingFileIDs, w.ids)
			a.mark(sent, missing, StatusMissing, "")
			if rest := minusIDs(w.ids, missing); len(rest) > 0 {
				work = append(work, pendingCall{ids: rest, round: w.round})
			}
		case a.ctx.Err() != nil && (ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
			// Interrupted and out of grace: the outcome is unknown.
			br.Outcome = OutcomeFailed
			br.Error = err.Error()
			if errors.As(err, &ae) {
				br.HTTPStatus, br.Attempts = ae.StatusCode, ae.Attempts
			}
		case errors.As(err, &ae) && ae.Kind == api.ErrBadRequest && ae.StatusCode == 400:
			br.HTTPStatus, br.Attempts = ae.StatusCode, ae.Attempts
			br.Error = err.Error()
			if len(w.ids) == 1 {
				br.Outcome = OutcomeFailed
				msg := ae.Message
				if msg == "" {
					msg = "bad request"
				}
				a.mark(sent, w.ids, StatusFailed, fmt.Sprintf("the API refused to %s (HTTP 400): %s", words(sent).refused(sent.Tags), msg))
				break
			}
			br.Outcome = OutcomeSplit
			if a.stopped() {
				break // no new call: the files stay pending
			}
			half := len(w.ids) / 2
			work = append(work, pendingCall{ids: w.ids[:half], round: w.round}, pendingCall{ids: w.ids[half:], round: w.round})
		default:
			br.Outcome = OutcomeFailed
			br.Error = err.Error()
			if errors.As(err, &ae) {
				br.HTTPStatus, br.Attempts = ae.StatusCode, ae.Attempts
			}
			a.mark(sent, w.ids, StatusFailed, err.Error())
			a.setFatal(fmt.Errorf("%s %q %s %d files: %w", words(sent).doing, sent.Tags, words(sent).prep, len(w.ids), err))
		}
		out = append(out, br)
	}
	return out
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
	in := setOf(b)
	var out []string
	for _, x := range a {
		if in[x] {
			out = append(out, x)
		}
	}
	return out
}

// minusIDs returns the elements of a that are not in b, in a's order.
func minusIDs(a, b []string) []string {
	in := setOf(b)
	var out []string
	for _, x := range a {
		if !in[x] {
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
		RuleFilter:    plan.RuleFilter,
		RulesLeftOut:  plan.RulesLeftOut,
	}
	if r.Rules == nil {
		r.Rules = []manifest.Rule{}
	}
	for i, c := range plan.Changes {
		r.Files[i] = FileResult{FileID: c.FileID, FilePath: c.FilePath, RemoveTags: c.RemoveTags, Rules: c.Rules, Status: StatusPending,
			AddTags: c.AddTags, RemoveAITags: c.RemoveAITags, Renames: c.Renames}
	}
	return r
}

// finishReport fills the report's summary and end time.
func finishReport(r *Report, plan *Plan, lib Library) {
	r.FinishedAt = time.Now().UTC()
	s := Summary{
		FilesScanned:  plan.Summary.FilesScanned,
		FilesToChange: len(plan.Changes),
	}
	for _, c := range plan.Changes {
		s.TagsToRemove += len(c.RemoveTags)
		s.TagsToAdd += len(c.AddTags)
		s.AITagsToRemove += len(c.RemoveAITags)
	}
	s.AddTagsCalls, s.RemoveTagsCalls, s.RemoveAITagsCalls = countCalls(plan.Batches)
	for _, f := range r.Files {
		switch f.Status {
		case StatusChanged:
			s.FilesChanged++
		case StatusFailed:
			s.FilesFailed++
		case StatusMissing:
			s.FilesMissing++
		default:
			s.FilesPending++
		}
		s.TagsRemoved += len(f.RemovedTags)
		s.TagsAdded += len(f.AddedTags)
		s.AITagsRemoved += len(f.RemovedAITags)
	}
	if lib != nil {
		if st, ok := lib.(StatsSource); ok {
			addStats(&s, st.Stats())
		}
	}
	r.Summary = s
}
