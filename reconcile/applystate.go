package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tagprune/tagprune/api"
)

// Steps of a file, one per endpoint: the calls Apply sends for it.
const (
	stepAdd = iota
	stepRemove
	stepRemoveAI
	steps
)

// stepOf returns the step of an endpoint ("" is removeTags).
func stepOf(endpoint string) (int, bool) {
	switch endpoint {
	case EndpointAddTags:
		return stepAdd, true
	case EndpointRemoveTags, "":
		return stepRemove, true
	case EndpointRemoveAITags:
		return stepRemoveAI, true
	}
	return 0, false
}

// fileState is what Apply knows of one planned file while it runs.
type fileState struct {
	open    [steps]int // calls naming the file that the API has not confirmed yet, by step
	failed  string     // why the file failed, "" while it has not
	missing bool       // the API said the file does not exist
	settled bool       // counted as done in the progress
}

// outcome returns the file's status from its state.
func (st *fileState) outcome() (string, string) {
	switch {
	case st.missing:
		return StatusMissing, ""
	case st.failed != "":
		return StatusFailed, st.failed
	case st.open == [steps]int{}:
		return StatusChanged, ""
	}
	return StatusPending, ""
}

// phases splits a plan's calls into the two phases Apply sends one after
// the other: the addTags calls, then the removals. Each keeps the plan's
// order.
func phases(batches []Batch) [2][]Batch {
	var out [2][]Batch
	for _, b := range batches {
		if endpointOf(b) == EndpointAddTags {
			out[0] = append(out[0], b)
		} else {
			out[1] = append(out[1], b)
		}
	}
	return out
}

// prepare counts the calls that name each file and checks, before anything
// is sent, that every call is one the plan's changes call for: an addTags
// call adds to each of its files only tags of that file's AddTags (no tag
// is added that no rename names for the file), a removeAITags call removes
// only names of its RemoveAITags, and every call names planned files and a
// known endpoint. A plan that fails is refused with an
// *InconsistentPlanError. Calls other than removeTags need lib to be a
// TagEditor. Files with a tag no call can carry (Plan.UnsendableTags) are
// marked failed.
func (a *applier) prepare(batches []Batch) error {
	a.state = make([]fileState, len(a.report.Files))
	var ps problems
	for bi, b := range batches {
		k, ok := stepOf(b.Endpoint)
		if !ok {
			ps.add("batch %d has an unknown endpoint %q", bi+1, b.Endpoint)
			continue
		}
		if k != stepRemove && a.editor == nil {
			ed, ok := a.lib.(TagEditor)
			if !ok {
				return fmt.Errorf("this library can only remove tags: it cannot send the plan's %s calls", b.Endpoint)
			}
			a.editor = ed
		}
		for _, id := range b.FileIDs {
			i, ok := a.index[id]
			if !ok {
				ps.add("batch %d names file %s, which is not one of the plan's changes", bi+1, id)
				continue
			}
			a.state[i].open[k]++
			var allowed []string
			switch k {
			case stepAdd:
				allowed = a.plan.Changes[i].AddTags
			case stepRemoveAI:
				allowed = a.plan.Changes[i].RemoveAITags
			default:
				continue
			}
			for _, t := range b.Tags {
				if !slices.Contains(allowed, t) {
					ps.add("batch %d (%s) names tag %q for file %s, which the plan does not %s", bi+1, b.Endpoint, t, id, words(b).plan)
				}
			}
		}
	}
	if err := ps.err(); err != nil {
		return err
	}
	// A tag no call can carry is a call that is never confirmed: its file
	// fails, and one whose rename's new tag it is keeps its tags
	// (holdUnrenamed).
	for i := range a.plan.Changes {
		for _, u := range appendUnsendable(nil, &a.plan.Changes[i]) {
			k, _ := stepOf(u.Endpoint)
			a.state[i].open[k]++
			a.mark(Batch{Endpoint: u.Endpoint}, []string{u.FileID}, StatusFailed, u.Error())
		}
	}
	return nil
}

// holdUnrenamed returns the removal calls of the second phase without the
// files that must not lose their tags: a file whose addTags calls were not
// all confirmed keeps every tag (its renames' old tags first of all), and a
// file the API said is gone is not sent again. A call left with no file is
// kept, empty, to be reported as skipped.
func (a *applier) holdUnrenamed(phase []Batch) []Batch {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Batch, 0, len(phase))
	noted := map[int]bool{}
	for _, b := range phase {
		keep := make([]string, 0, len(b.FileIDs))
		for _, id := range b.FileIDs {
			i := a.index[id]
			st := &a.state[i]
			switch {
			case st.missing:
				continue
			case st.open[stepAdd] > 0 && endpointOf(b) == EndpointRemoveTags:
				if st.failed != "" && !noted[i] {
					noted[i] = true
					st.failed += "; its tags were not removed, so that no rename loses its tag"
				}
				continue
			}
			keep = append(keep, id)
		}
		b.FileIDs = keep
		out = append(out, b)
	}
	return out
}

