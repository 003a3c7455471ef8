package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/manifest"
)

// planFor plans rule r ("x" forbidden everywhere) over n files, size per call.
func planFor(t *testing.T, n, size int) (*testLib, *Plan) {
	t.Helper()
	lib := newTestLib(t, nFiles("f", n, "/a/", "x", "keep"))
	p, err := MakePlan(context.Background(), lib, []manifest.Rule{rule("r", []string{"/"}, nil, "x")}, PlanOptions{BatchSize: size})
	require.NoError(t, err)
	require.Len(t, p.Changes, n)
	return lib, p
}

func statuses(r *Report) map[string]string {
	out := map[string]string{}
	for _, f := range r.Files {
		out[f.FileID] = f.Status
	}
	return out
}

func outcomes(r *Report) []string {
	var out []string
	for _, b := range r.Batches {
		out = append(out, b.Outcome)
	}
	return out
}

func partial(ids []string, fail ...string) (api.RemoveTagsResult, error, bool) {
	res := api.RemoveTagsResult{StatusCode: 207, Attempts: 1}
	for _, id := range ids {
		if slices.Contains(fail, id) {
			res.Failed = append(res.Failed, api.FileError{FileID: id, Error: "Error in removing tags"})
		} else {
			res.Succeeded = append(res.Succeeded, id)
		}
	}
	return res, &api.PartialError{Op: "remove tags", Failed: res.Failed}, true
}

