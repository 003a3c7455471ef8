package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/tagprune/tagprune/internal/english"
)

// isTerminal reports whether v is an *os.File attached to a terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// color reports whether output written to out may be coloured.
func (g globalOptions) color(out io.Writer) bool {
	return colorEnabled(g.NoColor, os.Getenv("NO_COLOR") != "", isTerminal(out))
}

// colorEnabled decides whether to colour stdout: only when it is a terminal,
// NO_COLOR is unset or empty (as no-color.org defines it) and --no-color was
// not given.
func colorEnabled(noColorFlag, noColorEnv, stdoutIsTerminal bool) bool {
	return stdoutIsTerminal && !noColorFlag && !noColorEnv
}

// logger builds the slog logger of --log-level and --log-format, writing to
// w (stderr).
func (g globalOptions) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	switch lv := strings.ToLower(g.LogLevel); lv {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return nil, fmt.Errorf("--%s %q: want debug, info, warn or error", flagLogLevel, lv)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch f := strings.ToLower(g.LogFormat); f {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--%s %q: want text or json", flagLogFormat, f)
	}
}

// progress shows a progress bar on stderr when it is a terminal and --quiet
// was not given; otherwise it draws nothing, and its lines for people are
// written as they are. While listing (an unknown total) it shows the files
// read so far and the read rate; while applying, the files done of the
// total, the calls sent, the rate and the time left. The rate is measured
// (rateMeter), never predicted, and the display is redrawn every
// redrawEvery even when nothing ends, so a stall shows as a falling rate
// rather than a frozen one. A note, such as a wait being counted down,
// follows the label. It is safe for concurrent use.
type progress struct {
	w  io.Writer
	on bool

	mu          sync.Mutex
	bar         *progressbar.ProgressBar
	description string
	total       int
	n           int          // steps done so far
	calls       func() int64 // calls sent so far, if known
	meter       rateMeter
	note        string        // shown after the label; "" for none
	noteLine    bool          // the note is drawn on a line of its own
	stop        chan struct{} // closed by finish: ends the redraws
	redrawn     chan struct{} // closed when the redraws have ended
}

// redrawEvery is how often the progress display is redrawn while nothing
// happens.
const redrawEvery = 500 * time.Millisecond

func newProgress(g globalOptions, stderr io.Writer) *progress {
	return &progress{w: stderr, on: progressEnabled(g.Quiet, isTerminal(stderr))}
}

// progressEnabled decides whether to draw progress bars: only on a terminal
// stderr, and never with --quiet.
func progressEnabled(quiet, stderrIsTerminal bool) bool {
	return stderrIsTerminal && !quiet
}

// start begins a bar of total steps (-1 for an unknown total: a spinner with
// a count). calls, if not nil, is shown next to the description.
func (p *progress) start(total int, description string, calls func() int64) {
	if !p.on {
		return
	}
	p.finish()
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	p.description, p.total, p.calls, p.n = description, total, calls, 0
	p.meter = rateMeter{window: rateWindow}
	p.meter.add(now, 0)
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(p.label(now)),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetRenderBlankState(true),
		// The bar's own estimates follow its last few updates and jump;
		// the label says the measured rate and the time left instead.
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(true),
	}
	if total >= 0 {
		opts = append(opts, progressbar.OptionShowCount())
	}
	p.bar = progressbar.NewOptions(total, opts...)
	p.stop, p.redrawn = make(chan struct{}), make(chan struct{})
	go p.redraw(p.bar, p.stop, p.redrawn)
}

// redraw describes bar again every redrawEvery until stop is closed.
func (p *progress) redraw(bar *progressbar.ProgressBar, stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(redrawEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			p.mu.Lock()
			if p.bar == bar {
				bar.Describe(p.label(now))
			}
			p.mu.Unlock()
		}
	}
}

