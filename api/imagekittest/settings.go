package imagekittest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file declares every setting of the emulator once: its name (the
// flag a command line gives it), its usage, its default, how its text is
// parsed and how it configures a Handler. The With… options, Config and a
// command's flags are all derived from these declarations.

// Option configures a Handler.
type Option func(*config)

// config is what the options configure.
type config struct {
	privateKey      string
	rateLimit       int
	windows         []window
	latency         time.Duration
	failRate        float64
	statusRates     []statusRate
	partialRate     float64
	failFiles       map[string]bool
	dropRate        float64
	hangRate        float64
	spikeRate       float64
	spikeLatency    time.Duration
	ignoreSkip      bool
	foldersInSearch bool
	maxTagsLength   int
	seed            int64
	clock           func() time.Time
}

// window is a rate-limit window: n requests per interval per endpoint.
type window struct {
	n     int
	every time.Duration
}

// statusRate answers a fraction of API requests with an error status.
type statusRate struct {
	status int
	p      float64
}

// SettingKind says how a setting's value is written.
type SettingKind int

const (
	// KindString is any text.
	KindString SettingKind = iota
	// KindInt is a whole number.
	KindInt
	// KindFraction is a number from 0 to 1.
	KindFraction
	// KindDuration is a Go duration such as 150ms.
	KindDuration
	// KindBool is true or false.
	KindBool
	// KindList is text that may be given several times; each value adds.
	KindList
)

// Setting is one configurable behaviour of the emulator, as a command line
// exposes it.
type Setting struct {
	Name    string      // the flag name, such as "rate-limit"
	Usage   string      // one line for the help
	Default string      // the value when none is given, as it would be typed; "" for none
	Kind    SettingKind // how the value is written

	set func(c *config, text string) error
}

// registry holds the settings in declaration order.
var registry []*Setting

// typed is a setting whose value has a Go type, for its With… option.
type typed[T any] struct {
	*Setting
	apply func(c *config, v T)
}

// declare registers a setting: parse reads its text, apply sets it.
func declare[T any](s Setting, parse func(string) (T, error), apply func(*config, T)) typed[T] {
	s.set = func(c *config, text string) error {
		v, err := parse(text)
		if err != nil {
			return fmt.Errorf("--%s %q: %w", s.Name, text, err)
		}
		apply(c, v)
		return nil
	}
	registry = append(registry, &s)
	return typed[T]{Setting: &s, apply: apply}
}

// option returns the Option that sets the setting to v.
func (t typed[T]) option(v T) Option { return func(c *config) { t.apply(c, v) } }

// The settings, in the order a command's help lists them: Go initializes
// them in this order because they depend on functions only, never on a
// variable declared after them.
var (
	setPrivateKey = declare(Setting{Name: "private-key", Kind: KindString,
		Usage: "require Basic auth with this key as user name (default: no auth)"},
		parseText, func(c *config, s string) { c.privateKey = s })
	setRateLimit = declare(Setting{Name: "rate-limit", Kind: KindInt, Default: "0",
		Usage: "requests per second per endpoint (0: unlimited)"},
		parseCount, func(c *config, n int) { c.rateLimit = max(n, 0) })
	setRateWindow = declare(Setting{Name: "rate-limit-window", Kind: KindList,
		Usage: "N/DURATION: also allow at most N requests per DURATION per endpoint, such as 1000/15m; repeatable"},
		parseWindow, func(c *config, w window) { c.windows = append(c.windows, w) })
	setLatency = declare(Setting{Name: "latency", Kind: KindDuration, Default: "0s",
		Usage: "added to every API request"},
		parseWait, func(c *config, d time.Duration) { c.latency = d })
	setFailRate = declare(Setting{Name: "fail-rate", Kind: KindFraction, Default: "0",
		Usage: "fraction of API requests answered 500, changing nothing"},
		parseFraction, func(c *config, p float64) { c.failRate = p })
	setStatusRate = declare(Setting{Name: "status-rate", Kind: KindList,
		Usage: "STATUS=P: answer that fraction of API requests with STATUS (408, 409, 500, 502, 503 or 504), changing nothing; repeatable"},
		parseStatusRate, func(c *config, s statusRate) { c.statusRates = append(c.statusRates, s) })
	setPartialRate = declare(Setting{Name: "partial-rate", Kind: KindFraction, Default: "0",
		Usage: "fraction of tag calls (removeTags, addTags, removeAITags) answered 207, failing some files"},
		parseFraction, func(c *config, p float64) { c.partialRate = p })
	setFailFile = declare(Setting{Name: "fail-file", Kind: KindList,
		Usage: "a fileId that tag calls always fail (in a 207); repeatable"},
		parseText, func(c *config, id string) {
			if c.failFiles == nil {
				c.failFiles = make(map[string]bool)
			}
			c.failFiles[id] = true
		})
	setDropRate = declare(Setting{Name: "drop-rate", Kind: KindFraction, Default: "0",
		Usage: "fraction of API requests whose connection is closed mid-response"},
		parseFraction, func(c *config, p float64) { c.dropRate = p })
	setHangRate = declare(Setting{Name: "hang-rate", Kind: KindFraction, Default: "0",
		Usage: "fraction of API requests that never get an answer"},
		parseFraction, func(c *config, p float64) { c.hangRate = p })
	setSpikeRate = declare(Setting{Name: "spike-rate", Kind: KindFraction, Default: "0",
		Usage: "fraction of API requests delayed by --spike-latency"},
		parseFraction, func(c *config, p float64) { c.spikeRate = p })
	setSpikeLatency = declare(Setting{Name: "spike-latency", Kind: KindDuration, Default: "0s",
		Usage: "extra delay of a latency spike"},
		parseWait, func(c *config, d time.Duration) { c.spikeLatency = d })
	setIgnoreSkip = declare(Setting{Name: "ignore-skip", Kind: KindBool, Default: "false",
		Usage: "serve the first page of a listing whatever skip asks for (a server that lies about paging)"},
		strconv.ParseBool, func(c *config, on bool) { c.ignoreSkip = on })
	setFoldersInSearch = declare(Setting{Name: "folders-in-search", Kind: KindBool, Default: "false",
		Usage: "a searchQuery without a type condition also returns the folders and file versions it matches"},
		strconv.ParseBool, func(c *config, on bool) { c.foldersInSearch = on })
	setMaxTagsLength = declare(Setting{Name: "max-tags-length", Kind: KindInt, Default: strconv.Itoa(DefaultMaxTagsLength),
		Usage: "most characters the tags of one addTags or removeTags call may add up to, as the API allows (0: no limit)"},
		parseCount, func(c *config, n int) { c.maxTagsLength = max(n, 0) })
	setSeed = declare(Setting{Name: "seed", Kind: KindInt, Default: "1",
		Usage: "seed of the fault injection: the same requests meet the same faults"},
		parseSeed, func(c *config, n int64) { c.seed = n })
)

// Settings returns every setting of the emulator, in the order a command's
// help lists them.
func Settings() []Setting {
	out := make([]Setting, len(registry))
	for i, s := range registry {
		out[i] = *s
	}
	return out
}

func lookupSetting(name string) *Setting {
	for _, s := range registry {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// newConfig returns the configuration every setting's default gives.
func newConfig() config {
	c := config{clock: time.Now}
	for _, s := range registry {
		if s.Default != "" {
			if err := s.set(&c, s.Default); err != nil {
				panic("imagekittest: default of " + s.Name + ": " + err.Error())
			}
		}
	}
	return c
}

// Config holds settings given as text, as a command line gives them, in
// the order given. The zero Config leaves every setting at its default.
type Config struct {
	values []settingValue
}

type settingValue struct {
	s    *Setting
	text string
}

// Set gives the setting name the value text (a KindList setting adds one
// more value each time). It fails, changing nothing, when there is no such
// setting or text is not a value of it; the error names both and says what
// a value looks like.
func (c *Config) Set(name, text string) error {
	s := lookupSetting(name)
	if s == nil {
		names := make([]string, len(registry))
		for i, r := range registry {
			names[i] = r.Name
		}
		return fmt.Errorf("no emulator setting %q: the settings are %s", name, strings.Join(names, ", "))
	}
	var scratch config
	if err := s.set(&scratch, text); err != nil {
		return err
	}
	c.values = append(c.values, settingValue{s: s, text: text})
	return nil
}

// Options returns the Handler options that the settings ask for.
func (c Config) Options() []Option {
	opts := make([]Option, len(c.values))
	for i, v := range c.values {
		opts[i] = func(cfg *config) { _ = v.s.set(cfg, v.text) }
	}
	return opts
}

func parseText(s string) (string, error) { return s, nil }

func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a whole number from 0")
	}
	return n, nil
}

func parseSeed(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want a whole number")
	}
	return n, nil
}

