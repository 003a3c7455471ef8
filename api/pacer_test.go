package api_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
)

func TestPacingLearnsFromHeaders(t *testing.T) {
	tests := []struct {
		name           string
		limit, window  string
		wantRPS        float64
		wantBurst      int
		initRPS        float64
		initBurst      int
		otherOpPaceRPS float64
	}{
		{"TwentyPerSecond", "20", "1000", 19.4, 1, 10, 2, 10},
		{"HundredPerSecond", "100", "1000", 97, 3, 10, 2, 10},
		{"ThousandPerFifteenMinutesIsCountedNotPaced", "1000", "900000", 10, 2, 10, 2, 10},
		{"SixtyPerMinuteIsPaced", "60", "60000", 0.97, 1, 10, 2, 10},
		{"MissingHeadersKeepTheConfiguredRate", "", "", 7, 3, 7, 3, 7},
		{"GarbageHeadersKeepTheConfiguredRate", "many", "-1", 7, 3, 7, 3, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := answer(200, []any{}, "X-RateLimit-Limit", tt.limit, "X-RateLimit-Interval", tt.window, "X-RateLimit-Reset", "0")
			c, _, _ := serve(t, []http.HandlerFunc{h}, api.WithRate(tt.initRPS, tt.initBurst))
			_, err := c.ListPage(context.Background(), api.ListParams{})
			require.NoError(t, err)
			rps, burst := c.Pacing(api.OpList)
			assert.InDelta(t, tt.wantRPS, rps, 1e-9)
			assert.Equal(t, tt.wantBurst, burst)
			rps, _ = c.Pacing(api.OpRemoveTags)
			assert.InDelta(t, tt.otherOpPaceRPS, rps, 1e-9, "each endpoint learns its own limit")
		})
	}
}

func TestPacingSlowsDownAfter429AndRecovers(t *testing.T) {
	limits := []string{"X-RateLimit-Limit", "100", "X-RateLimit-Interval", "1000"}
	limited := answer(429, nil, append(limits, "X-RateLimit-Reset", "10")...)
	ok := answer(200, []any{}, append(limits, "X-RateLimit-Reset", "0")...)
	c, _, _ := serve(t, []http.HandlerFunc{ok, limited, ok}, api.WithRate(50, 1))
	ctx := context.Background()

	_, err := c.ListPage(ctx, api.ListParams{})
	require.NoError(t, err)
	full, _ := c.Pacing(api.OpList)
	assert.InDelta(t, 97, full, 1e-9)

	_, err = c.ListPage(ctx, api.ListParams{}) // 429, then success
	require.NoError(t, err)
	slowed, _ := c.Pacing(api.OpList)
	assert.Less(t, slowed, full)

	for range 20 {
		_, err = c.ListPage(ctx, api.ListParams{})
		require.NoError(t, err)
	}
	recovered, _ := c.Pacing(api.OpList)
	assert.InDelta(t, full, recovered, 1e-9)
}

func TestPacingPausesTheEndpointForTheReset(t *testing.T) {
	limited := answer(429, nil, "X-RateLimit-Reset", "5000")
	ok := answer(200, map[string]any{"fileId": "a"})
	c, rec, clk := serve(t, []http.HandlerFunc{limited, ok, ok},
		api.WithRate(1000, 10), api.WithRetry(api.RetryPolicy{MaxAttempts: 1}))
	ctx := context.Background()

	_, err := c.ListPage(ctx, api.ListParams{})
	require.ErrorIs(t, err, api.ErrRateLimited)
	assert.Empty(t, clk.Waits(), "no retry with one attempt")

	_, err = c.Details(ctx, "a")
	require.NoError(t, err)
	assert.Empty(t, clk.Waits(), "another endpoint is not paused")

	_, err = c.ListPage(ctx, api.ListParams{})
	require.ErrorIs(t, err, api.ErrDecode) // the object answer is not a list
	assert.Equal(t, []time.Duration{5 * time.Second}, clk.Waits(), "the next list call waits the reset")
	assert.Len(t, rec.Requests(), 3)
}

