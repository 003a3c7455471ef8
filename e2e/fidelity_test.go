package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/reconcile"
)

// Fidelity to the real API, through the binary: a snapshot keeps every
// field of every file, an API URL may end in /v1, the documented
// searchQuery language answers the same offline as over HTTP, and folders
// in search results change nothing.

// fidelityLibrary is a library as the API serves it: custom and embedded
// metadata, numbers no float64 holds, a member the emulator does not know,
// null lists, and escapes in strings. Each object is compact, as in an
// answer.
const fidelityLibrary = `[
{"fileId":"5e21880d5efe355febd4bccd","type":"file","name":"red-shoe.jpg","filePath":"/products/shoes/red-shoe.jpg","tags":["sale2019","hero"],"AITags":[{"name":"Shoe","confidence":97.5,"source":"google-auto-tagging"}],"versionInfo":{"id":"5e21880d5efe355febd4bccd","name":"Version 1"},"isPrivateFile":false,"isPublished":true,"customCoordinates":null,"url":"https://ik.imagekit.io/demo/products/shoes/red-shoe.jpg","thumbnail":"https://ik.imagekit.io/demo/tr:n-ik_ml_thumbnail/products/shoes/red-shoe.jpg","fileType":"image","mime":"image/jpeg","width":1200,"height":800,"size":123456789012345678901,"hasAlpha":false,"customMetadata":{"brand":"Nike","sku":12345678901234567890,"price":1.10,"note":"a \"quoted\" \u00e9 word"},"embeddedMetadata":{"Keywords":["shoe","red"],"DateTimeOriginal":"2019-05-01T10:00:00.000Z","ExposureTime":0.000125},"createdAt":"2019-05-01T10:00:00.000Z","updatedAt":"2019-05-02T10:00:00.000Z","x-future-field":{"nested":[1,2.50,{"deep":null}]}},
{"fileId":"5e1c13c1c55ec3437c451403","type":"file","name":"blue-bag.png","filePath":"/products/bags/blue-bag.png","tags":["sale2019"],"AITags":null,"versionInfo":{"id":"5e1c13c1c55ec3437c451403","name":"Version 1"},"isPrivateFile":false,"isPublished":true,"customCoordinates":"10,10,100,100","url":"https://ik.imagekit.io/demo/products/bags/blue-bag.png","thumbnail":"https://ik.imagekit.io/demo/tr:n-ik_ml_thumbnail/products/bags/blue-bag.png","fileType":"image","mime":"image/png","width":640,"height":480,"size":2048,"hasAlpha":true,"customMetadata":{"brand":"Adidas"},"createdAt":"2020-01-01T00:00:00.000Z","updatedAt":"2020-01-01T00:00:00.000Z"},
{"fileId":"5f4abf6fae77ae7f0acda3d1","type":"file","name":"guide.pdf","filePath":"/docs/guide.pdf","tags":null,"AITags":null,"versionInfo":{"id":"5f4abf6fae77ae7f0acda3d1","name":"Version 3"},"isPrivateFile":true,"isPublished":false,"customCoordinates":null,"url":"https://ik.imagekit.io/demo/docs/guide.pdf","thumbnail":"","fileType":"non-image","mime":"application/pdf","size":9007199254740993,"hasAlpha":false,"customMetadata":{},"createdAt":"2021-03-04T05:06:07.089Z","updatedAt":"2021-03-04T05:06:07.089Z"}
]
`

