package main

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
)

func TestLibraryIsUpToDate(t *testing.T) {
	got, err := generate()
	require.NoError(t, err)
	want, err := os.ReadFile("../library.json")
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "examples/library.json is stale; run go run ./examples/genlibrary > examples/library.json")
}

func TestLibraryHoldsWhatTheExampleManifestNames(t *testing.T) {
	out, err := generate()
	require.NoError(t, err)
	var files []imagekittest.File
	require.NoError(t, json.Unmarshal(out, &files))
	assert.Len(t, files, 300)
	byID := map[string]imagekittest.File{}
	for _, f := range files {
		assert.Len(t, f.FileID, 24)
		_, dup := byID[f.FileID]
		assert.False(t, dup, "fileId %s is unique", f.FileID)
		byID[f.FileID] = f
	}
	for _, id := range legalHoldIDs {
		require.Contains(t, byID, id)
		assert.Contains(t, byID[id].Tags, "legal-hold")
	}
}
