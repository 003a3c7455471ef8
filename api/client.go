// Package api is tagprune's HTTP client for the ImageKit API (list, details, bulk tag calls)
// with auth, pacing, retries and typed errors; it decides nothing about which tags to change.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultBaseURL is the ImageKit API's base URL.
const DefaultBaseURL = "https://api.imagekit.io"

// MaxBulkFiles is the most fileIds one addTags, removeTags or removeAITags
// call may carry.
const MaxBulkFiles = 50

// MaxRemoveTagsFiles is the most fileIds one removeTags call may carry: the
// same bound as MaxBulkFiles.
const MaxRemoveTagsFiles = MaxBulkFiles

// MinKeyLength is the length below which New refuses a private key: a key
// that short would be redacted from every message wherever its characters
// happen to appear, and cannot be an ImageKit private key.
const MinKeyLength = 8

// MaxPageSize is the largest page GET /v1/files returns.
const MaxPageSize = 1000

// Defaults of a Client's options.
const (
	DefaultUserAgent       = "tagprune/dev"
	DefaultTimeout         = 30 * time.Second
	DefaultRate            = 10.0 // requests per second per endpoint, until the API says otherwise
	DefaultBurst           = 2
	DefaultMaxAttempts     = 8
	DefaultBaseDelay       = 250 * time.Millisecond
	DefaultMaxDelay        = 30 * time.Second
	DefaultMaxElapsed      = 5 * time.Minute
	DefaultRateLimitWait   = 15 * time.Minute
	DefaultRefusedAttempts = 3
)

// RetryPolicy bounds retries. Zero fields take the documented defaults.
//
// A call is retried on connection errors, timeouts, 408, 409, 429 and
// 500/502/503/504. Backoff waits grow exponentially from BaseDelay, each
// capped by MaxDelay and drawn at random between half the ceiling and all
// of it, and the call gives up after
// MaxAttempts requests or once attempts and backoff waits would pass
// MaxElapsed. A 429 is waited out for its full X-RateLimit-Reset instead,
// however long, up to RateLimitWait; a longer reset fails the call at once.
// Rate-limit waits, including the pacer's, do not count towards MaxElapsed.
// When nothing listens at the API's address (connection refused) the call
// gives up after RefusedAttempts such answers: the API is not there.
type RetryPolicy struct {
	MaxAttempts     int           // attempts per call, first included; default 8
	BaseDelay       time.Duration // first backoff; default 250ms
	MaxDelay        time.Duration // cap on any single backoff wait; default 30s
	MaxElapsed      time.Duration // cap on one call's attempts and backoff waits; default 5m
	RateLimitWait   time.Duration // cap on one wait for a rate limit; default 15m
	RefusedAttempts int           // attempts refused by the address; default 3
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = DefaultMaxElapsed
	}
	if p.RateLimitWait <= 0 {
		p.RateLimitWait = DefaultRateLimitWait
	}
	if p.RefusedAttempts <= 0 {
		p.RefusedAttempts = DefaultRefusedAttempts
	}
	return p
}

// Clock is the time source of retry waits and pauses. The default reads the
// system clock and waits on a timer; tests swap it to assert waits without
// sleeping.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx ends, whichever comes first, and then
	// returns ctx.Err() if ctx ended.
	Sleep(ctx context.Context, d time.Duration) error
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Option configures a Client.
type Option func(*Client)

// Client talks to the ImageKit API. It is safe for concurrent use.
type Client struct {
	rawBase string
	base    string // scheme://host[/path] without a trailing slash
	key     string
	hc      *http.Client
	handler http.Handler
	ua      string
	timeout time.Duration
	retry   RetryPolicy
	rps     float64
	burst   int
	pacer   *pacer
	log     *slog.Logger
	clock   Clock

	listPrefetch int // page requests List keeps in flight; 0 means DefaultListPrefetch
	maxList      int // objects one listing may return; 0 means DefaultMaxListFiles
	waitHook     func(Wait)

	secrets []string // strings that must never leave the client: the key and the forms it is sent in

	nList, nDetails, nRemoveTags, nAddTags, nRemoveAITags, nRetries, nRateLimited atomic.Int64
}

// New returns a Client. It fails when the base URL is not valid, or is a
// plain http:// URL whose host is not loopback, and when the private key is
// shorter than MinKeyLength. A base URL ending in /v1 names the same API as
// without it: the suffix is dropped.
//
// Without options it talks to DefaultBaseURL, sends no credentials, paces
// each endpoint at DefaultRate requests per second until the API's
// X-RateLimit-* headers say otherwise, and retries as the zero RetryPolicy
// documents. It never follows a redirect.
func New(opts ...Option) (*Client, error) {
	c := &Client{
		rawBase: DefaultBaseURL,
		ua:      DefaultUserAgent,
		timeout: DefaultTimeout,
		rps:     DefaultRate,
		burst:   DefaultBurst,
		clock:   systemClock{},
	}
	for _, o := range opts {
		o(c)
	}
	if c.key != "" && len(c.key) < MinKeyLength {
		n := "characters"
		if len(c.key) == 1 {
			n = "character"
		}
		return nil, fmt.Errorf("private key refused: %d %s is too short for an ImageKit private key (at least %d)", len(c.key), n, MinKeyLength)
	}
	if c.key != "" {
		c.secrets = secretForms(c.key)
	}
	base, err := checkBaseURL(c.rawBase, c.handler != nil)
	if err != nil {
		if msg := c.redact(err.Error()); msg != err.Error() {
			return nil, errors.New(msg)
		}
		return nil, err
	}
	c.base = base
	c.retry = c.retry.withDefaults()
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = systemClock{}
	}
	switch {
	case c.handler != nil:
		c.hc = &http.Client{Transport: handlerTransport{c.handler}}
	case c.hc == nil:
		c.hc = defaultHTTPClient()
	default:
		hc := *c.hc // the caller's client is left as it is
		c.hc = &hc
	}
	c.hc.CheckRedirect = refuseRedirect
	if c.rps > 0 {
		c.pacer = newPacer(c.rps, c.burst, c.clock)
	}
	return c, nil
}