func TestApply(t *testing.T) {
	defer goleak.VerifyNone(t)
	t.Run("applies every batch and reports every file changed", func(t *testing.T) {
		lib, p := planFor(t, 5, 2)
		var mu sync.Mutex
		var last [2]int
		r, err := Apply(context.Background(), lib, p, ApplyOptions{Tool: "test", Progress: func(done, total int) {
			mu.Lock()
			last = [2]int{done, total}
			mu.Unlock()
		}})
		require.NoError(t, err)
		assert.Equal(t, 5, r.Summary.FilesChanged)
		assert.Equal(t, 5, r.Summary.TagsRemoved)
		assert.Equal(t, 3, r.Summary.APICalls.RemoveTags)
		assert.Equal(t, []string{"ok", "ok", "ok"}, outcomes(r))
		assert.Equal(t, [2]int{5, 5}, last)
		assert.Equal(t, []string{"keep"}, lib.tags("f0000"))
		assert.False(t, r.Interrupted)
	})

	t.Run("207 failed files are retried with the same tags", func(t *testing.T) {
		lib, p := planFor(t, 3, 50)
		lib.hook = func(_ context.Context, n int, ids, tags []string) (api.RemoveTagsResult, error, bool) {
			if n == 0 {
				return partial(ids, "f0001")
			}
			return api.RemoveTagsResult{}, nil, false
		}
		r, err := Apply(context.Background(), lib, p, ApplyOptions{})
		require.NoError(t, err)
		assert.Equal(t, 3, r.Summary.FilesChanged)
		assert.Equal(t, []string{"partial", "ok"}, outcomes(r))
		assert.Equal(t, []string{"f0001"}, r.Batches[1].FileIDs)
		assert.Equal(t, []string{"x"}, lib.sent()[1].Tags)
		assert.Equal(t, 207, r.Batches[0].HTTPStatus)
	})

	t.Run("207 failures that persist end failed with the API's message", func(t *testing.T) {
		lib, p := planFor(t, 3, 50)
		lib.hook = func(_ context.Context, n int, ids, tags []string) (api.RemoveTagsResult, error, bool) {
			return partial(ids, "f0002")
		}
		r, err := Apply(context.Background(), lib, p, ApplyOptions{MaxFileRetries: 2})
		require.NoError(t, err)
		assert.Len(t, lib.sent(), 3)
		assert.Equal(t, map[string]string{"f0000": StatusChanged, "f0001": StatusChanged, "f0002": StatusFailed}, statuses(r))
		assert.Contains(t, r.Files[2].Error, "Error in removing tags")
		assert.Equal(t, 1, r.Summary.FilesFailed)
		assert.Equal(t, []string{"x", "keep"}, lib.tags("f0002"))
	})

	t.Run("404 drops the missing files and sends the rest again", func(t *testing.T) {
		lib, p := planFor(t, 4, 50)
		lib.remove("f0001")
		r, err := Apply(context.Background(), lib, p, ApplyOptions{})
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"f0000": StatusChanged, "f0001": StatusMissing, "f0002": StatusChanged, "f0003": StatusChanged}, statuses(r))
		assert.Equal(t, []string{"missing", "ok"}, outcomes(r))
		assert.Equal(t, []string{"f0000", "f0002", "f0003"}, r.Batches[1].FileIDs)
		assert.Equal(t, 1, r.Summary.FilesMissing)
	})

	t.Run("a fatal error stops new calls and leaves unreached files pending", func(t *testing.T) {
		lib, p := planFor(t, 6, 2)
		lib.hook = func(_ context.Context, n int, ids, tags []string) (api.RemoveTagsResult, error, bool) {
			return api.RemoveTagsResult{}, &api.Error{Op: "remove tags", StatusCode: 401, Kind: api.ErrAuth, Message: "Your account cannot be authenticated.", Attempts: 1}, true
		}
		r, err := Apply(context.Background(), lib, p, ApplyOptions{Concurrency: 1})
		var ae *api.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, 401, ae.StatusCode)
		assert.Len(t, lib.sent(), 1)
		assert.Equal(t, map[string]string{"f0000": StatusFailed, "f0001": StatusFailed, "f0002": StatusPending, "f0003": StatusPending, "f0004": StatusPending, "f0005": StatusPending}, statuses(r))
		assert.Equal(t, []string{"failed", "skipped", "skipped"}, outcomes(r))
		assert.Equal(t, 4, r.Summary.FilesPending)
		assert.NotEmpty(t, r.Error)
	})

	t.Run("cancellation starts no new call and leaves unconfirmed files pending", func(t *testing.T) {
		lib, p := planFor(t, 6, 2)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		lib.hook = func(_ context.Context, n int, ids, tags []string) (api.RemoveTagsResult, error, bool) {
			// The first call is in flight when the signal arrives, and the
			// API's answer comes after it: the call is let finish.
			cancel()
			return api.RemoveTagsResult{StatusCode: 200, Succeeded: ids, Attempts: 1}, nil, true
		}
		r, err := Apply(ctx, lib, p, ApplyOptions{Concurrency: 1})
		require.ErrorIs(t, err, context.Canceled)
		assert.True(t, r.Interrupted)
		assert.Len(t, lib.sent(), 1)
		assert.Equal(t, map[string]string{"f0000": StatusChanged, "f0001": StatusChanged, "f0002": StatusPending, "f0003": StatusPending, "f0004": StatusPending, "f0005": StatusPending}, statuses(r))
	})

	t.Run("a call cut short by the interrupt leaves its files pending", func(t *testing.T) {
		lib, p := planFor(t, 2, 50)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		lib.hook = func(_ context.Context, n int, ids, tags []string) (api.RemoveTagsResult, error, bool) {
			cancel()
			return api.RemoveTagsResult{}, &api.Error{Op: "remove tags", Kind: api.ErrTransport, Err: context.Canceled}, true
		}
		r, err := Apply(ctx, lib, p, ApplyOptions{})
		require.True(t, errors.Is(err, context.Canceled))
		assert.Equal(t, 2, r.Summary.FilesPending)
		assert.Equal(t, 0, r.Summary.FilesFailed)
	})

	t.Run("calls in flight are abandoned when the grace period ends", func(t *testing.T) {
		lib, p := planFor(t, 4, 2)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		lib.hook = func(callCtx context.Context, n int, ids, tags []string) (api.RemoveTagsResult, error, bool) {
			cancel()
			<-callCtx.Done() // a call that would never end on its own
			return api.RemoveTagsResult{}, &api.Error{Op: "remove tags", Kind: api.ErrTransport, Err: callCtx.Err()}, true
		}
		r, err := Apply(ctx, lib, p, ApplyOptions{Concurrency: 1, Grace: time.Millisecond})
		require.ErrorIs(t, err, context.Canceled)
		assert.True(t, r.Interrupted)
		assert.Len(t, lib.sent(), 1)
		assert.Equal(t, 4, r.Summary.FilesPending)
		assert.Equal(t, []string{"failed", "skipped"}, outcomes(r))
	})

	t.Run("a call the API refuses with 400 is split down to the files it refuses", func(t *testing.T) {
		lib, p := planFor(t, 8, 50)
		lib.hook = func(_ context.Context, n int, ids, tags []string) (api.RemoveTagsResult, error, bool) {
			if slices.Contains(ids, "f0005") {
				return api.RemoveTagsResult{}, badRequest("a tag of file f0005 cannot be removed"), true
			}
			return api.RemoveTagsResult{}, nil, false
		}
		r, err := Apply(context.Background(), lib, p, ApplyOptions{Concurrency: 1})
		require.NoError(t, err, "a refused file does not stop the apply")
		want := map[string]string{}
		for i := range 8 {
			want[fmt.Sprintf("f%04d", i)] = StatusChanged
		}
		want["f0005"] = StatusFailed
		assert.Equal(t, want, statuses(r))
		assert.Equal(t, 1, r.Summary.FilesFailed)
		assert.Equal(t, 7, r.Summary.FilesChanged)
		assert.Contains(t, r.Files[5].Error, "HTTP 400")
		assert.Contains(t, r.Files[5].Error, "a tag of file f0005 cannot be removed")
		assert.Equal(t, []string{"x", "keep"}, lib.tags("f0005"), "the refused file keeps its tags")
		assert.Equal(t, []string{"keep"}, lib.tags("f0004"))
		// 8 files: [0-7] split, [0-3] ok, [4-7] split, [4 5] split,
		// [6 7] ok, [4] ok, [5] failed.
		assert.Equal(t, []string{"split", "ok", "split", "split", "ok", "ok", "failed"}, outcomes(r))
		assert.LessOrEqual(t, len(lib.sent()), 2*8-1)
		for _, b := range r.Batches {
			if b.Outcome == OutcomeSplit || b.Outcome == OutcomeFailed {
				assert.Equal(t, 400, b.HTTPStatus)
			}
		}
	})

	t.Run("a call whose every file the API refuses fails them all and the next call still goes", func(t *testing.T) {
		lib, p := planFor(t, 4, 2)
		lib.hook = func(_ context.Context, n int, ids, tags []string) (api.RemoveTagsResult, error, bool) {
			if slices.Contains(ids, "f0000") || slices.Contains(ids, "f0001") {
				return api.RemoveTagsResult{}, badRequest("refused"), true
			}
			return api.RemoveTagsResult{}, nil, false
		}
		r, err := Apply(context.Background(), lib, p, ApplyOptions{Concurrency: 1})
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"f0000": StatusFailed, "f0001": StatusFailed, "f0002": StatusChanged, "f0003": StatusChanged}, statuses(r))
		assert.Len(t, lib.sent(), 4, "one split call of two, its two halves, and the next call")
	})

	t.Run("an interrupt during a split leaves the halves pending", func(t *testing.T) {
		lib, p := planFor(t, 4, 50)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		lib.hook = func(_ context.Context, n int, ids, tags []string) (api.RemoveTagsResult, error, bool) {
			cancel()
			return api.RemoveTagsResult{}, badRequest("refused"), true
		}
		r, err := Apply(ctx, lib, p, ApplyOptions{})
		require.ErrorIs(t, err, context.Canceled)
		assert.Len(t, lib.sent(), 1, "no half is sent after the interrupt")
		assert.Equal(t, 4, r.Summary.FilesPending)
		assert.Equal(t, []string{"split"}, outcomes(r))
	})

	t.Run("a plan that disagrees with itself is refused before anything is sent", func(t *testing.T) {
		lib := newTestLib(t, []imagekittest.File{file("x1", "/a/x1.jpg", "x", "y", "keep")})
		p, err := MakePlan(context.Background(), lib, []manifest.Rule{rule("R1", []string{"/a/"}, nil, "x"), rule("R2", []string{"/b/"}, nil, "y")}, PlanOptions{})
		require.NoError(t, err)
		p.Batches[0].Tags = []string{"x", "y"}
		r, err := Apply(context.Background(), lib, p, ApplyOptions{})
		require.ErrorIs(t, err, ErrInconsistentPlan)
		assert.Contains(t, err.Error(), `batch 1 would remove tag "y" from file x1 (/a/x1.jpg), where no rule that selects it forbids it`)
		assert.Empty(t, lib.sent())
		assert.Equal(t, 1, r.Summary.FilesPending)
		assert.Equal(t, []string{"x", "y", "keep"}, lib.tags("x1"))
	})
}

// badRequest is the error of a call the API refuses as sent.
func badRequest(msg string) error {
	return &api.Error{Op: "remove tags", StatusCode: 400, Kind: api.ErrBadRequest, Message: msg, Attempts: 1}
}
