package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/reconcile"
)

// The end-to-end tests of signals: from the first SIGINT or SIGTERM no
// request starts, whatever the run was doing (reading, waiting for a rate
// limit or a retry, sending calls); the run says at once what it waits for;
// a second signal abandons the calls in flight; the report is written and
// the exit code is 130. Every step waits for an event (a request held at a
// gate, a line on stderr), never for a duration.

// inFlight reads the number of calls a "stopping:" line says are in flight.
var inFlight = regexp.MustCompile(`for (\d+) calls? in flight`)

// front is an HTTP server on loopback in front of an emulator: it answers
// the requests its answer function takes, counting them, and forwards the
// rest.
type front struct {
	URL   string
	taken atomic.Int64
}

// newFront starts a front before srv; answer returns false for a request
// it leaves to the emulator.
func newFront(t *testing.T, srv *imagekittest.Server, answer func(http.ResponseWriter, *http.Request) bool) *front {
	t.Helper()
	target, err := url.Parse(srv.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	f := &front{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if answer(w, r) {
			f.taken.Add(1)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	f.URL = hs.URL
	return f
}

// isRemoveTags reports whether r is a removeTags call.
func isRemoveTags(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/v1/files/removeTags"
}

// requireInterruptedReport checks the report of an interrupted apply: it
// says so, and no file is changed, failed or missing beyond changed ones.
func requireAllPending(t *testing.T, rep *reconcile.Report) {
	t.Helper()
	require.True(t, rep.Interrupted, "the report says the run was interrupted")
	for _, f := range rep.Files {
		require.Equal(t, reconcile.StatusPending, f.Status, "file %s", f.FileID)
	}
	require.Zero(t, rep.Summary.FilesChanged)
}

// At an API limit of 2 requests per second, calls queue on the client's
// pacer. A SIGINT while one call is held at the gate starts nothing more:
// the emulator receives, after the moment tagprune says it stops, only the
// calls that line says are in flight.
func TestSignalAtRateLimitStartsNothingAfter(t *testing.T) {
	t.Parallel()
	before := faultLibrary()
	manifests := writeFaultManifest(t)
	srv := emulator(t, before, imagekittest.WithRateLimit(2))
	g := newGate(t, srv)
	report := filepath.Join(t.TempDir(), "report.json")
	run := startTagprune(t, cmd{args: []string{"apply", "-f", manifests[0], "--auto-approve", "--report", report,
		"--concurrency", "4"}, env: urlEnv(g.URL)})

	g.next(t).let()
	held := []*heldCall{g.next(t)}
	run.signal(t, os.Interrupt)
	line := run.waitStderr(t, "stopping: ")
	m := inFlight.FindStringSubmatch(line)
	require.NotNil(t, m, "the line says how many calls are in flight: %q", line)
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 1, "the held call is in flight")
	require.Contains(t, line, "press Ctrl-C again to abandon")
	for len(held) < n {
		held = append(held, g.next(t))
	}
	seen := emulatorRequests(t, srv) // all the API had received when tagprune said it stops
	for _, h := range held {
		h.let()
	}
	res := run.wait(t)

	require.Equal(t, exitInterrupted, res.code, "stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	requireNoPanic(t, res.stderr)
	require.Equal(t, 1+n, g.count(), "no call started after the signal")
	all := emulatorRequests(t, srv)
	require.Len(t, all, len(seen)+n, "after the stop, the API received only the calls in flight")
	for _, r := range all[len(seen):] {
		require.Equal(t, "/v1/files/removeTags", r.Path, "request %s %s started after the stop", r.Method, r.Path)
	}
	calls := removeTagsCalls(t, all)
	changed := 0
	for _, c := range calls {
		changed += len(c.FileIDs)
	}
	rep := readReport(t, report)
	require.True(t, rep.Interrupted)
	require.Equal(t, changed, rep.Summary.FilesChanged, "the calls in flight finished and count as changed")
	require.Positive(t, rep.Summary.FilesPending, "the calls never sent leave their files pending")
	requireFilesMatchLibrary(t, rep, before, srv.Handler().Files())
	requireSafeCalls(t, manifests, before, calls)
}

// requireFilesMatchLibrary checks an interrupted report's files against the
// library: changed files changed, pending ones did not.
func requireFilesMatchLibrary(t *testing.T, rep *reconcile.Report, before, after []imagekittest.File) {
	t.Helper()
	was, now := tagsByID(before), tagsByID(after)
	for _, f := range rep.Files {
		switch f.Status {
		case reconcile.StatusChanged:
			require.NotEqual(t, was[f.FileID], now[f.FileID], "changed file %s", f.FileID)
		case reconcile.StatusPending:
			require.Equal(t, was[f.FileID], now[f.FileID], "pending file %s is untouched", f.FileID)
		default:
			t.Fatalf("file %s is %s after an interrupt without faults", f.FileID, f.Status)
		}
	}
}

// A call waiting out a 429's reset, or a backoff before a retry, is
// abandoned at once on SIGINT: no retry is sent, the run exits 130 long
// before the wait would end, and the report lists the files pending. The
// wait itself is shown on stderr as it starts, with the request id.
func TestSignalDuringAWaitEndsIt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		header map[string]string
		wait   string // the line that shows the wait
	}{
		{name: "RateLimitWait", status: http.StatusTooManyRequests,
			header: map[string]string{"X-RateLimit-Reset": "600000", "X-Ik-Requestid": "req-429-e2e"},
			wait:   "waiting 10m0s for the rate limit of remove tags (HTTP 429, request id req-429-e2e)"},
		{name: "RetryBackoff", status: http.StatusServiceUnavailable,
			header: map[string]string{"X-Ik-Requestid": "req-503-e2e"},
			wait:   "before retrying remove tags (HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			before := exampleLibrary(t)
			srv := emulator(t, before)
			f := newFront(t, srv, func(w http.ResponseWriter, r *http.Request) bool {
				if !isRemoveTags(r) {
					return false
				}
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(`{"message":"try later"}`))
				return true
			})
			report := filepath.Join(t.TempDir(), "report.json")
			run := startTagprune(t, cmd{args: []string{"apply", "-f", exampleManifest, "--auto-approve", "--report", report,
				"--concurrency", "1"}, env: urlEnv(f.URL)})

			run.waitStderr(t, tt.wait)
			sent := f.taken.Load()
			run.signal(t, os.Interrupt)
			require.Contains(t, run.waitStderr(t, "stopping: "), "no call is in flight and none will start")
			res := run.wait(t)

			require.Equal(t, exitInterrupted, res.code, "stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
			requireNoPanic(t, res.stderr)
			require.Equal(t, sent, f.taken.Load(), "no retry after the signal")
			require.Zero(t, emulatorStats(t, srv).Requests.RemoveTags)
			requireAllPending(t, readReport(t, report))
			require.Contains(t, res.stdout, "Apply interrupted: 0 files changed")
		})
	}

	t.Run("RateLimitWaitOverTheCapFails", func(t *testing.T) {
		t.Parallel()
		srv := emulator(t, exampleLibrary(t))
		f := newFront(t, srv, func(w http.ResponseWriter, r *http.Request) bool {
			if !isRemoveTags(r) {
				return false
			}
			w.Header().Set("X-RateLimit-Reset", "600000")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		})
		report := filepath.Join(t.TempDir(), "report.json")
		r := tagprune(t, cmd{args: []string{"apply", "-f", exampleManifest, "--auto-approve", "--report", report,
			"--max-rate-limit-wait", "1m"}, env: urlEnv(f.URL)})
		require.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		require.Contains(t, r.stderr, "10m0s")
		require.Contains(t, r.stderr, "longer than the cap on rate-limit waits (1m0s)")
		requireEachFactOnce(t, r.stderr, "--max-rate-limit-wait", "HTTP 429")
		require.EqualValues(t, 1, f.taken.Load(), "the wait is refused, not retried")
		rep := readReport(t, report)
		require.Contains(t, rep.Error, "longer than the cap")
		// Only removeTags is refused: a file with a tag to remove is not
		// changed (its other calls may have gone through).
		for _, f := range rep.Files {
			if len(f.RemoveTags) > 0 {
				require.NotEqual(t, reconcile.StatusChanged, f.Status, "%s: its removeTags call was refused", f.FilePath)
			}
		}
		require.Zero(t, rep.Summary.TagsRemoved)
	})
}

