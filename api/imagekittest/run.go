package imagekittest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// DefaultAddr is the address the emulator command listens on by default.
const DefaultAddr = "127.0.0.1:8080"

// Config is the configuration of the emulator command.
type Config struct {
	Data       string // library file to serve (required)
	Addr       string // HOST:PORT to listen on; DefaultAddr when empty; port 0 picks one
	PrivateKey string // when set, requests must carry it as the Basic auth user name
	RateLimit  int    // requests per second per endpoint; 0 is unlimited
	Latency    time.Duration
	FailRate   float64 // fraction of API requests answered 500
	// PartialRate is the fraction of removeTags calls answered 207.
	PartialRate float64
	Seed        int64 // seeds the fault injection
	Save        bool  // write the library back to Data on shutdown

	DropRate     float64       // fraction of API requests whose connection is dropped mid-answer
	HangRate     float64       // fraction of API requests held until the client gives up
	SpikeRate    float64       // fraction of API requests delayed by SpikeLatency more
	SpikeLatency time.Duration // the extra delay of a latency spike
	FailFiles    []string      // file ids that every removeTags call fails in a 207
}

// Options returns the Handler options that cfg asks for.
func (cfg Config) Options() []Option {
	opts := []Option{
		WithRateLimit(cfg.RateLimit),
		WithLatency(cfg.Latency),
		WithFailRate(cfg.FailRate),
		WithPartialRate(cfg.PartialRate),
		WithDropRate(cfg.DropRate),
		WithHangRate(cfg.HangRate),
		WithLatencySpikes(cfg.SpikeRate, cfg.SpikeLatency),
		WithSeed(cfg.Seed),
	}
	if cfg.PrivateKey != "" {
		opts = append(opts, WithPrivateKey(cfg.PrivateKey))
	}
	if len(cfg.FailFiles) > 0 {
		opts = append(opts, WithFailFiles(cfg.FailFiles...))
	}
	return opts
}

// shutdownGrace bounds how long Run waits for requests in flight at shutdown.
const shutdownGrace = 5 * time.Second

// Run serves the library in cfg.Data on cfg.Addr until ctx is done. The first
// line it prints on stdout is "listening on http://HOST:PORT". At shutdown it
// ends held requests, waits a little for the others and, with cfg.Save,
// writes the library back to cfg.Data. It returns an error when the library
// cannot be loaded or saved or the address cannot be listened on; a nil
// logger logs nothing.
func Run(ctx context.Context, cfg Config, stdout io.Writer, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Data == "" {
		return errors.New("no library file: give the emulator a --data FILE (a JSON array of file objects)")
	}
	files, err := LoadLibrary(cfg.Data)
	if err != nil {
		return err
	}
	h, err := newHandler(files, cfg.Options()...)
	if err != nil {
		return fmt.Errorf("library %s: %w", cfg.Data, err)
	}
	addr := cfg.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (pick another --addr)", addr, err)
	}
	baseCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &http.Server{
		Handler:           h,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ReadHeaderTimeout: 10 * time.Second,
	}
	url := "http://" + ln.Addr().String()
	if _, err := fmt.Fprintf(stdout, "listening on %s\n", url); err != nil {
		_ = ln.Close()
		return fmt.Errorf("print the emulator address: %w", err)
	}
	logger.Info("emulator serving", "url", url, "files", len(files), "data", cfg.Data,
		"rateLimit", cfg.RateLimit, "auth", cfg.PrivateKey != "")
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve on %s: %w", url, err)
	case <-ctx.Done():
	}
	h.release()
	shutCtx, stop := context.WithTimeout(context.Background(), shutdownGrace)
	defer stop()
	if err := srv.Shutdown(shutCtx); err != nil {
		cancel()
		_ = srv.Close()
	}
	<-served
	st := h.Stats()
	logger.Info("emulator stopped", "list", st.Requests.List, "details", st.Requests.Details,
		"removeTags", st.Requests.RemoveTags, "addTags", st.Requests.AddTags, "delete", st.Requests.Delete,
		"rateLimited", st.RateLimited, "faults", st.Faults)
	if cfg.Save {
		if err := SaveLibrary(cfg.Data, h.Files()); err != nil {
			return err
		}
		logger.Info("library saved", "data", cfg.Data)
	}
	return nil
}
