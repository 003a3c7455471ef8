package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
)

var okRemove = answer(200, map[string]any{"successfullyUpdatedFileIds": []string{"f1"}})

func TestRateLimitedThenSuccess(t *testing.T) {
	tests := []struct {
		name     string
		reset    string
		policy   api.RetryPolicy
		wantWait func(t *testing.T, d time.Duration)
	}{
		{"WaitsTheResetMilliseconds", "700", api.RetryPolicy{}, func(t *testing.T, d time.Duration) {
			assert.Equal(t, 700*time.Millisecond, d)
		}},
		{"WaitsTheFullResetBeyondMaxDelay", "600000", api.RetryPolicy{MaxDelay: 2 * time.Second}, func(t *testing.T, d time.Duration) {
			assert.Equal(t, 10*time.Minute, d)
		}},
		{"WaitsAResetUpToTheCap", "900000", api.RetryPolicy{}, func(t *testing.T, d time.Duration) {
			assert.Equal(t, api.DefaultRateLimitWait, d)
		}},
		{"MissingResetBacksOff", "", api.RetryPolicy{BaseDelay: 100 * time.Millisecond}, func(t *testing.T, d time.Duration) {
			assert.LessOrEqual(t, d, 100*time.Millisecond)
		}},
		{"GarbageResetBacksOff", "soon", api.RetryPolicy{BaseDelay: 100 * time.Millisecond}, func(t *testing.T, d time.Duration) {
			assert.LessOrEqual(t, d, 100*time.Millisecond)
		}},
		{"NegativeResetBacksOff", "-5", api.RetryPolicy{BaseDelay: 100 * time.Millisecond}, func(t *testing.T, d time.Duration) {
			assert.LessOrEqual(t, d, 100*time.Millisecond)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limited := answer(429, errBody("Too many requests"), "X-RateLimit-Reset", tt.reset)
			c, rec, clk := serve(t, []http.HandlerFunc{limited, okRemove}, api.WithRetry(tt.policy))
			res, err := c.RemoveTags(context.Background(), []string{"f1"}, []string{"x"})
			require.NoError(t, err)
			assert.Equal(t, 2, res.Attempts)
			reqs := rec.Requests()
			require.Len(t, reqs, 2)
			assert.Equal(t, reqs[0].Body, reqs[1].Body, "the retry sends the same body")
			waits := clk.Waits()
			require.Len(t, waits, 1)
			tt.wantWait(t, waits[0])
			assert.Equal(t, api.Stats{RemoveTags: 2, Retries: 1, RateLimited: 1}, c.Stats())
		})
	}
}

func TestRateLimitedForever(t *testing.T) {
	limited := answer(429, errBody("Too many requests"), "X-RateLimit-Reset", "1500")
	c, rec, clk := serve(t, []http.HandlerFunc{limited})
	_, err := c.ListPage(context.Background(), api.ListParams{})
	require.ErrorIs(t, err, api.ErrRateLimited)
	assert.Len(t, rec.Requests(), api.DefaultMaxAttempts)
	assert.Len(t, clk.Waits(), api.DefaultMaxAttempts-1)
	var ae *api.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 1500*time.Millisecond, ae.Reset)
	assert.Equal(t, api.DefaultMaxAttempts, ae.Attempts)
	assert.Contains(t, err.Error(), "after 8 attempts")
	assert.Contains(t, err.Error(), "X-RateLimit-Reset")
	assert.Equal(t, int64(api.DefaultMaxAttempts), c.Stats().RateLimited)
	assert.Equal(t, int64(api.DefaultMaxAttempts-1), c.Stats().Retries)
}

func TestResetBeyondTheCapFailsAtOnce(t *testing.T) {
	tests := []struct {
		name   string
		reset  string
		policy api.RetryPolicy
		cap    string
	}{
		{"DefaultCapOfFifteenMinutes", "900001", api.RetryPolicy{}, "15m0s"},
		{"ConfiguredCap", "61000", api.RetryPolicy{RateLimitWait: time.Minute}, "1m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limited := answer(429, errBody("Too many requests"), "X-RateLimit-Reset", tt.reset, "X-Ik-Requestid", "req-429")
			c, rec, clk := serve(t, []http.HandlerFunc{limited, okRemove}, api.WithRetry(tt.policy))
			_, err := c.RemoveTags(context.Background(), []string{"f1"}, []string{"x"})
			require.ErrorIs(t, err, api.ErrRateLimited)
			require.ErrorIs(t, err, api.ErrWaitTooLong)
			assert.Len(t, rec.Requests(), 1, "no retry")
			assert.Empty(t, clk.Waits(), "no wait")
			var ae *api.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, "req-429", ae.RequestID)
			assert.Contains(t, err.Error(), "longer than the cap on rate-limit waits ("+tt.cap+")")
			assert.Contains(t, err.Error(), "request id req-429")
		})
	}
}

