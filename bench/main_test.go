package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBenchSmoke runs the bench on a small library without rate limit or
// latency: every side converges (run checks it), tagprune makes ceil(M/50)
// removeTags calls and reads candidates only, the expert script reads
// candidates only and makes one call per removal set per 50 files, and the
// careful script reads the whole folder.
func TestBenchSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	files := generate(5000, 400, 1, false)
	m, grouped := expected(files, exactTags)
	require.Equal(t, 400, m)

	got, err := run(ctx, config{files: 5000, candidates: 400, concurrency: 4, sdk: true, expert: true, seed: 1}, &out)
	require.NoError(t, err, out.String())
	assert.Equal(t, m, got.changes)
	assert.Equal(t, (m+49)/50, got.removeTags, "tagprune: ceil(M/50) calls")
	assert.LessOrEqual(t, got.list, (m+999)/1000+1, "tagprune reads only candidates")
	assert.Equal(t, grouped, got.expertRemoveTags, "the expert script: one call per removal set per 50 files")
	assert.Equal(t, (m+999)/1000, got.expList, "the expert script reads only candidates")
	assert.Equal(t, grouped, got.sdkRemoveTags, "the careful script: one call per removal set per 50 files")
	assert.Equal(t, 4000/1000+1, got.sdkList, "the careful script reads the whole folder")
	assert.Contains(t, out.String(), "tagprune / expert SDK script:")
	assert.Contains(t, out.String(), "tagprune / careful SDK script:")
}

// TestBenchManyRemovalSets runs the bench on a library whose candidates
// carry a random half of the promo tags: tagprune still makes ceil(M/50)
// calls, the expert script one per removal set per 50 files, which is
// nearly one per file.
func TestBenchManyRemovalSets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	got, err := run(ctx, config{files: 2000, candidates: 600, concurrency: 4, sets: true, expert: true, seed: 3}, &out)
	require.NoError(t, err, out.String())
	assert.Equal(t, 600, got.changes)
	assert.Equal(t, 600/50, got.removeTags, "tagprune: ceil(M/50) calls")
	assert.Equal(t, got.groupedCalls, got.expertRemoveTags)
	assert.Greater(t, got.expertRemoveTags, 500, "nearly one call per file when grouped by removal set")
}

// TestBenchSavedPlan times apply PLANFILE on a small library: its reads
// are the id IN searches of the check, its calls the plan's.
func TestBenchSavedPlan(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	got, err := run(ctx, config{files: 5000, candidates: 400, concurrency: 4, savedPlan: true, rateLimit: 50, seed: 1}, &out)
	require.NoError(t, err, out.String())
	assert.Equal(t, 400/50, got.savedRemoveTags)
	assert.GreaterOrEqual(t, got.savedList, 2, "the check reads the 400 files in URLs of at most 8 KB")
	assert.LessOrEqual(t, got.savedList, 4)
	assert.Contains(t, out.String(), "bound (reads + calls)/rate")
}

// TestBenchPacingRun applies 30 calls at 50 requests per second: the
// apply takes about the bound, the counts are the emulator's.
func TestBenchPacingRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, done, err := prepare(ctx, config{})
	require.NoError(t, err)
	defer done()
	cell, err := pacingRun(ctx, b, 50, 0, 30, 1)
	require.NoError(t, err)
	assert.EqualValues(t, 30, cell.calls)
	assert.Zero(t, cell.failed)
	assert.Equal(t, 600*time.Millisecond, cell.bound)
	assert.Greater(t, cell.applyTime, cell.bound/2, "paced at the rate limit")
}

func TestGenerateIsDeterministicWithExactCandidates(t *testing.T) {
	tests := []struct {
		name              string
		files, candidates int
		want              int
	}{
		{name: "candidates spread over the scope", files: 1000, candidates: 37, want: 37},
		{name: "no candidates", files: 1000, candidates: 0, want: 0},
		{name: "more candidates than files in scope", files: 100, candidates: 500, want: 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, sets := range []bool{false, true} {
				a, b := generate(tt.files, tt.candidates, 7, sets), generate(tt.files, tt.candidates, 7, sets)
				assert.Equal(t, a, b)
				got, _ := expected(a, forbiddenTags(sets, false))
				assert.Equal(t, tt.want, got)
				glob, _ := expected(a, forbiddenTags(sets, true))
				assert.Equal(t, tt.want, glob, "the glob forbids the same tags")
			}
		})
	}
}

func TestPacingCellsAreJudgedAgainstTheTargets(t *testing.T) {
	tests := []struct {
		name   string
		cell   pacingCell
		missed bool
	}{
		{"AtTheBound", pacingCell{applyTime: 10 * time.Second, bound: 10 * time.Second, requests: 100}, false},
		{"JustUnderTheTargets", pacingCell{applyTime: 11500 * time.Millisecond, bound: 10 * time.Second, requests: 100, limited: 2}, false},
		{"TooSlow", pacingCell{applyTime: 11600 * time.Millisecond, bound: 10 * time.Second, requests: 100}, true},
		{"TooMany429s", pacingCell{applyTime: 10 * time.Second, bound: 10 * time.Second, requests: 100, limited: 3}, true},
		{"AFailedFile", pacingCell{applyTime: 10 * time.Second, bound: 10 * time.Second, requests: 100, failed: 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.missed, tt.cell.missed())
		})
	}
}
