// Command bench measures tagprune end to end: it generates a library, serves
// it with the emulator over loopback, runs the built tagprune binary against
// it and prints the calls, time, 429s and peak memory next to their bounds,
// then does the same job with the official ImageKit Go SDK, the way an
// expert and a careful user would script it, each against a fresh
// emulator, and prints the ratios.
//
//	go run ./bench -files 200000 -candidates 10000 -rate-limit 20 -latency 150ms
//	go run ./bench -files 200000 -candidates 10000 -sets
//	go run ./bench -files 1000000 -candidates 10000 -glob -plan-only -rate-limit 0 -latency 0
//	go run ./bench -files 60000 -candidates 12000 -saved-plan
//	go run ./bench -pacing
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
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
	sets              bool // candidates carry a random half of 15 promo tags: many removal sets
	planOnly          bool // run tagprune plan only: memory and CPU per file
	savedPlan         bool // time apply PLANFILE (the freshness check and the calls)
	pacing            bool // apply at every rate limit and latency of DESIGN.md section 7
	sdk               bool // also run the careful SDK script
	expert            bool // also run the expert SDK script
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
	flag.BoolVar(&cfg.glob, "glob", false, "forbid by one glob (a full scan of "+scope+") instead of exact tags")
	flag.BoolVar(&cfg.sets, "sets", false, "candidates carry a random half of 15 forbidden promo tags: thousands of distinct removal sets")
	flag.BoolVar(&cfg.planOnly, "plan-only", false, "run tagprune plan only (peak memory and CPU per listed file); no apply, no SDK")
	flag.BoolVar(&cfg.savedPlan, "saved-plan", false, "save a plan, then time tagprune apply PLANFILE: its reads plus its calls against the rate-limit bound")
	flag.BoolVar(&cfg.pacing, "pacing", false, "apply at 2, 5, 20 and 50 requests/s with 50, 150 and 500 ms latency (ignores -files, -candidates, -rate-limit, -latency)")
	flag.BoolVar(&cfg.sdk, "sdk", true, "also run the careful SDK script against a fresh emulator")
	flag.BoolVar(&cfg.expert, "expert", true, "also run the expert SDK script against a fresh emulator")
	flag.Func("pacing-rates", "with -pacing: the rate limits, comma-separated (default 2,5,20,50)", func(v string) error {
		rates, err := parseList(v, strconv.Atoi)
		pacingRates = rates
		return err
	})
	flag.Func("pacing-latencies", "with -pacing: the latencies, comma-separated (default 50ms,150ms,500ms)", func(v string) error {
		lats, err := parseList(v, time.ParseDuration)
		pacingLatencies = lats
		return err
	})
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the generated library")
	flag.StringVar(&cfg.binary, "binary", "", "tagprune binary to run (default: go build one)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	var err error
	if cfg.pacing {
		_, err = runPacing(ctx, cfg, pacingRates, pacingLatencies, os.Stdout)
	} else {
		_, err = run(ctx, cfg, os.Stdout)
	}
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
	stats     imagekittest.Stats // the emulator's counts for this run alone
}

// counts are the figures a smoke test checks: the files to change and the
// calls each side made.
type counts struct {
	changes, removeTags, list  int
	savedList, savedRemoveTags int // apply PLANFILE's own
	sdkRemoveTags, sdkList     int
	expertRemoveTags, expList  int
	groupedCalls               int // one per removal set per 50 files
}

// peer is one SDK script's run.
type peer struct {
	name  string
	wall  time.Duration
	stats imagekittest.Stats
}

// bench is the working directory, the binary and the manifest of a run.
type bench struct {
	dir, bin, manifest string
	forbidden          []string
}

