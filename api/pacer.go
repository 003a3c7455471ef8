package api

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Pacing constants. The API counts requests per endpoint and per account, so
// each endpoint gets its own pacer, shared by every goroutine of a Client.
const (
	// paceMargin keeps the paced rate a little under the API's limit, so
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
	// evenWindow is the longest rate-limit window that is paced evenly.
	// Longer windows (say 1000 requests per 15 minutes) are only counted:
	// their allowance may be spent at the pace of the shorter windows, and
	// once it is used up the endpoint waits until the oldest request of the
	// window is that old.
	evenWindow = time.Minute
	// maxCounted is the largest window limit that is counted (and so the
	// most starts remembered); a window allowing more than that per
	// interval is far beyond what one run sends.
	maxCounted = 100_000
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
			op:        op,
			clock:     p.clock,
			baseRate:  p.rps,
			baseBurst: p.burst,
			lim:       rate.NewLimiter(rate.Limit(p.rps), p.burst),
			factor:    1,
		}
		p.eps[op] = e
	}
	return e
}

// endpointPacer decides when each request to one endpoint may start.
//
// Callers queue in arrival order; only the first one waits on the clock, so
// a pause after a 429 or a used-up window holds everyone, and is reported
// once. Until the first answer has come back, one request goes out alone:
// its X-RateLimit-* headers set the pace before any burst. From the headers
// it learns every window (limit per interval) it sees and obeys each: the
// windows of at most evenWindow pace requests evenly at the strictest of
// their rates, and every window caps the requests started within any span
// of its interval.
type endpointPacer struct {
	op        string
	clock     Clock
	baseRate  float64 // configured requests per second, until a short window is learned
	baseBurst int

	mu        sync.Mutex
	lim       *rate.Limiter
	limAt     time.Time   // the latest time the limiter was told of
	windows   []window    // learned, by interval
	starts    []time.Time // the latest request starts, oldest first
	factor    float64     // 1, or less after a 429
	resumeAt  time.Time   // nothing starts before this (a 429's reset)
	reported  time.Time   // waits ending by then have been reported
	learned   bool        // an answer has come back
	probe     chan struct{}
	queue     []chan struct{} // callers waiting to start; the first may go
	lastCause string
}

// window is one rate limit: limit requests per interval.
type window struct {
	limit    int
	interval time.Duration
}

// minLog is how many starts an endpoint remembers at least, so that a
// window learned late still counts the requests already sent.
const minLog = 1024

// ticket is a permission to send one request.
type ticket struct {
	e     *endpointPacer
	probe bool // the first request: everyone else waits for its answer
}

// waitTooLong is the pacer's refusal of a wait beyond the cap.
type waitTooLong struct {
	wait, limit time.Duration
	cause       string
}

func (w *waitTooLong) Error() string {
	return fmt.Sprintf("the rate limit (%s) would hold this call for %s: %v (%s)", w.cause, w.wait.Round(time.Second), ErrWaitTooLong, w.limit)
}

func (w *waitTooLong) Unwrap() error { return ErrWaitTooLong }

// wait blocks until a request may start and returns its ticket, or returns
// ctx's error once ctx ends. A wait longer than limit is refused at once
// with a *waitTooLong. report announces a long wait and returns the
// function that announces its end.
func (e *endpointPacer) wait(ctx context.Context, limit time.Duration, report func(Wait) func()) (ticket, error) {
	turn := make(chan struct{})
	e.mu.Lock()
	e.queue = append(e.queue, turn)
	if len(e.queue) == 1 {
		close(turn)
	}
	e.mu.Unlock()
	defer e.leave(turn)

	select {
	case <-turn:
	case <-ctx.Done():
		return ticket{}, ctx.Err()
	}
	var planned time.Time // the start the last wait on the clock aimed at
	for {
		e.mu.Lock()
		if !e.learned && e.probe != nil {
			probe := e.probe
			e.mu.Unlock()
			select {
			case <-probe:
				continue
			case <-ctx.Done():
				return ticket{}, ctx.Err()
			}
		}
		now := e.clock.Now()
		at, cause := e.earliest(now)
		if !at.After(now) {
			e.take(planned, now)
			t := ticket{e: e}
			if !e.learned {
				e.probe = make(chan struct{})
				t.probe = true
			}
			e.mu.Unlock()
			return t, nil
		}
		d := at.Sub(now)
		planned = at
		announce := at.After(e.reported)
		if announce {
			e.reported = at
		}
		e.mu.Unlock()
		if d > limit {
			return ticket{}, &waitTooLong{wait: d, limit: limit, cause: cause}
		}
		ended := func() {}
		if announce {
			ended = report(Wait{Op: e.op, Reason: WaitPacing, For: d, Until: at, Cause: cause})
		}
		err := e.clock.Sleep(ctx, d)
		ended()
		if err != nil {
			return ticket{}, err
		}
	}
}

// leave takes turn out of the queue and, if it was first, lets the next
// caller go.
func (e *endpointPacer) leave(turn chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := slices.Index(e.queue, turn)
	if i < 0 {
		return
	}
	e.queue = slices.Delete(e.queue, i, i+1)
	if i == 0 && len(e.queue) > 0 {
		close(e.queue[0])
	}
}