// A SIGINT while the library is read cancels the read in flight and sends
// no other: plan prints nothing on stdout, apply writes a report that says
// nothing was changed, and both exit 130.
func TestSignalWhileReadingStopsReading(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// args are the command's; apiURL is the gate's URL, which a saved
		// plan must be made through to apply through it.
		args      func(t *testing.T, srv *imagekittest.Server, apiURL, report string) []string
		planned   func(t *testing.T) int // the files a report lists; -1: no report
		wantOut   string
		wantError string
	}{
		{name: "Plan", args: func(*testing.T, *imagekittest.Server, string, string) []string {
			return []string{"plan", "-f", exampleManifest}
		}, wantError: "interrupted while reading the library: nothing was changed"},
		{name: "ApplyManifest", args: func(_ *testing.T, _ *imagekittest.Server, _, report string) []string {
			return []string{"apply", "-f", exampleManifest, "--auto-approve", "--report", report}
		}, wantOut: "Apply interrupted before any change", wantError: "interrupted while reading the library"},
		{name: "ApplySavedPlan", args: func(t *testing.T, srv *imagekittest.Server, apiURL, report string) []string {
			planFile, _ := savePlanVia(t, srv, apiURL, exampleManifest)
			return []string{"apply", planFile, "--report", report}
		}, wantOut: "Apply interrupted before any change", wantError: "interrupted while checking the plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := exampleLibrary(t)
			srv := emulator(t, files)
			report := filepath.Join(t.TempDir(), "report.json")
			g := newGateFor(t, srv, isList)
			g.open()
			args := tt.args(t, srv, g.URL, report)
			g.holdAgain()
			listsBefore := emulatorStats(t, srv).Requests.List
			run := startTagprune(t, cmd{args: args, env: urlEnv(g.URL)})
			held := g.next(t)
			run.signal(t, os.Interrupt)
			require.Contains(t, run.waitStderr(t, "stopping: "), "cancelling the reads in flight; nothing was changed")
			res := run.wait(t)

			require.Equal(t, exitInterrupted, res.code, "stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
			requireNoPanic(t, res.stderr)
			requireGaveUp(t, held)
			require.Equal(t, 1, g.count(), "no page was asked for after the signal")
			require.Equal(t, listsBefore, emulatorStats(t, srv).Requests.List, "the held read never reached the API")
			require.Contains(t, res.stderr, tt.wantError)
			requireState(t, files, srv.Handler().Files(), tagsByID(files))
			if tt.wantOut == "" {
				require.Empty(t, res.stdout, "an interrupted plan shows no partial plan")
				return
			}
			require.Contains(t, res.stdout, tt.wantOut)
			rep := readReport(t, report)
			requireAllPending(t, rep)
			require.Contains(t, rep.Error, "interrupted")
		})
	}
}