// prepare builds tagprune (unless cfg names a binary) and writes the
// manifest into a new temporary directory; done removes it.
func prepare(ctx context.Context, cfg config) (b *bench, done func(), err error) {
	dir, err := os.MkdirTemp("", "tagprune-bench-")
	if err != nil {
		return nil, nil, err
	}
	done = func() { os.RemoveAll(dir) }
	b = &bench{dir: dir, bin: cfg.binary, forbidden: forbiddenTags(cfg.sets, cfg.glob)}
	if b.bin == "" {
		b.bin = filepath.Join(dir, "tagprune")
		build := exec.CommandContext(ctx, "go", "build", "-o", b.bin, "github.com/tagprune/tagprune")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			done()
			return nil, nil, fmt.Errorf("build tagprune: %w", err)
		}
	}
	b.manifest = filepath.Join(dir, "manifest.yaml")
	if err := os.WriteFile(b.manifest, []byte(manifestYAML(b.forbidden)), 0o644); err != nil {
		done()
		return nil, nil, err
	}
	return b, done, nil
}

// run runs the bench, prints the results to w and returns the main
// counts.
func run(ctx context.Context, cfg config, w io.Writer) (counts, error) {
	var n counts
	if cfg.files < 1 || cfg.candidates < 0 || cfg.concurrency < 1 {
		return n, fmt.Errorf("-files %d, -candidates %d, -concurrency %d: want at least 1, 0 and 1", cfg.files, cfg.candidates, cfg.concurrency)
	}
	b, done, err := prepare(ctx, cfg)
	if err != nil {
		return n, err
	}
	defer done()
	forbidden := b.forbidden

	files := generate(cfg.files, cfg.candidates, cfg.seed, cfg.sets)
	changes, groupedCalls := expected(files, forbidden)
	n.changes, n.groupedCalls = changes, groupedCalls
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
	fmt.Fprintf(w, "library: %s files, %s under %s, %s of them to change, %s distinct removal sets (rule: %s)\n",
		num(cfg.files), num(inScope), scope, num(changes), num(distinctSets(files, forbidden)), rule)
	fmt.Fprintf(w, "emulator: rate limit %d/s per endpoint, latency %v, loopback\n\n", cfg.rateLimit, cfg.latency)

	srv := imagekittest.NewServer(files, opts...)
	report := filepath.Join(b.dir, "report.json")
	var args []string
	switch {
	case cfg.planOnly:
		args = []string{"plan", "-f", b.manifest, "--quiet", "--report", report}
	case cfg.savedPlan:
		args = []string{"plan", "-f", b.manifest, "--quiet", "--out", filepath.Join(b.dir, "plan.json")}
	default:
		args = []string{"apply", "-f", b.manifest, "--auto-approve", "--quiet", "--concurrency", fmt.Sprint(cfg.concurrency), "--report", report}
	}
	tp, err := runTagprune(ctx, b.bin, args, srv, b.dir, !cfg.savedPlan)
	var saved *outcome
	if err == nil && cfg.savedPlan {
		saved, err = runTagprune(ctx, b.bin, []string{"apply", filepath.Join(b.dir, "plan.json"), "--quiet", "--concurrency", fmt.Sprint(cfg.concurrency), "--report", report}, srv, b.dir, true)
	}
	if err == nil && !cfg.planOnly {
		err = checkConverged(srv.Handler().Files(), forbidden)
	}
	srv.Close()
	if err != nil {
		return n, err
	}
	if cfg.savedPlan {
		n.savedList, n.savedRemoveTags = int(saved.stats.Requests.List), int(saved.stats.Requests.RemoveTags)
		printSavedPlan(w, cfg, tp, saved, changes)
		return n, nil
	}
	s := tp.report.Summary
	n.removeTags, n.list = int(tp.stats.Requests.RemoveTags), int(tp.stats.Requests.List)
	if cfg.planOnly {
		fmt.Fprintf(w, "tagprune plan:\n")
	} else {
		fmt.Fprintf(w, "tagprune apply (--concurrency %d):\n", cfg.concurrency)
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
	if cfg.planOnly {
		return n, nil
	}

	var peers []peer
	type script struct {
		on   bool
		name string
		run  func(ctx context.Context, url string) error
	}
	for _, sc := range []script{
		{cfg.expert, "expert SDK script", func(ctx context.Context, url string) error {
			return runExpert(ctx, url, benchKey, forbidden, cfg.glob, cfg.rateLimit)
		}},
		{cfg.sdk, "careful SDK script", func(ctx context.Context, url string) error { return runSDK(ctx, url, benchKey, forbidden) }},
	} {
		if !sc.on {
			continue
		}
		p, err := runPeer(ctx, sc.name, generate(cfg.files, cfg.candidates, cfg.seed, cfg.sets), opts, forbidden, sc.run)
		if err != nil {
			return n, err
		}
		peers = append(peers, p)
		switch sc.name {
		case "expert SDK script":
			n.expertRemoveTags, n.expList = int(p.stats.Requests.RemoveTags), int(p.stats.Requests.List)
		default:
			n.sdkRemoveTags, n.sdkList = int(p.stats.Requests.RemoveTags), int(p.stats.Requests.List)
		}
	}
	printComparison(w, tp, peers, groupedCalls)
	return n, nil
}

// runPeer runs an SDK script against a fresh emulator serving files and
// checks that it converged.
func runPeer(ctx context.Context, name string, files []imagekittest.File, opts []imagekittest.Option, forbidden []string, script func(context.Context, string) error) (peer, error) {
	srv := imagekittest.NewServer(files, opts...)
	defer srv.Close()
	start := time.Now()
	if err := script(ctx, srv.URL); err != nil {
		return peer{}, err
	}
	p := peer{name: name, wall: time.Since(start), stats: srv.Handler().Stats()}
	if err := checkConverged(srv.Handler().Files(), forbidden); err != nil {
		return peer{}, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// printComparison prints tagprune and the SDK scripts side by side, and
// every ratio against the first script (the expert one, when it ran).
func printComparison(w io.Writer, tp *outcome, peers []peer, groupedCalls int) {
	if len(peers) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%-22s %12s", "", "tagprune")
	for _, p := range peers {
		fmt.Fprintf(w, " %20s", p.name)
	}
	fmt.Fprintln(w)
	row := func(label string, tpv string, peerv func(peer) string) {
		fmt.Fprintf(w, "%-22s %12s", label, tpv)
		for _, p := range peers {
			fmt.Fprintf(w, " %20s", peerv(p))
		}
		fmt.Fprintln(w)
	}
	row("removeTags calls", fmt.Sprint(tp.stats.Requests.RemoveTags), func(p peer) string { return fmt.Sprint(p.stats.Requests.RemoveTags) })
	row("list calls", fmt.Sprint(tp.stats.Requests.List), func(p peer) string { return fmt.Sprint(p.stats.Requests.List) })
	row("429 answers", fmt.Sprint(tp.stats.RateLimited), func(p peer) string { return fmt.Sprint(p.stats.RateLimited) })
	row("wall time", secs(tp.wall), func(p peer) string { return secs(p.wall) })
	fmt.Fprintf(w, "(grouping by exact removal set takes %d removeTags calls)\n", groupedCalls)
	calls := func(s imagekittest.Stats) int64 { return s.Requests.List + s.Requests.RemoveTags + s.Requests.Details }
	for _, p := range peers {
		fmt.Fprintf(w, "tagprune / %s: %.2fx the API calls (%d / %d), %.2fx the wall time (%s / %s)\n",
			p.name, float64(calls(tp.stats))/float64(calls(p.stats)), calls(tp.stats), calls(p.stats),
			tp.wall.Seconds()/p.wall.Seconds(), secs(tp.wall), secs(p.wall))
	}
}

// printSavedPlan prints what apply PLANFILE cost against the rate-limit
// bound of its reads plus its calls.
func printSavedPlan(w io.Writer, cfg config, plan, apply *outcome, changes int) {
	st := apply.stats
	fmt.Fprintf(w, "tagprune plan --out: %d list calls, %s\n", plan.stats.Requests.List, secs(plan.wall))
	fmt.Fprintf(w, "tagprune apply PLANFILE (--concurrency %d):\n", cfg.concurrency)
	fmt.Fprintf(w, "  list calls        %8d   (the freshness check: id IN searches)\n", st.Requests.List)
	fmt.Fprintf(w, "  removeTags calls  %8d   bound ceil(M/50) = %d for M = %d files\n", st.Requests.RemoveTags, ceil(changes, 50), changes)
	fmt.Fprintf(w, "  files changed     %8d   failed %d\n", apply.report.Summary.FilesChanged, apply.report.Summary.FilesFailed)
	fmt.Fprintf(w, "  429 answers       %8d\n", st.RateLimited)
	if cfg.rateLimit > 0 {
		bound := time.Duration(float64(st.Requests.List+st.Requests.RemoveTags) / float64(cfg.rateLimit) * float64(time.Second))
		fmt.Fprintf(w, "  wall time         %8s   bound (reads + calls)/rate = %s (%.2fx)\n", secs(apply.wall), secs(bound), apply.wall.Seconds()/bound.Seconds())
	} else {
		fmt.Fprintf(w, "  wall time         %8s\n", secs(apply.wall))
	}
}

// The rate limits and latencies of DESIGN.md section 7.
var (
	pacingRates     = []int{2, 5, 20, 50}
	pacingLatencies = []time.Duration{50 * time.Millisecond, 150 * time.Millisecond, 500 * time.Millisecond}
)

// parseList parses a comma-separated list of values.
func parseList[T any](v string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, f := range strings.Split(v, ",") {
		x, err := parse(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// pacingCell is one run of the pacing matrix: the planned calls, and the
// requests sent (list and retries included).
type pacingCell struct {
	rate             int
	latency          time.Duration
	concurrency      int
	calls, requests  int64
	limited, failed  int
	applyTime, bound time.Duration
}

// runPacing applies, for each rate limit and latency, a plan of
// max(30, 10 x rate) removeTags calls, and prints the apply time against
// the rate-limit bound (calls / rate) and the share of requests answered
// 429. Enough calls are kept in flight to cover the latency at the limit
// (rate x latency x 1.25 + 2, at least the default 8), since --concurrency
// bounds what can be reached. It returns an error naming the runs that
// missed DESIGN.md's targets.
func runPacing(ctx context.Context, cfg config, rates []int, latencies []time.Duration, w io.Writer) ([]pacingCell, error) {
	cfg.sets, cfg.glob = false, false
	b, done, err := prepare(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer done()
	fmt.Fprintf(w, "%-6s %-8s %6s %9s %12s %6s %10s %9s %8s %7s %7s\n", "rate", "latency", "calls", "requests", "concurrency", "files", "apply", "bound", "x-bound", "429s", "failed")
	var cells []pacingCell
	for _, rate := range rates {
		for _, latency := range latencies {
			calls := max(30, 10*rate)
			cell, err := pacingRun(ctx, b, rate, latency, calls, cfg.seed)
			if err != nil {
				return cells, err
			}
			cells = append(cells, cell)
			fmt.Fprintf(w, "%-6s %-8s %6d %9d %12d %6d %10s %9s %8.2f %7s %7d\n",
				fmt.Sprintf("%d/s", rate), latency, cell.calls, cell.requests, cell.concurrency, calls*50, secs(cell.applyTime), secs(cell.bound),
				cell.xBound(), fmt.Sprintf("%.1f%%", 100*cell.limitedShare()), cell.failed)
		}
	}
	var missed []string
	for _, c := range cells {
		if c.missed() {
			missed = append(missed, fmt.Sprintf("%d/s %v", c.rate, c.latency))
		}
	}
	if len(missed) > 0 {
		return cells, fmt.Errorf("%d of %d runs missed the target (at most %.2fx the bound, %.0f%% of requests 429, no failed file): %s",
			len(missed), len(cells), pacingTargetBound, 100*pacingTarget429, strings.Join(missed, ", "))
	}
	fmt.Fprintf(w, "every run within %.2fx the bound, with at most %.0f%% of requests 429 and no failed file\n", pacingTargetBound, 100*pacingTarget429)
	return cells, nil
}

// DESIGN.md section 7's pacing targets.
const (
	pacingTargetBound = 1.15
	pacingTarget429   = 0.02
)

// missed reports whether the run missed a target: more than
// pacingTargetBound times the bound, more than pacingTarget429 of the
// requests answered 429, or a failed file.
func (c pacingCell) missed() bool {
	return c.xBound() > pacingTargetBound || c.limitedShare() > pacingTarget429 || c.failed > 0
}

// xBound is the apply time over the rate-limit bound.
func (c pacingCell) xBound() float64 { return c.applyTime.Seconds() / c.bound.Seconds() }

// limitedShare is the share of requests answered 429.
func (c pacingCell) limitedShare() float64 {
	if c.requests == 0 {
		return 0
	}
	return float64(c.limited) / float64(c.requests)
}

// pacingRun applies calls x 50 changes against a fresh emulator limited to
// rate requests per second per endpoint, answering after latency.
func pacingRun(ctx context.Context, b *bench, rate int, latency time.Duration, calls int, seed uint64) (pacingCell, error) {
	changes := calls * 50
	files := generate(changes*2, changes, seed, false)
	// One forbidden set: ceil(M/50) calls, whatever the removal sets.
	srv := imagekittest.NewServer(files, imagekittest.WithPrivateKey(benchKey), imagekittest.WithRateLimit(rate), imagekittest.WithLatency(latency))
	defer srv.Close()
	conc := max(8, int(math.Ceil(float64(rate)*latency.Seconds()*1.25))+2)
	report := filepath.Join(b.dir, "report.json")
	out, err := runTagprune(ctx, b.bin, []string{"apply", "-f", b.manifest, "--auto-approve", "--quiet", "--concurrency", fmt.Sprint(conc), "--report", report}, srv, b.dir, true)
	if err != nil {
		return pacingCell{}, err
	}
	st := out.stats
	planned := int64(out.report.Summary.RemoveTagsCalls)
	cell := pacingCell{
		rate: rate, latency: latency, concurrency: conc,
		calls:     planned,
		requests:  st.Requests.List + st.Requests.RemoveTags + st.Requests.Details,
		limited:   int(st.RateLimited),
		failed:    out.report.Summary.FilesFailed,
		applyTime: out.report.FinishedAt.Sub(out.report.StartedAt),
		bound:     time.Duration(float64(planned) / float64(rate) * float64(time.Second)),
	}
	return cell, nil
}

// runTagprune runs the binary against srv and returns what it cost, with
// the emulator's counts for this run alone. Its stdout goes to a file in
// dir; a failing exit is an error with its stderr. With report, it reads
// the report the run wrote to dir/report.json.
func runTagprune(ctx context.Context, bin string, args []string, srv *imagekittest.Server, dir string, report bool) (*outcome, error) {
	out, err := os.Create(filepath.Join(dir, "stdout.txt"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	before := srv.Handler().Stats()
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
	ps := x.ProcessState
	o := &outcome{wall: wall, cpu: ps.UserTime() + ps.SystemTime(), rss: rss, stats: minus(srv.Handler().Stats(), before)}
	if !report {
		return o, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		return nil, err
	}
	var rep reconcile.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("read the tagprune report: %w", err)
	}
	o.report = &rep
	return o, nil
}

// minus returns the counts of a that came after b.
func minus(a, b imagekittest.Stats) imagekittest.Stats {
	a.Requests.List -= b.Requests.List
	a.Requests.Details -= b.Requests.Details
	a.Requests.RemoveTags -= b.Requests.RemoveTags
	a.Requests.AddTags -= b.Requests.AddTags
	a.Requests.Delete -= b.Requests.Delete
	a.Requests.RemoveAITags -= b.Requests.RemoveAITags
	a.Requests.Upload -= b.Requests.Upload
	a.RateLimited -= b.RateLimited
	a.Faults -= b.Faults
	return a
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
