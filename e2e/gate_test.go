package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/reconcile"
)

// gate is an HTTP proxy on loopback in front of an emulator. It forwards
// every request, but holds each removeTags call (or each request its test
// chooses) until the test lets it through, so that a test can act while a
// call is in flight (send a signal, delete a file) by waiting for the call
// instead of guessing how long it takes. Once opened, it holds nothing more.
type gate struct {
	URL     string
	arrived chan *heldCall

	mu     sync.Mutex
	opened bool
	held   []*heldCall
	calls  int // requests held or let through because they were chosen
}

// heldCall is one removeTags call that the gate holds.
type heldCall struct {
	once    sync.Once
	release chan struct{}
	gaveUp  chan struct{} // closed when the client dropped the call while it was held
}

// let forwards the call to the emulator.
func (h *heldCall) let() { h.once.Do(func() { close(h.release) }) }

// newGate starts a gate in front of srv that holds removeTags calls; it is
// closed when the test ends.
func newGate(t *testing.T, srv *imagekittest.Server) *gate {
	t.Helper()
	return newGateFor(t, srv, func(r *http.Request) bool {
		return r.Method == http.MethodPost && r.URL.Path == "/v1/files/removeTags"
	})
}

// isList chooses the list requests (GET /v1/files), the pages a plan reads.
func isList(r *http.Request) bool { return r.Method == http.MethodGet && r.URL.Path == "/v1/files" }

// newGateFor starts a gate in front of srv that holds the requests hold
// chooses; it is closed when the test ends.
func newGateFor(t *testing.T, srv *imagekittest.Server, hold func(*http.Request) bool) *gate {
	t.Helper()
	target, err := url.Parse(srv.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	g := &gate{arrived: make(chan *heldCall, 1024)}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hold(r) {
			proxy.ServeHTTP(w, r)
			return
		}
		// Reading the body whole lets the server notice at once when the
		// client hangs up.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		g.mu.Lock()
		g.calls++
		if g.opened {
			g.mu.Unlock()
			proxy.ServeHTTP(w, r)
			return
		}
		h := &heldCall{release: make(chan struct{}), gaveUp: make(chan struct{})}
		g.held = append(g.held, h)
		g.mu.Unlock()
		g.arrived <- h
		select {
		case <-h.release:
			proxy.ServeHTTP(w, r)
		case <-r.Context().Done():
			close(h.gaveUp)
		}
	}))
	g.URL = hs.URL
	t.Cleanup(func() {
		g.open()
		hs.Close()
	})
	return g
}

// next waits for the next chosen request to arrive and returns it, held.
func (g *gate) next(t *testing.T) *heldCall {
	t.Helper()
	select {
	case h := <-g.arrived:
		return h
	case <-time.After(time.Minute):
		t.Fatal("no chosen request reached the gate within a minute")
		return nil
	}
}

// open lets every held call through, and every later one.
func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.opened = true
	for _, h := range g.held {
		h.let()
	}
}

// savePlanThrough saves the plan of manifestPath made through the gate,
// with the gate open, and then holds the chosen requests again: a saved
// plan applies only through the API URL it was made through.
func (g *gate) savePlanThrough(t *testing.T, srv *imagekittest.Server, manifestPath string) (string, *reconcile.Plan) {
	t.Helper()
	g.open()
	defer g.holdAgain()
	return savePlanVia(t, srv, g.URL, manifestPath)
}

// holdAgain makes an opened gate hold the chosen requests again, and forgets
// those it saw: a test opens the gate to make a plan through it (a saved plan
// applies only to the API URL it was made from), then holds what apply sends.
func (g *gate) holdAgain() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.opened, g.held, g.calls = false, nil, 0
}

// count returns how many chosen requests reached the gate.
func (g *gate) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls
}

// requireGaveUp waits until the client has dropped the held call h.
func requireGaveUp(t *testing.T, h *heldCall) {
	t.Helper()
	select {
	case <-h.gaveUp:
	case <-time.After(time.Minute):
		t.Fatal("the client never dropped the held call")
	}
}

// signal sends sig to the running binary and waits until the kernel has
// delivered it: from then on the process knows it was signalled, and a call
// the test releases afterwards cannot overtake the signal. Where /proc is
// missing (not Linux) it only sends the signal.
func (r *running) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	require.NoError(t, r.x.Process.Signal(sig))
	if runtime.GOOS != "linux" {
		return
	}
	status := "/proc/" + strconv.Itoa(r.x.Process.Pid) + "/status"
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(status)
		if err != nil {
			return // the process has exited: it was delivered
		}
		if !signalPending(string(b)) {
			return
		}
	}
	t.Fatalf("signal %v was not delivered within a minute", sig)
}

// signalPending reports whether a /proc/PID/status text shows a signal
// pending for the process or its main thread. A process that has exited
// (a zombie, state Z) has none left to take.
func signalPending(status string) bool {
	pending := false
	for _, line := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		switch {
		case !ok:
		case k == "State" && strings.HasPrefix(v, "Z"):
			return false
		case (k == "SigPnd" || k == "ShdPnd") && strings.Trim(v, "0") != "":
			pending = true
		}
	}
	return pending
}

func TestSignalPending(t *testing.T) {
	t.Parallel()
	status := func(state, sigPnd, shdPnd string) string {
		return "Name:\ttagprune\nState:\t" + state + "\nSigPnd:\t" + sigPnd + "\nShdPnd:\t" + shdPnd + "\nSigBlk:\t0000000000000002\n"
	}
	tests := []struct {
		name, status string
		want         bool
	}{
		{"NothingPending", status("S (sleeping)", "0000000000000000", "0000000000000000"), false},
		{"SentToTheProcess", status("S (sleeping)", "0000000000000000", "0000000000000002"), true},
		{"SentToTheMainThread", status("R (running)", "0000000000004000", "0000000000000000"), true},
		{"ExitedProcessTakesNoMore", status("Z (zombie)", "0000000000000000", "0000000000000002"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, signalPending(tt.status))
		})
	}
}
