package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/reconcile"
)

// perfLibrary returns n files, four in five under /products/ and the rest
// under /blog/. Every step-th file under /products/ carries sale2019, sale2020
// or both; some /blog/ files carry sale2019 too, and some /products/ files
// have an AITag named sale2019, which `tags IN` matches but no rule removes.
func perfLibrary(n, step int) []imagekittest.File {
	t0 := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	files := make([]imagekittest.File, n)
	for i := range files {
		dir, tags := "/products/shoes/", []string{"product"}
		var ai []imagekittest.AITag
		switch {
		case i%5 == 4:
			dir = "/blog/"
			if i%100 == 4 {
				tags = append(tags, "sale2019")
			}
		case i%step == 0:
			tags = append(tags, [][]string{{"sale2019"}, {"sale2020"}, {"sale2019", "sale2020"}}[i/step%3]...)
		case i%(step*10) == 1:
			ai = []imagekittest.AITag{{Name: "sale2019", Confidence: 90, Source: "google-auto-tagging"}}
		}
		id := fmt.Sprintf("%024x", i+1)
		name := "f" + strconv.Itoa(i) + ".jpg"
		files[i] = imagekittest.File{
			FileID: id, Type: "file", Name: name, FilePath: dir + name, Tags: tags, AITags: ai,
			FileType: "image", CreatedAt: t0.Add(time.Duration(i) * time.Second), UpdatedAt: t0,
		}
	}
	return files
}

var (
	perfOnce  sync.Once
	perfFiles []imagekittest.File
)

// perf200k is a 200,000-file library where 2,000 files under /products/
// carry forbidden tags, built once.
func perf200k() []imagekittest.File {
	perfOnce.Do(func() { perfFiles = perfLibrary(200_000, 100) })
	return perfFiles
}

// writeManifest writes a manifest file and returns its path.
func writeManifest(t testing.TB, dir, yaml string) string {
	t.Helper()
	p := filepath.Join(dir, "manifest.yaml")
	require.NoError(t, os.WriteFile(p, []byte(yaml), 0o644))
	return p
}

// TestPlanReads checks on the emulator's request log that plan reads
// narrowly: candidates only for exact tags, one listing per scope, fileIds
// by `id IN` in URLs under 8 KB, pages of 1000, and no file read twice.
func TestPlanReads(t *testing.T) {
	t.Parallel()
	files := perf200k()
	var listed []string // ids of 1,500 files that carry forbidden tags, quoted
	for _, f := range files {
		if len(listed) < 1500 && len(f.Tags) > 1 && strings.HasPrefix(f.FilePath, "/products/") {
			listed = append(listed, strconv.Quote(f.FileID))
		}
	}
	require.Len(t, listed, 1500)
	tests := []struct {
		name     string
		manifest string
		maxList  int // list calls at most
		queries  int // distinct searchQueries
		contains string
	}{
		{
			name:     "exact tags read only the candidates",
			manifest: "version: 1\nrules:\n  - name: sales\n    files: {paths: [/products/]}\n    forbiddenTags: [sale2019, sale2020]\n",
			maxList:  2000/1000 + 3, queries: 1, contains: `tags IN ["sale2019","sale2020"]`,
		},
		{
			name: "rules over the same scope share one listing",
			manifest: "version: 1\nrules:\n  - name: s2019\n    files: {paths: [/products/]}\n    forbiddenTags: [sale2019]\n" +
				"  - name: s2020\n    files: {paths: [/products/]}\n    forbiddenTags: [sale2020]\n",
			maxList: 2000/1000 + 3, queries: 1, contains: `tags IN ["sale2019","sale2020"]`,
		},
		{
			name:     "fileIds are read by id IN in URLs under 8 KB",
			manifest: "version: 1\nrules:\n  - name: by-id\n    files:\n      fileIds: [" + strings.Join(listed, ", ") + "]\n    forbiddenTags: [sale2019, sale2020]\n",
			maxList:  12, queries: 0, contains: `id IN [`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := emulator(t, files)
			dir := t.TempDir()
			m := writeManifest(t, dir, tt.manifest)
			r := tagprune(t, cmd{args: []string{"plan", "-f", m, "--format", "json"}, env: apiEnv(srv)})
			require.Equal(t, 0, r.code, r.stderr)
			var p reconcile.Plan
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &p))

			want := desiredState(t, []string{m}, files)
			var wantIDs, gotIDs []string
			for _, f := range files {
				if len(want[f.FileID]) != len(f.Tags) {
					wantIDs = append(wantIDs, f.FileID)
				}
			}
			for _, c := range p.Changes {
				gotIDs = append(gotIDs, c.FileID)
			}
			slices.Sort(wantIDs)
			slices.Sort(gotIDs)
			require.NotEmpty(t, wantIDs)
			require.Equal(t, wantIDs, gotIDs, "the plan changes exactly the files the manifest says")

			reqs := emulatorRequests(t, srv)
			require.NotEmpty(t, reqs)
			assert.LessOrEqual(t, len(reqs), tt.maxList, "list calls")
			skips := map[string][]int{}
			for _, rq := range reqs {
				require.Equal(t, "GET /v1/files", rq.Method+" "+rq.Path, "plan only lists")
				require.Less(t, len(srv.URL+rq.Path+"?"+rq.Query), 8<<10, "the URL fits in 8 KB")
				q, err := url.ParseQuery(rq.Query)
				require.NoError(t, err)
				assert.Equal(t, "1000", q.Get("limit"), "pages of 1000")
				assert.Contains(t, q.Get("searchQuery"), tt.contains)
				skip, _ := strconv.Atoi(q.Get("skip"))
				skips[q.Get("searchQuery")] = append(skips[q.Get("searchQuery")], skip)
			}
			if tt.queries > 0 {
				assert.Len(t, skips, tt.queries, "distinct searchQueries")
			}
			seen := map[string]string{}
			for sq, sk := range skips {
				// Pages are read ahead concurrently, so they may arrive out of order.
				slices.Sort(sk)
				for i, s := range sk {
					require.Equal(t, i*1000, s, "searchQuery %s reads every page once, none twice", sq)
				}
				pq, err := imagekittest.ParseQuery(sq, time.Now())
				require.NoError(t, err)
				for i := range files {
					if pq.Match(&files[i]) {
						prev, dup := seen[files[i].FileID]
						require.False(t, dup, "file %s is read by two searches: %s and %s", files[i].FileID, prev, sq)
						seen[files[i].FileID] = sq
					}
				}
			}
			assert.Less(t, len(seen), len(files)/50, "reads stay near the candidates")
		})
	}
}

