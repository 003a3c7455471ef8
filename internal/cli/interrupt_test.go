package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockedBuffer is a bytes.Buffer safe for the writes of several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// heldServer answers each request only once the test closes release, and
// tells arrived about every request it holds.
func heldServer(t *testing.T) (srv *httptest.Server, arrived chan *http.Request, release chan struct{}) {
	t.Helper()
	arrived = make(chan *http.Request, 16)
	release = make(chan struct{})
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- r
		select {
		case <-release:
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
		srv.Close()
	})
	return srv, arrived, release
}

func TestInterrupt(t *testing.T) {
	t.Run("RequestAfterTheStopIsRefusedAndNeverSent", func(t *testing.T) {
		srv, arrived, _ := heldServer(t)
		ctx, stop := context.WithCancel(context.Background())
		in := newInterrupt(io.Discard)
		in.watch(ctx)
		stop()
		hc := &http.Client{Transport: in.transport(http.DefaultTransport)}
		req, err := http.NewRequest(http.MethodPost, srv.URL, nil)
		require.NoError(t, err)
		_, err = hc.Do(req)
		require.ErrorIs(t, err, errStopping)
		assert.Empty(t, arrived, "nothing reached the server")
	})

	t.Run("StopSaysWhatItWaitsForWithTheCallsInFlight", func(t *testing.T) {
		srv, arrived, release := heldServer(t)
		var out lockedBuffer
		ctx, stop := context.WithCancel(context.Background())
		in := newInterrupt(&out)
		in.watch(ctx)
		in.during(func(f flight) string {
			return "calls " + strconv.Itoa(f.calls) + ", reads " + strconv.Itoa(f.reads)
		}, nil)
		hc := &http.Client{Transport: in.transport(http.DefaultTransport)}
		var wg sync.WaitGroup
		for _, method := range []string{http.MethodPost, http.MethodPost, http.MethodGet} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(method, srv.URL, nil)
				if resp, err := hc.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		for range 3 {
			<-arrived
		}
		stop()
		in.during(nil, nil) // moving on says what the run was doing when it stopped
		assert.Equal(t, "stopping: calls 2, reads 1\n", out.String())
		in.stopping()
		assert.Equal(t, "stopping: calls 2, reads 1\n", out.String(), "said once")
		close(release)
		wg.Wait()
		in.mu.Lock()
		defer in.mu.Unlock()
		assert.Equal(t, flight{}, in.flight, "answered requests are no longer in flight")
	})

	t.Run("AbandonAbortsTheRequestsInFlight", func(t *testing.T) {
		srv, arrived, _ := heldServer(t)
		var out lockedBuffer
		in := newInterrupt(&out)
		in.watch(context.Background())
		hc := &http.Client{Transport: in.transport(http.DefaultTransport)}
		done := make(chan error, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL, nil)
			resp, err := hc.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		<-arrived
		in.abandonNow()
		err := <-done
		require.ErrorIs(t, err, errAbandoned)
		assert.Contains(t, out.String(), "abandoning 1 call in flight")
	})

	t.Run("FirstSignalStopsAndSecondAbandons", func(t *testing.T) {
		in := newInterrupt(io.Discard)
		ctx, stop := context.WithCancelCause(context.Background())
		in.watch(ctx)
		sigs := make(chan os.Signal, 2)
		done := make(chan struct{})
		defer close(done)
		go in.follow(sigs, stop, done)
		sigs <- syscall.SIGTERM
		<-ctx.Done()
		assert.ErrorIs(t, context.Cause(ctx), context.Canceled)
		assert.Contains(t, context.Cause(ctx).Error(), "terminated")
		assert.NoError(t, in.abandon.Err(), "one signal abandons nothing")
		sigs <- os.Interrupt
		<-in.abandon.Done()
	})

	t.Run("NeverSignalledLetsEverythingThrough", func(t *testing.T) {
		srv, _, release := heldServer(t)
		close(release)
		in := newInterrupt(io.Discard)
		hc := &http.Client{Transport: in.transport(http.DefaultTransport)}
		resp, err := hc.Get(srv.URL)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	})
}

// A run interrupted before it has anything to wait for ends with exit 130
// and says nothing about stopping once it is over.
func TestRunInterruptedBeforeAnyRequest(t *testing.T) {
	var out, errOut lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code := run(ctx, []string{"tagprune", "plan", "-f", exampleManifest, "--library", exampleLibrary},
		Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}, Build{Version: "test"}, nil)
	assert.Equal(t, exitInterrupted, code, errOut.String())
	assert.Empty(t, out.String())
	assert.Contains(t, errOut.String(), "interrupted while loading the manifests: nothing was sent")
	assert.Equal(t, 1, strings.Count(errOut.String(), "stopping: "), errOut.String())
}
