package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	urfave "github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/reconcile"
)

// flagOf returns the flag name of the command, failing the test when there
// is none.
func flagOf(t *testing.T, command, name string) urfave.Flag {
	t.Helper()
	cmd := NewApp(Streams{Out: io.Discard, Err: io.Discard}, "test").Command(command)
	require.NotNil(t, cmd, command)
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	t.Fatalf("tagprune %s has no flag --%s", command, name)
	return nil
}

// The defaults are the packages' own: a change there changes the CLI.
func TestDefaultsComeFromThePackages(t *testing.T) {
	tests := []struct {
		command, flag string
		want          any
	}{
		{"plan", flagBatchSize, api.MaxRemoveTagsFiles},
		{"apply", flagBatchSize, api.MaxRemoveTagsFiles},
		{"apply", flagConcurrency, reconcile.DefaultConcurrency},
		{"apply", flagGrace, reconcile.DefaultGrace},
		{"restore", flagConcurrency, reconcile.DefaultConcurrency},
		{"restore", flagGrace, reconcile.DefaultGrace},
		{"restore", flagTimeout, api.DefaultTimeout},
		{"plan", flagTimeout, api.DefaultTimeout},
		{"export", flagTimeout, api.DefaultTimeout},
		{"plan", flagAPIURL, api.DefaultBaseURL},
		{"plan", flagMaxRateLimitWait, api.DefaultRateLimitWait},
		{"apply", flagMaxRateLimitWait, api.DefaultRateLimitWait},
		{"export", flagMaxRateLimitWait, api.DefaultRateLimitWait},
		{"emulator", flagAddr, imagekittest.DefaultAddr},
	}
	for _, tt := range tests {
		t.Run(tt.command+" --"+tt.flag, func(t *testing.T) {
			var got any
			switch f := flagOf(t, tt.command, tt.flag).(type) {
			case *urfave.IntFlag:
				got = f.Value
			case *urfave.DurationFlag:
				got = f.Value
			case *urfave.StringFlag:
				got = f.Value
			default:
				t.Fatalf("unexpected flag type %T", f)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// Flags are checked when they are parsed, before anything is read: these
// runs have no manifest, library or API to reach, and need none.
func TestRunRefusesBadFlagsBeforeReadingAnything(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"BatchSizeOverTheAPILimit", []string{"plan", "-f", "m.yaml", "--batch-size", "51"}, "--batch-size 51: want 1..50"},
		{"BatchSizeZero", []string{"apply", "-f", "m.yaml", "--batch-size", "0"}, "--batch-size 0: want 1..50"},
		{"ConcurrencyOverTheBound", []string{"apply", "-f", "m.yaml", "--concurrency", "65"}, "--concurrency 65: want 1..64"},
		{"SavedPlanTakesNoBatchSize", []string{"apply", "plan.json", "--batch-size", "3"}, "--batch-size does not apply to a saved plan"},
		{"SavedPlanAndManifest", []string{"apply", "plan.json", "-f", "m.yaml"}, "not both"},
		{"SavedPlanTakesNoRule", []string{"apply", "plan.json", "--rule", "r"}, "--rule does not apply to a saved plan"},
		{"EmptyRuleInPlan", []string{"plan", "-f", "m.yaml", "--rule", " "}, "--rule needs a rule name or a glob"},
		{"EmptyRuleInApply", []string{"apply", "-f", "m.yaml", "--rule", ""}, "--rule needs a rule name or a glob"},
		{"NothingToApply", []string{"apply"}, "nothing to apply"},
		{"UnknownFormat", []string{"plan", "-f", "m.yaml", "--format", "yaml"}, `--format "yaml": want text, json or markdown`},
		{"UnknownReportType", []string{"plan", "-f", "m.yaml", "--report", "r.txt"}, "--report r.txt"},
		{"ValidateGitHubOrText", []string{"validate", "-f", "m.yaml", "--format", "json"}, `--format "json": want text or github`},
		{"ExportPathIsAFolder", []string{"export", "--out", "x.json", "--path", "products"}, `--path "products": a folder path starts with /`},
		{"FaultRateIsAFraction", []string{"emulator", "--data", "x.json", "--fail-rate", "2"}, `--fail-rate "2": want a fraction between 0 and 1`},
		{"UnknownCommandSuggestsTheClosest", []string{"valdate"}, `did you mean "validate"?`},
		{"RestoreNeedsAReport", []string{"restore"}, "nothing to restore: give the report of an apply"},
		{"RestoreTakesOneReport", []string{"restore", "a.json", "b.json"}, "restore takes one REPORT, got 2 arguments"},
		{"RestoreWritesNotItsInput", []string{"restore", "r.json", "--report", "./r.json"}, "--report ./r.json is the same file as REPORT r.json"},
		{"RestoreConcurrencyOverTheBound", []string{"restore", "r.json", "--concurrency", "0"}, "--concurrency 0: want 1..64"},
		{"RestoreUnknownReportType", []string{"restore", "r.json", "--report", "r.txt"}, "--report r.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), append([]string{"tagprune"}, tt.args...), Streams{In: strings.NewReader(""), Out: &stdout, Err: &stderr}, "test")
			assert.Equal(t, exitError, code)
			assert.Contains(t, stderr.String(), tt.want)
			assert.Empty(t, stdout.String())
		})
	}
	// A REPORT that cannot be read is the first thing restore meets after
	// its flags: the library is not even opened, and the restore's own
	// report says why nothing was done.
	t.Run("RestoreReadsTheReportFirst", func(t *testing.T) {
		dir := t.TempDir()
		var stdout, stderr bytes.Buffer
		report := filepath.Join(dir, "restore.json")
		args := []string{"tagprune", "restore", filepath.Join(dir, "missing-report.json"), "--library", filepath.Join(dir, "x.json"), "--report", report}
		code := Run(context.Background(), args, Streams{In: strings.NewReader(""), Out: &stdout, Err: &stderr}, "test")
		assert.Equal(t, exitError, code)
		assert.Contains(t, stderr.String(), "reading report: stat "+filepath.Join(dir, "missing-report.json"))
		assert.NotContains(t, stderr.String(), "x.json")
		assert.Contains(t, stdout.String(), "Restore failed before any change: nothing was changed")
		b, err := os.ReadFile(report)
		require.NoError(t, err)
		assert.Contains(t, string(b), `"command": "restore"`)
	})
}