// rawEmulator serves a library given as JSON, kept byte for byte, over
// loopback, requiring the tests' key.
func rawEmulator(t *testing.T, library string, opts ...imagekittest.Option) *imagekittest.Server {
	t.Helper()
	lib, err := imagekittest.ReadLibrary(context.Background(), strings.NewReader(library))
	require.NoError(t, err)
	srv, err := imagekittest.Listen("127.0.0.1:0", imagekittest.NewLibraryHandler(lib, append([]imagekittest.Option{imagekittest.WithPrivateKey(testKey)}, opts...)...))
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

// objectsOf returns the objects of a JSON array, each compacted.
func objectsOf(t *testing.T, data []byte) map[string]string {
	t.Helper()
	var raws []json.RawMessage
	require.NoError(t, json.Unmarshal(data, &raws))
	out := map[string]string{}
	for _, r := range raws {
		var buf bytes.Buffer
		require.NoError(t, json.Compact(&buf, r))
		var head struct {
			FileID string `json:"fileId"`
		}
		require.NoError(t, json.Unmarshal(r, &head))
		out[head.FileID] = buf.String()
	}
	return out
}

// writeFidelityManifest writes a manifest with one rule into a new directory and
// returns its path.
func writeFidelityManifest(t *testing.T, rule string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tagprune.yaml")
	require.NoError(t, os.WriteFile(path, []byte("version: 1\nrules:\n"+rule), 0o644))
	return path
}

// The snapshot export writes holds each file object exactly as the API sent
// it, so that --library answers a searchQuery on any field as the API does.
func TestExportKeepsEveryFieldOfEveryFile(t *testing.T) {
	t.Parallel()
	srv := rawEmulator(t, fidelityLibrary)
	want := objectsOf(t, []byte(fidelityLibrary))
	dir := t.TempDir()

	for _, tc := range []struct {
		name string
		args []string
		ids  []string
	}{
		{"WholeLibrary", nil, []string{"5e21880d5efe355febd4bccd", "5e1c13c1c55ec3437c451403", "5f4abf6fae77ae7f0acda3d1"}},
		{"OneFolder", []string{"--path", "/products/"}, []string{"5e21880d5efe355febd4bccd", "5e1c13c1c55ec3437c451403"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".json")
			r := tagprune(t, cmd{args: append([]string{"export", "--out", out}, tc.args...), env: apiEnv(srv)})
			require.Equal(t, exitOK, r.code, r.stderr)
			data, err := os.ReadFile(out)
			require.NoError(t, err)
			got := objectsOf(t, data)
			require.Len(t, got, len(tc.ids))
			for _, id := range tc.ids {
				assert.Equal(t, want[id], got[id], "file %s is written byte for byte as the API sent it", id)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				if line = strings.TrimSpace(line); line != "[" && line != "]" {
					assert.True(t, json.Valid([]byte(strings.TrimSuffix(line, ","))), "one file object a line: %s", line)
				}
			}
		})
	}

	snapshot := filepath.Join(dir, "WholeLibrary.json")
	for _, q := range []string{
		`"customMetadata.brand" = "Nike"`,
		`"customMetadata.sku" > 1000`,
		`"embeddedMetadata.Keywords" IN ["red"]`,
		`size > 100000 AND width >= 1200`,
	} {
		t.Run("Query "+q, func(t *testing.T) {
			m := writeFidelityManifest(t, fmt.Sprintf("  - name: by-metadata\n    files:\n      paths: [/]\n      searchQuery: '%s'\n    forbiddenTags: [sale2019]\n", q))
			online := tagprune(t, cmd{args: []string{"plan", "-f", m}, env: apiEnv(srv)})
			require.Equal(t, exitOK, online.code, online.stderr)
			offline := tagprune(t, cmd{args: []string{"plan", "-f", m, "--library", snapshot}})
			require.Equal(t, exitOK, offline.code, offline.stderr)
			assert.Equal(t, online.stdout, offline.stdout)
			assert.Contains(t, offline.stdout, "/products/shoes/red-shoe.jpg", "the query selects the shoe")
			assert.NotContains(t, offline.stdout, "blue-bag.png")
		})
	}
}

// An API URL copied with its /v1 suffix names the same API.
func TestAPIURLEndingInV1(t *testing.T) {
	t.Parallel()
	files := exampleLibrary(t)
	srv := emulator(t, files)
	base := tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest}, env: apiEnv(srv)})
	require.Equal(t, exitOK, base.code, base.stderr)
	require.Contains(t, base.stdout, "Plan: ")
	for _, suffix := range []string{"/v1", "/v1/"} {
		t.Run(suffix, func(t *testing.T) {
			r := tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest, "--api-url", srv.URL + suffix}, env: apiEnv(srv)})
			require.Equal(t, exitOK, r.code, r.stderr)
			assert.Equal(t, base.stdout, r.stdout)
		})
	}
	report := filepath.Join(t.TempDir(), "report.json")
	r := tagprune(t, cmd{args: []string{"apply", "-f", exampleManifest, "--auto-approve", "--report", report}, env: urlEnv(srv.URL + "/v1")})
	require.Equal(t, exitOK, r.code, r.stderr)
	rep := readReport(t, report)
	assert.Positive(t, rep.Summary.FilesChanged)
	assert.Equal(t, int64(rep.Summary.APICalls.RemoveTags), emulatorStats(t, srv).Requests.RemoveTags)
	for _, req := range emulatorRequests(t, srv) {
		assert.False(t, strings.HasPrefix(req.Path, "/v1/v1/"), "no request doubles the /v1: %s", req.Path)
	}
}

