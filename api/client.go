// Package api is tagprune's HTTP client for the ImageKit API: listing and
// searching files, file details and bulk tag removal, with auth, retries,
// pacing and typed errors. It decides nothing about which tags to remove.
package api

import (
	"context"
	"iter"
	"log/slog"
	"net/http"
	"time"
)

// DefaultBaseURL is the ImageKit API's base URL.
const DefaultBaseURL = "https://api.imagekit.io"

// MaxRemoveTagsFiles is the most fileIds one removeTags call may carry.
const MaxRemoveTagsFiles = 50

// MaxPageSize is the largest page GET /v1/files returns.
const MaxPageSize = 1000

// RetryPolicy bounds retries. Zero fields take the documented defaults.
type RetryPolicy struct {
	MaxAttempts int           // attempts per call, first included; default 8
	BaseDelay   time.Duration // first backoff; default 250ms
	MaxDelay    time.Duration // cap on any single wait; default 30s
	MaxElapsed  time.Duration // cap on one call's total time; default 5m
}

// Option configures a Client.
type Option func(*Client)

// Client talks to the ImageKit API. It is safe for concurrent use.
type Client struct {
	// TODO(api): fields
}

// New returns a Client. It fails when the base URL is not valid, or is a
// plain http:// URL whose host is not loopback.
func New(opts ...Option) (*Client, error) { panic("todo") }

// WithBaseURL sets the API's base URL (default DefaultBaseURL).
func WithBaseURL(u string) Option { panic("todo") }

// WithPrivateKey sets the private API key, sent as the Basic auth user name.
func WithPrivateKey(key string) Option { panic("todo") }

// WithHTTPClient sets the HTTP client (default: a client with sane timeouts).
func WithHTTPClient(hc *http.Client) Option { panic("todo") }

// WithUserAgent sets the User-Agent (default "tagprune/dev").
func WithUserAgent(ua string) Option { panic("todo") }

// WithTimeout bounds each HTTP request (default 30s).
func WithTimeout(d time.Duration) Option { panic("todo") }

// WithRetry sets the retry policy.
func WithRetry(p RetryPolicy) Option { panic("todo") }

// WithRate sets the initial pacing in requests per second and the burst.
// The limiter then learns from X-RateLimit-* headers. rps <= 0 disables pacing.
func WithRate(rps float64, burst int) Option { panic("todo") }

// WithLogger sets the logger; each request is logged at debug level
// (method, path, status, duration, attempt), never with credentials.
func WithLogger(l *slog.Logger) Option { panic("todo") }

// List streams the files matching p, page after page (skip/limit), without
// ever holding more than one page. Iteration stops at the first error, which
// is yielded with a zero File.
func (c *Client) List(ctx context.Context, p ListParams) iter.Seq2[File, error] { panic("todo") }

// Details returns one file. A missing file is an *Error of kind ErrNotFound.
func (c *Client) Details(ctx context.Context, fileID string) (File, error) { panic("todo") }

// RemoveTags removes tags from at most MaxRemoveTagsFiles files in one call.
// 200: the result and nil. 207: the result and a *PartialError. 404: an *Error
// of kind ErrNotFound with MissingFileIDs, nothing changed.
func (c *Client) RemoveTags(ctx context.Context, fileIDs, tags []string) (RemoveTagsResult, error) {
	panic("todo")
}

// Stats returns the counts of requests sent so far.
func (c *Client) Stats() Stats { panic("todo") }
