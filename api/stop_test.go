package api_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
)

// stallingClock never lets a wait elapse: every Sleep is announced on
// sleeping and lasts until its context ends. Its time stands still.
type stallingClock struct {
	sleeping chan time.Duration
}

func newStallingClock() *stallingClock {
	return &stallingClock{sleeping: make(chan time.Duration, 16)}
}

func (c *stallingClock) Now() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

func (c *stallingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeping <- d
	<-ctx.Done()
	return ctx.Err()
}

// await returns the value of ch, or fails the test after gateTimeout: the
// event is waited for, never assumed.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(gateTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// stopCtx returns a context carrying a stop that the returned function
// fires.
func stopCtx() (context.Context, context.CancelFunc) {
	stop, fire := context.WithCancel(context.Background())
	return api.ContextWithStop(context.Background(), stop), fire
}

// callResult is what a call made in the background returned.
type callResult struct {
	res api.BulkResult
	err error
}

func removeInBackground(c *api.Client, ctx context.Context) <-chan callResult {
	done := make(chan callResult, 1)
	go func() {
		res, err := c.RemoveTags(ctx, []string{"f1"}, []string{"x"})
		done <- callResult{res, err}
	}()
	return done
}

func requireStopped(t *testing.T, err error, attempts int) *api.Error {
	t.Helper()
	require.ErrorIs(t, err, api.ErrStopped)
	require.ErrorIs(t, err, context.Canceled, "the stop's cause is wrapped")
	var ae *api.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, attempts, ae.Attempts, "requests the call sent")
	return ae
}

func TestStopBeforeTheCallSendsNothing(t *testing.T) {
	c, rec, _ := serve(t, []http.HandlerFunc{okRemove})
	ctx, fire := stopCtx()
	fire()
	_, err := c.RemoveTags(ctx, []string{"f1"}, []string{"x"})
	requireStopped(t, err, 0)
	assert.Empty(t, rec.Requests())
	assert.Equal(t, api.Stats{}, c.Stats())
}

func TestStopEndsWaitsAtOnce(t *testing.T) {
	tests := []struct {
		name       string
		first      http.HandlerFunc
		wantStatus int
	}{
		{"BackoffAfterAServerError", answer(503, errBody("busy")), 503},
		{"BackoffAfterATimeout", answer(408, errBody("request timeout")), 408},
		{"RateLimitReset", answer(429, errBody("Too many requests"), "X-RateLimit-Reset", "600000"), 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newStallingClock()
			c, rec, _ := serve(t, []http.HandlerFunc{tt.first, okRemove}, api.WithClock(clk))
			ctx, fire := stopCtx()
			done := removeInBackground(c, ctx)
			await(t, clk.sleeping, "the retry wait")
			fire()
			r := await(t, done, "the call to return")
			ae := requireStopped(t, r.err, 1)
			assert.Equal(t, tt.wantStatus, ae.StatusCode, "the last answer is kept")
			assert.Len(t, rec.Requests(), 1, "no retry after the stop")
		})
	}
}

func TestStopEndsPacerWaitsAtOnce(t *testing.T) {
	clk := newStallingClock()
	limited := answer(429, errBody("Too many requests"), "X-RateLimit-Reset", "600000")
	c, rec, _ := serve(t, []http.HandlerFunc{limited, okRemove}, api.WithClock(clk),
		api.WithRate(10, 1), api.WithRetry(api.RetryPolicy{MaxAttempts: 1}))

	// The first call meets a 429 and, with one attempt, fails at once; the
	// endpoint is now paused for ten minutes.
	_, err := c.RemoveTags(context.Background(), []string{"f1"}, []string{"x"})
	require.ErrorIs(t, err, api.ErrRateLimited)

	ctx, fire := stopCtx()
	head := removeInBackground(c, ctx)   // waits on the clock for the pause
	queued := removeInBackground(c, ctx) // waits behind it for its turn
	await(t, clk.sleeping, "the pause")
	fire()
	for _, done := range []<-chan callResult{head, queued} {
		r := await(t, done, "the call to return")
		requireStopped(t, r.err, 0)
	}
	assert.Len(t, rec.Requests(), 1, "nothing after the 429")
}