// A second signal abandons the calls in flight at once, however long the
// grace period: the client drops the held calls, their files are pending,
// and the run exits 130 with its report written.
func TestSecondSignalAbandonsCallsInFlight(t *testing.T) {
	t.Parallel()
	before := faultLibrary()
	manifests := writeFaultManifest(t)
	srv := emulator(t, before)
	g := newGate(t, srv)
	report := filepath.Join(t.TempDir(), "report.json")
	run := startTagprune(t, cmd{args: []string{"apply", "-f", manifests[0], "--auto-approve", "--report", report,
		"--concurrency", "2", "--grace", "10m"}, env: urlEnv(g.URL)})
	g.next(t).let()
	held := []*heldCall{g.next(t), g.next(t)}

	run.signal(t, os.Interrupt)
	require.Contains(t, run.waitStderr(t, "stopping: "), "waiting up to 10m0s for 2 calls in flight; press Ctrl-C again to abandon them")
	run.signal(t, os.Interrupt)
	run.waitStderr(t, "abandoning 2 calls in flight")
	res := run.wait(t) // the grace period is ten minutes: only abandoning ends the run now

	require.Equal(t, exitInterrupted, res.code, "stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	requireNoPanic(t, res.stderr)
	for _, h := range held {
		requireGaveUp(t, h)
	}
	require.Equal(t, 3, g.count(), "no call started after the first signal")
	calls := removeTagsCalls(t, emulatorRequests(t, srv))
	require.Len(t, calls, 1, "only the call answered before the signal reached the API")
	rep := readReport(t, report)
	require.True(t, rep.Interrupted)
	require.Equal(t, len(calls[0].FileIDs), rep.Summary.FilesChanged, "no abandoned call is reported changed")
	requireFilesMatchLibrary(t, rep, before, srv.Handler().Files())
}
