package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
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
// total, the removeTags calls sent, the rate and the time left. A note, such
// as a wait being counted down, follows the label. It is safe for
// concurrent use.
type progress struct {
	w  io.Writer
	on bool

	mu          sync.Mutex
	bar         *progressbar.ProgressBar
	description string
	total       int
	n           int
	calls       func() int64 // removeTags calls sent so far, if known
	note        string       // shown after the label; "" for none
	noteLine    bool         // the note is drawn on a line of its own
}

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
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishLocked()
	p.description, p.total, p.calls, p.n = description, total, calls, 0
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(p.label()),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("files"),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetRenderBlankState(true),
	}
	if total >= 0 {
		opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true))
	}
	p.bar = progressbar.NewOptions(total, opts...)
}

// label is the text in front of the bar.
func (p *progress) label() string {
	s := p.description
	if p.total < 0 {
		s += ": " + english.Plural(p.n, "file", "files") + " read"
	}
	if p.calls != nil {
		s += ", " + english.Plural(int(p.calls()), "call", "calls")
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
	p.n = n
	if p.bar != nil {
		if p.total < 0 || p.calls != nil || p.note != "" {
			p.bar.Describe(p.label())
		}
		_ = p.bar.Set(n)
	}
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
		p.bar.Describe(p.label())
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
		p.bar.Describe(p.label())
		_ = p.bar.Set(p.n)
	} else if p.noteLine {
		fmt.Fprint(p.w, p.note)
	}
}

// finish removes the bar.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishLocked()
}

func (p *progress) finishLocked() {
	if p.bar != nil {
		_ = p.bar.Finish()
		_ = p.bar.Clear()
		p.bar = nil
	}
}

// confirm asks on the terminal and reports whether the user typed "yes".
// It returns false, without waiting for the answer, once ctx ends.
func confirm(ctx context.Context, in io.Reader, out io.Writer, question string) bool {
	fmt.Fprintf(out, "%s\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", question)
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
