package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/reconcile"
)

// faultManifest governs a generated library with exact tags, a glob with an
// exclusion and a searchQuery, so that a plan has calls of several shapes.
const faultManifest = `version: 1
rules:
  - name: retire-old-sales
    files:
      paths: [/products/, /campaigns/]
    forbiddenTags: [sale2019, sale2020, clearance]
  - name: retire-2023-campaigns
    files:
      paths: [/]
      exclude:
        paths: [/archive/]
    forbiddenTags: ["campaign-2023-*"]
  - name: old-blog-drafts
    files:
      paths: [/blog/, /brand/]
      searchQuery: 'createdAt < "2022-06-01"'
    forbiddenTags: [draft, do-not-use, legacy]
`

// faultLibrary is a generated library big enough for a dozen removeTags
// calls, the same on every run.
func faultLibrary() []imagekittest.File { return imagekittest.GenerateLibrary(4000, 42) }

// writeFaultManifest writes faultManifest to a temporary directory.
func writeFaultManifest(t *testing.T) []string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tagprune.yaml")
	require.NoError(t, os.WriteFile(p, []byte(faultManifest), 0o644))
	return []string{p}
}

// removeTagsCall is the body of one recorded removeTags request.
type removeTagsCall struct {
	FileIDs []string
	Tags    []string
	Status  int
}

// removeTagsCalls returns the removeTags requests the emulator recorded,
// from the index first on.
func removeTagsCalls(t *testing.T, reqs []imagekittest.Request) []removeTagsCall {
	t.Helper()
	var out []removeTagsCall
	for _, r := range reqs {
		if r.Method != http.MethodPost || r.Path != "/v1/files/removeTags" {
			continue
		}
		body, ok := r.Body.(map[string]any)
		require.True(t, ok, "removeTags body is a JSON object: %#v", r.Body)
		out = append(out, removeTagsCall{FileIDs: strs(t, body["fileIds"]), Tags: strs(t, body["tags"]), Status: r.Status})
	}
	return out
}

func strs(t *testing.T, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	require.True(t, ok, "want a JSON array, got %#v", v)
	out := make([]string, len(list))
	for i, x := range list {
		out[i], ok = x.(string)
		require.True(t, ok, "want strings, got %#v", x)
	}
	return out
}

// requireSafeCalls checks the safety invariant on every removeTags call the
// emulator saw: 1..50 files, and every tag forbidden for every file by a
// rule that selects it, judged by the oracle on the library before the run.
func requireSafeCalls(t *testing.T, manifests []string, before []imagekittest.File, calls []removeTagsCall) {
	t.Helper()
	o := newOracle(t, manifests)
	byID := make(map[string]*imagekittest.File, len(before))
	for i := range before {
		byID[before[i].FileID] = &before[i]
	}
	for i, c := range calls {
		require.NotEmpty(t, c.FileIDs, "call %d", i)
		require.LessOrEqual(t, len(c.FileIDs), 50, "call %d carries too many files", i)
		require.NotEmpty(t, c.Tags, "call %d", i)
		for _, id := range c.FileIDs {
			f := byID[id]
			require.NotNil(t, f, "call %d names file %s, which was never in the library", i, id)
			for _, tag := range c.Tags {
				require.True(t, o.forbidden(f, tag), "call %d removes tag %q from %s (%s), where no rule forbids it", i, tag, id, f.FilePath)
			}
		}
	}
}

// statsDelta is what the emulator counted between two snapshots.
func statsDelta(a, b imagekittest.Stats) imagekittest.Stats {
	return imagekittest.Stats{
		Requests: imagekittest.RequestCounts{
			List:       b.Requests.List - a.Requests.List,
			Details:    b.Requests.Details - a.Requests.Details,
			RemoveTags: b.Requests.RemoveTags - a.Requests.RemoveTags,
			AddTags:    b.Requests.AddTags - a.Requests.AddTags,
			Delete:     b.Requests.Delete - a.Requests.Delete,
		},
		RateLimited: b.RateLimited - a.RateLimited,
		Faults:      b.Faults - a.Faults,
	}
}

// requireHonestReport checks a report against what the emulator recorded
// during the run (seen) and what the library became: the request counts
// agree, every planned file ends changed, failed or missing, and the files
// the report calls changed are exactly the planned files whose tags changed.
func requireHonestReport(t *testing.T, rep *reconcile.Report, seen imagekittest.Stats, before, after []imagekittest.File) {
	t.Helper()
	requireCounts(t, seen, rep)
	requireFileStatuses(t, rep, before, after)
	requireOnlyPlannedChanged(t, before, after, rep)
}