func parseFraction(s string) (float64, error) {
	p, err := strconv.ParseFloat(s, 64)
	if err != nil || p < 0 || p > 1 {
		return 0, fmt.Errorf("want a fraction between 0 and 1")
	}
	return p, nil
}

func parseWait(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a duration from 0, such as 150ms")
	}
	return d, nil
}

func parseWindow(s string) (window, error) {
	n, every, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 {
		return window{}, fmt.Errorf("want N/DURATION with N from 1, such as 1000/15m")
	}
	d, err := time.ParseDuration(every)
	if err != nil || d < time.Millisecond {
		return window{}, fmt.Errorf("want N/DURATION with a duration of at least 1ms, such as 1000/15m")
	}
	return window{n: count, every: d}, nil
}

// faultStatus reports whether status-rate may answer with status.
func faultStatus(status int) bool {
	switch status {
	case 408, 409, 500, 502, 503, 504:
		return true
	}
	return false
}

func parseStatusRate(s string) (statusRate, error) {
	code, frac, ok := strings.Cut(s, "=")
	status, err := strconv.Atoi(code)
	if !ok || err != nil || !faultStatus(status) {
		return statusRate{}, fmt.Errorf("want STATUS=P with STATUS one of 408, 409, 500, 502, 503, 504, such as 409=0.1")
	}
	p, err := parseFraction(frac)
	if err != nil {
		return statusRate{}, err
	}
	return statusRate{status: status, p: p}, nil
}