func TestMaxElapsedBoundsRetries(t *testing.T) {
	// Each attempt takes a second of the client's clock; backoffs are at
	// most a millisecond.
	var clk *fakeClock
	slow := func(w http.ResponseWriter, r *http.Request) {
		clk.advance(time.Second)
		answer(503, errBody("busy"))(w, r)
	}
	policy := api.RetryPolicy{MaxAttempts: 100, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxElapsed: 2500 * time.Millisecond}
	c, rec, clk0 := serve(t, []http.HandlerFunc{slow}, api.WithRetry(policy))
	clk = clk0
	_, err := c.ListPage(context.Background(), api.ListParams{})
	require.ErrorIs(t, err, api.ErrServer)
	assert.Len(t, rec.Requests(), 3, "a third attempt ends past 2.5s")
}

func TestRateLimitWaitsDoNotCountTowardsMaxElapsed(t *testing.T) {
	limited := answer(429, nil, "X-RateLimit-Reset", "1000")
	c, rec, clk := serve(t, []http.HandlerFunc{limited}, api.WithRetry(api.RetryPolicy{MaxAttempts: 5, MaxElapsed: 2500 * time.Millisecond}))
	_, err := c.ListPage(context.Background(), api.ListParams{})
	require.ErrorIs(t, err, api.ErrRateLimited)
	assert.Len(t, rec.Requests(), 5, "every attempt is made")
	assert.Equal(t, []time.Duration{time.Second, time.Second, time.Second, time.Second}, clk.Waits())
}

func TestServerErrors(t *testing.T) {
	for _, status := range []int{408, 409, 500, 502, 503, 504} {
		for _, call := range bulkCalls {
			t.Run(fmt.Sprintf("%dThenSuccessIsRetried/%s", status, call.name), func(t *testing.T) {
				c, rec, _ := serve(t, []http.HandlerFunc{answer(status, errBody("oops")), answer(status, "bad gateway"), okRemove})
				res, err := call.run(c, context.Background(), []string{"f1"}, []string{"x"})
				require.NoError(t, err)
				assert.Equal(t, 3, res.Attempts)
				assert.Len(t, rec.Requests(), 3)
				assert.Equal(t, int64(2), c.Stats().Retries)
				assert.Equal(t, int64(3), call.count(c.Stats()))
			})
		}
		t.Run(fmt.Sprintf("%dForeverIsBounded", status), func(t *testing.T) {
			policy := api.RetryPolicy{MaxAttempts: 6, BaseDelay: time.Second, MaxDelay: 3 * time.Second}
			c, rec, clk := serve(t, []http.HandlerFunc{answer(status, errBody("down for maintenance"))}, api.WithRetry(policy))
			_, err := c.Details(context.Background(), "f1")
			require.ErrorIs(t, err, api.ErrServer)
			assert.Contains(t, err.Error(), "down for maintenance")
			assert.Contains(t, err.Error(), fmt.Sprintf("HTTP %d", status))
			assert.Len(t, rec.Requests(), 6)
			waits := clk.Waits()
			require.Len(t, waits, 5)
			for i, w := range waits {
				ceiling := min(time.Second<<i, 3*time.Second)
				assert.LessOrEqual(t, w, ceiling, "wait %d", i)
				assert.GreaterOrEqual(t, w, ceiling/2, "wait %d: at least half the ceiling", i)
			}
		})
	}
}

func TestNeverRetried(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			c, rec, clk := serve(t, []http.HandlerFunc{answer(status, errBody("no")), okRemove})
			_, err := c.RemoveTags(context.Background(), []string{"f1"}, []string{"x"})
			require.Error(t, err)
			assert.Len(t, rec.Requests(), 1)
			assert.Empty(t, clk.Waits())
			assert.Zero(t, c.Stats().Retries)
		})
	}
}

// waitingClock is the system clock, except that it reports each wait
// before it starts.
type waitingClock struct{ waiting chan time.Duration }

func (waitingClock) Now() time.Time { return time.Now() }

