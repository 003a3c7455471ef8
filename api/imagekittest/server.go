package imagekittest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultAddr is the address an emulator command listens on by default.
const DefaultAddr = "127.0.0.1:8080"

// ShutdownGrace bounds how long Wait lets requests in flight finish.
const ShutdownGrace = 5 * time.Second

// Server is an emulator listening on a TCP address, in the spirit of
// httptest.Server. Close it (or Wait for it) when done.
type Server struct {
	// URL is the base URL of the server, "http://HOST:PORT", without a
	// trailing slash.
	URL string

	handler *Handler
	srv     *http.Server
	cancel  context.CancelFunc
	done    chan struct{}
	err     error // why Serve stopped, once done is closed
	stop    sync.Once
}

// NewServer starts and returns a Server on 127.0.0.1 that serves files
// with NewHandler(files, opts...). It panics when it cannot listen or when
// NewHandler would.
func NewServer(files []File, opts ...Option) *Server {
	s, err := Listen("127.0.0.1:0", NewHandler(files, opts...))
	if err != nil {
		panic("imagekittest: " + err.Error())
	}
	return s
}

// Listen starts a Server that serves h on addr ("HOST:PORT"; port 0 picks
// a free one) and returns it once it accepts connections: its URL names
// the port it got. It fails when addr cannot be listened on.
func Listen(addr string, h *Handler) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		URL:     "http://" + ln.Addr().String(),
		handler: h,
		srv: &http.Server{
			Handler:           h,
			BaseContext:       func(net.Listener) context.Context { return ctx },
			ReadHeaderTimeout: 10 * time.Second,
		},
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	}()
	return s, nil
}

// Handler returns the Handler the server serves, for its library, stats
// and request log.
func (s *Server) Handler() *Handler { return s.handler }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return &http.Client{} }

// Wait serves until ctx ends, then shuts the server down gracefully: held
// requests are released, requests in flight get up to ShutdownGrace to
// finish, and the rest are cut. It returns nil after such a shutdown, or
// the error that stopped the server before ctx ended.
func (s *Server) Wait(ctx context.Context) error {
	select {
	case <-s.done:
		s.Close()
		if s.err != nil {
			return fmt.Errorf("serve on %s: %w", s.URL, s.err)
		}
		return nil
	case <-ctx.Done():
	}
	s.stop.Do(func() {
		s.handler.release()
		shut, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
		defer cancel()
		if err := s.srv.Shutdown(shut); err != nil {
			s.cancel()
			_ = s.srv.Close()
		}
		s.cancel()
	})
	<-s.done
	return nil
}

// Close releases held requests, closes the listener and every connection,
// and waits for the server to stop.
func (s *Server) Close() {
	s.stop.Do(func() {
		s.handler.release()
		s.cancel()
		_ = s.srv.Close()
	})
	<-s.done
}
