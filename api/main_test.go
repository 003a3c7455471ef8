package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tagprune/tagprune/api"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeClock advances only when the client waits, and records every wait.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	return nil
}

// advance moves the clock on, as time spent outside the client's waits.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// seen is one request a test server received.
type seen struct {
	Method, Path, Query, Auth, UserAgent, ContentType string
	Body                                              []byte
}

// recorder is a test server that records requests and answers them with
// the handler of the request's turn (the last one repeats).
type recorder struct {
	mu       sync.Mutex
	reqs     []seen
	handlers []http.HandlerFunc
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	n := len(r.reqs)
	r.reqs = append(r.reqs, seen{
		Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery,
		Auth: req.Header.Get("Authorization"), UserAgent: req.Header.Get("User-Agent"),
		ContentType: req.Header.Get("Content-Type"), Body: body,
	})
	h := r.handlers[min(n, len(r.handlers)-1)]
	r.mu.Unlock()
	h(w, req)
}

func (r *recorder) Requests() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.reqs...)
}

// answer returns a handler that writes status, headers and a JSON body.
func answer(status int, body any, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		switch b := body.(type) {
		case nil:
		case string:
			_, _ = io.WriteString(w, b)
		default:
			_ = json.NewEncoder(w).Encode(b)
		}
	}
}

// serve starts a test server answering with hs in turn and a client for it
// that never really sleeps between retries.
func serve(t *testing.T, hs []http.HandlerFunc, opts ...api.Option) (*api.Client, *recorder, *fakeClock) {
	t.Helper()
	rec := &recorder{handlers: hs}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	clk := newFakeClock()
	all := append([]api.Option{
		api.WithBaseURL(srv.URL),
		api.WithHTTPClient(srv.Client()),
		api.WithClock(clk),
		api.WithRate(0, 0),
	}, opts...)
	c, err := api.New(all...)
	require.NoError(t, err)
	return c, rec, clk
}

func errBody(msg string) map[string]any {
	return map[string]any{"message": msg, "help": "For support kindly contact us at support@imagekit.io ."}
}
