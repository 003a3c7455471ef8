package imagekittest

import (
	"context"
	"net"
	"net/http"
)

// Server is an emulator listening on a loopback port, in the spirit of
// httptest.Server. Close it when done.
type Server struct {
	// URL is the base URL of the server, "http://127.0.0.1:PORT", without
	// a trailing slash.
	URL string

	handler *Handler
	srv     *http.Server
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewServer starts and returns a Server on 127.0.0.1 that serves files
// with NewHandler(files, opts...). It panics when it cannot listen or when
// NewHandler would.
func NewServer(files []File, opts ...Option) *Server {
	h := NewHandler(files, opts...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("imagekittest: listen on a loopback port: " + err.Error())
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		URL:     "http://" + ln.Addr().String(),
		handler: h,
		srv:     &http.Server{Handler: h, BaseContext: func(net.Listener) context.Context { return ctx }},
		cancel:  cancel,
		done:    make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s
}

// Handler returns the Handler the server serves, for its files, stats and
// request log.
func (s *Server) Handler() *Handler { return s.handler }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return &http.Client{} }

// Close releases held requests, closes the listener and every connection,
// and waits for the server to stop.
func (s *Server) Close() {
	s.handler.release()
	s.cancel()
	_ = s.srv.Close()
	<-s.done
}
