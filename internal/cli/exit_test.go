package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/reconcile"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"NoErrorIsSuccess", nil, exitOK},
		{"AnyErrorIsOne", errors.New("boom"), exitError},
		{"ChangesFoundIsTwo", errChanges, exitChanges},
		{"FailedFilesAreThree", &incompleteError{failed: 2}, exitIncomplete},
		{"StalePlanIsFourThroughWrapping", fmt.Errorf("refused a stale plan: %w", &reconcile.StaleError{Check: &reconcile.PlanCheck{}}), exitStale},
		{"InterruptedApplyIs130", interruptedError{}, exitInterrupted},
		{"InterruptedRestoreIs130", interruptedError{command: "restore"}, exitInterrupted},
		{"RenameConflictIsOne", &reconcile.RenameConflictError{Files: 1}, exitError},
		{"InterruptIs130", fmt.Errorf("read: %w", context.Canceled), exitInterrupted},
		{"InterruptedAPICallIs130", &api.Error{Op: "list files", Kind: api.ErrTransport, Err: context.Canceled}, exitInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, exitCode(tt.err))
		})
	}
}

// unreachable is the error of a plan whose API cannot be reached.
func unreachable(url string) error {
	return fmt.Errorf("reading the library: %w", &api.Error{
		Op: "list files", Method: "GET", URL: url + "/v1/files?limit=1000",
		Kind: api.ErrTransport, Attempts: 8, Err: errors.New("connection refused"),
	})
}

func TestPrintError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		want     []string // each exactly once
		wantHint string   // in the hint line
		wantNone []string
	}{
		{
			name:     "UnreachableAPINamesTheURLOnceAndSaysWhatToCheck",
			err:      unreachable("http://127.0.0.1:9"),
			want:     []string{"http://127.0.0.1:9", "Hint: ", "connection refused"},
			wantHint: "check --api-url (or IMAGEKIT_API_URL)",
		},
		{
			name: "RefusedKeyNamesTheVariable",
			err: &api.Error{Op: "list files", Method: "GET", URL: "https://api.example/v1/files", StatusCode: 401,
				Kind: api.ErrAuth, Message: "invalid key"},
			want:     []string{"HTTP 401", "invalid key", "Hint: "},
			wantHint: "set IMAGEKIT_PRIVATE_KEY",
		},
		{
			name:     "ForbiddenKeySaysWhatKeyToUse",
			err:      &api.Error{Op: "remove tags", URL: "https://api.example/v1/files/removeTags", StatusCode: 403, Kind: api.ErrAuth},
			want:     []string{"HTTP 403", "Hint: "},
			wantHint: "allowed to manage files",
		},
		{
			name:     "DeletedFileSaysReplan",
			err:      &api.Error{Op: "file details", URL: "https://api.example/v1/files/x/details", StatusCode: 404, Kind: api.ErrNotFound},
			want:     []string{"HTTP 404", "Hint: "},
			wantHint: "re-plan to refresh",
		},
		{
			name:     "InterruptedCallGetsNoHint",
			err:      &api.Error{Op: "list files", URL: "https://api.example/v1/files", Kind: api.ErrTransport, Err: context.Canceled},
			want:     []string{"Error: "},
			wantNone: []string{"Hint:"},
		},
		{
			name: "RenameConflictSaysToAllowTheNewTag",
			err: &reconcile.RenameConflictError{Files: 1, Conflicts: []reconcile.RenameConflict{{FileID: "f1", FilePath: "/shop/1.jpg",
				Rename: reconcile.Rename{Old: "Red", New: "red", Rule: "colors"}, ForbiddenBy: []string{"shop"}}}},
			want:     []string{`rule "colors" renames "Red" to "red", but rule "shop" forbids "red" there`, "Hint: "},
			wantHint: "a rename's new tag must be allowed wherever the rename applies",
		},
		{
			name:     "InterruptedRestoreSaysToRunRestoreAgain",
			err:      interruptedError{command: "restore"},
			want:     []string{"run restore again to finish"},
			wantNone: []string{"Hint:"},
		},
		{
			name:     "OtherErrorsGetNoHint",
			err:      errors.New("--format \"yaml\": want text, json or markdown"),
			want:     []string{"Error: --format"},
			wantNone: []string{"Hint:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			printError(&b, tt.err)
			got := b.String()
			for _, w := range tt.want {
				assert.Equal(t, 1, strings.Count(got, w), "%q once in:\n%s", w, got)
			}
			if tt.wantHint != "" {
				_, hint, _ := strings.Cut(got, "\n  Hint: ")
				assert.Contains(t, hint, tt.wantHint)
			}
			for _, w := range tt.wantNone {
				assert.NotContains(t, got, w)
			}
		})
	}

	t.Run("AlreadyReportedAndBareExitCodesPrintNothing", func(t *testing.T) {
		var b bytes.Buffer
		printError(&b, nil)
		printError(&b, errSilent)
		printError(&b, fmt.Errorf("load: %w", errSilent))
		printError(&b, errChanges)
		assert.Empty(t, b.String())
	})
}

func TestLibraryNamesWhereOnlyWhenTheErrorDoesNot(t *testing.T) {
	api := &library{where: "http://127.0.0.1:9"}
	snapshot := &library{where: "lib.json", handler: nil, file: "lib.json"}
	tests := []struct {
		name string
		lib  *library
		err  error
		want string
	}{
		{"APIErrorNamesTheURLItself", api, unreachable("http://127.0.0.1:9"), ""},
		{"OtherErrorGetsTheURL", api, errors.New("a listing returned the same page twice"), "http://127.0.0.1:9"},
		{"SnapshotErrorGetsTheFile", snapshot, errors.New("bad request"), "lib.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.lib.unnamed(tt.err))
		})
	}
}
