//go:build unix

package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The end-to-end tests of the files a run reads and writes: every output is
// checked writable, and distinct from every input, before the first request;
// input files other than manifests must be regular files of a bounded size.
// A refusal is exit 1, a clear message, no request, and no file left behind.

// hostile is how long a run given a hostile file may take: it must end on
// its own, at once, rather than block on a pipe or read without end.
const hostile = 30 * time.Second

func TestFilesAreCheckedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// args returns the command line, given a scratch directory that
		// holds lib.json, tagprune.yaml, plan.json, key and fifo.
		args func(dir string) []string
		env  []string
		want string
	}{
		{name: "ReportInAMissingFolder", args: func(string) []string {
			return []string{"apply", "-f", exampleManifest, "--auto-approve", "--report", "/nonexistent/dir/r.json"}
		}, want: "--report /nonexistent/dir/r.json cannot be written: the folder /nonexistent/dir does not exist"},
		{name: "ReportOntoTheLibrary", args: func(string) []string {
			return []string{"apply", "-f", "tagprune.yaml", "--library", "lib.json", "--auto-approve", "--report", "lib.json"}
		}, want: "--report lib.json is the same file as --library lib.json"},
		{name: "ReportOntoAHardLinkOfTheLibrary", args: func(dir string) []string {
			if err := os.Link(filepath.Join(dir, "lib.json"), filepath.Join(dir, "other.json")); err != nil {
				panic(err)
			}
			return []string{"apply", "-f", "tagprune.yaml", "--library", "lib.json", "--auto-approve", "--report", "other.json"}
		}, want: "--report other.json is the same file as --library lib.json"},
		{name: "PlanOutOntoTheLibrary", args: func(string) []string {
			return []string{"plan", "-f", "tagprune.yaml", "--library", "lib.json", "--out", "lib.json"}
		}, want: "--out lib.json is the same file as --library lib.json"},
		{name: "PlanOutOntoTheManifest", args: func(string) []string {
			return []string{"plan", "-f", "tagprune.yaml", "--out", "tagprune.yaml"}
		}, want: "--out tagprune.yaml is the same file as -f tagprune.yaml"},
		{name: "PlanOutAndReportOnOneFile", args: func(string) []string {
			return []string{"plan", "-f", "tagprune.yaml", "--out", "p.json", "--report", "./p.json"}
		}, want: "--out p.json and --report ./p.json name the same file"},
		{name: "ReportOntoThePlanFile", args: func(string) []string {
			return []string{"apply", "plan.json", "--report", "plan.json"}
		}, want: "--report plan.json is the same file as PLANFILE plan.json"},
		{name: "ReportOntoTheKeyFile", args: func(dir string) []string {
			if err := os.Rename(filepath.Join(dir, "key"), filepath.Join(dir, "key.json")); err != nil {
				panic(err)
			}
			return []string{"apply", "plan.json", "--private-key-file", "key.json", "--report", "key.json"}
		}, want: "--report key.json is the same file as --private-key-file key.json"},
		{name: "ExportOntoItsLibrary", args: func(string) []string {
			return []string{"export", "--library", "lib.json", "--out", "lib.json"}
		}, want: "--out lib.json is the same file as --library lib.json"},
		{name: "ExportIntoAMissingFolder", args: func(string) []string {
			return []string{"export", "--out", "missing/lib.json"}
		}, want: "--out missing/lib.json cannot be written: the folder"},
		{name: "ReportOntoANamedPipe", args: func(string) []string {
			return []string{"apply", "-f", exampleManifest, "--auto-approve", "--report", "fifo.json"}
		}, want: "--report fifo.json is a named pipe (FIFO): tagprune writes its files by replacing a regular file"},
		{name: "ReportOntoAFolder", args: func(dir string) []string {
			if err := os.Mkdir(filepath.Join(dir, "r.json"), 0o755); err != nil {
				panic(err)
			}
			return []string{"apply", "-f", exampleManifest, "--auto-approve", "--report", "r.json"}
		}, want: "--report r.json is a directory"},
		{name: "KeyFileIsANamedPipe", args: func(string) []string {
			return []string{"plan", "-f", exampleManifest, "--private-key-file", "fifo.json"}
		}, env: []string{"IMAGEKIT_PRIVATE_KEY="}, want: "--private-key-file: fifo.json is a named pipe (FIFO), not a regular file"},
		{name: "KeyFileIsDevZero", args: func(string) []string {
			return []string{"plan", "-f", exampleManifest, "--private-key-file", "/dev/zero"}
		}, env: []string{"IMAGEKIT_PRIVATE_KEY="}, want: "--private-key-file: /dev/zero is a device, not a regular file"},
		{name: "KeyFileTooLarge", args: func(dir string) []string {
			if err := os.WriteFile(filepath.Join(dir, "big-key"), bytes.Repeat([]byte("k"), 1<<20), 0o600); err != nil {
				panic(err)
			}
			return []string{"plan", "-f", exampleManifest, "--private-key-file", "big-key"}
		}, env: []string{"IMAGEKIT_PRIVATE_KEY="}, want: "--private-key-file: big-key is larger than the 4 KiB limit"},
		{name: "LibraryIsANamedPipe", args: func(string) []string {
			return []string{"plan", "-f", exampleManifest, "--library", "fifo.json"}
		}, want: "--library: read library fifo.json: it is a named pipe (FIFO), not a regular file"},
		{name: "LibraryIsDevZero", args: func(string) []string {
			return []string{"plan", "-f", exampleManifest, "--library", "/dev/zero"}
		}, want: "--library: read library /dev/zero: it is a device, not a regular file"},
		{name: "KeyShorterThanEightCharacters", args: func(string) []string {
			return []string{"plan", "-f", exampleManifest}
		}, env: []string{"IMAGEKIT_PRIVATE_KEY=abc1234"}, want: "7 characters is too short for an ImageKit private key (at least 8) (from IMAGEKIT_PRIVATE_KEY)"},
		{name: "KeyFileShorterThanEightCharacters", args: func(dir string) []string {
			if err := os.WriteFile(filepath.Join(dir, "short-key"), []byte("k\n"), 0o600); err != nil {
				panic(err)
			}
			return []string{"plan", "-f", exampleManifest, "--private-key-file", "short-key"}
		}, env: []string{"IMAGEKIT_PRIVATE_KEY="}, want: "1 character is too short"},
		{name: "GraceZero", args: func(string) []string {
			return []string{"apply", "-f", exampleManifest, "--auto-approve", "--grace", "0s"}
		}, want: "--grace 0s: want a positive duration"},
		{name: "GraceNegative", args: func(string) []string {
			return []string{"apply", "-f", exampleManifest, "--auto-approve", "--grace", "-1s"}
		}, want: "--grace -1s: want a positive duration"},
		{name: "MaxChangesBelowMinusOne", args: func(string) []string {
			return []string{"apply", "-f", exampleManifest, "--auto-approve", "--max-changes", "-2"}
		}, want: "--max-changes -2: want a number of files (0 or more), or -1 for no limit"},
		{name: "RateLimitWaitCapZero", args: func(string) []string {
			return []string{"plan", "-f", exampleManifest, "--max-rate-limit-wait", "0s"}
		}, want: "--max-rate-limit-wait 0s: want a positive duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := exampleLibrary(t)
			srv := emulator(t, files)
			dir := t.TempDir()
			copyFile(t, exampleLibraryDoc, filepath.Join(dir, "lib.json"))
			copyFile(t, exampleManifest, filepath.Join(dir, "tagprune.yaml"))
			copyFile(t, filepath.Join(planFixtures, "valid.json"), filepath.Join(dir, "plan.json"))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "key"), []byte(testKey+"\n"), 0o600))
			require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo.json"), 0o600))
			args := tt.args(dir)
			before := snapshotDir(t, dir)

			r := tagprune(t, cmd{args: args, env: append(apiEnv(srv), tt.env...), dir: dir, timeout: hostile})
			require.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			requireNoPanic(t, r.stderr)
			require.Contains(t, r.stderr, tt.want)
			require.NotContains(t, r.stdout+r.stderr, testKey)
			requireNoRequests(t, srv)
			require.Equal(t, before, snapshotDir(t, dir), "no file is written, changed or left behind")
		})
	}
}

