package e2e

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/reconcile"
)

// The end-to-end tests of the API's address and the key at the edges: the
// spellings of the URL, a URL where nothing listens, a redirect, a key too
// short to be safe, a server that echoes the key back; and of the messages
// they give, each fact once.

// An API URL ending in /v1 or /v1/ names the same API as without it.
func TestAPIURLWithV1Works(t *testing.T) {
	t.Parallel()
	for _, suffix := range []string{"/v1", "/v1/", "/"} {
		t.Run(suffix, func(t *testing.T) {
			t.Parallel()
			srv := emulator(t, exampleLibrary(t))
			r := tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest, "--api-url", srv.URL + suffix},
				env: []string{"IMAGEKIT_PRIVATE_KEY=" + testKey}})
			require.Equal(t, exitOK, r.code, r.stderr)
			require.Contains(t, r.stdout, "Plan: 94 files to change")
			for _, q := range emulatorRequests(t, srv) {
				require.False(t, strings.HasPrefix(q.Path, "/v1/v1/"), q.Path)
			}
		})
	}
}

// An API URL where nothing listens fails with "nothing is listening" and a
// hint that names the setting, each once, without retrying for long.
func TestUnreachableAPISaysNothingListens(t *testing.T) {
	t.Parallel()
	addr := closedURL(t)
	report := filepath.Join(t.TempDir(), "report.json")
	for _, args := range [][]string{
		{"plan", "-f", exampleManifest},
		{"apply", "-f", exampleManifest, "--auto-approve", "--report", report},
	} {
		r := tagprune(t, cmd{args: append(args, "--api-url", addr), env: []string{"IMAGEKIT_PRIVATE_KEY=" + testKey}})
		require.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		requireEachFactOnce(t, r.stderr, addr, "nothing is listening", "--api-url", "IMAGEKIT_API_URL")
		require.NotContains(t, r.stderr, "--timeout", "a refused connection is not a slow API")
	}
	rep := readReport(t, report)
	require.Contains(t, rep.Error, "nothing is listening")
	require.Empty(t, rep.Files)
}

// An https API URL that answers 307 to another server: tagprune follows no
// redirect, the other server receives nothing (so no key), and the message
// names the status and the Location once.
func TestRedirectIsRefused(t *testing.T) {
	t.Parallel()
	var other atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		other.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(elsewhere.Close)
	location := elsewhere.URL + "/v1/files"
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", location)
		w.Header().Set("X-Ik-Requestid", "req-307-e2e")
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	t.Cleanup(api.Close)
	// The binary trusts the test server's certificate, and only it.
	certs := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(certs, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw}), 0o644))
	env := []string{"SSL_CERT_FILE=" + certs, "SSL_CERT_DIR=" + t.TempDir(), "IMAGEKIT_PRIVATE_KEY=" + canaryKey}

	for _, args := range [][]string{
		{"plan", "-f", exampleManifest},
		{"apply", "-f", exampleManifest, "--auto-approve", "--report", filepath.Join(t.TempDir(), "r.json")},
		{"export", "--out", filepath.Join(t.TempDir(), "lib.json")},
	} {
		r := tagprune(t, cmd{args: append(args, "--api-url", api.URL), env: env})
		require.Equal(t, exitError, r.code, "%v\nstdout:\n%s\nstderr:\n%s", args, r.stdout, r.stderr)
		requireEachFactOnce(t, r.stderr, "HTTP 307", location, "req-307-e2e", "--api-url")
		require.Contains(t, r.stderr, "redirect refused")
		requireNoLeak(t, "stderr", r.stderr)
	}
	require.Zero(t, other.Load(), "the server redirected to received nothing")
}

// A server that answers with a long error body that is not JSON and holds
// the key: the message quotes the body redacted, then cut, so no part of the
// key is printed wherever the cut falls, and it carries the request id once.
func TestKeyEchoedInALongBodyIsNeverPrinted(t *testing.T) {
	t.Parallel()
	for _, offset := range []int{150, 185, 190, 195, 199, 205} {
		t.Run(strconv.Itoa(offset), func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("X-Ik-Requestid", "req-400-e2e")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(strings.Repeat("x", offset) + canaryKey + strings.Repeat("y", 300)))
			}))
			t.Cleanup(srv.Close)
			r := tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest, "--api-url", srv.URL, "--log-level", "debug"},
				env: []string{"IMAGEKIT_PRIVATE_KEY=" + canaryKey}})
			require.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			out := r.stdout + r.stderr
			for i := 0; i+6 <= len(canaryKey); i++ {
				require.NotContains(t, out, canaryKey[i:i+6], "part of the key is printed")
			}
			requireEachFactOnce(t, r.stderr, "HTTP 400", "req-400-e2e")
		})
	}
}

