package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// maxBody bounds one answer; a page of 1000 file objects is a few MB.
const maxBody = 256 << 20

// Operation names, used in errors, logs, waits and as pacing keys: the API
// limits each endpoint on its own.
const (
	OpList         = "list files"
	OpDetails      = "file details"
	OpRemoveTags   = "remove tags"
	OpAddTags      = "add tags"
	OpRemoveAITags = "remove AI tags"
)

// request is one API call, before retries. Its body is kept as bytes so that
// every attempt sends it again from the start.
type request struct {
	op     string
	method string
	path   string // escaped, starting with "/v1/"
	query  url.Values
	body   []byte
}

// response is the answer that ended a call's retries.
type response struct {
	status    int
	header    http.Header
	body      []byte
	method    string
	url       string
	requestID string
	attempts  int
	waited    time.Duration
}

// do sends r, retrying connection errors, timeouts (including an answer cut
// off mid-body), 408, 409, 429 and 500/502/503/504 within the retry policy.
// A 3xx is an *Error of kind ErrRedirect: no redirect is followed. Any other
// answer is returned for the caller to decode. It is the only place that
// retries, paces and counts requests.
//
// ctx governs the request in flight; the stop context attached to ctx (see
// ContextWithStop) governs whether another request may start.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	h := newHalt(ctx)
	defer h.release()
	var ep *endpointPacer
	if c.pacer != nil {
		ep = c.pacer.get(r.op)
	}
	var (
		prev    *Error        // the failure of the attempt before
		waited  time.Duration // every wait between attempts
		exempt  time.Duration // rate-limit waits, which MaxElapsed does not count
		refused int           // attempts that found nothing listening
	)
	start := c.clock.Now()
	for attempt := 1; ; attempt++ {
		fail := &Error{Op: r.op, Method: r.method, URL: u, Attempts: attempt - 1, Waited: waited}
		if h.stop != nil && h.stop.Err() != nil || ctx.Err() != nil {
			return nil, c.ended(h, prev, fail)
		}
		var tk ticket
		if ep != nil {
			t0 := c.clock.Now()
			var err error
			tk, err = ep.wait(h.wait, c.retry.RateLimitWait, func(w Wait) func() { return c.reportWait(ctx, w, r.path) })
			exempt += c.clock.Now().Sub(t0)
			if err != nil {
				var tl *waitTooLong
				if errors.As(err, &tl) {
					fail.Kind, fail.Err = ErrRateLimited, err
					if prev != nil {
						fail.StatusCode, fail.Message, fail.RequestID = prev.StatusCode, prev.Message, prev.RequestID
					}
					return nil, fail
				}
				return nil, c.ended(h, prev, fail)
			}
			if h.stopped() != nil {
				tk.done(0, nil)
				return nil, c.ended(h, prev, fail)
			}
		}
		c.count(r.op, attempt)
		fail.Attempts = attempt
		t0 := time.Now()
		status, header, body, err := c.once(ctx, r, u)
		tk.done(status, header)
		fail.RequestID = requestID(header, c.redact)
		c.logAttempt(ctx, r, status, time.Since(t0), attempt, fail.RequestID, err)
		if err != nil && ctx.Err() != nil {
			fail.Kind, fail.Err = ErrTransport, ctx.Err()
			return nil, fail
		}
		var (
			wait     time.Duration
			rateWait bool // wait is the API's reset, not a backoff
			cause    string
		)
		switch {
		case err != nil:
			fail.Kind, fail.Err = ErrTransport, err
			cause = c.redact(err.Error())
			if errors.Is(err, ErrNotListening) {
				if refused++; refused >= c.retry.RefusedAttempts {
					return nil, fail
				}
			}
			wait = c.backoff(attempt)
		case status >= 300 && status < 400:
			fail.Kind, fail.StatusCode = ErrRedirect, status
			fail.Location = c.redact(header.Get("Location"))
			if fail.Location == "" {
				fail.Err = errors.New("the answer has no Location")
			}
			return nil, fail
		case status == http.StatusTooManyRequests:
			c.nRateLimited.Add(1)
			c.apiMessage(fail, body)
			fail.Kind, fail.StatusCode = ErrRateLimited, status
			cause = "HTTP 429"
			if reset, ok := resetHeader(header); ok {
				fail.Reset = reset
				wait, rateWait = reset, true
			} else {
				wait = c.backoff(attempt)
			}
			if ep != nil {
				ep.throttled(c.clock.Now(), wait, cause)
			}
			if rateWait && wait > c.retry.RateLimitWait {
				fail.Err = fmt.Errorf("%w (%s)", ErrWaitTooLong, c.retry.RateLimitWait)
				return nil, fail
			}
		case retryableStatus(status):
			c.apiMessage(fail, body)
			fail.Kind, fail.StatusCode = ErrServer, status
			cause = fmt.Sprintf("HTTP %d", status)
			wait = c.backoff(attempt)
		default:
			return &response{status: status, header: header, body: body, method: r.method, url: u,
				requestID: fail.RequestID, attempts: attempt, waited: waited}, nil
		}
		spent := c.clock.Now().Sub(start) - exempt
		if attempt >= c.retry.MaxAttempts || !rateWait && spent+wait > c.retry.MaxElapsed {
			return nil, fail
		}
		if h.stopped() != nil { // stopped while the request was in flight: no retry
			return nil, c.ended(h, fail, &Error{Op: r.op, Method: r.method, URL: u, Attempts: attempt, Waited: waited})
		}
		reason := WaitBackoff
		if rateWait {
			reason = WaitRateLimit
		}
		ended := c.reportWait(ctx, Wait{Op: r.op, Reason: reason, For: wait, Until: c.clock.Now().Add(wait),
			Cause: cause, Status: fail.StatusCode, Attempt: attempt, RequestID: fail.RequestID}, r.path)
		err = c.clock.Sleep(h.wait, wait)
		ended()
		if err != nil {
			return nil, c.ended(h, fail, &Error{Op: r.op, Method: r.method, URL: u, Attempts: attempt, Waited: waited})
		}
		waited += wait
		if rateWait {
			exempt += wait
		}
		prev = fail
	}
}

