package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/tagprune/tagprune/internal/english"
)

// interrupt follows SIGINT and SIGTERM for one run and the API requests the
// run sends. The first signal ends the run's context: from then on no
// request starts (the client stops, and the transport refuses what the
// client had already decided to send), and the run says at once on stderr
// what it still waits for. The second signal abandons the requests in
// flight. Every method is safe for concurrent use; an interrupt made by
// newInterrupt and never signalled lets everything through.
type interrupt struct {
	stop          context.Context // the run's context; nil until watch
	abandon       context.Context // ends on the second signal
	abandonCancel context.CancelFunc

	mu     sync.Mutex
	w      io.Writer
	say    func(string)        // writes a line for people; nil: to w
	doing  func(flight) string // what stopping means now; nil: nothing to say
	flight flight              // requests sent and not yet answered
	said   bool                // the run has said that it stops
}

// flight counts the requests in flight: calls that change the library
// (POST) and reads (GET).
type flight struct {
	calls, reads int
}

func (f *flight) add(method string, n int) {
	if method == http.MethodGet || method == http.MethodHead {
		f.reads += n
	} else {
		f.calls += n
	}
}

// errAbandoned is the cause of a request aborted by the second signal.
var errAbandoned = errors.New("abandoned on the second interrupt")

// newInterrupt returns an interrupt that writes its messages on w.
func newInterrupt(w io.Writer) *interrupt {
	in := &interrupt{w: w}
	in.abandon, in.abandonCancel = context.WithCancel(context.Background())
	return in
}

// watch makes ctx the run's context: its end is the first interrupt.
func (in *interrupt) watch(ctx context.Context) {
	in.mu.Lock()
	in.stop = ctx
	in.mu.Unlock()
	context.AfterFunc(ctx, in.stopping)
}

// follow reads signals until done is closed: the first one cancels the
// run's context with stop, the second abandons the requests in flight.
// Later ones change nothing.
func (in *interrupt) follow(sigs <-chan os.Signal, stop context.CancelCauseFunc, done <-chan struct{}) {
	for n := 1; ; n++ {
		select {
		case sig := <-sigs:
			switch n {
			case 1:
				stop(fmt.Errorf("%v signal received: %w", sig, context.Canceled))
			case 2:
				in.abandonNow()
			}
		case <-done:
			return
		}
	}
}

// during sets what the run says if it is interrupted from now on: doing
// returns the text after "stopping: ", given the requests in flight; nil
// says nothing. say, if not nil, writes the line instead of the writer
// (a progress display clears itself first).
//
// A run that has stopped but not yet said so (its context ended, and it
// moved on before the announcement) says it now, with what it was doing
// when it stopped, or if it was doing nothing to speak of, with doing.
func (in *interrupt) during(doing func(flight) string, say func(string)) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if say != nil {
		in.say = say
	}
	stopped := in.stop != nil && in.stop.Err() != nil
	if stopped {
		in.stoppingLocked()
	}
	in.doing = doing
	if stopped {
		in.stoppingLocked()
	}
}

// stopping says, once, what the run waits for now that it stops.
func (in *interrupt) stopping() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.stoppingLocked()
}

func (in *interrupt) stoppingLocked() {
	if in.said || in.doing == nil {
		return
	}
	in.said = true
	in.sayLocked("stopping: " + in.doing(in.flight))
}

// abandonNow aborts the requests in flight, saying how many calls there
// are.
func (in *interrupt) abandonNow() {
	in.mu.Lock()
	if n := in.flight.calls; n > 0 {
		in.sayLocked(fmt.Sprintf("abandoning %s in flight: the API may or may not have applied %s; their files are reported pending",
			english.Plural(n, "call", "calls"), them(n)))
	}
	in.mu.Unlock()
	in.abandonCancel()
}

func (in *interrupt) sayLocked(line string) {
	if in.say != nil {
		in.say(line)
		return
	}
	if in.w != nil {
		fmt.Fprintln(in.w, line)
	}
}

// begin counts a request that is about to be sent, or refuses it once the
// run is stopping. The returned context ends when the request is
// abandoned; end must be called when its answer has been read.
func (in *interrupt) begin(ctx context.Context, method string) (context.Context, func(), error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.stop != nil && in.stop.Err() != nil {
		return nil, nil, errStopping
	}
	in.flight.add(method, 1)
	rctx, cancel := context.WithCancelCause(ctx)
	unhook := context.AfterFunc(in.abandon, func() { cancel(errAbandoned) })
	var once sync.Once
	end := func() {
		once.Do(func() {
			unhook()
			cancel(nil)
			in.mu.Lock()
			in.flight.add(method, -1)
			in.mu.Unlock()
		})
	}
	return rctx, end, nil
}

// errStopping refuses a request that would start after the first signal.
var errStopping = errors.New("not sent: tagprune is stopping after an interrupt")

// transport wraps next so that the run's requests are counted, refused
// once it stops, and aborted when they are abandoned.
func (in *interrupt) transport(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		ctx, end, err := in.begin(req.Context(), req.Method)
		if err != nil {
			return nil, err
		}
		resp, err := next.RoundTrip(req.WithContext(ctx))
		if err != nil {
			end()
			return nil, err
		}
		resp.Body = &endingBody{ReadCloser: resp.Body, end: end}
		return resp, nil
	})
}

// handler wraps an in-process handler so that its requests are counted.
// They are not refused: an in-process answer takes no time, and the client
// itself starts no request once it is stopped.
func (in *interrupt) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		in.flight.add(r.Method, 1)
		in.mu.Unlock()
		defer func() {
			in.mu.Lock()
			in.flight.add(r.Method, -1)
			in.mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// endingBody calls end when the body is closed.
type endingBody struct {
	io.ReadCloser
	end func()
}

func (b *endingBody) Close() error {
	err := b.ReadCloser.Close()
	b.end()
	return err
}

// apiTransport is the transport of API requests: the standard one, tuned
// like the api package's own default, wrapped by the run's interrupt.
func (in *interrupt) apiTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	t.TLSHandshakeTimeout = 10 * time.Second
	return in.transport(t)
}
