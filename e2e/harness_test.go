package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/reconcile"
)

// binary is the tagprune binary built once for the end-to-end tests.
var binary string

// Exit codes and the default report, as DESIGN.md sections 3 and 5 promise
// them. The tests state the contract themselves rather than import it.
const (
	exitOK          = 0
	exitError       = 1
	exitChanges     = 2
	exitIncomplete  = 3
	exitStale       = 4
	exitInterrupted = 130
	defaultReport   = "tagprune-report.json"
)

// Paths of the files the tests read, absolute so that runs in other
// directories can use them: the repository's examples and README, the
// manifest package's fixtures (valid and invalid manifests, shared so that
// every broken manifest the parser knows is also tried through the binary),
// and this package's own fixtures.
var (
	repoRoot          = mustAbs("..")
	readmeFile        = filepath.Join(repoRoot, "README.md")
	exampleManifest   = filepath.Join(repoRoot, "examples", "manifest.yaml")
	exampleLibraryDoc = filepath.Join(repoRoot, "examples", "library.json")
	testdataDir       = mustAbs("testdata")
	generatedManifest = filepath.Join(testdataDir, "generated.yaml")
	splitManifests    = filepath.Join(testdataDir, "split")
	invalidDir        = mustAbs(filepath.Join("..", "manifest", "testdata", "invalid"))
	validDir          = mustAbs(filepath.Join("..", "manifest", "testdata", "valid"))
	planFixtures      = filepath.Join(testdataDir, "plans")
	invalidManifest   = filepath.Join(invalidDir, "several-problems.yaml")
)

func mustAbs(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return abs
}

// parallelWaiting is how many tests run at once unless -parallel says
// otherwise: the tests spend their time waiting on the binary, on latency
// and on retry backoff, not on the CPU, so more of them than there are CPUs
// keep the machine busy.
const parallelWaiting = 8

