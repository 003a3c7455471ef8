package api

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Pacing constants. The API counts requests per endpoint and per account, so
// each endpoint gets its own limiter, shared by every goroutine of a Client.
const (
	// paceMargin keeps the learned rate a little under the API's limit, so
	// that network jitter does not push a window over it.
	paceMargin = 0.97
	// burstShare is the part of one interval's allowance that may start at
	// once: with it, a burst plus a full interval at the paced rate stays
	// within the limit even for a fixed-window counter.
	burstShare = 0.03
	// slowDown is how much a 429 lowers the rate; every success then
	// recovers recoverStep of the learned rate, up to all of it.
	slowDown    = 0.75
	recoverStep = 0.02
	minFactor   = 0.25
)

// pacer holds one endpointPacer per operation.
type pacer struct {
	rps   float64
	burst int
	clock Clock

	mu  sync.Mutex
	eps map[string]*endpointPacer
}

func newPacer(rps float64, burst int, clk Clock) *pacer {
	if burst < 1 {
		burst = 1
	}
	return &pacer{rps: rps, burst: burst, clock: clk, eps: map[string]*endpointPacer{}}
}

func (p *pacer) get(op string) *endpointPacer {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.eps[op]
	if e == nil {
		e = &endpointPacer{
			lim:    rate.NewLimiter(rate.Limit(p.rps), p.burst),
			target: p.rps,
			burst:  p.burst,
			factor: 1,
			clock:  p.clock,
		}
		p.eps[op] = e
	}
	return e
}

// endpointPacer spaces the starts of one endpoint's requests. It learns the
// API's limit from X-RateLimit-Limit and X-RateLimit-Interval, and after a
// 429 it pauses everyone for X-RateLimit-Reset and slows down for a while.
type endpointPacer struct {
	lim   *rate.Limiter
	clock Clock

	mu       sync.Mutex
	target   float64 // learned (or configured) requests per second
	burst    int
	factor   float64 // 1, or less after a 429
	resumeAt time.Time
	learned  struct{ limit, interval int64 }
}

// wait blocks until a request may start, or ctx ends.
func (e *endpointPacer) wait(ctx context.Context) error {
	e.mu.Lock()
	pause := e.resumeAt.Sub(e.clock.Now())
	e.mu.Unlock()
	if pause > 0 {
		if err := e.clock.Sleep(ctx, pause); err != nil {
			return err
		}
	}
	if err := e.lim.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The limiter refuses a wait that would outlast ctx's deadline.
		return fmt.Errorf("%w: %v", context.DeadlineExceeded, err)
	}
	return nil
}

func (e *endpointPacer) current() (float64, int) {
	return float64(e.lim.Limit()), e.lim.Burst()
}

// observe learns from a response's headers.
func (e *endpointPacer) observe(status int, h http.Header) {
	limit, okL := positiveInt(h.Get("X-RateLimit-Limit"))
	interval, okI := positiveInt(h.Get("X-RateLimit-Interval"))
	e.mu.Lock()
	defer e.mu.Unlock()
	if okL && okI && (limit != e.learned.limit || interval != e.learned.interval) {
		e.learned.limit, e.learned.interval = limit, interval
		e.target = paceMargin * float64(limit) * 1000 / float64(interval)
		e.burst = max(1, int(burstShare*float64(limit)))
		e.lim.SetBurst(e.burst)
	}
	if status >= 200 && status < 300 && e.factor < 1 {
		e.factor = math.Min(1, e.factor+recoverStep)
	}
	e.lim.SetLimit(rate.Limit(e.target * e.factor))
}

// throttled records a 429: nobody starts a request on this endpoint for
// reset, and the rate drops for a while.
func (e *endpointPacer) throttled(reset time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if until := e.clock.Now().Add(reset); until.After(e.resumeAt) {
		e.resumeAt = until
	}
	e.factor = math.Max(minFactor, e.factor*slowDown)
	e.lim.SetLimit(rate.Limit(e.target * e.factor))
}

// positiveInt parses a header value that must be a positive integer.
func positiveInt(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}
