package imagekittest_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
)

func TestGeneratorAdd(t *testing.T) {
	g := imagekittest.NewGenerator(1, 2)
	g.SetEndpoint("https://ik.imagekit.io/acme/")
	at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	f := g.Add(imagekittest.FileSpec{ID: "x1", Path: "/a/b/clip.mp4", Tags: []string{"t"}, Created: at, Size: 10})
	assert.Equal(t, imagekittest.File{
		FileID: "x1", Type: "file", Name: "clip.mp4", FilePath: "/a/b/clip.mp4", Tags: []string{"t"},
		VersionInfo: imagekittest.VersionInfo{ID: "x1", Name: "Version 1"},
		URL:         "https://ik.imagekit.io/acme/a/b/clip.mp4", Thumbnail: "https://ik.imagekit.io/acme/tr:n-ik_ml_thumbnail/a/b/clip.mp4",
		FileType: "non-image", Mime: "video/mp4", Size: 10, CustomMetadata: map[string]any{}, CreatedAt: at, UpdatedAt: at,
	}, f)
	drawn := g.Add(imagekittest.FileSpec{Path: "/c.png"})
	assert.Len(t, drawn.FileID, 24, "an id is drawn when none is given")
	assert.Equal(t, "image/png", drawn.Mime)
	assert.Equal(t, []imagekittest.File{f, drawn}, g.Files())
}

func TestGeneratorFolder(t *testing.T) {
	from, to := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	build := func() []imagekittest.File {
		g := imagekittest.NewGenerator(7, 8)
		g.Folder(imagekittest.FolderSpec{Path: "/logos/", Count: 5, Stem: "logo", From: from, To: to,
			Tags: []string{"brand"}, AITags: []string{"Logo"}, Format: "png", IDs: []string{"fixed-one"},
			Extra: func(g *imagekittest.Generator, i int) []string {
				if i == 0 {
					return []string{"first"}
				}
				return nil
			}})
		g.Folder(imagekittest.FolderSpec{Path: "/docs/", Count: 3, Stem: "doc", From: from, To: to, Format: "pdf", Private: true})
		return g.Files()
	}
	files := build()
	require.Len(t, files, 8)
	assert.Equal(t, files, build(), "the same seeds give the same library")
	assert.Equal(t, "fixed-one", files[0].FileID)
	assert.Contains(t, files[0].Tags, "first")
	ids := map[string]bool{}
	for i, f := range files {
		assert.False(t, ids[f.FileID], "ids are unique")
		ids[f.FileID] = true
		assert.False(t, f.CreatedAt.Before(from) || !f.CreatedAt.Before(to), "created in its range")
		assert.False(t, f.UpdatedAt.Before(f.CreatedAt))
		if i < 5 {
			assert.True(t, strings.HasPrefix(f.FilePath, "/logos/logo-00"), f.FilePath)
			assert.True(t, f.HasAlpha)
			assert.Equal(t, "image/png", f.Mime)
			assert.True(t, f.IsPublished)
		} else {
			assert.Equal(t, "application/pdf", f.Mime)
			assert.Zero(t, f.Width)
			assert.True(t, f.IsPrivateFile)
		}
	}
	assert.True(t, slices.ContainsFunc(files, func(f imagekittest.File) bool { return slices.Contains(f.Tags, "brand") }))
}

func TestGenerateLibraryIsStable(t *testing.T) {
	a := imagekittest.GenerateLibrary(500, 3)
	assert.Equal(t, a, imagekittest.GenerateLibrary(500, 3))
	assert.NotEqual(t, a, imagekittest.GenerateLibrary(500, 4))
	// Tests elsewhere pick files of generated libraries: the library must
	// stay the one it has always been (this is its digest since the
	// generators became one).
	var b bytes.Buffer
	require.NoError(t, imagekittest.EncodeLibrary(&b, a))
	assert.Equal(t, "992898155d6e32342414600acccdcf440fea9356615f7eba25b9f40bcc357a0a", fmt.Sprintf("%x", sha256.Sum256(b.Bytes())))
}