func TestPacingDisabled(t *testing.T) {
	c, _, _ := serve(t, []http.HandlerFunc{answer(200, []any{}, "X-RateLimit-Limit", "5", "X-RateLimit-Interval", "1000")}, api.WithRate(0, 0))
	_, err := c.ListPage(context.Background(), api.ListParams{})
	require.NoError(t, err)
	rps, burst := c.Pacing(api.OpList)
	assert.Zero(t, rps)
	assert.Zero(t, burst)
}

// hookLog collects the waits a client reports.
type hookLog struct {
	mu    sync.Mutex
	waits []api.Wait
}

func (h *hookLog) add(w api.Wait) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.waits = append(h.waits, w)
}

func (h *hookLog) Waits() []api.Wait {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]api.Wait(nil), h.waits...)
}

func TestPacingObeysEveryWindow(t *testing.T) {
	// Two windows: 100 per second, and 3 per hour. The first may be spent
	// at once, the second only paced: the fourth request waits until the
	// first is an hour old.
	twoInOne := answer(200, []any{}, "X-RateLimit-Limit", "100, 3", "X-RateLimit-Interval", "1000, 3600000")
	repeated := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-RateLimit-Limit", "100")
		w.Header().Add("X-RateLimit-Limit", "3")
		w.Header().Add("X-RateLimit-Interval", "1000")
		w.Header().Add("X-RateLimit-Interval", "3600000")
		answer(200, []any{})(w, r)
	}
	short := answer(200, []any{}, "X-RateLimit-Limit", "100", "X-RateLimit-Interval", "1000")
	long := answer(200, []any{}, "X-RateLimit-Limit", "3", "X-RateLimit-Interval", "3600000")
	tests := []struct {
		name     string
		handlers []http.HandlerFunc
	}{
		{"CommaSeparatedPairs", []http.HandlerFunc{twoInOne}},
		{"RepeatedHeaders", []http.HandlerFunc{repeated}},
		{"OnePairPerAnswer", []http.HandlerFunc{short, long, short, long}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hook hookLog
			c, rec, clk := serve(t, tt.handlers, api.WithRate(10, 2), api.WithWaitHook(hook.add),
				api.WithRetry(api.RetryPolicy{RateLimitWait: 2 * time.Hour}))
			ctx := context.Background()
			for range 3 {
				_, err := c.ListPage(ctx, api.ListParams{})
				require.NoError(t, err)
			}
			rps, _ := c.Pacing(api.OpList)
			assert.InDelta(t, 97, rps, 1e-9, "paced by the short window, not the hour")
			var before time.Duration
			for _, w := range clk.Waits() {
				before += w
			}
			assert.Less(t, before, time.Second, "three requests at the short window's pace")

			_, err := c.ListPage(ctx, api.ListParams{})
			require.NoError(t, err)
			require.Len(t, rec.Requests(), 4)
			waits := clk.Waits()
			last := waits[len(waits)-1]
			assert.InDelta(t, float64(time.Hour-before), float64(last), float64(time.Millisecond), "until the first request is an hour old")

			reported := hook.Waits()
			require.Len(t, reported, 2, "the start and the end of the long wait")
			assert.Equal(t, api.WaitPacing, reported[0].Reason)
			assert.Equal(t, api.OpList, reported[0].Op)
			assert.Equal(t, "3 requests per 1h0m0s", reported[0].Cause)
			assert.Equal(t, last, reported[0].For)
			assert.False(t, reported[0].Done)
			assert.True(t, reported[1].Done)
			assert.Contains(t, reported[0].String(), "for the rate limit of list files (3 requests per 1h0m0s)")
		})
	}
}

