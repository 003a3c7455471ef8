package api_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
)

// BenchmarkPacingAtEveryRateLimit sends removeTags calls from a fresh client
// to an emulator limited to rate requests per second per endpoint, answering
// each request after latency, with enough calls in flight to keep the
// endpoint at its limit (rate x latency, and at least the CLI's default of
// 8). The rate limit bounds a run at calls/rate seconds; the metrics say
// how close pacing comes to that bound (x-bound), what share of the
// requests the emulator answered 429 (429-%), and the longest time between
// two consecutive calls ending (max-gap-s), which shows a stall.
//
//	go test -run '^$' -bench PacingAtEveryRateLimit -benchtime 1x ./api/
func BenchmarkPacingAtEveryRateLimit(b *testing.B) {
	for _, rate := range []int{2, 5, 20, 50} {
		for _, latency := range []time.Duration{50 * time.Millisecond, 150 * time.Millisecond, 500 * time.Millisecond} {
			b.Run(fmt.Sprintf("rate=%d/latency=%s", rate, latency), func(b *testing.B) {
				calls := max(30, 10*rate)
				workers := max(8, int(math.Ceil(float64(rate)*latency.Seconds()*1.25))+2)
				for b.Loop() {
					r := pacedRun(b, rate, latency, calls, workers)
					bound := float64(calls) / float64(rate)
					b.ReportMetric(r.elapsed.Seconds(), "s")
					b.ReportMetric(bound, "bound-s")
					b.ReportMetric(r.elapsed.Seconds()/bound, "x-bound")
					b.ReportMetric(100*float64(r.limited)/float64(r.requests), "429-%")
					b.ReportMetric(float64(r.requests), "requests")
					b.ReportMetric(r.maxGap.Seconds(), "max-gap-s")
					b.ReportMetric(float64(r.failed), "failed")
				}
			})
		}
	}
}

// pacedResult is what one paced run measured.
type pacedResult struct {
	elapsed, maxGap           time.Duration
	requests, limited, failed int64
}

// pacedRun makes calls removeTags calls from workers goroutines against a
// fresh emulator and a fresh client.
func pacedRun(b *testing.B, rate int, latency time.Duration, calls, workers int) pacedResult {
	b.Helper()
	srv := imagekittest.NewServer(emulatorLibrary(calls), imagekittest.WithRateLimit(rate), imagekittest.WithLatency(latency))
	defer srv.Close()
	c, err := api.New(api.WithBaseURL(srv.URL), api.WithHTTPClient(srv.Client()))
	if err != nil {
		b.Fatal(err)
	}
	var (
		next   atomic.Int64
		failed atomic.Int64
		mu     sync.Mutex
		ends   []time.Time
		wg     sync.WaitGroup
	)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= calls {
					return
				}
				_, err := c.RemoveTags(context.Background(), []string{fmt.Sprintf("id%04d", i)}, []string{"draft"})
				if err != nil {
					failed.Add(1)
				}
				mu.Lock()
				ends = append(ends, time.Now())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r := pacedResult{elapsed: time.Since(start), failed: failed.Load()}
	slices.SortFunc(ends, time.Time.Compare)
	prev := start
	for _, e := range ends {
		r.maxGap = max(r.maxGap, e.Sub(prev))
		prev = e
	}
	st := srv.Handler().Stats()
	r.requests = st.Requests.RemoveTags
	r.limited = st.RateLimited
	return r
}
