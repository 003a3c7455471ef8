package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
)

// A file object with fields tagprune does not read, a number beyond
// float64's precision and nested metadata, in the API's own field order.
const richFile = `{"fileId":"f1","type":"file","name":"a.jpg","filePath":"/p/a.jpg","tags":["x"],"AITags":null,` +
	`"versionInfo":{"id":"f1","name":"Version 1"},"width":1200,"height":800,"size":12345678901234567890,` +
	`"customMetadata":{"sku":12345678901234567890,"brand":"nike"},"embeddedMetadata":{"XResolution":72},` +
	`"description":"unknown to the client","createdAt":"2024-01-02T03:04:05Z","updatedAt":"2024-01-02T03:04:05Z"}`

const (
	folderObject  = `{"type":"folder","folderId":"d1","name":"p","folderPath":"/p/","createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z"}`
	versionObject = `{"fileId":"f1","type":"file-version","name":"a.jpg","filePath":"/p/a.jpg","tags":["old"],"createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z"}`
	noIDFile      = `{"type":"file","name":"b.jpg","filePath":"/p/b.jpg","createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z"}`
	// A folder whose fields would not decode as a file's.
	oddFolder = `{"type":"folder","folderId":"d2","name":"q","tags":"not a list","createdAt":"not a time"}`
)

func TestFileKeepsTheWholeObject(t *testing.T) {
	c, _, _ := serve(t, []http.HandlerFunc{answer(200, "["+richFile+"]"), answer(200, richFile)})
	pg, err := c.ListPage(context.Background(), api.ListParams{})
	require.NoError(t, err)
	require.Len(t, pg.Files, 1)
	f, err := c.Details(context.Background(), "f1")
	require.NoError(t, err)
	for name, got := range map[string]api.File{"list": pg.Files[0], "details": f} {
		assert.Equal(t, richFile, string(got.Raw), name+": byte for byte")
		assert.Equal(t, []string{"x"}, got.Tags, name)
	}
}

func TestObjectsThatAreNotFilesAreDropped(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	page := "[" + strings.Join([]string{folderObject, richFile, versionObject, noIDFile, oddFolder}, ",") + "]"
	c, _, _ := serve(t, []http.HandlerFunc{answer(200, page, "X-Ik-Requestid", "req-list")}, api.WithLogger(logger))
	pg, err := c.ListPage(context.Background(), api.ListParams{SearchQuery: `path : "/p/"`})
	require.NoError(t, err)
	require.Len(t, pg.Files, 1)
	assert.Equal(t, "f1", pg.Files[0].FileID)
	assert.Equal(t, "file", pg.Files[0].Type)
	assert.Equal(t, 5, pg.Objects, "dropped objects still count for paging")
	assert.Equal(t, "req-list", pg.RequestID)
	assert.Contains(t, logs.String(), "level=DEBUG")
	assert.Contains(t, logs.String(), `msg="api dropped objects that are not files"`)
	assert.Contains(t, logs.String(), "folder=2")
	assert.Contains(t, logs.String(), "file-version=1")
	assert.Contains(t, logs.String(), "noFileId=1")
	assert.Contains(t, logs.String(), "requestId=req-list")
}

func TestDetailsOfSomethingElseThanAFile(t *testing.T) {
	for name, body := range map[string]string{"Folder": folderObject, "FileVersion": versionObject, "NoFileID": noIDFile} {
		t.Run(name, func(t *testing.T) {
			c, _, _ := serve(t, []http.HandlerFunc{answer(200, body)})
			_, err := c.Details(context.Background(), "f1")
			require.ErrorIs(t, err, api.ErrDecode)
		})
	}
}

// mixedLibrary serves n files with a folder every third object, honouring
// skip and limit over the objects.
func mixedLibrary(n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		skip, _ := strconv.Atoi(q.Get("skip"))
		limit, _ := strconv.Atoi(q.Get("limit"))
		var objs []string
		for i := skip; i < n && i < skip+limit; i++ {
			if i%3 == 0 {
				objs = append(objs, fmt.Sprintf(`{"type":"folder","folderId":"d%d","name":"d%d","folderPath":"/d%d/"}`, i, i, i))
				continue
			}
			objs = append(objs, fmt.Sprintf(`{"fileId":"id%05d","type":"file","name":"f","filePath":"/f","createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z"}`, i))
		}
		answer(200, "["+strings.Join(objs, ",")+"]")(w, r)
	}
}

func TestListPagesOverFolders(t *testing.T) {
	for _, prefetch := range []int{1, 4} {
		t.Run(fmt.Sprintf("Prefetch%d", prefetch), func(t *testing.T) {
			c, _, _ := serve(t, []http.HandlerFunc{mixedLibrary(25)}, api.WithListPrefetch(prefetch))
			ids, errs := collect(c, context.Background(), api.ListParams{Limit: 10})
			require.Empty(t, errs)
			var want []string
			for i := range 25 {
				if i%3 != 0 {
					want = append(want, fmt.Sprintf("id%05d", i))
				}
			}
			assert.Equal(t, want, ids, "a page that is full of objects is not the last one")
		})
	}
}

// ignoresSkip answers every list request with the same full page.
func ignoresSkip(w http.ResponseWriter, r *http.Request) {
	r.URL.RawQuery = strings.NewReplacer("skip=", "ignored=").Replace(r.URL.RawQuery)
	library(1000)(w, r)
}

// endless answers every page full of new files.
func endless(w http.ResponseWriter, r *http.Request) { library(1<<30)(w, r) }

func TestListingsThatDoNotEnd(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		opts     []api.Option
		wantRead int
		wantErr  string
	}{
		{"ServerIgnoresSkip", ignoresSkip, nil, 10, "the page at skip 10 repeats the page before it: the server ignores skip"},
		{"PastTheBound", endless, []api.Option{api.WithMaxListFiles(45)}, 40, "50 objects read without reaching the end"},
	}
	for _, tt := range tests {
		for _, prefetch := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/Prefetch%d", tt.name, prefetch), func(t *testing.T) {
				c, rec, _ := serve(t, []http.HandlerFunc{tt.handler}, append(tt.opts, api.WithListPrefetch(prefetch))...)
				ids, errs := collect(c, context.Background(), api.ListParams{Limit: 10})
				require.Len(t, errs, 1)
				require.ErrorIs(t, errs[0], api.ErrEndlessListing)
				assert.Contains(t, errs[0].Error(), tt.wantErr)
				assert.Len(t, ids, tt.wantRead, "the pages before it")
				assert.LessOrEqual(t, len(rec.Requests()), tt.wantRead/10+1+prefetch, "it stops asking")
			})
		}
	}
}

func TestRawIsValidJSON(t *testing.T) {
	c, _, _ := serve(t, []http.HandlerFunc{library(3)})
	pg, err := c.ListPage(context.Background(), api.ListParams{})
	require.NoError(t, err)
	for _, f := range pg.Files {
		assert.True(t, json.Valid(f.Raw))
		var back map[string]any
		require.NoError(t, json.Unmarshal(f.Raw, &back))
		assert.Equal(t, f.FileID, back["fileId"])
	}
}