// call sends b.
func (a *applier) call(ctx context.Context, b Batch) (api.BulkResult, error) {
	switch endpointOf(b) {
	case EndpointAddTags:
		return a.editor.AddTags(ctx, b.FileIDs, b.Tags)
	case EndpointRemoveAITags:
		return a.editor.RemoveAITags(ctx, b.FileIDs, b.Tags)
	}
	return a.lib.RemoveTags(ctx, b.FileIDs, b.Tags)
}

// tagsFor returns the tags of a request of b to ids, some of b's files:
// those of b.Tags that the changes of ids plan for b's endpoint, in
// b.Tags' order. A half of a call the API refused, or the files of a 207
// sent again, so carry only their own files' tags, and a request that
// carried too many tags for the API can succeed once split. For the whole
// of a plan's call these are all of b.Tags. When none of b.Tags is planned
// for ids (a plan edited so that a file shares a call it needs nothing
// of), b.Tags is returned: every tag of it is forbidden for each of b's
// files, as CheckConsistency checked.
func (a *applier) tagsFor(b Batch, ids []string) []string {
	k, _ := stepOf(b.Endpoint)
	planned := map[string]bool{}
	for _, id := range ids {
		i, ok := a.index[id]
		if !ok {
			continue
		}
		f := &a.report.Files[i]
		for _, t := range [steps][]string{stepAdd: f.AddTags, stepRemove: f.RemoveTags, stepRemoveAI: f.RemoveAITags}[k] {
			planned[t] = true
		}
	}
	out := make([]string, 0, len(b.Tags))
	for _, t := range b.Tags {
		if planned[t] {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return b.Tags
	}
	return out
}

// mark records what the API answered for files of a call of b, and reports
// progress. StatusChanged confirms the call for them: what it adds or
// removes, as far as each file's change planned it, is recorded as done.
// StatusPending changes nothing.
func (a *applier) mark(b Batch, ids []string, status, msg string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k, _ := stepOf(b.Endpoint)
	for _, id := range ids {
		i, ok := a.index[id]
		if !ok {
			continue
		}
		st := &a.state[i]
		switch status {
		case StatusChanged:
			if st.open[k] > 0 {
				st.open[k]--
			}
			f := &a.report.Files[i]
			switch k {
			case stepAdd:
				f.AddedTags = confirmTags(f.AddedTags, b.Tags, f.AddTags)
			case stepRemove:
				f.RemovedTags = confirmTags(f.RemovedTags, b.Tags, f.RemoveTags)
			case stepRemoveAI:
				f.RemovedAITags = confirmTags(f.RemovedAITags, b.Tags, f.RemoveAITags)
			}
		case StatusFailed:
			if st.failed == "" {
				st.failed = msg
			} else if !strings.Contains(st.failed, msg) {
				st.failed += "; " + msg
			}
		case StatusMissing:
			st.missing = true
		}
		if s, _ := st.outcome(); s != StatusPending && !st.settled {
			st.settled = true
			a.done++
		}
	}
	if a.opts.Progress != nil && len(ids) > 0 {
		a.opts.Progress(a.done, len(a.report.Files))
	}
}

// gone marks files known to be missing before any call.
func (a *applier) gone(ids []string) {
	if len(ids) > 0 {
		a.mark(Batch{}, ids, StatusMissing, "")
	}
}

// settle writes every file's status into the report.
func (a *applier) settle() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range a.report.Files {
		f := &a.report.Files[i]
		f.Status, f.Error = a.state[i].outcome()
	}
}

// confirmTags returns done with the tags of a confirmed call that the file's
// change planned added, sorted and without duplicates.
func confirmTags(done, call, planned []string) []string {
	for _, t := range call {
		if slices.Contains(planned, t) && !slices.Contains(done, t) {
			done = append(done, t)
		}
	}
	slices.Sort(done)
	return done
}

// endpointWords are the words that describe the calls of one endpoint.
type endpointWords struct {
	noun  string // "removal": the API did not confirm the ...
	doing string // "removing tags": ... %q from 3 files
	prep  string // "from"
	plan  string // "remove from it": which the plan does not ...
	verb  string // "remove tags %s from this file"
}

// words returns the words of b's endpoint.
func words(b Batch) endpointWords {
	switch endpointOf(b) {
	case EndpointAddTags:
		return endpointWords{noun: "addition", doing: "adding tags", prep: "to", plan: "add to it", verb: "add %s to this file"}
	case EndpointRemoveAITags:
		return endpointWords{noun: "removal", doing: "removing AITags", prep: "from", plan: "remove from it", verb: "remove AITags %s from this file"}
	}
	return endpointWords{noun: "removal", doing: "removing tags", prep: "from", plan: "remove from it", verb: "remove %s from this file"}
}

// refused says what the API refused to do.
func (w endpointWords) refused(tags []string) string { return fmt.Sprintf(w.verb, tagList(tags)) }
