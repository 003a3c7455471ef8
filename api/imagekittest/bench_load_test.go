package imagekittest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// loadEnv names the library file a child test process loads for
// BenchmarkOpenLibrary.
const loadEnv = "IMAGEKITTEST_BENCH_LOAD"

// loadResult is what the child process reports.
type loadResult struct {
	Files   int     `json:"files"`
	Seconds float64 `json:"seconds"`
	PeakMB  float64 `json:"peakMB"` // VmHWM: the peak resident set of the whole process
	HeapMB  float64 `json:"heapMB"` // live heap after the load and a GC
}

// TestOpenLibraryChild is BenchmarkOpenLibrary's child process: it loads
// the library file named by loadEnv and prints what that cost. Without
// loadEnv it does nothing.
func TestOpenLibraryChild(t *testing.T) {
	path := os.Getenv(loadEnv)
	if path == "" {
		t.Skip("run by BenchmarkOpenLibrary")
	}
	start := time.Now()
	lib, err := imagekittest.OpenLibrary(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	peak, err := vmHWM()
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	out, _ := json.Marshal(loadResult{Files: lib.Len(), Seconds: took.Seconds(), PeakMB: float64(peak) / (1 << 20), HeapMB: float64(ms.HeapAlloc) / (1 << 20)})
	fmt.Printf("LOADED %s\n", out)
}

// vmHWM returns this process's peak resident set size in bytes.
func vmHWM() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

// BenchmarkOpenLibrary loads a generated library file (GenerateLibrary,
// written as a library file: about 900 bytes a file) in a fresh process,
// as `tagprune emulator --data` and --library do, and reports the
// process's peak resident set (peak-MB), the live heap after the load
// (heap-MB) and the load time (load-s). Run it once per size:
//
//	go test -run '^$' -bench OpenLibrary -benchtime 1x ./api/imagekittest/
func BenchmarkOpenLibrary(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("the peak resident set is read from /proc")
	}
	for _, n := range []int{200_000, 1_000_000} {
		b.Run(fmt.Sprintf("%dfiles", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "library.json")
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			w := bufio.NewWriter(f)
			if err := imagekittest.EncodeLibrary(w, imagekittest.GenerateLibrary(n, 1)); err != nil {
				b.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			f.Close()
			runtime.GC()
			var res loadResult
			for b.Loop() {
				cmd := exec.Command(os.Args[0], "-test.run", "^TestOpenLibraryChild$", "-test.count", "1")
				cmd.Env = append(os.Environ(), loadEnv+"="+path)
				out, err := cmd.CombinedOutput()
				if err != nil {
					b.Fatalf("child: %v\n%s", err, out)
				}
				i := bytes.Index(out, []byte("LOADED "))
				if i < 0 {
					b.Fatalf("child printed no result:\n%s", out)
				}
				line, _, _ := bytes.Cut(out[i+len("LOADED "):], []byte("\n"))
				if err := json.Unmarshal(line, &res); err != nil {
					b.Fatal(err)
				}
				if res.Files != n {
					b.Fatalf("loaded %d files, want %d", res.Files, n)
				}
			}
			b.ReportMetric(res.PeakMB, "peak-MB")
			b.ReportMetric(res.HeapMB, "heap-MB")
			b.ReportMetric(res.Seconds, "load-s")
		})
	}
}

// BenchmarkListPageAtSkip serves one page of 1,000 files of a listing of
// the 1,000,000-file library at skip 0, 400,000 and 790,000. "sequential"
// is a page that follows the previous page of the same listing, as a
// client paging through it asks for it: its cost must not grow with skip.
// "cold" is a first request at that skip, which walks the listing up to it.
func BenchmarkListPageAtSkip(b *testing.B) {
	_, h := millionFiles(b)
	for _, q := range []struct{ name, query string }{
		{"WholeLibrary", `path : "/"`},
		{"TaggedFiles", `tags EXISTS AND type = "file"`},
	} {
		target := func(skip int) string {
			return "/v1/files?" + url.Values{"searchQuery": {q.query}, "skip": {strconv.Itoa(skip)}, "limit": {"1000"}}.Encode()
		}
		for _, skip := range []int{0, 400_000, 790_000} {
			b.Run(fmt.Sprintf("%s/sequential/skip%d", q.name, skip), func(b *testing.B) {
				for s := 0; s < skip; s += 1000 {
					serve(b, h, "GET", target(s), "")
				}
				b.ReportAllocs()
				for b.Loop() {
					serve(b, h, "GET", target(skip), "")
				}
			})
			b.Run(fmt.Sprintf("%s/cold/skip%d", q.name, skip), func(b *testing.B) {
				// Trailing blanks make each query text another listing,
				// with no cursor at this skip.
				pad := 0
				for b.Loop() {
					pad++
					query := q.query + strings.Repeat(" ", pad)
					serve(b, h, "GET", "/v1/files?"+url.Values{"searchQuery": {query}, "skip": {strconv.Itoa(skip)}, "limit": {"1000"}}.Encode(), "")
				}
			})
		}
	}
}