// BenchmarkApplyAtRateLimit runs the built binary's apply against an
// emulator limited to 20 requests per second per endpoint with 150ms of
// latency: 10,000 files to change, 200 removeTags calls, whose bound at the
// rate limit is 10 s. It reports the apply time against that bound, the
// calls, the 429s and the failed files.
//
//	go test -run '^$' -bench ApplyAtRateLimit -benchtime 1x ./e2e/
func BenchmarkApplyAtRateLimit(b *testing.B) {
	const rateLimit = 20
	files := perfLibrary(50_000, 4) // 10,000 files to change under /products/
	m := writeManifest(b, b.TempDir(), "version: 1\nrules:\n  - name: sales\n    files: {paths: [/products/]}\n    forbiddenTags: [sale2019, sale2020]\n")
	var applyTime time.Duration
	var calls, limited, failed int
	for b.Loop() {
		b.StopTimer()
		srv := imagekittest.NewServer(slices.Clone(files), imagekittest.WithPrivateKey(testKey),
			imagekittest.WithRateLimit(rateLimit), imagekittest.WithLatency(150*time.Millisecond))
		report := filepath.Join(b.TempDir(), "report.json")
		b.StartTimer()
		x := exec.Command(binary, "apply", "-f", m, "--auto-approve", "--quiet", "--report", report)
		x.Env = append(cleanEnv(), apiEnv(srv)...)
		out, err := x.CombinedOutput()
		b.StopTimer()
		srv.Close()
		if err != nil {
			b.Fatalf("apply: %v: %s", err, out)
		}
		var rep reconcile.Report
		raw, err := os.ReadFile(report)
		if err != nil {
			b.Fatal(err)
		}
		if err := json.Unmarshal(raw, &rep); err != nil {
			b.Fatal(err)
		}
		applyTime = rep.FinishedAt.Sub(rep.StartedAt)
		calls, limited, failed = rep.Summary.APICalls.RemoveTags, rep.Summary.RateLimited, rep.Summary.FilesFailed
		b.StartTimer()
	}
	bound := float64(calls) / rateLimit
	b.ReportMetric(applyTime.Seconds(), "apply-s")
	b.ReportMetric(applyTime.Seconds()/bound, "x-bound")
	b.ReportMetric(float64(calls), "removeTags")
	b.ReportMetric(float64(limited), "429s")
	b.ReportMetric(float64(failed), "failed")
}