func (c waitingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.waiting <- d
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func TestCancelDuringBackoffReturnsPromptly(t *testing.T) {
	limited := answer(429, nil, "X-RateLimit-Reset", "600000")
	clk := waitingClock{waiting: make(chan time.Duration, 1)}
	c, rec, _ := serve(t, []http.HandlerFunc{limited}, api.WithClock(clk),
		api.WithRetry(api.RetryPolicy{MaxDelay: 10 * time.Minute, MaxElapsed: time.Hour}))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.RemoveTags(ctx, []string{"f1"}, []string{"x"})
		done <- err
	}()
	assert.Equal(t, 10*time.Minute, <-clk.waiting)
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, err, api.ErrRateLimited)
		assert.Contains(t, err.Error(), "stopped waiting to retry")
	case <-time.After(30 * time.Second):
		t.Fatal("RemoveTags kept waiting after its context was cancelled")
	}
	assert.Len(t, rec.Requests(), 1, "no request after the cancellation")
}

func TestCancelledContextSendsNothing(t *testing.T) {
	c, rec, _ := serve(t, []http.HandlerFunc{okRemove})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.RemoveTags(ctx, []string{"f1"}, []string{"x"})
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, rec.Requests())
}

// cutOff answers 200 with a Content-Length it does not honour, then hangs up.
func cutOff(w http.ResponseWriter, _ *http.Request) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n[{\"fileId\":\"a\",")
	_ = buf.Flush()
}

func TestConnectionClosedMidBody(t *testing.T) {
	t.Run("RetriedThenSuccess", func(t *testing.T) {
		c, rec, _ := serve(t, []http.HandlerFunc{cutOff, library(3)})
		pg, err := c.ListPage(context.Background(), api.ListParams{})
		page := pg.Files
		require.NoError(t, err)
		assert.Len(t, page, 3)
		assert.Len(t, rec.Requests(), 2)
	})
	t.Run("ForeverIsTransportError", func(t *testing.T) {
		c, rec, _ := serve(t, []http.HandlerFunc{cutOff}, api.WithRetry(api.RetryPolicy{MaxAttempts: 3}))
		_, err := c.RemoveTags(context.Background(), []string{"f1"}, []string{"x"})
		require.ErrorIs(t, err, api.ErrTransport)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		assert.Contains(t, err.Error(), "cut off")
		assert.Contains(t, err.Error(), "/v1/files/removeTags")
		assert.Len(t, rec.Requests(), 3)
	})
}

func TestTimeoutIsRetriedThenTransportError(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	c, rec, _ := serve(t, []http.HandlerFunc{hang}, api.WithTimeout(50*time.Millisecond), api.WithRetry(api.RetryPolicy{MaxAttempts: 2}))
	_, err := c.ListPage(context.Background(), api.ListParams{SearchQuery: `name = "a"`})
	require.ErrorIs(t, err, api.ErrTransport)
	assert.NotErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "request timeout")
	assert.Contains(t, err.Error(), "after 2 attempts")
	assert.Len(t, rec.Requests(), 2)
}

func TestNothingListeningFailsFast(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	clk := newFakeClock()
	c, err := api.New(api.WithBaseURL(url), api.WithRate(0, 0), api.WithClock(clk))
	require.NoError(t, err)
	_, err = c.Details(context.Background(), "f1")
	require.ErrorIs(t, err, api.ErrTransport)
	require.ErrorIs(t, err, api.ErrNotListening)
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	msg := err.Error()
	assert.Contains(t, msg, "nothing is listening")
	assert.Equal(t, 1, strings.Count(msg, strings.TrimPrefix(url, "http://")), "the address once: %s", msg)
	assert.Contains(t, msg, url+"/v1/files/f1/details")
	var ae *api.Error
	require.ErrorAs(t, err, &ae)
	assert.Zero(t, ae.StatusCode)
	assert.Equal(t, api.Stats{Details: api.DefaultRefusedAttempts, Retries: api.DefaultRefusedAttempts - 1}, c.Stats())
	var total time.Duration
	for _, w := range clk.Waits() {
		total += w
	}
	assert.LessOrEqual(t, total, 750*time.Millisecond, "two backoffs from 250ms: well under a few seconds")
}

func TestOtherTransportErrorsKeepTheirRetries(t *testing.T) {
	c, rec, _ := serve(t, []http.HandlerFunc{cutOff})
	_, err := c.Details(context.Background(), "f1")
	require.ErrorIs(t, err, api.ErrTransport)
	assert.NotErrorIs(t, err, api.ErrNotListening)
	assert.Len(t, rec.Requests(), api.DefaultMaxAttempts)
}
