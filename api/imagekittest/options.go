package imagekittest

import (
	"time"
)

// Option configures a Handler.
type Option func(*config)

type config struct {
	privateKey   string
	rateLimit    int
	latency      time.Duration
	failRate     float64
	partialRate  float64
	dropRate     float64
	hangRate     float64
	spikeRate    float64
	spikeLatency time.Duration
	failFiles    map[string]bool
	seed         int64
	clock        func() time.Time
}

// WithPrivateKey makes every API request carry Basic auth whose user name
// is key (the password is ignored); other requests get 401. By default no
// key is needed.
func WithPrivateKey(key string) Option {
	return func(c *config) { c.privateKey = key }
}

// WithRateLimit allows n requests per second per endpoint: a token bucket
// of capacity n refilled at n per second. Requests over it get 429. The
// default, 0, is unlimited.
func WithRateLimit(n int) Option {
	return func(c *config) { c.rateLimit = max(n, 0) }
}

// WithLatency delays every API request by d before it is handled.
func WithLatency(d time.Duration) Option {
	return func(c *config) { c.latency = d }
}

// WithFailRate answers that fraction (0..1) of API requests with 500,
// changing nothing.
func WithFailRate(p float64) Option {
	return func(c *config) { c.failRate = p }
}

// WithPartialRate answers that fraction (0..1) of removeTags calls that
// find all their files with 207: some of the files fail and stay unchanged,
// the rest are changed.
func WithPartialRate(p float64) Option {
	return func(c *config) { c.partialRate = p }
}

// WithFailFiles makes every removeTags call fail these file ids inside a
// 207 answer, unchanged, while the call's other files are changed.
func WithFailFiles(ids ...string) Option {
	return func(c *config) {
		if c.failFiles == nil {
			c.failFiles = make(map[string]bool)
		}
		for _, id := range ids {
			c.failFiles[id] = true
		}
	}
}

// WithDropRate closes the connection in the middle of the response for that
// fraction (0..1) of API requests. The request was handled: a dropped
// removeTags may have changed the library, as on a real network.
func WithDropRate(p float64) Option {
	return func(c *config) { c.dropRate = p }
}

// WithHangRate holds that fraction (0..1) of API requests without an answer
// until the client gives up (the request's context ends) or the server
// closes. A held request changes nothing.
func WithHangRate(p float64) Option {
	return func(c *config) { c.hangRate = p }
}

// WithLatencySpikes delays that fraction (0..1) of API requests by d on top
// of WithLatency.
func WithLatencySpikes(p float64, d time.Duration) Option {
	return func(c *config) { c.spikeRate, c.spikeLatency = p, d }
}

// WithSeed seeds the fault injection so that the same sequence of requests
// meets the same faults. The default seed is 0.
func WithSeed(n int64) Option {
	return func(c *config) { c.seed = n }
}

// WithClock sets the clock that anchors relative dates in searchQuery
// ("7d") and stamps updatedAt. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.clock = now }
}
