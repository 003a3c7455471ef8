package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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
		{"InterruptedReadIs130", interruptedError{msg: "interrupted while reading the library: nothing was changed"}, exitInterrupted},
		{"ManifestErrorsAreOne", &manifestErrors{n: 2, first: "m.yaml:1:1: bad"}, exitError},
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
			name: "NothingListeningPointsAtTheURLSetting",
			err: &api.Error{Op: "list files", Method: "GET", URL: "http://127.0.0.1:9/v1/files", Kind: api.ErrTransport,
				Attempts: 3, Err: fmt.Errorf("dial: %w", api.ErrNotListening)},
			want:     []string{"http://127.0.0.1:9", "--api-url", "IMAGEKIT_API_URL"},
			wantHint: "check --api-url (or IMAGEKIT_API_URL)",
			wantNone: []string{"--timeout"},
		},
		{
			name: "TimeoutSuggestsTheTimeoutFlag",
			err: &api.Error{Op: "list files", URL: "https://api.example/v1/files", Kind: api.ErrTransport, Attempts: 8,
				Err: fmt.Errorf("no complete answer within the 30s request timeout: %w", context.DeadlineExceeded)},
			want:     []string{"--timeout"},
			wantHint: "raise --timeout",
		},
		{
			name: "RedirectSaysToPointTheURLAtTheNewLocation",
			err: &api.Error{Op: "list files", Method: "GET", URL: "https://api.example/v1/files", StatusCode: 307,
				Kind: api.ErrRedirect, Location: "http://other.example/v1/files", RequestID: "rq-1"},
			want:     []string{"HTTP 307", "http://other.example/v1/files", "--api-url", "rq-1"},
			wantHint: "follows no redirect",
		},
		{
			name: "RateLimitWaitOverTheCapNamesTheCapFlag",
			err: &api.Error{Op: "remove tags", URL: "https://api.example/v1/files/removeTags", StatusCode: 429, Kind: api.ErrRateLimited,
				Reset: 20 * time.Minute, Err: fmt.Errorf("%w (15m0s)", api.ErrWaitTooLong), RequestID: "rq-2"},
			want:     []string{"--max-rate-limit-wait", "20m0s", "rq-2"},
			wantHint: "raise --max-rate-limit-wait",
		},
		{
			name:     "EndlessListingSaysTheServerDoesNotPage",
			err:      &api.Error{Op: "list files", URL: "http://127.0.0.1:9/v1/files", Kind: api.ErrEndlessListing, Err: errors.New("the same page twice")},
			want:     []string{"--api-url"},
			wantHint: "does not page its listings like the ImageKit API",
		},
		{
			name: "MissingFilesOfACallSayReplan",
			err: fmt.Errorf("removing tags: %w", &api.Error{Op: "remove tags", URL: "https://api.example/v1/files/removeTags", StatusCode: 404,
				Kind: api.ErrNotFound, MissingFileIDs: []string{"f1"}, RequestID: "rq-3"}),
			want:     []string{"f1", "rq-3"},
			wantHint: "re-plan to refresh",
		},
		{
			name:     "ListingNotFoundPointsAtTheURL",
			err:      &api.Error{Op: "list files", URL: "https://api.example/v1/v1/files", StatusCode: 404, Kind: api.ErrNotFound},
			want:     []string{"HTTP 404", "--api-url"},
			wantHint: "no such endpoint",
			wantNone: []string{"re-plan"},
		},
		{
			name:     "StalePlanSaysToPlanAgainOnce",
			err:      fmt.Errorf("refused a stale plan: %w", &reconcile.StaleError{Check: &reconcile.PlanCheck{Checked: 2}}),
			want:     []string{"plan again"},
			wantHint: "plan again",
		},
		{
			name: "PlanAppliedTwiceSaysSo",
			err: fmt.Errorf("refused a stale plan: %w", &reconcile.StaleError{Check: &reconcile.PlanCheck{Checked: 2, Stale: []reconcile.StaleFile{
				{FileID: "a", RemoveTags: []string{"x"}}, {FileID: "b", RemoveTags: []string{"x"}},
			}}}),
			want:     []string{"applied already"},
			wantHint: "the plan was probably applied already",
		},
		{
			name: "APlanWithSomethingLeftIsOnlyStale",
			err: fmt.Errorf("refused a stale plan: %w", &reconcile.StaleError{Check: &reconcile.PlanCheck{Checked: 2, Stale: []reconcile.StaleFile{
				{FileID: "a", RemoveTags: []string{"x"}, NowRemove: []string{"y"}}, {FileID: "b", RemoveTags: []string{"x"}},
			}}}),
			want:     []string{"plan again"},
			wantNone: []string{"applied already"},
		},
		{
			name:     "StoppedCallGetsNoHint",
			err:      &api.Error{Op: "remove tags", URL: "https://api.example/v1/files/removeTags", Kind: api.ErrStopped, Err: context.Canceled},
			want:     []string{"Error: "},
			wantNone: []string{"Hint:"},
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