// hasLibrary has names and tags that HAS, the documented full-text
// operator, tells apart: case, tokens, and the last token as a prefix.
func hasLibrary() []imagekittest.File {
	t0 := time.Date(2023, 5, 1, 0, 0, 0, 0, time.UTC)
	var files []imagekittest.File
	for i, name := range []string{"Red-Shoe.jpg", "shoes_blue.png", "shoelace.jpg", "horseshoe.jpg", "bag.jpg", "red shoe box.pdf"} {
		tags := []string{"sale2019"}
		if i%2 == 0 {
			tags = append(tags, "Summer Collection")
		}
		files = append(files, imagekittest.File{
			FileID: fmt.Sprintf("64a%021d", i), Type: "file", Name: name, FilePath: "/catalog/" + name,
			Tags: tags, FileType: "image",
			CreatedAt: t0.Add(time.Duration(i) * time.Hour), UpdatedAt: t0,
		})
	}
	return files
}

// A rule whose searchQuery uses HAS plans the same on a snapshot as over
// HTTP.
func TestHASQueryPlansTheSameOfflineAndOverHTTP(t *testing.T) {
	t.Parallel()
	files := hasLibrary()
	srv := emulator(t, files)
	snapshot := filepath.Join(t.TempDir(), "library.json")
	var buf bytes.Buffer
	require.NoError(t, imagekittest.EncodeLibrary(&buf, files))
	require.NoError(t, os.WriteFile(snapshot, buf.Bytes(), 0o644))

	for _, q := range []string{`name HAS "shoe"`, `name HAS "red sho"`, `tags HAS "summer"`, `name HAS "SHOE" AND name NOT = "shoelace.jpg"`} {
		t.Run(q, func(t *testing.T) {
			m := writeFidelityManifest(t, fmt.Sprintf("  - name: by-text\n    files:\n      paths: [/catalog/]\n      searchQuery: '%s'\n    forbiddenTags: [sale2019]\n", q))
			online := tagprune(t, cmd{args: []string{"plan", "-f", m, "--format", "json"}, env: apiEnv(srv)})
			offline := tagprune(t, cmd{args: []string{"plan", "-f", m, "--format", "json", "--library", snapshot}})
			require.Equal(t, exitOK, online.code, online.stderr)
			require.Equal(t, exitOK, offline.code, offline.stderr)
			on, off := decodePlan(t, online.stdout), decodePlan(t, offline.stdout)
			assert.Equal(t, on.Changes, off.Changes)
			assert.Equal(t, on.Batches, off.Batches)
			assert.NotEmpty(t, on.Changes, "the query selects some files")
			assert.Less(t, len(on.Changes), len(files), "and not all of them")
		})
	}
}

func decodePlan(t *testing.T, doc string) *reconcile.Plan {
	t.Helper()
	var p reconcile.Plan
	require.NoError(t, json.Unmarshal([]byte(doc), &p), doc)
	return &p
}

// An API whose searches return folders and file versions too changes
// neither the plan nor filesScanned, and export writes files only.
func TestFoldersInSearchResultsChangeNothing(t *testing.T) {
	t.Parallel()
	files := imagekittest.GenerateLibrary(600, 5)
	old := files[3]
	old.FileID, old.Type = "ffff00000000000000000001", "file-version"
	files = append(files, old)
	plain := emulator(t, files)
	folders := emulator(t, files, imagekittest.WithFoldersInSearch(true))
	m := writeFidelityManifest(t, `  - name: sales
    files:
      paths: [/products/, /campaigns/]
    forbiddenTags: [sale2019, "campaign-2023-*"]
  - name: one-file
    files:
      fileIds: [`+files[10].FileID+`, `+files[11].FileID+`]
    forbiddenTags: [legacy, draft]
`)
	plan := func(srv *imagekittest.Server) *reconcile.Plan {
		r := tagprune(t, cmd{args: []string{"plan", "-f", m, "--format", "json"}, env: apiEnv(srv)})
		require.Equal(t, exitOK, r.code, r.stderr)
		return decodePlan(t, r.stdout)
	}
	want, got := plan(plain), plan(folders)
	require.NotEmpty(t, want.Changes)
	assert.Equal(t, want.Changes, got.Changes)
	assert.Equal(t, want.Batches, got.Batches)
	assert.Equal(t, want.Summary.FilesScanned, got.Summary.FilesScanned, "folders are not counted as files scanned")

	snapshot := filepath.Join(t.TempDir(), "library.json")
	r := tagprune(t, cmd{args: []string{"export", "--out", snapshot, "--path", "/products/"}, env: apiEnv(folders)})
	require.Equal(t, exitOK, r.code, r.stderr)
	exported, err := imagekittest.LoadLibrary(snapshot)
	require.NoError(t, err, "the snapshot loads: it holds no folder")
	for _, f := range exported {
		assert.Equal(t, "file", f.Type, f.FilePath)
		assert.NotEmpty(t, f.FileID)
	}
	offline := tagprune(t, cmd{args: []string{"plan", "-f", m, "--library", snapshot}})
	assert.Equal(t, exitOK, offline.code, offline.stderr)
}