// ended returns the error of a call that ends before sending another
// request because its context or its stop context ended. prev is the
// failure of the attempt before, if any; e holds the call's identity.
//
// A stopped call is of kind ErrStopped and wraps the stop's cause. A call
// whose own context ended keeps the kind of its last failure (ErrTransport
// if none) and wraps the context's error.
func (c *Client) ended(h *halt, prev, e *Error) *Error {
	cause := h.stopped()
	stopped := cause != nil
	if !stopped {
		cause = h.ctx.Err()
	}
	if cause == nil { // a wait ended for no reason of the call's own
		cause = context.Canceled
	}
	if prev != nil {
		e.StatusCode, e.Message, e.Help, e.RequestID = prev.StatusCode, prev.Message, prev.Help, prev.RequestID
		e.Reset = prev.Reset
	}
	switch {
	case stopped:
		e.Kind = ErrStopped
		if prev != nil && prev.Err != nil {
			e.Err = fmt.Errorf("%w; then %w", prev.Err, cause)
		} else {
			e.Err = cause
		}
	case prev == nil:
		e.Kind, e.Err = ErrTransport, cause
	default:
		e.Kind = prev.Kind
		if prev.Err != nil {
			e.Err = fmt.Errorf("%w; stopped waiting to retry: %w", prev.Err, cause)
		} else {
			e.Err = fmt.Errorf("stopped waiting to retry: %w", cause)
		}
	}
	return e
}

// once sends one attempt and reads the whole answer. A cut-off body is an
// error like a failed connection.
func (c *Client) once(ctx context.Context, r request, u string) (int, http.Header, []byte, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(actx, r.method, u, body)
	if err != nil {
		return 0, nil, nil, err
	}
	if r.body != nil {
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(r.body)), nil }
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if c.key != "" {
		req.Header.Set("Authorization", "Basic "+basicAuth(c.key))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, c.transportError(actx, ctx, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return 0, nil, nil, c.transportError(actx, ctx, fmt.Errorf("answer (HTTP %d) cut off after %d bytes: %w", resp.StatusCode, len(b), err))
	}
	if len(b) > maxBody {
		return 0, nil, nil, fmt.Errorf("answer (HTTP %d) larger than %d bytes", resp.StatusCode, maxBody)
	}
	return resp.StatusCode, resp.Header, b, nil
}

// transportError strips the URL and the address that net/http and net
// repeat (the *Error names the URL once), says when nothing listens at the
// address, and says when the per-request timeout, not the caller, ended the
// request.
func (c *Client) transportError(actx, ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no complete answer within the %s request timeout: %w", c.timeout, err)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return &notListening{err}
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return &opError{oe}
	}
	return err
}

// notListening is a refused connection: nothing listens at the address.
type notListening struct{ err error }

func (e *notListening) Error() string {
	return "nothing is listening at that address (connection refused)"
}
func (e *notListening) Unwrap() []error { return []error{ErrNotListening, e.err} }

// opError is a net.OpError told without the address it repeats.
type opError struct{ oe *net.OpError }

func (e *opError) Error() string { return e.oe.Op + ": " + e.oe.Err.Error() }
func (e *opError) Unwrap() error { return e.oe }

func (c *Client) count(op string, attempt int) {
	switch op {
	case OpList:
		c.nList.Add(1)
	case OpDetails:
		c.nDetails.Add(1)
	case OpRemoveTags:
		c.nRemoveTags.Add(1)
	case OpAddTags:
		c.nAddTags.Add(1)
	case OpRemoveAITags:
		c.nRemoveAITags.Add(1)
	}
	if attempt > 1 {
		c.nRetries.Add(1)
	}
}