// requireOnlyPlannedChanged checks that no file outside the reports' plans
// changed.
func requireOnlyPlannedChanged(t *testing.T, before, after []imagekittest.File, reps ...*reconcile.Report) {
	t.Helper()
	planned := map[string]bool{}
	for _, rep := range reps {
		for _, f := range rep.Files {
			planned[f.FileID] = true
		}
	}
	was := tagsByID(before)
	for id, tags := range tagsByID(after) {
		if !planned[id] {
			require.Equal(t, was[id], tags, "file %s was not planned, yet its tags changed", id)
		}
	}
}

// requireCounts checks that the requests the reports say their runs sent add
// up to what the emulator counted.
func requireCounts(t *testing.T, seen imagekittest.Stats, reps ...*reconcile.Report) {
	t.Helper()
	var sum reconcile.Summary
	for _, r := range reps {
		sum.APICalls.List += r.Summary.APICalls.List
		sum.APICalls.Details += r.Summary.APICalls.Details
		sum.APICalls.RemoveTags += r.Summary.APICalls.RemoveTags
		sum.RateLimited += r.Summary.RateLimited
	}
	require.Equal(t, int(seen.Requests.RemoveTags), sum.APICalls.RemoveTags, "report apiCalls.removeTags vs the emulator's count")
	require.Equal(t, int(seen.Requests.List), sum.APICalls.List, "report apiCalls.list vs the emulator's count")
	require.Equal(t, int(seen.Requests.Details), sum.APICalls.Details, "report apiCalls.details vs the emulator's count")
	require.Equal(t, int(seen.RateLimited), sum.RateLimited, "report rateLimited vs the emulator's 429s")
}

// requireFileStatuses checks each file's status in a finished apply's report
// against the library before and after it.
func requireFileStatuses(t *testing.T, rep *reconcile.Report, before, after []imagekittest.File) {
	t.Helper()
	s := rep.Summary
	was := tagsByID(before)
	now := tagsByID(after)
	counts := map[string]int{}
	for _, f := range rep.Files {
		counts[f.Status]++
		_, exists := now[f.FileID]
		changed := exists && !slices.Equal(was[f.FileID], now[f.FileID])
		switch f.Status {
		case reconcile.StatusChanged:
			require.True(t, changed, "report says %s (%s) changed, but its tags did not", f.FileID, f.FilePath)
		case reconcile.StatusFailed:
			require.False(t, changed, "report says %s (%s) failed, but its tags changed", f.FileID, f.FilePath)
			require.NotEmpty(t, f.Error, "a failed file says why")
		case reconcile.StatusMissing:
			require.False(t, exists, "report says %s is missing, but it exists", f.FileID)
		default:
			t.Fatalf("file %s (%s) ends %q: a finished apply leaves no file pending", f.FileID, f.FilePath, f.Status)
		}
	}
	require.Equal(t, counts[reconcile.StatusChanged], s.FilesChanged)
	require.Equal(t, counts[reconcile.StatusFailed], s.FilesFailed)
	require.Equal(t, counts[reconcile.StatusMissing], s.FilesMissing)
}

// requireConverged checks that every file that still exists carries exactly
// its desired tags, and its AITags unchanged.
func requireConverged(t *testing.T, manifests []string, before, after []imagekittest.File) {
	t.Helper()
	requireTags(t, before, after, desiredState(t, manifests, before))
}

