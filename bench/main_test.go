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
// latency: both sides converge (run checks it), tagprune makes ceil(M/50)
// removeTags calls and reads candidates only, and the SDK script makes one
// call per removal set per 50 files.
func TestBenchSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	files := generate(5000, 400, 1)
	m, grouped := expected(files, exactTags)
	require.Equal(t, 400, m)

	got, err := run(ctx, config{files: 5000, candidates: 400, concurrency: 4, sdk: true, seed: 1}, &out)
	require.NoError(t, err, out.String())
	assert.Equal(t, m, got.changes)
	assert.Equal(t, (m+49)/50, got.removeTags, "tagprune: ceil(M/50) calls")
	assert.LessOrEqual(t, got.list, (m+999)/1000+1, "tagprune reads only candidates")
	assert.Equal(t, grouped, got.sdkRemoveTags, "the SDK script: one call per removal set per 50 files")
	assert.Equal(t, 4000/1000+1, got.sdkList, "the SDK script reads the whole folder")
	assert.Contains(t, out.String(), "tagprune / SDK:")
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
			a, b := generate(tt.files, tt.candidates, 7), generate(tt.files, tt.candidates, 7)
			assert.Equal(t, a, b)
			got, _ := expected(a, exactTags)
			assert.Equal(t, tt.want, got)
			glob, _ := expected(a, globTags)
			assert.Equal(t, tt.want, glob, "the glob forbids the same tags")
		})
	}
}