func TestPacingRefusesAWindowWaitBeyondTheCap(t *testing.T) {
	limits := answer(200, []any{}, "X-RateLimit-Limit", "100, 2", "X-RateLimit-Interval", "1000, 3600000")
	c, rec, clk := serve(t, []http.HandlerFunc{limits}, api.WithRate(10, 2))
	ctx := context.Background()
	for range 2 {
		_, err := c.ListPage(ctx, api.ListParams{})
		require.NoError(t, err)
	}
	waits := len(clk.Waits())
	_, err := c.ListPage(ctx, api.ListParams{})
	require.ErrorIs(t, err, api.ErrRateLimited)
	require.ErrorIs(t, err, api.ErrWaitTooLong)
	assert.Contains(t, err.Error(), "2 requests per 1h0m0s")
	assert.Contains(t, err.Error(), "(15m0s)")
	var ae *api.Error
	require.ErrorAs(t, err, &ae)
	assert.Zero(t, ae.Attempts, "nothing was sent")
	assert.Len(t, rec.Requests(), 2)
	assert.Len(t, clk.Waits(), waits, "no wait")
}

func TestWaitsAreReported(t *testing.T) {
	tests := []struct {
		name     string
		handlers []http.HandlerFunc
		opts     []api.Option
		calls    int
		want     api.Wait
		wantText string
	}{
		{
			name: "RateLimitResetCountdown",
			handlers: []http.HandlerFunc{
				answer(429, errBody("Too many requests"), "X-RateLimit-Reset", "252000", "X-Ik-Requestid", "req-1"),
				okRemove,
			},
			calls:    1,
			want:     api.Wait{Op: api.OpRemoveTags, Reason: api.WaitRateLimit, For: 252 * time.Second, Cause: "HTTP 429", Status: 429, Attempt: 1, RequestID: "req-1"},
			wantText: "waiting 4m12s for the rate limit of remove tags (HTTP 429, request id req-1)",
		},
		{
			name:     "BackoffAfterServerErrors",
			handlers: []http.HandlerFunc{answer(503, errBody("busy"), "X-Ik-Requestid", "req-2"), okRemove},
			opts:     []api.Option{api.WithRetry(api.RetryPolicy{BaseDelay: 5 * time.Second, MaxDelay: 5 * time.Second})},
			calls:    1,
			want:     api.Wait{Op: api.OpRemoveTags, Reason: api.WaitBackoff, Cause: "HTTP 503", Status: 503, Attempt: 1, RequestID: "req-2"},
			wantText: "before retrying remove tags (HTTP 503, attempt 1, request id req-2)",
		},
		{
			name:     "SlowPacing",
			handlers: []http.HandlerFunc{answer(200, map[string]any{"successfullyUpdatedFileIds": []string{"f1"}}, "X-RateLimit-Limit", "1", "X-RateLimit-Interval", "5000")},
			opts:     []api.Option{api.WithRate(10, 1)},
			calls:    2,
			want:     api.Wait{Op: api.OpRemoveTags, Reason: api.WaitPacing, Cause: "1 request per 5s"},
			wantText: "for the rate limit of remove tags (1 request per 5s)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hook hookLog
			c, _, clk := serve(t, tt.handlers, append(tt.opts, api.WithWaitHook(hook.add))...)
			for range tt.calls {
				_, err := c.RemoveTags(context.Background(), []string{"f1"}, []string{"x"})
				require.NoError(t, err)
			}
			got := hook.Waits()
			require.Len(t, got, 2, "start and end")
			start, end := got[0], got[1]
			if tt.want.For == 0 {
				tt.want.For = start.For // drawn by the backoff or the pacer
				assert.GreaterOrEqual(t, start.For, api.MinReportedWait)
			}
			tt.want.Until = newFakeClock().Now().Add(tt.want.For) // the clock had not moved
			require.NotEmpty(t, clk.Waits())
			assert.Equal(t, tt.want, start)
			tt.want.Done = true
			assert.Equal(t, tt.want, end)
			assert.Contains(t, start.String(), tt.wantText)
		})
	}
}