// earliest returns when the next request may start, at now or later, and
// what holds it when that is later. e.mu is held.
func (e *endpointPacer) earliest(now time.Time) (time.Time, string) {
	at, cause := now, ""
	if e.resumeAt.After(at) {
		at, cause = e.resumeAt, e.lastCause
	}
	for _, w := range e.windows {
		if len(e.starts) < w.limit {
			continue
		}
		if free := e.starts[len(e.starts)-w.limit].Add(w.interval); free.After(at) {
			at, cause = free, w.String()
		}
	}
	if tokens := e.lim.TokensAt(at); tokens < 1 {
		if r := float64(e.lim.Limit()); r > 0 {
			at = at.Add(time.Duration(math.Ceil((1-tokens)/r*float64(time.Second))) + 1)
			if cause == "" {
				cause = fmt.Sprintf("paced at %.3g requests per second", r)
			}
		}
	}
	return at, cause
}

// take records a request starting at now. When the caller woke up late
// for the start it waited for (planned), the pace counts from planned, so
// that timer delays do not add up into a slower pace; the windows count the
// real start. e.mu is held.
func (e *endpointPacer) take(planned, now time.Time) {
	slot := now
	if !planned.IsZero() && !planned.After(now) && !planned.Before(e.limAt) && now.Sub(planned) < time.Second {
		slot = planned
	}
	if !e.lim.AllowN(slot, 1) {
		slot = now
		e.lim.AllowN(now, 1)
	}
	if slot.After(e.limAt) {
		e.limAt = slot
	}
	e.starts = append(e.starts, now)
	keep := minLog
	for _, w := range e.windows {
		keep = max(keep, w.limit)
	}
	if len(e.starts) >= 2*keep {
		e.starts = slices.Clone(e.starts[len(e.starts)-keep:])
	}
}

// done records the outcome of the request t allowed: its status and headers
// when it was answered (status > 0). The first answer releases the callers
// that waited for it.
func (t ticket) done(status int, h http.Header) {
	e := t.e
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	if status > 0 {
		e.observe(now, status, h)
		e.learned = true
	}
	if t.probe && e.probe != nil {
		close(e.probe)
		e.probe = nil
	}
}

// observe learns from an answer's headers. e.mu is held.
func (e *endpointPacer) observe(now time.Time, status int, h http.Header) {
	for _, p := range limitPairs(h) {
		i := slices.IndexFunc(e.windows, func(w window) bool { return w.interval == p.interval })
		if i < 0 {
			e.windows = append(e.windows, p)
			slices.SortFunc(e.windows, func(a, b window) int { return cmp.Compare(a.interval, b.interval) })
		} else {
			e.windows[i].limit = p.limit
		}
	}
	if status >= 200 && status < 300 && e.factor < 1 {
		e.factor = math.Min(1, e.factor+recoverStep)
	}
	e.setPace(now)
}

// setPace sets the even pace from the strictest short window, or from the
// configured rate while none is known. e.mu is held.
func (e *endpointPacer) setPace(now time.Time) {
	target, burst := e.baseRate, e.baseBurst
	found := false
	for _, w := range e.windows {
		if w.interval > evenWindow {
			continue
		}
		r := paceMargin * float64(w.limit) / w.interval.Seconds()
		b := max(1, int(burstShare*float64(w.limit)))
		if !found || r < target {
			target = r
		}
		if !found || b < burst {
			burst = b
		}
		found = true
	}
	e.lim.SetLimitAt(now, rate.Limit(target*e.factor))
	e.lim.SetBurstAt(now, burst)
	if now.After(e.limAt) {
		e.limAt = now
	}
}

// throttled records a 429 answered at now: nobody starts a request on this
// endpoint for reset, and the rate drops for a while. The caller reports
// the wait itself, so the pacer does not report it again.
func (e *endpointPacer) throttled(now time.Time, reset time.Duration, cause string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if until := now.Add(reset); until.After(e.resumeAt) {
		e.resumeAt = until
		e.lastCause = cause
	}
	if e.resumeAt.After(e.reported) {
		e.reported = e.resumeAt
	}
	e.factor = math.Max(minFactor, e.factor*slowDown)
	e.setPace(now)
}

func (e *endpointPacer) current() (float64, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return float64(e.lim.Limit()), e.lim.Burst()
}

// String names the window, such as "1000 requests per 15m0s".
func (w window) String() string {
	if w.limit == 1 {
		return fmt.Sprintf("1 request per %s", w.interval)
	}
	return fmt.Sprintf("%d requests per %s", w.limit, w.interval)
}

// limitPairs reads the windows of an answer: X-RateLimit-Limit and
// X-RateLimit-Interval (milliseconds), paired in order when they hold
// several values (repeated headers or comma-separated lists). Values that
// are not positive integers, and unpaired ones, are ignored.
func limitPairs(h http.Header) []window {
	limits := headerValues(h, "X-RateLimit-Limit")
	intervals := headerValues(h, "X-RateLimit-Interval")
	var out []window
	for i := range min(len(limits), len(intervals)) {
		l, okL := positiveInt(limits[i])
		ms, okI := positiveInt(intervals[i])
		if !okL || !okI || l > maxCounted || ms > int64(30*24*time.Hour/time.Millisecond) {
			continue
		}
		out = append(out, window{limit: int(l), interval: time.Duration(ms) * time.Millisecond})
	}
	return out
}

// headerValues returns every value of a header, splitting comma-separated
// lists.
func headerValues(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for part := range strings.SplitSeq(v, ",") {
			out = append(out, strings.TrimSpace(part))
		}
	}
	return out
}

// positiveInt parses a header value that must be a positive integer.
func positiveInt(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}