// label is the text in front of the bar at now; p.mu is held.
func (p *progress) label(now time.Time) string {
	s := p.description
	if p.total < 0 {
		s += ": " + english.Plural(p.n, "file", "files") + " read"
	}
	if p.calls != nil {
		s += ", " + english.Plural(int(p.calls()), "call", "calls")
	}
	if rate := p.meter.rate(now); rate > 0 {
		s += fmt.Sprintf(", %s files/s", english.Thousands(int(math.Round(rate))))
		if p.total > p.n {
			left := time.Duration(float64(p.total-p.n) / rate * float64(time.Second))
			s += ", about " + left.Round(time.Second).String() + " left"
		}
	}
	if p.note != "" {
		s += "; " + p.note
	}
	return s
}

// set moves the bar to n.
func (p *progress) set(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil {
		return
	}
	now := time.Now()
	p.n = n
	p.meter.add(now, n)
	_ = p.bar.Set(n)
	p.bar.Describe(p.label(now))
}

// setNote shows s after the label, or on a line of its own when no bar is
// drawn; "" removes it. It draws nothing when the display is off.
func (p *progress) setNote(s string) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.note = s
	if p.bar != nil {
		p.bar.Describe(p.label(time.Now()))
		_ = p.bar.Set(p.n)
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K"+s)
	p.noteLine = s != ""
}

// say writes line for people on stderr, below the bar if one is drawn.
func (p *progress) say(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
	} else if p.noteLine {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintln(p.w, line)
	if p.bar != nil {
		p.bar.Describe(p.label(time.Now()))
		_ = p.bar.Set(p.n)
	} else if p.noteLine {
		fmt.Fprint(p.w, p.note)
	}
}

// finish removes the bar and ends its redraws.
func (p *progress) finish() {
	p.mu.Lock()
	bar, stop, redrawn := p.bar, p.stop, p.redrawn
	p.bar = nil
	p.mu.Unlock()
	if bar == nil {
		return
	}
	close(stop)
	<-redrawn
	_ = bar.Finish()
	_ = bar.Clear()
}

// rateWindow is how far back a rate is measured.
const rateWindow = 10 * time.Second

// rateMeter measures a rate of work done: the steps done since the last
// sample at least window old (or since the first sample), over the time
// since then, up to the moment asked. So it follows what was done, moves
// smoothly when work ends in bursts, and falls while nothing ends.
type rateMeter struct {
	window  time.Duration
	samples []rateSample // in time order; the oldest is at most window older than the second oldest
}

// rateSample is the steps done at a moment.
type rateSample struct {
	at time.Time
	n  int
}

// add records that n steps were done at at.
func (m *rateMeter) add(at time.Time, n int) {
	m.samples = append(m.samples, rateSample{at: at, n: n})
	// Keep one sample at least window old, and everything after it.
	drop := 0
	for drop+1 < len(m.samples) && at.Sub(m.samples[drop+1].at) >= m.window {
		drop++
	}
	m.samples = m.samples[drop:]
}

// rate returns the steps per second done over the last window (at least),
// as of now; 0 before any time has passed.
func (m *rateMeter) rate(now time.Time) float64 {
	if len(m.samples) == 0 {
		return 0
	}
	base := m.samples[0]
	for _, s := range m.samples[1:] {
		if now.Sub(s.at) < m.window {
			break
		}
		base = s
	}
	last := m.samples[len(m.samples)-1]
	elapsed := now.Sub(base.at).Seconds()
	if elapsed <= 0 {
		return 0
	}
	return float64(last.n-base.n) / elapsed
}

// confirm asks on the terminal and reports whether the user typed "yes".
// It returns false, without waiting for the answer, once ctx ends.
func confirm(ctx context.Context, in io.Reader, out io.Writer, question string) bool {
	fmt.Fprintf(out, "%s Type yes to go ahead; any other answer changes nothing.\n> ", question)
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(in).ReadString('\n')
		answer <- line
	}()
	select {
	case line := <-answer:
		return strings.TrimSpace(line) == "yes"
	case <-ctx.Done():
		fmt.Fprintln(out)
		return false
	}
}