func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		_ = flag.Set("test.parallel", strconv.Itoa(max(parallelWaiting, runtime.GOMAXPROCS(0))))
	}
	dir, err := os.MkdirTemp("", "tagprune-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "tagprune")
	build := exec.Command("go", "build", "-o", binary, "github.com/tagprune/tagprune")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build tagprune:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of the binary produced.
type result struct {
	stdout, stderr string
	code           int
}

// cmd describes one run of the binary: its arguments, extra environment,
// working directory and standard input, and how long it may take before it
// is killed (2 minutes when zero).
type cmd struct {
	args    []string
	env     []string
	dir     string
	stdin   io.Reader
	timeout time.Duration
}

// tagprune runs the built binary with a clean environment (no inherited
// IMAGEKIT_* or GITHUB_* variables) and returns what it printed. A run that
// outlives its timeout is killed and fails the test.
func tagprune(t *testing.T, c cmd) result {
	t.Helper()
	timeout := c.timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	x := exec.CommandContext(ctx, binary, c.args...)
	x.Env = append(cleanEnv(), c.env...)
	x.Dir = c.dir
	x.Stdin = c.stdin
	var stdout, stderr bytes.Buffer
	x.Stdout, x.Stderr = &stdout, &stderr
	err := x.Run()
	if ctx.Err() != nil {
		t.Fatalf("tagprune %v did not end within %s:\nstdout:\n%s\nstderr:\n%s", c.args, timeout, stdout.String(), stderr.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run tagprune %v: %v", c.args, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "IMAGEKIT_") || strings.HasPrefix(kv, "GITHUB_") || strings.HasPrefix(kv, "NO_COLOR=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// exampleSummary is the last line of the plan of examples/manifest.yaml
// over examples/library.json, as the README quotes it.
const exampleSummary = "Plan: 94 files to change, 79 tags to remove, 10 tags to add, 37 AITags to remove, " +
	"5 removeTags calls, 1 addTags call, 3 removeAITags calls."

// testKey is the private key the emulators of these tests require.
const testKey = "private_e2e_test_key"

// emulator starts an emulator over loopback serving files, requiring testKey.
func emulator(t *testing.T, files []imagekittest.File, opts ...imagekittest.Option) *imagekittest.Server {
	t.Helper()
	srv := imagekittest.NewServer(files, append([]imagekittest.Option{imagekittest.WithPrivateKey(testKey)}, opts...)...)
	t.Cleanup(srv.Close)
	return srv
}

// apiEnv is the environment that points the binary at srv.
func apiEnv(srv *imagekittest.Server) []string { return urlEnv(srv.URL) }

// urlEnv is the environment that points the binary at the API at url, with
// the key the tests' emulators require.
func urlEnv(url string) []string {
	return []string{"IMAGEKIT_API_URL=" + url, "IMAGEKIT_PRIVATE_KEY=" + testKey}
}

// exampleLibrary loads examples/library.json.
func exampleLibrary(t *testing.T) []imagekittest.File {
	t.Helper()
	files, err := imagekittest.LoadLibrary(exampleLibraryDoc)
	require.NoError(t, err)
	return files
}

// emulatorStats reads /_emulator/stats over HTTP, as an outside tool would.
func emulatorStats(t *testing.T, srv *imagekittest.Server) imagekittest.Stats {
	t.Helper()
	var s imagekittest.Stats
	getJSON(t, srv.URL+"/_emulator/stats", &s)
	return s
}

// emulatorRequests reads /_emulator/requests over HTTP.
func emulatorRequests(t *testing.T, srv *imagekittest.Server) []imagekittest.Request {
	t.Helper()
	var r []imagekittest.Request
	getJSON(t, srv.URL+"/_emulator/requests", &r)
	return r
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

// readReport decodes a JSON report file.
func readReport(t *testing.T, path string) *reconcile.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var r reconcile.Report
	require.NoError(t, json.Unmarshal(b, &r), "report %s", path)
	return &r
}

// tagsByID maps each file id to its own tags.
func tagsByID(files []imagekittest.File) map[string][]string {
	m := make(map[string][]string, len(files))
	for _, f := range files {
		m[f.FileID] = f.Tags
	}
	return m
}

// requireState checks that every file's tags equal want (nil and empty are
// the same) and that AITags are unchanged from before.
func requireState(t *testing.T, before, after []imagekittest.File, want map[string][]string) {
	t.Helper()
	require.Len(t, after, len(before))
	requireTags(t, before, after, want)
}

// requireTags checks, for every file still in the library, that its tags
// equal want and that its AITags are those it had before.
func requireTags(t *testing.T, before, after []imagekittest.File, want map[string][]string) {
	t.Helper()
	ai := make(map[string][]imagekittest.AITag, len(before))
	for _, f := range before {
		ai[f.FileID] = f.AITags
	}
	for _, f := range after {
		w := want[f.FileID]
		if len(w) == 0 && len(f.Tags) == 0 {
			continue
		}
		require.Equal(t, w, f.Tags, "tags of %s (%s)", f.FileID, f.FilePath)
		require.Equal(t, ai[f.FileID], f.AITags, "AITags of %s must not change", f.FileID)
	}
}

// requireStateAI is requireState for manifests that may remove AITags:
// every file's AITag names must equal wantAI (nil and empty are the same)
// instead of staying as they were.
func requireStateAI(t *testing.T, before, after []imagekittest.File, want, wantAI map[string][]string) {
	t.Helper()
	require.Len(t, after, len(before))
	for _, f := range after {
		w := want[f.FileID]
		if len(w)+len(f.Tags) > 0 {
			require.Equal(t, w, f.Tags, "tags of %s (%s)", f.FileID, f.FilePath)
		}
		var ai []string
		for _, a := range f.AITags {
			ai = append(ai, a.Name)
		}
		if len(wantAI[f.FileID])+len(ai) > 0 {
			require.Equal(t, wantAI[f.FileID], ai, "AITags of %s (%s)", f.FileID, f.FilePath)
		}
	}
}

// requireDesired checks that after is the oracle's end state for the
// manifests at paths applied to before: tags and AITags.
func requireDesired(t *testing.T, paths []string, before, after []imagekittest.File) {
	t.Helper()
	o := newOracle(t, manifestFiles(t, paths))
	requireStateAI(t, before, after, o.desired(before), o.desiredAITags(before))
}

// savePlan runs plan --out against srv and returns the plan file's path and
// the plan it holds.
func savePlan(t *testing.T, srv *imagekittest.Server, manifestPath string) (string, *reconcile.Plan) {
	t.Helper()
	return savePlanVia(t, srv, srv.URL, manifestPath)
}

// planFixture returns a copy of the saved plan fixture name (under
// testdata/plans) that records apiURL as its source, as a plan made against
// that API would: apply refuses a plan made from another library, and the
// fixtures were written before plans recorded where they were made.
func planFixture(t *testing.T, name, apiURL string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(planFixtures, name))
	require.NoError(t, err)
	var doc map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &doc))
	src, err := json.Marshal(reconcile.Source{APIURL: apiURL})
	require.NoError(t, err)
	doc["source"] = src
	out, err := json.MarshalIndent(doc, "", "  ")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, out, 0o644))
	return path
}

// savePlanVia is savePlan with the API at apiURL, such as a gate in front of
// srv: the plan records apiURL as its source, so it applies only there.
func savePlanVia(t *testing.T, srv *imagekittest.Server, apiURL, manifestPath string) (string, *reconcile.Plan) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.json")
	r := tagprune(t, cmd{args: []string{"plan", "-f", manifestPath, "--out", path}, env: urlEnv(apiURL)})
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "tagprune apply "+path)
	plan, err := reconcile.ReadPlan(path)
	require.NoError(t, err)
	require.NotEmpty(t, plan.Changes)
	require.Zero(t, emulatorStats(t, srv).Requests.RemoveTags, "plan --out must not change anything")
	return path, plan
}