// apply writes a report whenever it ran: also when it fails before any
// change (a refused key, an API failing on every request, a plan file that
// cannot be read, a broken manifest). It lists no file when there was no
// plan yet, says why, and stdout says nothing was changed.
func TestApplyReportsAFailureBeforeAnyChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  func(apiURL string) []string
		want string
	}{
		{name: "RefusedKey", args: []string{"apply", "-f", exampleManifest, "--auto-approve"},
			env: func(apiURL string) []string {
				return []string{"IMAGEKIT_API_URL=" + apiURL, "IMAGEKIT_PRIVATE_KEY=not-the-key"}
			},
			want: "HTTP 401"},
		{name: "ServerErrorsOnEveryRequest", args: []string{"apply", "-f", exampleManifest, "--auto-approve"},
			env: func(string) []string { return nil }, want: "HTTP 500"},
		{name: "DamagedPlanFile", args: []string{"apply", filepath.Join(planFixtures, "truncated.json")},
			env: func(apiURL string) []string { return urlEnv(apiURL) }, want: "truncated"},
		{name: "BrokenManifest", args: []string{"apply", "-f", invalidManifest, "--auto-approve"},
			env: func(apiURL string) []string { return urlEnv(apiURL) }, want: "manifest errors found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := exampleLibrary(t)
			srv := emulator(t, files)
			apiURL := srv.URL
			if tt.name == "ServerErrorsOnEveryRequest" {
				f := newFront(t, srv, func(w http.ResponseWriter, _ *http.Request) bool {
					w.WriteHeader(http.StatusInternalServerError)
					return true
				})
				apiURL = f.URL
			}
			env := tt.env(apiURL)
			if env == nil {
				env = urlEnv(apiURL)
			}
			report := filepath.Join(t.TempDir(), "report.json")
			r := tagprune(t, cmd{args: append(tt.args, "--report", report), env: env})
			require.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			require.Contains(t, r.stdout, "Apply failed before any change: nothing was changed. Report: "+report)
			rep := readReport(t, report)
			require.Equal(t, "apply", rep.Command)
			require.Contains(t, rep.Error, tt.want)
			require.False(t, rep.Interrupted)
			require.Empty(t, rep.Files, "no plan, so no file is listed")
			require.Zero(t, emulatorStats(t, srv).Requests.RemoveTags)
			requireState(t, files, srv.Handler().Files(), tagsByID(files))
		})
	}
}

// The hint after plan --out is the exact command that applies the plan: run
// as printed, it applies it, in --library mode as against an API that is not
// the default one.
func TestPlanOutPrintsTheCommandThatAppliesIt(t *testing.T) {
	t.Parallel()
	t.Run("Library", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		copyFile(t, exampleLibraryDoc, filepath.Join(dir, "lib.json"))
		r := tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest, "--library", "lib.json", "--out", "plan.json"}, dir: dir})
		require.Equal(t, exitOK, r.code, r.stderr)
		line := requireApplyHint(t, r.stderr, "tagprune apply plan.json --library lib.json")
		r = tagprune(t, cmd{args: strings.Fields(line)[1:], dir: dir})
		require.Equal(t, exitOK, r.code, "the printed command applies the plan:\n%s\n%s", r.stdout, r.stderr)
		require.Contains(t, r.stdout, "Apply complete: 94 files changed")
	})
	t.Run("APIURL", func(t *testing.T) {
		t.Parallel()
		files := exampleLibrary(t)
		srv := emulator(t, files)
		dir := t.TempDir()
		env := []string{"IMAGEKIT_PRIVATE_KEY=" + testKey}
		r := tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest, "--api-url", srv.URL, "--out", "plan.json"}, env: env, dir: dir})
		require.Equal(t, exitOK, r.code, r.stderr)
		line := requireApplyHint(t, r.stderr, "tagprune apply plan.json --api-url "+srv.URL)
		r = tagprune(t, cmd{args: strings.Fields(line)[1:], env: env, dir: dir})
		require.Equal(t, exitOK, r.code, "the printed command applies the plan:\n%s\n%s", r.stdout, r.stderr)
		requireDesired(t, []string{exampleManifest}, files, srv.Handler().Files())
	})
}

// requireApplyHint returns the command printed after "Apply exactly this
// plan with: ", which must be want.
func requireApplyHint(t *testing.T, stderr, want string) string {
	t.Helper()
	_, after, ok := strings.Cut(stderr, "Apply exactly this plan with: ")
	require.True(t, ok, "no apply hint in:\n%s", stderr)
	line, _, _ := strings.Cut(after, "\n")
	require.Equal(t, want, line)
	return line
}

// A stale plan's stdout says the plan was refused, never that the apply is
// complete.
func TestStalePlanStdoutSaysRefused(t *testing.T) {
	t.Parallel()
	files := exampleLibrary(t)
	srv := emulator(t, files)
	planFile, plan := savePlan(t, srv, exampleManifest)
	target := changeWithout(t, plan, "retire-spring-sale-2022", "sale")
	callAPI(t, srv, http.MethodPost, "/v1/files/addTags", map[string]any{"fileIds": []string{target.FileID}, "tags": []string{"sale"}}, http.StatusOK)
	report := filepath.Join(t.TempDir(), "r.json")

	r := tagprune(t, cmd{args: []string{"apply", planFile, "--report", report}, env: apiEnv(srv)})
	require.Equal(t, exitStale, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "Apply refused: the plan is stale; nothing was changed. Report: "+report)
	assert.NotContains(t, r.stdout, "Apply complete")
	assert.Equal(t, 1, strings.Count(r.stderr, "plan again"), "the advice is given once:\n%s", r.stderr)
	rep := readReport(t, report)
	for _, f := range rep.Files {
		assert.Equal(t, reconcile.StatusPending, f.Status)
	}
}

// A server that ignores skip returns the same page for ever: the listing is
// stopped with a message that says the server does not page like ImageKit,
// and the plan fails instead of reading without end.
func TestServerThatIgnoresSkipIsStopped(t *testing.T) {
	t.Parallel()
	srv := emulator(t, faultLibrary())
	target, err := url.Parse(srv.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	ignoring := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		q.Del("skip")
		r.URL.RawQuery = q.Encode()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(ignoring.Close)
	manifests := writeFaultManifest(t)

	r := tagprune(t, cmd{args: []string{"plan", "-f", manifests[0]}, env: urlEnv(ignoring.URL)})
	require.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	require.Contains(t, r.stderr, "listing does not end")
	requireEachFactOnce(t, r.stderr, "does not page its listings like the ImageKit API", "--api-url")
	require.Less(t, emulatorStats(t, srv).Requests.List, int64(20), "the listing stopped early")
}