// refuseRedirect makes the HTTP client return a 3xx answer as it is: a
// redirect would carry the key to another URL.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// secretForms returns the forms in which key could come back from a server:
// as it is, as sent in the Authorization header, and URL-escaped.
func secretForms(key string) []string {
	forms := []string{key, basicAuth(key)}
	for _, f := range []string{url.QueryEscape(key), url.PathEscape(key)} {
		if !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	return forms
}

func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 0 // the per-request timeout bounds the whole exchange
	return &http.Client{Transport: t}
}

// checkBaseURL validates raw and returns it without a trailing slash and
// without a final /v1 path segment.
// inProcess relaxes the loopback rule: nothing leaves the process.
func checkBaseURL(raw string, inProcess bool) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL; the base URL never carries credentials we
		// accept, but a mistyped one might, so only the cause is kept.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("invalid API base URL: %w; give an absolute https:// URL such as %s", err, DefaultBaseURL)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("invalid API base URL %q: it must be an absolute http(s) URL such as %s", shown(u), DefaultBaseURL)
	}
	if u.User != nil {
		return "", fmt.Errorf("invalid API base URL %q: it must not carry credentials: the private key is given apart from the URL", shown(u))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("invalid API base URL %q: it must not have a query or fragment", shown(u))
	}
	if u.Scheme == "http" && !inProcess && !isLoopback(u.Hostname()) {
		return "", fmt.Errorf("refusing plain http API base URL %q: the private key would cross the network unencrypted; use https://, or http:// only on a loopback host (localhost, 127.0.0.1, ::1)", shown(u))
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	path = strings.TrimSuffix(path, "/v1") // every request path starts with /v1/
	return strings.TrimRight(u.Scheme+"://"+u.Host+path, "/"), nil
}

// shown returns u for messages: without its user info, which may hold a key.
func shown(u *url.URL) string {
	v := *u
	v.User = nil
	return v.String()
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// WithBaseURL sets the API's base URL (default DefaultBaseURL).
func WithBaseURL(u string) Option { return func(c *Client) { c.rawBase = u } }

// WithPrivateKey sets the private API key, sent as the Basic auth user name.
func WithPrivateKey(key string) Option { return func(c *Client) { c.key = key } }

// WithHTTPClient sets the HTTP client (default: a client with sane timeouts).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithHandler sends every request to h in process, without a socket: the
// offline mode runs the real client code over an emulator's handler. The base
// URL then only names the host the handler sees, and may be plain http.
func WithHandler(h http.Handler) Option { return func(c *Client) { c.handler = h } }

// WithUserAgent sets the User-Agent (default "tagprune/dev").
func WithUserAgent(ua string) Option { return func(c *Client) { c.ua = ua } }

// WithTimeout bounds each HTTP request (default 30s).
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithRetry sets the retry policy; its zero fields take their defaults.
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithRate sets the pacing of each endpoint in requests per second and its
// burst (default DefaultRate and DefaultBurst), used until the API's
// X-RateLimit-* headers state a window of a minute or less. Whatever the
// rate, the first request to an endpoint goes out alone and the others wait
// for its answer, so that no burst exceeds a limit not yet learned.
// rps <= 0 disables pacing, learning and that first wait.
func WithRate(rps float64, burst int) Option {
	return func(c *Client) { c.rps, c.burst = rps, burst }
}

// WithLogger sets the logger; each request is logged at debug level
// (method, path, status, duration, attempt, request id), never with
// credentials, and waits of MinReportedWait or more at warn level (debug
// when a WithWaitHook is set).
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithClock sets the clock used for retry waits and rate-limit pauses
// (default: the system clock).
func WithClock(clk Clock) Option { return func(c *Client) { c.clock = clk } }

// Stats returns the counts of requests sent so far.
func (c *Client) Stats() Stats {
	return Stats{
		List:         c.nList.Load(),
		Details:      c.nDetails.Load(),
		RemoveTags:   c.nRemoveTags.Load(),
		AddTags:      c.nAddTags.Load(),
		RemoveAITags: c.nRemoveAITags.Load(),
		Retries:      c.nRetries.Load(),
		RateLimited:  c.nRateLimited.Load(),
	}
}

// Pacing returns the current even pacing of the endpoint an operation uses
// (OpList, OpDetails, OpRemoveTags, ...): requests per second and burst.
// Windows longer than a minute are counted, not paced evenly, and do not
// show here. It returns 0, 0 when pacing is disabled.
func (c *Client) Pacing(op string) (rps float64, burst int) {
	if c.pacer == nil {
		return 0, 0
	}
	return c.pacer.get(op).current()
}

// BaseURL returns the base URL requests go to, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }
