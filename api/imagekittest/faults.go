package imagekittest

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// This file holds what makes the emulator behave like a busy or faulty
// server: rate limits, injected faults, and answers cut short.

// UnlimitedRateLimit is the X-RateLimit-Limit a Handler without a rate
// limit announces, so that clients that pace themselves by it never wait.
const UnlimitedRateLimit = 10000

// limiter keeps one token bucket per endpoint and window.
type limiter struct {
	mu      sync.Mutex
	windows []window
	buckets map[string][]bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(cfg *config) *limiter {
	var ws []window
	if cfg.rateLimit > 0 {
		ws = append(ws, window{n: cfg.rateLimit, every: time.Second})
	}
	ws = append(ws, cfg.windows...)
	return &limiter{windows: ws, buckets: map[string][]bucket{}}
}

// limited reports whether endpoint is rate limited: every API endpoint
// is, except upload, as on the API.
func limited(endpoint string) bool { return endpoint != "" && endpoint != "upload" }

// headers sets the rate-limit headers for a request to endpoint and, when
// take is true, takes a token from each window; it reports whether the
// request may proceed. The headers describe one window: the one that
// refused the request, or else the one closest to its limit.
func (l *limiter) headers(hdr http.Header, endpoint string, take bool) bool {
	if len(l.windows) == 0 || !limited(endpoint) {
		limit := UnlimitedRateLimit
		if len(l.windows) > 0 {
			limit = l.windows[0].n
		}
		setRateHeaders(hdr, limit, 0, time.Second)
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	bs := l.buckets[endpoint]
	if bs == nil {
		bs = make([]bucket, len(l.windows))
		for i, w := range l.windows {
			bs[i] = bucket{tokens: float64(w.n), last: now}
		}
		l.buckets[endpoint] = bs
	}
	ok := true
	for i, w := range l.windows {
		b := &bs[i]
		b.tokens = math.Min(float64(w.n), b.tokens+now.Sub(b.last).Seconds()*w.rate())
		b.last = now
		ok = ok && b.tokens >= 1
	}
	if ok && take {
		for i := range bs {
			bs[i].tokens--
		}
	}
	pick, reset := 0, int64(0)
	for i, w := range l.windows {
		r := int64(0)
		if bs[i].tokens < 1 {
			r = int64(math.Ceil((1 - bs[i].tokens) / w.rate() * 1000))
		}
		switch {
		case r > reset:
			pick, reset = i, r
		case reset == 0 && bs[i].tokens/float64(w.n) < bs[pick].tokens/float64(l.windows[pick].n):
			pick = i
		}
	}
	setRateHeaders(hdr, l.windows[pick].n, reset, l.windows[pick].every)
	return ok || !take
}

// rate is the window's refill in tokens per second.
func (w window) rate() float64 { return float64(w.n) / w.every.Seconds() }

func setRateHeaders(hdr http.Header, limit int, reset int64, interval time.Duration) {
	hdr.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	hdr.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
	hdr.Set("X-RateLimit-Interval", strconv.FormatInt(interval.Milliseconds(), 10))
}

// faults is what the fault injection decided for one request.
type faults struct {
	fail, drop, hang, spike bool
	status                  int // an injected error status, or 0
}

// chance draws whether an event of probability p happens; it draws
// nothing when p is 0, so that unused faults leave the sequence alone.
// The caller holds h.rngMu.
func (h *Handler) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	return h.rng.Float64() < p
}

func (h *Handler) drawFaults() faults {
	h.rngMu.Lock()
	defer h.rngMu.Unlock()
	f := faults{
		hang:  h.chance(h.cfg.hangRate),
		fail:  h.chance(h.cfg.failRate),
		drop:  h.chance(h.cfg.dropRate),
		spike: h.chance(h.cfg.spikeRate),
	}
	for _, sr := range h.cfg.statusRates {
		if h.chance(sr.p) && f.status == 0 {
			f.status = sr.status
		}
	}
	return f
}

// faultMessages are the messages of injected error answers.
var faultMessages = map[int]string{
	http.StatusRequestTimeout:      "Request timeout: the request took too long and changed nothing; try again.",
	http.StatusConflict:            "Conflict: another request is changing the same resource; this one changed nothing; try again.",
	http.StatusInternalServerError: "Internal server error: the request failed and changed nothing; try again.",
	http.StatusBadGateway:          "Bad gateway: the request failed and changed nothing; try again.",
	http.StatusServiceUnavailable:  "Service unavailable: the request changed nothing; try again later.",
	http.StatusGatewayTimeout:      "Gateway timeout: the request changed nothing; try again.",
}

func faultMessage(status int) string {
	if msg, ok := faultMessages[status]; ok {
		return msg
	}
	return fmt.Sprintf("Injected fault: status %d; the request changed nothing.", status)
}

// failingFiles decides which files of a tag call fail: the WithFailFiles
// ids, and with the partial rate a random non-empty subset.
func (h *Handler) failingFiles(ids []string) map[string]bool {
	failing := make(map[string]bool)
	for _, id := range ids {
		if h.cfg.failFiles[id] {
			failing[id] = true
		}
	}
	if h.cfg.partialRate <= 0 {
		return failing
	}
	h.rngMu.Lock()
	defer h.rngMu.Unlock()
	if !h.chance(h.cfg.partialRate) {
		return failing
	}
	var uniq []string
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	picked := false
	for _, id := range uniq {
		if h.rng.IntN(2) == 0 {
			failing[id], picked = true, true
		}
	}
	if !picked {
		failing[uniq[h.rng.IntN(len(uniq))]] = true
	}
	return failing
}

// recorder holds an answer until it is sent whole, or dropped halfway.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// recorders are reused: a page of a listing is a megabyte.
var recorders = sync.Pool{New: func() any { return &recorder{header: http.Header{}} }}

func newRecorder() *recorder { return recorders.Get().(*recorder) }

// free returns rec to the pool once its answer is sent.
func (rec *recorder) free() {
	if rec.body.Cap() > 4<<20 {
		return
	}
	clear(rec.header)
	rec.status = 0
	rec.body.Reset()
	recorders.Put(rec)
}

func (rec *recorder) Header() http.Header { return rec.header }

func (rec *recorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
}

func (rec *recorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.body.Write(p)
}

func (rec *recorder) copyTo(w http.ResponseWriter) {
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// dropResponse sends the status, the headers and half of the body, then
// closes the connection, so the client sees a truncated answer.
func dropResponse(w http.ResponseWriter, rec *recorder) {
	body := rec.body.Bytes()
	part := body[:len(body)/2]
	if hj, ok := w.(http.Hijacker); ok {
		conn, buf, err := hj.Hijack()
		if err == nil {
			defer conn.Close()
			fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", rec.status, http.StatusText(rec.status))
			rec.header.Set("Content-Length", strconv.Itoa(len(body)))
			rec.header.Set("Connection", "close")
			_ = rec.header.Write(buf)
			_, _ = buf.WriteString("\r\n")
			_, _ = buf.Write(part)
			_ = buf.Flush()
			return
		}
	}
	// Without a connection to close, promise the whole body and send half:
	// the server then closes the connection after the handler returns.
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.status)
	_, _ = w.Write(part)
}