func (c *Client) logAttempt(ctx context.Context, r request, status int, d time.Duration, attempt int, reqID string, err error) {
	if !c.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("op", r.op),
		slog.String("method", r.method),
		slog.String("path", r.path),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.Int("attempt", attempt),
	}
	if reqID != "" {
		attrs = append(attrs, slog.String("requestId", reqID))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", c.redact(err.Error())))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "api request", attrs...)
}

// backoff returns the wait before attempt+1: an exponential ceiling from
// BaseDelay, capped by MaxDelay, of which at least half is waited and the
// rest drawn at random, so that clients spread out yet never retry at once.
func (c *Client) backoff(attempt int) time.Duration {
	ceil := float64(c.retry.BaseDelay) * math.Pow(2, float64(attempt-1))
	ceil = math.Min(ceil, float64(c.retry.MaxDelay))
	return time.Duration(ceil/2 + rand.Float64()*ceil/2)
}

// retryableStatus reports the statuses retried with backoff: timeouts,
// conflicts and temporary server errors, as the official SDKs do (429 has
// its own wait).
func retryableStatus(s int) bool {
	switch s {
	case http.StatusRequestTimeout, http.StatusConflict,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// resetHeader reads X-RateLimit-Reset, in milliseconds. A missing, negative,
// zero or garbage value is not usable, and neither is one beyond a day.
func resetHeader(h http.Header) (time.Duration, bool) {
	ms, err := strconv.ParseFloat(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 64)
	if err != nil || math.IsNaN(ms) || ms <= 0 || ms > float64(24*time.Hour/time.Millisecond) {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// maxRequestID bounds the request id kept from an answer.
const maxRequestID = 128

// requestID returns the answer's x-ik-requestId, redacted, keeping only
// characters that cannot disturb a terminal or a log line.
func requestID(h http.Header, redact func(string) string) string {
	id := redact(strings.TrimSpace(h.Get("X-Ik-Requestid")))
	id = strings.Map(func(r rune) rune {
		if r > ' ' && r < 0x7f {
			return r
		}
		return -1
	}, id)
	if len(id) > maxRequestID {
		id = id[:maxRequestID]
	}
	return id
}

// apiError is the JSON body of an API error.
type apiError struct {
	Message        string   `json:"message"`
	Help           string   `json:"help"`
	MissingFileIDs []string `json:"missingFileIds"`
}

// apiMessage copies the API's message and help from an error body into e.
// A body that is not the documented JSON is quoted, redacted and then
// shortened, so that a cut can never leave part of the key.
func (c *Client) apiMessage(e *Error, body []byte) {
	var ae apiError
	if err := json.Unmarshal(body, &ae); err == nil {
		e.Message = c.redact(ae.Message)
		e.Help = c.redact(ae.Help)
		e.MissingFileIDs = ae.MissingFileIDs
		return
	}
	if s := strings.TrimSpace(c.redact(string(body))); s != "" {
		e.Message = snippet(s)
	}
}

// statusError turns an answer that the operation does not expect into an
// *Error of the matching kind.
func (c *Client) statusError(op string, resp *response) *Error {
	e := &Error{Op: op, Method: resp.method, URL: resp.url, StatusCode: resp.status,
		Attempts: resp.attempts, Waited: resp.waited, RequestID: resp.requestID}
	c.apiMessage(e, resp.body)
	switch s := resp.status; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		e.Kind = ErrAuth
	case s == http.StatusNotFound:
		e.Kind = ErrNotFound
	case s == http.StatusTooManyRequests:
		e.Kind = ErrRateLimited
	case s >= 500:
		e.Kind = ErrServer
	case s >= 400:
		e.Kind = ErrBadRequest
	default:
		e.Kind = ErrDecode
		e.Err = fmt.Errorf("unexpected HTTP status %d", s)
	}
	return e
}

// decodeError reports a body that is not the JSON the operation expects.
func (c *Client) decodeError(op string, resp *response, err error) *Error {
	return &Error{
		Op: op, Method: resp.method, URL: resp.url, StatusCode: resp.status,
		Attempts: resp.attempts, Waited: resp.waited, RequestID: resp.requestID, Kind: ErrDecode,
		Err: fmt.Errorf("%s: %w", c.redact(err.Error()), errBadJSON),
	}
}

var errBadJSON = errors.New("not the documented JSON")

// redact removes the private key, in every form it is sent, from s. Only
// the whole key is redacted: New refuses keys short enough to be mistaken
// for ordinary text.
func (c *Client) redact(s string) string {
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, secret, "[REDACTED]")
	}
	return s
}

// snippet shortens s to about 200 bytes, on a character boundary.
func snippet(s string) string {
	const n = 200
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func basicAuth(key string) string {
	return base64.StdEncoding.EncodeToString([]byte(key + ":"))
}