// snapshotDir maps each name in dir to its type and, for a regular file,
// its content.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	m := map[string]string{}
	for _, e := range entries {
		info, err := e.Info()
		require.NoError(t, err)
		m[e.Name()] = info.Mode().Type().String()
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			m[e.Name()] += " " + string(b)
		}
	}
	return m
}

// A saved plan that is a named pipe or a device is refused before it is
// opened; the apply still writes its report, saying why nothing was done.
func TestPlanFileMustBeARegularFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, plan, want string }{
		{"NamedPipe", "fifo.json", "fifo.json is a named pipe (FIFO), not a regular file"},
		{"DevZero", "/dev/zero", "/dev/zero is a device, not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := emulator(t, exampleLibrary(t))
			dir := t.TempDir()
			require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo.json"), 0o600))
			report := filepath.Join(t.TempDir(), "report.json")
			r := tagprune(t, cmd{args: []string{"apply", tc.plan, "--report", report}, env: apiEnv(srv), dir: dir, timeout: hostile})
			require.Equal(t, exitError, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			require.Contains(t, r.stderr, tc.want)
			requireNoRequests(t, srv)
			rep := readReport(t, report)
			require.Contains(t, rep.Error, tc.want)
			require.Empty(t, rep.Files)
			require.True(t, strings.HasPrefix(strings.TrimSpace(r.stdout), "Apply failed before any change"), r.stdout)
		})
	}
}
