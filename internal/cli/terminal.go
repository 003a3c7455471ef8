package cli

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
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
// was not given; otherwise every method does nothing. While listing (an
// unknown total) it shows the files read so far and the read rate; while
// applying, the files done of the total, the removeTags calls sent, the rate
// and the time left.
type progress struct {
	w   io.Writer
	on  bool
	bar *progressbar.ProgressBar

	description string
	total       int
	calls       func() int64 // removeTags calls sent so far, if known
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
	p.finish()
	p.description, p.total, p.calls = description, total, calls
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(p.label(0)),
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

// label is the text in front of the bar after n steps.
func (p *progress) label(n int) string {
	s := p.description
	if p.total < 0 {
		s += ": " + english.Plural(n, "file", "files") + " read"
	}
	if p.calls != nil {
		s += ", " + english.Plural(int(p.calls()), "call", "calls")
	}
	return s
}

// set moves the bar to n.
func (p *progress) set(n int) {
	if p.bar != nil {
		if p.total < 0 || p.calls != nil {
			p.bar.Describe(p.label(n))
		}
		_ = p.bar.Set(n)
	}
}

// finish removes the bar.
func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		_ = p.bar.Clear()
		p.bar = nil
	}
}

// confirm asks on the terminal and reports whether the user typed "yes".
func confirm(in io.Reader, out io.Writer, question string) bool {
	fmt.Fprintf(out, "%s\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return false
	}
	return strings.TrimSpace(line) == "yes"
}
