package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/reconcile"
)

func TestEndedReport(t *testing.T) {
	started := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	plan := &reconcile.Plan{
		Changes: []reconcile.Change{
			{FileID: "a", FilePath: "/a.jpg", TagsBefore: []string{"x"}, RemoveTags: []string{"x"}, Rules: []string{"r"}},
			{FileID: "b", FilePath: "/b.jpg", TagsBefore: []string{"x", "y"}, RemoveTags: []string{"x", "y"}, Rules: []string{"r"}},
		},
		Batches: []reconcile.Batch{{FileIDs: []string{"a", "b"}, Tags: []string{"x", "y"}}},
	}
	tests := []struct {
		name            string
		plan            *reconcile.Plan
		err             error
		wantFiles       int
		wantInterrupted bool
	}{
		{name: "FailedWhileReadingListsNoFile", err: errors.New("list files: authentication failed (HTTP 401)")},
		{name: "InterruptedWhileReadingSaysSo", err: fmt.Errorf("reading: %w", context.Canceled), wantInterrupted: true},
		{name: "EndedWithAPlanListsEveryFilePending", plan: plan, err: errors.New("checking the plan: server error"), wantFiles: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reconcile.EndedReport("apply", "test", started, tt.plan, nil, tt.err)
			assert.Equal(t, reconcile.FormatVersion, r.FormatVersion)
			assert.Equal(t, "apply", r.Command)
			assert.Equal(t, started, r.StartedAt)
			assert.False(t, r.FinishedAt.Before(r.StartedAt))
			assert.Equal(t, tt.err.Error(), r.Error)
			assert.Equal(t, tt.wantInterrupted, r.Interrupted)
			require.Len(t, r.Files, tt.wantFiles)
			assert.NotNil(t, r.Files, "files is a JSON array, never null")
			assert.NotNil(t, r.Batches)
			for _, f := range r.Files {
				assert.Equal(t, reconcile.StatusPending, f.Status)
			}
			assert.Equal(t, tt.wantFiles, r.Summary.FilesPending)
			assert.Zero(t, r.Summary.FilesChanged)
		})
	}
}

func TestMarkUnsaved(t *testing.T) {
	r := &reconcile.Report{
		Files: []reconcile.FileResult{
			{FileID: "a", RemoveTags: []string{"x"}, Status: reconcile.StatusChanged},
			{FileID: "b", RemoveTags: []string{"x", "y"}, Status: reconcile.StatusChanged},
			{FileID: "c", RemoveTags: []string{"x"}, Status: reconcile.StatusFailed, Error: "refused"},
			{FileID: "d", RemoveTags: []string{"x"}, Status: reconcile.StatusMissing},
		},
		Summary: reconcile.Summary{FilesChanged: 2, FilesFailed: 1, FilesMissing: 1, TagsRemoved: 3},
	}
	reconcile.MarkUnsaved(r, "not saved: disk full")
	got := map[string]string{}
	for _, f := range r.Files {
		got[f.FileID] = f.Status + ": " + f.Error
	}
	assert.Equal(t, map[string]string{
		"a": "pending: not saved: disk full",
		"b": "pending: not saved: disk full",
		"c": "failed: refused",
		"d": "missing: ",
	}, got)
	assert.Equal(t, reconcile.Summary{FilesPending: 2, FilesFailed: 1, FilesMissing: 1}, r.Summary)
}
