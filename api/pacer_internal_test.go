package api

import (
	"context"
	"math"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// steppingClock advances only when the pacer waits, and records each wait.
type steppingClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *steppingClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *steppingClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.waits)
}

func noReport(Wait) func() { return func() {} }

// queued returns how many callers wait in e's queue.
func (e *endpointPacer) queued() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.queue)
}

func TestFirstRequestGoesAloneAndSetsThePace(t *testing.T) {
	clk := &steppingClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	// Configured far above the API's limit: only the first answer can tell.
	e := newPacer(50, 10, clk).get(OpRemoveTags)
	ctx := context.Background()

	first, err := e.wait(ctx, time.Hour, noReport)
	require.NoError(t, err)
	require.True(t, first.probe)

	const others = 7
	starts := make(chan time.Time, others)
	var wg sync.WaitGroup
	for range others {
		wg.Go(func() {
			tk, err := e.wait(ctx, time.Hour, noReport)
			assert.NoError(t, err)
			assert.False(t, tk.probe)
			starts <- clk.Now()
			tk.done(200, limitHeaders("2", "1000"))
		})
	}
	require.Eventually(t, func() bool { return e.queued() == others }, 5*time.Second, time.Millisecond,
		"every other caller queues behind the first request")
	assert.Empty(t, starts, "nobody starts before the first answer")
	assert.Empty(t, clk.Waits(), "and nobody waits on the clock for it")

	first.done(200, limitHeaders("2", "1000"))
	wg.Wait()
	close(starts)
	// Learned: 2 per second. No span of a second holds more than two
	// starts, consecutive starts after the first two are spaced at least at
	// the paced rate (1.94 per second), and all of them fit in the time that
	// rate allows.
	e.mu.Lock()
	got := slices.Clone(e.starts)
	e.mu.Unlock()
	require.Len(t, got, others+1)
	t0 := got[0]
	paced := time.Duration(math.Round(float64(time.Second)/(paceMargin*2))) - time.Millisecond
	for i := 2; i < len(got); i++ {
		assert.GreaterOrEqual(t, got[i].Sub(got[i-2]), time.Second, "start %d: at most 2 per second", i)
		assert.GreaterOrEqual(t, got[i].Sub(got[i-1]), paced, "start %d: paced", i)
	}
	assert.LessOrEqual(t, got[len(got)-1].Sub(t0), time.Duration(len(got))*(paced+time.Millisecond), "as fast as the pace allows")
}

func TestAFailedFirstRequestHandsTheProbeOn(t *testing.T) {
	clk := &steppingClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := newPacer(10, 2, clk).get(OpList)
	ctx := context.Background()

	first, err := e.wait(ctx, time.Hour, noReport)
	require.NoError(t, err)
	next := make(chan ticket, 1)
	go func() {
		tk, err := e.wait(ctx, time.Hour, noReport)
		assert.NoError(t, err)
		next <- tk
	}()
	require.Eventually(t, func() bool { return e.queued() == 1 }, 5*time.Second, time.Millisecond)
	first.done(0, nil) // a transport error: nothing learned
	tk := <-next
	assert.True(t, tk.probe, "the next request goes alone in its turn")
	tk.done(200, nil)
	again, err := e.wait(ctx, time.Hour, noReport)
	require.NoError(t, err)
	assert.False(t, again.probe, "an answer without headers ends the first wait too")
}

func TestLimitPairs(t *testing.T) {
	tests := []struct {
		name       string
		limit, ivl []string
		want       []window
	}{
		{"OnePair", []string{"20"}, []string{"1000"}, []window{{20, time.Second}}},
		{"CommaSeparated", []string{"100, 1000"}, []string{"1000, 900000"}, []window{{100, time.Second}, {1000, 15 * time.Minute}}},
		{"Repeated", []string{"100", "1000"}, []string{"1000", "900000"}, []window{{100, time.Second}, {1000, 15 * time.Minute}}},
		{"Unpaired", []string{"100, 1000"}, []string{"1000"}, []window{{100, time.Second}}},
		{"Garbage", []string{"many, 5"}, []string{"1000, -1"}, nil},
		{"Missing", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.limit {
				h.Add("X-RateLimit-Limit", v)
			}
			for _, v := range tt.ivl {
				h.Add("X-RateLimit-Interval", v)
			}
			assert.Equal(t, tt.want, limitPairs(h))
		})
	}
}

func limitHeaders(limit, interval string) http.Header {
	h := http.Header{}
	h.Set("X-RateLimit-Limit", limit)
	h.Set("X-RateLimit-Interval", interval)
	return h
}
