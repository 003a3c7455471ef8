package api_test

import (
	"context"
	"net/http"
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
