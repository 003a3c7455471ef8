package api

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// MinReportedWait is the shortest wait the client reports, to the wait hook
// and to the logger at warn level: pacing spaces requests by fractions of a
// second all the time, while a pause of seconds looks like a hang unless it
// is explained.
const MinReportedWait = 2 * time.Second

// WaitReason says why the client waits before sending a request.
type WaitReason string

// Reasons of a Wait.
const (
	// WaitRateLimit is a 429 answer's X-RateLimit-Reset.
	WaitRateLimit WaitReason = "rate limit"
	// WaitPacing is the endpoint's pacing: it is paused after a 429, a
	// rate-limit window learned from the headers is used up, or requests
	// are spaced this far apart.
	WaitPacing WaitReason = "pacing"
	// WaitBackoff is the pause before retrying after a failed attempt.
	WaitBackoff WaitReason = "retry"
)

// Wait describes a pause during which the client sends nothing for a call
// (or, for WaitPacing, for every call to one endpoint). The hook set with
// WithWaitHook receives one Wait when the pause starts and the same Wait
// with Done set when it ends, elapsed or abandoned.
type Wait struct {
	Op        string        // the operation that waits: OpList, OpRemoveTags, ...
	Reason    WaitReason    // why
	For       time.Duration // how long, from when it started
	Until     time.Time     // when it ends, on the client's Clock
	Cause     string        // what it waits out, in words: "HTTP 429", "1000 requests per 15m0s", "connection reset by peer"
	Status    int           // the HTTP status behind it (429, 503, ...), 0 if none
	Attempt   int           // requests the call has sent so far (0 for pacing)
	RequestID string        // x-ik-requestId of the answer behind it, if any
	Done      bool          // the pause is over
}

// String says what the client waits for, such as "waiting 4m12s for the
// rate limit of remove tags (HTTP 429, request id abc)".
func (w Wait) String() string {
	d := w.For.Round(time.Second)
	if w.For < time.Minute {
		d = w.For.Round(100 * time.Millisecond)
	}
	var what string
	switch w.Reason {
	case WaitRateLimit, WaitPacing:
		what = fmt.Sprintf("waiting %s for the rate limit of %s", d, w.Op)
	default:
		what = fmt.Sprintf("waiting %s before retrying %s", d, w.Op)
	}
	var about []string
	if w.Cause != "" {
		about = append(about, w.Cause)
	}
	if w.Attempt > 0 && w.Reason == WaitBackoff {
		about = append(about, fmt.Sprintf("attempt %d", w.Attempt))
	}
	if w.RequestID != "" {
		about = append(about, "request id "+w.RequestID)
	}
	if len(about) > 0 {
		what += " (" + strings.Join(about, ", ") + ")"
	}
	return what
}

// WithWaitHook sets a function that the client calls when it starts and
// ends a wait of MinReportedWait or more (see Wait), so that a program can
// show a countdown. The hook is called from the waiting goroutine and must
// return quickly. With a hook set, such waits are logged at debug level
// instead of warn, so that they are not shown twice.
func WithWaitHook(f func(Wait)) Option { return func(c *Client) { c.waitHook = f } }

// reportWait tells the hook and the logger that w, for a request to path,
// starts, and returns the function that reports its end. Waits shorter than
// MinReportedWait are not reported.
func (c *Client) reportWait(ctx context.Context, w Wait, path string) (ended func()) {
	if w.For < MinReportedWait {
		return func() {}
	}
	w.Cause = c.redact(w.Cause)
	w.RequestID = c.redact(w.RequestID)
	level := slog.LevelWarn
	if c.waitHook != nil {
		level = slog.LevelDebug
		c.waitHook(w)
	}
	attrs := []slog.Attr{
		slog.String("op", w.Op),
		slog.String("reason", string(w.Reason)),
		slog.Duration("wait", w.For.Round(time.Millisecond)),
		slog.String("path", path),
	}
	if w.Cause != "" {
		attrs = append(attrs, slog.String("cause", w.Cause))
	}
	if w.Attempt > 0 {
		attrs = append(attrs, slog.Int("attempt", w.Attempt), slog.Int("maxAttempts", c.retry.MaxAttempts))
	}
	if w.RequestID != "" {
		attrs = append(attrs, slog.String("requestId", w.RequestID))
	}
	c.log.LogAttrs(ctx, level, w.String(), attrs...)
	return func() {
		if c.waitHook != nil {
			w.Done = true
			c.waitHook(w)
		}
	}
}