func TestStopLetsTheRequestInFlightFinish(t *testing.T) {
	tests := []struct {
		name    string
		answer  http.HandlerFunc
		wantErr error // nil: the call succeeds
	}{
		{"SuccessIsKept", okRemove, nil},
		{"FailureIsNotRetried", answer(503, errBody("busy")), api.ErrStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arrived := make(chan struct{}, 1)
			release := make(chan struct{})
			var abortedInFlight atomic.Bool
			h := func(w http.ResponseWriter, r *http.Request) {
				arrived <- struct{}{}
				<-release
				abortedInFlight.Store(r.Context().Err() != nil)
				tt.answer(w, r)
			}
			c, rec, _ := serve(t, []http.HandlerFunc{h, okRemove})
			ctx, fire := stopCtx()
			done := removeInBackground(c, ctx)
			await(t, arrived, "the request")
			fire()
			close(release)
			r := await(t, done, "the call to return")
			assert.False(t, abortedInFlight.Load(), "the request in flight was not aborted")
			if tt.wantErr == nil {
				require.NoError(t, r.err)
				assert.Equal(t, []string{"f1"}, r.res.Succeeded)
			} else {
				ae := requireStopped(t, r.err, 1)
				assert.Equal(t, 503, ae.StatusCode)
			}
			assert.Len(t, rec.Requests(), 1)
		})
	}
}

func TestCancellingTheCallAbortsTheRequestInFlight(t *testing.T) {
	arrived := make(chan struct{}, 1)
	aborted := make(chan struct{})
	h := func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
		close(aborted)
	}
	c, _, _ := serve(t, []http.HandlerFunc{h})
	stop, fire := context.WithCancel(context.Background())
	defer fire()
	ctx, cancel := context.WithCancel(context.Background())
	done := removeInBackground(c, api.ContextWithStop(ctx, stop))
	await(t, arrived, "the request")
	cancel() // the grace period is over
	r := await(t, done, "the call to return")
	require.ErrorIs(t, r.err, api.ErrTransport)
	require.ErrorIs(t, r.err, context.Canceled)
	assert.NotErrorIs(t, r.err, api.ErrStopped)
	await(t, aborted, "the server to see the request aborted")
}

func TestStopWhileTheFirstAnswerIsAwaited(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	h := func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		okRemove(w, r)
	}
	c, rec, _ := serve(t, []http.HandlerFunc{h}, api.WithRate(10, 2))
	first := removeInBackground(c, context.Background())
	await(t, arrived, "the first request")

	// The second call waits for the first answer before it may start.
	ctx, fire := stopCtx()
	second := removeInBackground(c, ctx)
	fire()
	r := await(t, second, "the waiting call to return")
	requireStopped(t, r.err, 0)

	close(release)
	r = await(t, first, "the first call to return")
	require.NoError(t, r.err)
	assert.Len(t, rec.Requests(), 1)
}

func TestStopDuringAListingReadsNoMorePages(t *testing.T) {
	for _, prefetch := range []int{1, 4} {
		t.Run(map[int]string{1: "OneAfterAnother", 4: "ReadAhead"}[prefetch], func(t *testing.T) {
			c, rec, _ := serve(t, []http.HandlerFunc{library(100)}, api.WithListPrefetch(prefetch))
			ctx, fire := stopCtx()
			var seen int
			var errs []error
			for _, err := range c.List(ctx, api.ListParams{Limit: 10}) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				seen++
				if seen == 1 {
					fire()
				}
			}
			assert.Equal(t, 10, seen, "the page in hand is yielded to its end")
			require.Len(t, errs, 1)
			requireStopped(t, errs[0], 0)
			assert.Len(t, rec.Requests(), 1, "no page after the stop")
		})
	}
}

func TestStopIsPerContext(t *testing.T) {
	// Calls without the stop go on: a stopped run does not poison the
	// client, which other calls (a report's re-reads) may still use.
	c, rec, _ := serve(t, []http.HandlerFunc{okRemove})
	ctx, fire := stopCtx()
	fire()
	var wg sync.WaitGroup
	var stopped, ok atomic.Int32
	for i := range 4 {
		wg.Go(func() {
			call := context.Background()
			if i%2 == 0 {
				call = ctx
			}
			if _, err := c.RemoveTags(call, []string{"f1"}, []string{"x"}); err != nil {
				stopped.Add(1)
			} else {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(2), stopped.Load())
	assert.Equal(t, int32(2), ok.Load())
	assert.Len(t, rec.Requests(), 2)
}
