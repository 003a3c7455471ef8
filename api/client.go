// Package api is tagprune's HTTP client for the ImageKit API: listing and
// searching files, file details and bulk tag removal, with auth, retries,
// pacing and typed errors. It decides nothing about which tags to remove.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultBaseURL is the ImageKit API's base URL.
const DefaultBaseURL = "https://api.imagekit.io"

// MaxRemoveTagsFiles is the most fileIds one removeTags call may carry.
const MaxRemoveTagsFiles = 50

// MaxPageSize is the largest page GET /v1/files returns.
const MaxPageSize = 1000

// Defaults of a Client's options.
const (
	DefaultUserAgent   = "tagprune/dev"
	DefaultTimeout     = 30 * time.Second
	DefaultRate        = 10.0 // requests per second per endpoint, until the API says otherwise
	DefaultBurst       = 2
	DefaultMaxAttempts = 8
	DefaultBaseDelay   = 250 * time.Millisecond
	DefaultMaxDelay    = 30 * time.Second
	DefaultMaxElapsed  = 5 * time.Minute
)

// RetryPolicy bounds retries. Zero fields take the documented defaults.
type RetryPolicy struct {
	MaxAttempts int           // attempts per call, first included; default 8
	BaseDelay   time.Duration // first backoff; default 250ms
	MaxDelay    time.Duration // cap on any single wait; default 30s
	MaxElapsed  time.Duration // cap on one call's total time; default 5m
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

	secrets []string // strings that must never leave the client: the key and its auth forms

	nList, nDetails, nRemoveTags, nRetries, nRateLimited atomic.Int64
}

// New returns a Client. It fails when the base URL is not valid, or is a
// plain http:// URL whose host is not loopback.
//
// Without options it talks to DefaultBaseURL, sends no credentials, paces
// each endpoint at DefaultRate requests per second and retries as the zero
// RetryPolicy documents.
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
	base, err := checkBaseURL(c.rawBase, c.handler != nil)
	if err != nil {
		if c.key != "" && strings.Contains(err.Error(), c.key) {
			return nil, errors.New(strings.ReplaceAll(err.Error(), c.key, "[REDACTED]"))
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
	}
	if c.rps > 0 {
		c.pacer = newPacer(c.rps, c.burst, c.clock)
	}
	if c.key != "" {
		c.secrets = []string{c.key, basicAuth(c.key)}
	}
	return c, nil
}

func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 0 // the per-request timeout bounds the whole exchange
	return &http.Client{Transport: t}
}

// checkBaseURL validates raw and returns it without a trailing slash.
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
		return "", fmt.Errorf("invalid API base URL %q: it must not carry credentials; give the private key through IMAGEKIT_PRIVATE_KEY or --private-key-file", shown(u))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("invalid API base URL %q: it must not have a query or fragment", shown(u))
	}
	if u.Scheme == "http" && !inProcess && !isLoopback(u.Hostname()) {
		return "", fmt.Errorf("refusing plain http API base URL %q: the private key would cross the network unencrypted; use https://, or http:// only on a loopback host (localhost, 127.0.0.1, ::1)", shown(u))
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
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

// WithRetry sets the retry policy.
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithRate sets the initial pacing in requests per second and the burst.
// The limiter then learns from X-RateLimit-* headers. rps <= 0 disables pacing.
func WithRate(rps float64, burst int) Option {
	return func(c *Client) { c.rps, c.burst = rps, burst }
}

// WithLogger sets the logger; each request is logged at debug level
// (method, path, status, duration, attempt), never with credentials.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// WithClock sets the clock used for retry waits and rate-limit pauses
// (default: the system clock).
func WithClock(clk Clock) Option { return func(c *Client) { c.clock = clk } }

// Stats returns the counts of requests sent so far.
func (c *Client) Stats() Stats {
	return Stats{
		List:        c.nList.Load(),
		Details:     c.nDetails.Load(),
		RemoveTags:  c.nRemoveTags.Load(),
		Retries:     c.nRetries.Load(),
		RateLimited: c.nRateLimited.Load(),
	}
}

// Pacing returns the current pacing of the endpoint an operation uses ("list
// files", "file details" or "remove tags"): requests per second and burst.
// It returns 0, 0 when pacing is disabled.
func (c *Client) Pacing(op string) (rps float64, burst int) {
	if c.pacer == nil {
		return 0, 0
	}
	return c.pacer.get(op).current()
}

// BaseURL returns the base URL requests go to, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }
