package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/reconcile"
)

// running is the built binary started in the background.
type running struct {
	x              *exec.Cmd
	cancel         context.CancelFunc
	stdout, stderr output
	done           chan struct{}
	err            error
}

// output is what a running process has written so far, readable while it
// writes more.
type output struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed at the next write
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, err := o.b.Write(p)
	if o.changed != nil {
		close(o.changed)
		o.changed = nil
	}
	return n, err
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// next returns the text so far and a channel closed at the next write.
func (o *output) next() (string, <-chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.changed == nil {
		o.changed = make(chan struct{})
	}
	return o.b.String(), o.changed
}

// waitStderr waits until the process has written a line containing s on
// stderr, and returns that line. It fails the test when the process ends
// first, or after a minute.
func (r *running) waitStderr(t *testing.T, s string) string {
	t.Helper()
	return r.waitLine(t, &r.stderr, "stderr", s)
}

// waitStdout is waitStderr for stdout.
func (r *running) waitStdout(t *testing.T, s string) string {
	t.Helper()
	return r.waitLine(t, &r.stdout, "stdout", s)
}

// waitLine waits until the process has written a line containing s on o
// (named name in messages), and returns that line.
func (r *running) waitLine(t *testing.T, o *output, name, s string) string {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		text, changed := o.next()
		if i := strings.Index(text, s); i >= 0 {
			if end := strings.IndexByte(text[i:], '\n'); end >= 0 {
				start := strings.LastIndexByte(text[:i], '\n') + 1
				return text[start : i+end]
			}
		}
		select {
		case <-changed:
		case <-r.done:
			if text, _ := o.next(); strings.Contains(text, s) {
				continue
			}
			t.Fatalf("tagprune ended without writing %q on %s:\nstderr:\n%s\nstdout:\n%s", s, name, r.stderr.String(), r.stdout.String())
		case <-deadline:
			t.Fatalf("tagprune wrote no %q on %s within a minute:\nstderr:\n%s\nstdout:\n%s", s, name, r.stderr.String(), r.stdout.String())
		}
	}
}

// startTagprune starts the built binary like tagprune does, without waiting
// for it. The process is killed when the test ends, if it is still running.
func startTagprune(t *testing.T, c cmd) *running {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	r := &running{cancel: cancel, done: make(chan struct{})}
	r.x = exec.CommandContext(ctx, binary, c.args...)
	r.x.Env = append(cleanEnv(), c.env...)
	r.x.Dir = c.dir
	r.x.Stdin = c.stdin
	r.x.Stdout, r.x.Stderr = &r.stdout, &r.stderr
	require.NoError(t, r.x.Start())
	go func() {
		r.err = r.x.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// wait waits for the process to end and returns what it printed.
func (r *running) wait(t *testing.T) result {
	t.Helper()
	<-r.done
	code := 0
	if ee, ok := r.err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if r.err != nil {
		t.Fatalf("run tagprune: %v", r.err)
	}
	return result{stdout: r.stdout.String(), stderr: r.stderr.String(), code: code}
}

// SIGINT or SIGTERM in the middle of apply: no call starts after the
// signal, calls in flight end within the grace period or are abandoned
// after it, the report lists the changed and pending files, the exit code
// is 130, and a second run converges. A gate holds the calls in flight, so
// the signal always comes while they are.
func TestApplyInterrupted(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		sig         os.Signal
		concurrency int
		grace       time.Duration
		// finished says whether the calls in flight at the signal are let
		// through (and end within the grace period) or held until the run
		// abandons them.
		finished bool
	}{
		{name: "SIGINT lets the call in flight finish", sig: os.Interrupt, concurrency: 1, grace: 30 * time.Second, finished: true},
		{name: "SIGTERM lets the calls in flight finish", sig: syscall.SIGTERM, concurrency: 3, grace: 30 * time.Second, finished: true},
		{name: "SIGINT abandons calls slower than the grace period", sig: os.Interrupt, concurrency: 2, grace: 100 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before := faultLibrary()
			manifests := writeFaultManifest(t)
			srv := emulator(t, before)
			g := newGate(t, srv)
			report := filepath.Join(t.TempDir(), "report.json")
			args := []string{"apply", "-f", manifests[0], "--auto-approve", "--report", report,
				"--concurrency", strconv.Itoa(tc.concurrency), "--grace", tc.grace.String()}

			run := startTagprune(t, cmd{args: args, env: urlEnv(g.URL)})
			// The client sends an endpoint's first call alone and waits for
			// its rate-limit headers before it sends more at once, so the
			// first call is let through before the concurrent ones are held.
			g.next(t).let()
			var inFlight []*heldCall
			for range tc.concurrency {
				inFlight = append(inFlight, g.next(t))
			}
			run.signal(t, tc.sig)
			// The calls held are let through only once the process has
			// said it stops: from then on it starts no call.
			line := run.waitStderr(t, "stopping: ")
			require.Contains(t, line, fmt.Sprintf("waiting up to %s for %s in flight", tc.grace, callsWord(tc.concurrency)))
			if tc.finished {
				for _, h := range inFlight {
					h.let()
				}
			}
			res := run.wait(t)

			require.Equal(t, exitInterrupted, res.code, "stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
			requireNoPanic(t, res.stderr)
			require.Contains(t, res.stderr, "interrupted")
			require.Equal(t, 1+tc.concurrency, g.count(), "no call starts after the signal")
			calls := removeTagsCalls(t, emulatorRequests(t, srv))
			if tc.finished {
				require.Len(t, calls, 1+tc.concurrency, "the first call and the calls in flight reached the API")
			} else {
				for _, h := range inFlight {
					requireGaveUp(t, h)
				}
				require.Len(t, calls, 1, "only the first call, answered before the signal, reached the API")
			}

			rep := readReport(t, report)
			require.True(t, rep.Interrupted)
			require.Positive(t, rep.Summary.FilesPending, "the report lists the files not reached")
			require.Less(t, len(calls), rep.Summary.RemoveTagsCalls, "the run stopped early")
			requireFilesMatchLibrary(t, rep, before, srv.Handler().Files())
			if tc.finished {
				require.Greater(t, rep.Summary.FilesChanged, len(calls[0].FileIDs), "the calls in flight finished")
			} else {
				require.Equal(t, len(calls[0].FileIDs), rep.Summary.FilesChanged, "no abandoned call is reported changed")
			}
			requireSafeCalls(t, manifests, before, calls)

			// A second run finishes the job.
			r := tagprune(t, cmd{args: []string{"apply", "-f", manifests[0], "--auto-approve", "--report", report, "--concurrency", "8"}, env: apiEnv(srv)})
			require.Equal(t, 0, r.code, "second run:\n%s\n%s", r.stdout, r.stderr)
			requireState(t, before, srv.Handler().Files(), desiredState(t, manifests, before))
			requireSafeCalls(t, manifests, before, removeTagsCalls(t, emulatorRequests(t, srv)))
		})
	}
}

// A call answered 404 after the signal is not sent again without its
// missing file: that would be a new call. Its other files stay pending, the
// missing one is reported missing, and a second run converges.
func TestApplyInterruptedDuringNotFound(t *testing.T) {
	t.Parallel()
	before := faultLibrary()
	manifests := writeFaultManifest(t)
	srv := emulator(t, before)
	g := newGate(t, srv)
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	planFile, plan := g.savePlanThrough(t, srv, manifests[0])
	require.GreaterOrEqual(t, len(plan.Batches), 3)
	gone := plan.Batches[1].FileIDs[0]

	run := startTagprune(t, cmd{args: []string{"apply", planFile, "--report", report, "--concurrency", "1"}, env: urlEnv(g.URL)})
	// The file of the second call is deleted while the first is in flight,
	// and the signal comes while the second is: its 404 comes after.
	first := g.next(t)
	deleteFile(t, srv, gone)
	first.let()
	second := g.next(t)
	run.signal(t, os.Interrupt)
	require.Contains(t, run.waitStderr(t, "stopping: "), "for 1 call in flight")
	second.let()
	res := run.wait(t)
	require.Equal(t, exitInterrupted, res.code, "stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)

	require.Equal(t, 2, g.count(), "no call is sent after the signal, not even the rest of a 404")
	calls := removeTagsCalls(t, emulatorRequests(t, srv))
	require.Len(t, calls, 2)
	require.Equal(t, 404, calls[1].Status)
	rep := readReport(t, report)
	require.True(t, rep.Interrupted)
	for _, f := range rep.Files {
		switch {
		case f.FileID == gone:
			require.Equal(t, reconcile.StatusMissing, f.Status)
		case slices.Contains(plan.Batches[0].FileIDs, f.FileID):
			require.Equal(t, reconcile.StatusChanged, f.Status, f.FileID)
		default:
			require.Equal(t, reconcile.StatusPending, f.Status, f.FileID)
		}
	}

	r := tagprune(t, cmd{args: []string{"apply", "-f", manifests[0], "--auto-approve", "--report", report}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, "second run:\n%s\n%s", r.stdout, r.stderr)
	requireConverged(t, manifests, before, srv.Handler().Files())
}

// callsWord says "1 call" or "N calls", as tagprune counts calls in flight.
func callsWord(n int) string {
	if n == 1 {
		return "1 call"
	}
	return strconv.Itoa(n) + " calls"
}
