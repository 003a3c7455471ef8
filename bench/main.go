// Command bench measures tagprune end to end: it generates a library, serves
// it with the emulator over loopback, runs the built tagprune binary against
// it and prints the calls, time, 429s and peak memory next to their bounds,
// then does the same job the way a careful user of the official ImageKit Go
// SDK would, against a fresh emulator, and prints the ratios.
//
//	go run ./bench -files 200000 -candidates 10000 -rate-limit 20 -latency 150ms
//	go run ./bench -files 1000000 -candidates 10000 -glob -plan-only -rate-limit 0 -latency 0
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/reconcile"
)

// benchKey is the private key the bench's emulators require.
const benchKey = "private_bench_key"

// config is what the flags set.
type config struct {
	files, candidates int
	rateLimit         int
	latency           time.Duration
	concurrency       int
	glob              bool // forbid by a glob: tagprune reads the whole scope
	planOnly          bool // run tagprune plan only: memory and CPU per file
	sdk               bool // also run the official SDK script
	seed              uint64
	binary            string // a tagprune binary; built when empty
}

func main() {
	var cfg config
	flag.IntVar(&cfg.files, "files", 200_000, "files in the generated library")
	flag.IntVar(&cfg.candidates, "candidates", 10_000, "files under "+scope+" that carry forbidden tags")
	flag.IntVar(&cfg.rateLimit, "rate-limit", 20, "emulator requests per second per endpoint (0: unlimited)")
	flag.DurationVar(&cfg.latency, "latency", 150*time.Millisecond, "emulator latency per request")
	flag.IntVar(&cfg.concurrency, "concurrency", 8, "tagprune apply --concurrency")
	flag.BoolVar(&cfg.glob, "glob", false, "forbid sale20* (a glob: a full scan of "+scope+") instead of two exact tags")
	flag.BoolVar(&cfg.planOnly, "plan-only", false, "run tagprune plan only (peak memory and CPU per listed file); no apply, no SDK")
	flag.BoolVar(&cfg.sdk, "sdk", true, "also run the official SDK script against a fresh emulator")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the generated library")
	flag.StringVar(&cfg.binary, "binary", "", "tagprune binary to run (default: go build one)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	_, err := run(ctx, cfg, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// outcome is what one tagprune run cost.
type outcome struct {
	wall, cpu time.Duration
	rss       int64
	report    *reconcile.Report
	stats     imagekittest.Stats
}

// counts are the figures a smoke test checks: the files to change and the
// calls each side made.
type counts struct {
	changes, removeTags, list, sdkRemoveTags, sdkList int
}

// run builds tagprune, runs the bench, prints the results to w and returns
// the main counts.
func run(ctx context.Context, cfg config, w io.Writer) (counts, error) {
	var n counts
	if cfg.files < 1 || cfg.candidates < 0 || cfg.concurrency < 1 {
		return n, fmt.Errorf("-files %d, -candidates %d, -concurrency %d: want at least 1, 0 and 1", cfg.files, cfg.candidates, cfg.concurrency)
	}
	dir, err := os.MkdirTemp("", "tagprune-bench-")
	if err != nil {
		return n, err
	}
	defer os.RemoveAll(dir)
	bin := cfg.binary
	if bin == "" {
		bin = filepath.Join(dir, "tagprune")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/tagprune/tagprune")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return n, fmt.Errorf("build tagprune: %w", err)
		}
	}
	forbidden := exactTags
	if cfg.glob {
		forbidden = globTags
	}
	manifest := filepath.Join(dir, "manifest.yaml")
	if err := os.WriteFile(manifest, []byte(manifestYAML(forbidden)), 0o644); err != nil {
		return n, err
	}

	files := generate(cfg.files, cfg.candidates, cfg.seed)
	changes, groupedCalls := expected(files, forbidden)
	inScope := 0
	for i := range files {
		if strings.HasPrefix(files[i].FilePath, scope) {
			inScope++
		}
	}
	opts := []imagekittest.Option{imagekittest.WithPrivateKey(benchKey), imagekittest.WithRateLimit(cfg.rateLimit), imagekittest.WithLatency(cfg.latency)}
	rule := "exact tags " + strings.Join(forbidden, ", ")
	if cfg.glob {
		rule = "glob " + forbidden[0]
	}
	fmt.Fprintf(w, "library: %s files, %s under %s, %s of them to change (rule: %s)\n",
		num(cfg.files), num(inScope), scope, num(changes), rule)
	fmt.Fprintf(w, "emulator: rate limit %d/s per endpoint, latency %v, loopback\n\n", cfg.rateLimit, cfg.latency)

	srv := imagekittest.NewServer(files, opts...)
	args := []string{"apply", "-f", manifest, "--auto-approve", "--quiet", "--concurrency", fmt.Sprint(cfg.concurrency)}
	if cfg.planOnly {
		args = []string{"plan", "-f", manifest, "--quiet"}
	}
	args = append(args, "--report", filepath.Join(dir, "report.json"))
	tp, err := runTagprune(ctx, bin, args, srv, dir)
	if err == nil && !cfg.planOnly {
		err = checkConverged(srv.Handler().Files(), forbidden)
	}
	srv.Close()
	if err != nil {
		return n, err
	}
	s := tp.report.Summary
	n.changes, n.removeTags, n.list = changes, int(tp.stats.Requests.RemoveTags), int(tp.stats.Requests.List)
	if cfg.planOnly {
		fmt.Fprintf(w, "tagprune plan:\n")
	} else {
		fmt.Fprintf(w, "tagprune apply (--concurrency %d):\n", cfg.concurrency)
	}
	if !cfg.planOnly {
		calls := int(tp.stats.Requests.RemoveTags)
		applyTime := tp.report.FinishedAt.Sub(tp.report.StartedAt)
		fmt.Fprintf(w, "  removeTags calls  %8d   bound ceil(M/50) = %d for M = %d files\n", calls, ceil(changes, 50), changes)
		if cfg.rateLimit > 0 {
			bound := time.Duration(float64(calls) / float64(cfg.rateLimit) * float64(time.Second))
			fmt.Fprintf(w, "  apply time        %8s   bound calls/rate = %s (%.2fx)\n", secs(applyTime), secs(bound), applyTime.Seconds()/bound.Seconds())
		} else {
			fmt.Fprintf(w, "  apply time        %8s\n", secs(applyTime))
		}
		fmt.Fprintf(w, "  files changed     %8d   failed %d, missing %d, pending %d\n", s.FilesChanged, s.FilesFailed, s.FilesMissing, s.FilesPending)
	}
	fmt.Fprintf(w, "  list calls        %8d   ceil(candidates/1000) = %d; a full scan of %s takes %d\n",
		tp.stats.Requests.List, ceil(changes, 1000), scope, ceil(inScope, 1000))
	fmt.Fprintf(w, "  files listed      %8d\n", s.FilesScanned)
	fmt.Fprintf(w, "  429 answers       %8d   (client saw %d, retries %d)\n", tp.stats.RateLimited, s.RateLimited, s.Retries)
	fmt.Fprintf(w, "  wall time         %8s   (process start to exit)\n", secs(tp.wall))
	fmt.Fprintf(w, "  peak RSS          %8s   (VmHWM of the tagprune process)\n", mib(tp.rss))
	perFile := 0.0
	if s.FilesScanned > 0 {
		perFile = float64(tp.cpu.Microseconds()) / float64(s.FilesScanned)
	}
	fmt.Fprintf(w, "  CPU (user+sys)    %8s   %.2f µs per listed file\n", secs(tp.cpu), perFile)
	if cfg.planOnly || !cfg.sdk {
		return n, nil
	}

	srv = imagekittest.NewServer(generate(cfg.files, cfg.candidates, cfg.seed), opts...)
	defer srv.Close()
	start := time.Now()
	if err := runSDK(ctx, srv.URL, benchKey, forbidden); err != nil {
		return n, err
	}
	sdkWall := time.Since(start)
	if err := checkConverged(srv.Handler().Files(), forbidden); err != nil {
		return n, fmt.Errorf("sdk: %w", err)
	}
	st := srv.Handler().Stats()
	n.sdkRemoveTags, n.sdkList = int(st.Requests.RemoveTags), int(st.Requests.List)
	fmt.Fprintf(w, "\nofficial Go SDK, one call after another, default retries:\n")
	fmt.Fprintf(w, "  removeTags calls  %8d   (one per removal set per 50 files: %d)\n", st.Requests.RemoveTags, groupedCalls)
	fmt.Fprintf(w, "  list calls        %8d\n", st.Requests.List)
	fmt.Fprintf(w, "  429 answers       %8d\n", st.RateLimited)
	fmt.Fprintf(w, "  wall time         %8s\n", secs(sdkWall))
	tpCalls := tp.stats.Requests.List + tp.stats.Requests.RemoveTags + tp.stats.Requests.Details
	sdkCalls := st.Requests.List + st.Requests.RemoveTags + st.Requests.Details
	fmt.Fprintf(w, "\ntagprune / SDK: %.2fx the API calls (%d / %d), %.2fx the wall time (%s / %s)\n",
		float64(tpCalls)/float64(sdkCalls), tpCalls, sdkCalls, tp.wall.Seconds()/sdkWall.Seconds(), secs(tp.wall), secs(sdkWall))
	return n, nil
}

// runTagprune runs the binary against srv and returns what it cost. Its
// plan goes to a file in dir; a failing exit is an error with its stderr.
func runTagprune(ctx context.Context, bin string, args []string, srv *imagekittest.Server, dir string) (*outcome, error) {
	out, err := os.Create(filepath.Join(dir, "stdout.txt"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	var stderr bytes.Buffer
	x := exec.CommandContext(ctx, bin, args...)
	x.Env = append(cleanEnv(), "IMAGEKIT_API_URL="+srv.URL, "IMAGEKIT_PRIVATE_KEY="+benchKey)
	x.Dir = dir
	x.Stdout, x.Stderr = out, &stderr
	start := time.Now()
	if err := x.Start(); err != nil {
		return nil, fmt.Errorf("start tagprune: %w", err)
	}
	hwm := sampleHWM(x.Process.Pid, 5*time.Millisecond)
	err = x.Wait()
	wall := time.Since(start)
	rss := hwm.stop()
	if rss == 0 {
		rss = peakRSS(x.ProcessState)
	}
	if err != nil {
		return nil, fmt.Errorf("tagprune %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		return nil, err
	}
	var rep reconcile.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("read the tagprune report: %w", err)
	}
	ps := x.ProcessState
	return &outcome{wall: wall, cpu: ps.UserTime() + ps.SystemTime(), rss: rss, report: &rep, stats: srv.Handler().Stats()}, nil
}

// checkConverged returns an error unless no file under scope carries a
// forbidden tag and the out-of-scope files kept theirs.
func checkConverged(files []imagekittest.File, forbidden []string) error {
	kept := 0
	for _, f := range files {
		rm := removals(f.Tags, forbidden)
		if strings.HasPrefix(f.FilePath, scope) && len(rm) > 0 {
			return fmt.Errorf("file %s (%s) still carries %q", f.FileID, f.FilePath, rm)
		}
		if len(rm) > 0 {
			kept++
		}
	}
	if len(files) >= 50 && kept == 0 {
		return errors.New("the files outside " + scope + " lost the tags they may keep")
	}
	return nil
}

// cleanEnv is the environment without IMAGEKIT_* and GITHUB_* variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IMAGEKIT_") && !strings.HasPrefix(kv, "GITHUB_") {
			env = append(env, kv)
		}
	}
	return env
}

func ceil(n, d int) int { return (n + d - 1) / d }

func secs(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// num formats n with thousands separators.
func num(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