// Apply against a flaky, rate-limited API exits 0 (or 3 when a file kept
// failing), never breaks the safety invariant, writes a report that agrees
// with what the API recorded, and leaves the library converged (at the
// latest after a second run).
func TestApplyUnderFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		opts    []imagekittest.Option
		timeout string
	}{
		{name: "30 percent server errors", opts: []imagekittest.Option{imagekittest.WithFailRate(0.3), imagekittest.WithSeed(11)}},
		{name: "30 percent partial answers", opts: []imagekittest.Option{imagekittest.WithPartialRate(0.3), imagekittest.WithSeed(12)}},
		{name: "latency spikes", opts: []imagekittest.Option{imagekittest.WithLatency(10 * time.Millisecond), imagekittest.WithLatencySpikes(0.3, 400*time.Millisecond), imagekittest.WithSeed(13)}},
		{name: "connections closed mid-response", opts: []imagekittest.Option{imagekittest.WithDropRate(0.25), imagekittest.WithSeed(14)}},
		{name: "hanging responses hit the client timeout", opts: []imagekittest.Option{imagekittest.WithHangRate(0.15), imagekittest.WithSeed(15)}, timeout: "400ms"},
		{name: "everything at once", opts: []imagekittest.Option{
			imagekittest.WithRateLimit(8), imagekittest.WithFailRate(0.1), imagekittest.WithPartialRate(0.1),
			imagekittest.WithDropRate(0.1), imagekittest.WithHangRate(0.05),
			imagekittest.WithLatencySpikes(0.1, 200*time.Millisecond), imagekittest.WithSeed(16),
		}, timeout: "400ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before := faultLibrary()
			manifests := writeFaultManifest(t)
			srv := emulator(t, before, tc.opts...)
			report := filepath.Join(t.TempDir(), "report.json")
			args := []string{"apply", "-f", manifests[0], "--auto-approve", "--report", report, "--batch-size", "20"}
			if tc.timeout != "" {
				args = append(args, "--timeout", tc.timeout)
			}

			start := emulatorStats(t, srv)
			r := tagprune(t, cmd{args: args, env: apiEnv(srv)})
			seen := statsDelta(start, emulatorStats(t, srv))
			require.Contains(t, []int{0, 3}, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			requireNoPanic(t, r.stderr)
			rep := readReport(t, report)
			after := srv.Handler().Files()
			requireSafeCalls(t, manifests, before, removeTagsCalls(t, emulatorRequests(t, srv)))
			requireHonestReport(t, rep, seen, before, after)
			require.GreaterOrEqual(t, rep.Summary.RemoveTagsCalls, 6, "the library is big enough for several calls")
			t.Logf("exit %d: %d calls planned, %d removeTags requests, %d list, %d rate-limited, %d faults, %d retries",
				r.code, rep.Summary.RemoveTagsCalls, seen.Requests.RemoveTags, seen.Requests.List, seen.RateLimited, seen.Faults, rep.Summary.Retries)
			require.Positive(t, seen.Faults, "the faults happened")
			if r.code == 0 {
				require.Zero(t, rep.Summary.FilesFailed)
				requireState(t, before, after, desiredState(t, manifests, before))
				return
			}
			require.Positive(t, rep.Summary.FilesFailed, "exit 3 means some file failed")

			// What failed is changed by the next run.
			r = tagprune(t, cmd{args: args, env: apiEnv(srv)})
			require.Equal(t, 0, r.code, "second run:\n%s\n%s", r.stdout, r.stderr)
			requireSafeCalls(t, manifests, before, removeTagsCalls(t, emulatorRequests(t, srv)))
			requireState(t, before, srv.Handler().Files(), desiredState(t, manifests, before))
		})
	}
}

// Two applies racing through one account's rate limit of 5 requests per
// second (the limit is per account, as two CI jobs would share it) meet a
// storm of 429s. Both exit 0, neither breaks the safety invariant, their
// reports add up to what the API counted, and the library converges.
func TestApplyRateLimitStorm(t *testing.T) {
	t.Parallel()
	before := faultLibrary()
	manifests := writeFaultManifest(t)
	srv := emulator(t, before, imagekittest.WithRateLimit(5))
	dir := t.TempDir()
	var runs []*running
	for i := range 2 {
		report := filepath.Join(dir, fmt.Sprintf("report-%d.json", i))
		runs = append(runs, startTagprune(t, cmd{args: []string{"apply", "-f", manifests[0], "--auto-approve", "--report", report}, env: apiEnv(srv)}))
	}
	var reps []*reconcile.Report
	for i, run := range runs {
		r := run.wait(t)
		require.Equal(t, 0, r.code, "run %d:\n%s\n%s", i, r.stdout, r.stderr)
		requireNoPanic(t, r.stderr)
		reps = append(reps, readReport(t, filepath.Join(dir, fmt.Sprintf("report-%d.json", i))))
	}
	seen := emulatorStats(t, srv)
	require.Positive(t, seen.RateLimited, "the storm happened")
	after := srv.Handler().Files()
	requireCounts(t, seen, reps...)
	for _, rep := range reps {
		requireFileStatuses(t, rep, before, after)
	}
	requireOnlyPlannedChanged(t, before, after, reps...)
	requireSafeCalls(t, manifests, before, removeTagsCalls(t, emulatorRequests(t, srv)))
	requireState(t, before, after, desiredState(t, manifests, before))
}