// WithPrivateKey makes every API request carry Basic auth whose user name
// is key (the password is ignored); other requests get 401. By default no
// key is needed.
func WithPrivateKey(key string) Option { return setPrivateKey.option(key) }

// WithRateLimit allows n requests per second per endpoint: a token bucket
// of capacity n refilled at n per second. Requests over it get 429. The
// default, 0, is unlimited.
func WithRateLimit(n int) Option { return setRateLimit.option(n) }

// WithRateLimitWindow adds a rate-limit window: at most n requests per
// interval per endpoint, on top of WithRateLimit's per-second one, as the
// API may have (say 1000 per 15 minutes). A request must fit every window;
// the X-RateLimit headers describe the window that refused it, or else the
// window closest to its limit.
func WithRateLimitWindow(n int, interval time.Duration) Option {
	return setRateWindow.option(window{n: max(n, 1), every: max(interval, time.Millisecond)})
}

// WithLatency delays every API request by d before it is handled.
func WithLatency(d time.Duration) Option { return setLatency.option(d) }

// WithFailRate answers that fraction (0..1) of API requests with 500,
// changing nothing.
func WithFailRate(p float64) Option { return setFailRate.option(p) }

// WithStatusRate answers that fraction (0..1) of API requests with status
// (408 Request Timeout and 409 Conflict among them), changing nothing.
func WithStatusRate(status int, p float64) Option {
	return setStatusRate.option(statusRate{status: status, p: p})
}

// WithPartialRate answers that fraction (0..1) of tag calls (removeTags,
// addTags, removeAITags) that find all their files with 207: some of the
// files fail and stay unchanged, the rest are changed.
func WithPartialRate(p float64) Option { return setPartialRate.option(p) }

// WithFailFiles makes every tag call fail these file ids inside a 207
// answer, unchanged, while the call's other files are changed.
func WithFailFiles(ids ...string) Option {
	return func(c *config) {
		for _, id := range ids {
			setFailFile.apply(c, id)
		}
	}
}

// WithDropRate closes the connection in the middle of the response for that
// fraction (0..1) of API requests. The request was handled: a dropped
// removeTags may have changed the library, as on a real network.
func WithDropRate(p float64) Option { return setDropRate.option(p) }

// WithHangRate holds that fraction (0..1) of API requests without an answer
// until the client gives up (the request's context ends) or the server
// closes. A held request changes nothing.
func WithHangRate(p float64) Option { return setHangRate.option(p) }

// WithLatencySpikes delays that fraction (0..1) of API requests by d on top
// of WithLatency.
func WithLatencySpikes(p float64, d time.Duration) Option {
	return func(c *config) {
		setSpikeRate.apply(c, p)
		setSpikeLatency.apply(c, d)
	}
}

// WithIgnoreSkip makes listings ignore skip and always serve their first
// page, as a faulty server might: a client that pages by skip must notice
// that it reads the same page again.
func WithIgnoreSkip(on bool) Option { return setIgnoreSkip.option(on) }

// WithFoldersInSearch makes a search whose searchQuery has no type
// condition return the folders and file versions it matches too (folders
// first), as the API may. By default such a search returns files only.
func WithFoldersInSearch(on bool) Option { return setFoldersInSearch.option(on) }

// DefaultMaxTagsLength is how many characters the tags of one addTags or
// removeTags call may add up to: the API refuses a longer list with 400
// ("Combined length of all tags should be less than or equal to 500", in
// ImageKit's OpenAPI description of both endpoints).
const DefaultMaxTagsLength = 500

// WithMaxTagsLength sets how many characters, counted as Unicode code
// points, the tags of one addTags or removeTags call may add up to (default
// DefaultMaxTagsLength); a longer list is refused with 400, changing
// nothing. 0 means no limit.
func WithMaxTagsLength(n int) Option { return setMaxTagsLength.option(n) }

// WithSeed seeds the fault injection so that the same sequence of requests
// meets the same faults. The default seed is 1.
func WithSeed(n int64) Option { return setSeed.option(n) }

// WithClock sets the clock that anchors relative dates in searchQuery
// ("7d") and stamps updatedAt and uploads. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.clock = now }
}
