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
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds one answer; a page of 1000 file objects is a few MB.
const maxBody = 256 << 20

// Operation names, used in errors, logs and as pacing keys.
const (
	OpList       = "list files"
	OpDetails    = "file details"
	OpRemoveTags = "remove tags"
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
	status   int
	header   http.Header
	body     []byte
	method   string
	url      string
	attempts int
	waited   time.Duration
}

// do sends r, retrying connection errors, timeouts (including an answer cut
// off mid-body), 429 and 500/502/503/504 within the retry policy. Any other
// answer is returned for the caller to decode. It is the only place that
// retries, paces and counts requests.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var ep *endpointPacer
	if c.pacer != nil {
		ep = c.pacer.get(r.op)
	}
	start := c.clock.Now()
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		fail := &Error{Op: r.op, Method: r.method, URL: u, Attempts: attempt - 1, Waited: waited}
		if ep != nil {
			if err := ep.wait(ctx); err != nil {
				fail.Kind, fail.Err = ErrTransport, err
				return nil, fail
			}
		}
		c.count(r.op, attempt)
		fail.Attempts = attempt
		t0 := time.Now()
		status, header, body, err := c.once(ctx, r, u)
		c.logAttempt(ctx, r, status, time.Since(t0), attempt, err)
		if err != nil && ctx.Err() != nil {
			fail.Kind, fail.Err = ErrTransport, ctx.Err()
			return nil, fail
		}
		var wait time.Duration
		switch {
		case err != nil:
			fail.Kind, fail.Err = ErrTransport, err
			wait = c.backoff(attempt)
		case status == http.StatusTooManyRequests:
			c.nRateLimited.Add(1)
			c.apiMessage(fail, body)
			fail.Kind, fail.StatusCode = ErrRateLimited, status
			if reset, ok := resetHeader(header); ok {
				fail.Reset = reset
				wait = min(reset, c.retry.MaxDelay)
			} else {
				wait = c.backoff(attempt)
			}
			if ep != nil {
				ep.observe(status, header)
				ep.throttled(wait)
			}
		case retryableStatus(status):
			if ep != nil {
				ep.observe(status, header)
			}
			c.apiMessage(fail, body)
			fail.Kind, fail.StatusCode = ErrServer, status
			wait = c.backoff(attempt)
		default:
			if ep != nil {
				ep.observe(status, header)
			}
			return &response{status: status, header: header, body: body, method: r.method, url: u, attempts: attempt, waited: waited}, nil
		}
		if attempt >= c.retry.MaxAttempts || c.clock.Now().Sub(start)+wait > c.retry.MaxElapsed {
			return nil, fail
		}
		c.logWait(ctx, fail, wait)
		if err := c.clock.Sleep(ctx, wait); err != nil {
			if fail.Err != nil {
				fail.Err = fmt.Errorf("%w; stopped waiting to retry: %w", fail.Err, err)
			} else {
				fail.Err = fmt.Errorf("stopped waiting to retry: %w", err)
			}
			return nil, fail
		}
		waited += wait
	}
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

// transportError strips the URL that net/http repeats (the *Error names it
// once) and says when the per-request timeout, not the caller, ended it.
func (c *Client) transportError(actx, ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no complete answer within the %s request timeout: %w", c.timeout, err)
	}
	return err
}

func (c *Client) count(op string, attempt int) {
	switch op {
	case OpList:
		c.nList.Add(1)
	case OpDetails:
		c.nDetails.Add(1)
	case OpRemoveTags:
		c.nRemoveTags.Add(1)
	}
	if attempt > 1 {
		c.nRetries.Add(1)
	}
}

func (c *Client) logAttempt(ctx context.Context, r request, status int, d time.Duration, attempt int, err error) {
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
	if err != nil {
		attrs = append(attrs, slog.String("error", c.redact(err.Error())))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "api request", attrs...)
}

// longWait is the retry wait from which the user is told, at warn level,
// what tagprune is waiting for: a silent pause of several seconds looks like
// a hang.
const longWait = 2 * time.Second

// logWait logs a retry wait of longWait or more: which call, why, and how long.
func (c *Client) logWait(ctx context.Context, fail *Error, wait time.Duration) {
	if wait < longWait {
		return
	}
	reason := "api unreachable"
	switch {
	case fail.Kind == ErrRateLimited:
		reason = "rate limited (HTTP 429)"
	case fail.StatusCode != 0:
		reason = fmt.Sprintf("server error (HTTP %d)", fail.StatusCode)
	case fail.Err != nil:
		reason = c.redact(fail.Err.Error())
	}
	c.log.LogAttrs(ctx, slog.LevelWarn, "waiting before retrying "+fail.Op,
		slog.String("reason", reason),
		slog.Duration("wait", wait.Round(time.Millisecond)),
		slog.Int("attempt", fail.Attempts),
		slog.Int("maxAttempts", c.retry.MaxAttempts),
		slog.String("url", fail.URL),
	)
}

// backoff returns the wait before attempt+1: full jitter over an exponential
// ceiling, capped by MaxDelay.
func (c *Client) backoff(attempt int) time.Duration {
	ceil := float64(c.retry.BaseDelay) * math.Pow(2, float64(attempt-1))
	ceil = math.Min(ceil, float64(c.retry.MaxDelay))
	return time.Duration(rand.Float64() * ceil)
}

func retryableStatus(s int) bool {
	switch s {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// resetHeader reads X-RateLimit-Reset, in milliseconds. A missing, negative,
// zero or garbage value is not usable.
func resetHeader(h http.Header) (time.Duration, bool) {
	ms, err := strconv.ParseFloat(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 64)
	if err != nil || math.IsNaN(ms) || ms <= 0 || ms > float64(24*time.Hour/time.Millisecond) {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// apiError is the JSON body of an API error.
type apiError struct {
	Message        string   `json:"message"`
	Help           string   `json:"help"`
	MissingFileIDs []string `json:"missingFileIds"`
}

// apiMessage copies the API's message and help from an error body into e.
// A body that is not the documented JSON is quoted, shortened.
func (c *Client) apiMessage(e *Error, body []byte) {
	var ae apiError
	if err := json.Unmarshal(body, &ae); err == nil {
		e.Message = c.redact(ae.Message)
		e.Help = c.redact(ae.Help)
		e.MissingFileIDs = ae.MissingFileIDs
		return
	}
	if s := strings.TrimSpace(string(body)); s != "" {
		e.Message = c.redact(snippet(s))
	}
}

// statusError turns an answer that the operation does not expect into an
// *Error of the matching kind.
func (c *Client) statusError(op string, resp *response) *Error {
	e := &Error{Op: op, Method: resp.method, URL: resp.url, StatusCode: resp.status, Attempts: resp.attempts, Waited: resp.waited}
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
		Attempts: resp.attempts, Waited: resp.waited, Kind: ErrDecode,
		Err: fmt.Errorf("%s: %w", c.redact(err.Error()), errBadJSON),
	}
}

var errBadJSON = errors.New("not the documented JSON")

// redact removes the private key, in every form it is sent, from s.
func (c *Client) redact(s string) string {
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, secret, "[REDACTED]")
	}
	return s
}

func snippet(s string) string {
	const n = 200
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func basicAuth(key string) string {
	return base64.StdEncoding.EncodeToString([]byte(key + ":"))
}