// A file that the API refuses to change on every attempt makes apply exit
// 3 with that file failed, carrying the API's message, and every other file
// changed.
func TestApplyPersistentFileFailure(t *testing.T) {
	t.Parallel()
	before := faultLibrary()
	manifests := writeFaultManifest(t)
	want := desiredState(t, manifests, before)
	var victim string
	for _, f := range before {
		if len(want[f.FileID]) != len(f.Tags) {
			victim = f.FileID
			break
		}
	}
	require.NotEmpty(t, victim)
	srv := emulator(t, before, imagekittest.WithFailFiles(victim))
	report := filepath.Join(t.TempDir(), "report.json")

	r := tagprune(t, cmd{args: []string{"apply", "-f", manifests[0], "--auto-approve", "--report", report}, env: apiEnv(srv)})
	require.Equal(t, 3, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	require.Contains(t, r.stderr, "1 file could not be changed")
	rep := readReport(t, report)
	requireHonestReport(t, rep, emulatorStats(t, srv), before, srv.Handler().Files())
	require.Equal(t, 1, rep.Summary.FilesFailed)
	require.Equal(t, rep.Summary.FilesToChange-1, rep.Summary.FilesChanged)
	for _, f := range rep.Files {
		if f.FileID == victim {
			require.Equal(t, reconcile.StatusFailed, f.Status)
			require.Contains(t, f.Error, "Error in removing tags")
		} else {
			require.Equal(t, reconcile.StatusChanged, f.Status, f.FileID)
		}
	}
	after := srv.Handler().Files()
	requireSafeCalls(t, manifests, before, removeTagsCalls(t, emulatorRequests(t, srv)))
	for _, f := range after {
		if f.FileID == victim {
			require.Equal(t, tagsByID(before)[victim], f.Tags, "the failing file is unchanged")
			continue
		}
		w := want[f.FileID]
		if len(w) > 0 || len(f.Tags) > 0 {
			require.Equal(t, w, f.Tags, f.FileID)
		}
	}
}

// deleteFile deletes a file through the emulator's API, as a user of the
// media library would between a plan and its apply.
func deleteFile(t *testing.T, srv *imagekittest.Server, id string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, srv.URL+"/v1/files/"+id, nil)
	require.NoError(t, err)
	req.SetBasicAuth(testKey, "")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "delete %s", id)
}

// Files deleted after the plan was saved, before apply and while it runs,
// end as missing: apply drops them from its calls (on the 404 answer when
// they vanish mid-run), changes every other file, exits 0, and says so in a
// report that agrees with the emulator.
func TestApplySavedPlanWithDeletedFiles(t *testing.T) {
	t.Parallel()
	before := faultLibrary()
	manifests := writeFaultManifest(t)
	srv := emulator(t, before)
	g := newGate(t, srv)
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")

	planFile, plan := g.savePlanThrough(t, srv, manifests[0])
	require.GreaterOrEqual(t, len(plan.Batches), 6)

	// Before apply: one file of the first call and one of the second.
	early := []string{plan.Batches[0].FileIDs[0], plan.Batches[1].FileIDs[0]}
	for _, id := range early {
		deleteFile(t, srv, id)
	}
	// While apply runs one call at a time: files of the last two calls,
	// deleted while the gate holds the first call.
	n := len(plan.Batches)
	late := []string{plan.Batches[n-1].FileIDs[0], plan.Batches[n-2].FileIDs[len(plan.Batches[n-2].FileIDs)-1]}

	start := emulatorStats(t, srv)
	run := startTagprune(t, cmd{args: []string{"apply", planFile, "--report", report, "--concurrency", "1"}, env: urlEnv(g.URL)})
	g.next(t)
	for _, id := range late {
		deleteFile(t, srv, id)
	}
	g.open()
	res := run.wait(t)
	require.Equal(t, 0, res.code, "stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	seen := statsDelta(start, emulatorStats(t, srv))
	seen.Requests.Delete = 0

	rep := readReport(t, report)
	after := srv.Handler().Files()
	requireHonestReport(t, rep, seen, before, after)
	require.Equal(t, len(early)+len(late), rep.Summary.FilesMissing)
	require.Equal(t, rep.Summary.FilesToChange-rep.Summary.FilesMissing, rep.Summary.FilesChanged)
	calls := removeTagsCalls(t, emulatorRequests(t, srv))
	requireSafeCalls(t, manifests, before, calls)
	notFound := 0
	for _, c := range calls {
		if c.Status == http.StatusNotFound {
			notFound++
		}
		for _, id := range early {
			require.NotContains(t, c.FileIDs, id, "a file known to be gone is not sent")
		}
	}
	require.Positive(t, notFound, "files deleted mid-run meet a 404")
	requireConverged(t, manifests, before, after)
	require.Len(t, after, len(before)-len(early)-len(late))
}
