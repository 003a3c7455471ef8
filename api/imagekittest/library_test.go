package imagekittest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// writeLibrary writes files to a new library file and returns its path.
func writeLibrary(t *testing.T, files []imagekittest.File) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, imagekittest.EncodeLibrary(&b, files))
	path := filepath.Join(t.TempDir(), "library.json")
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	return path
}

func TestEncodeAndLoadLibrary(t *testing.T) {
	path := writeLibrary(t, library())
	got, err := imagekittest.LoadLibrary(path)
	require.NoError(t, err)
	assert.Equal(t, library(), got)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(data), "\n  {\n    \"fileId\": \"f1\"", "the file is indented")

	t.Run("EmptyLibraryIsAnArray", func(t *testing.T) {
		var b bytes.Buffer
		require.NoError(t, imagekittest.EncodeLibrary(&b, nil))
		assert.Equal(t, "[]\n", b.String())
	})
}
func TestLoadLibraryErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"NotJSON", `{`, "parse library"},
		{"NotAnArray", `{"fileId":"a"}`, "JSON array"},
		{"TrailingData", `[] []`, "after the JSON array"},
		{"EmptyID", `[{"fileId":"","filePath":"/a.jpg"}]`, `file 0 ("/a.jpg") has no fileId`},
		{"DuplicateID", `[{"fileId":"a","filePath":"/a.jpg"},{"fileId":"a","filePath":"/b.jpg"}]`, `files 0 and 1 share fileId "a"`},
		{"RelativePath", `[{"fileId":"a","filePath":"a.jpg"}]`, `filePath "a.jpg": it must start with /`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lib.json")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o644))
			_, err := imagekittest.LoadLibrary(path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	t.Run("MissingFile", func(t *testing.T) {
		_, err := imagekittest.LoadLibrary(filepath.Join(t.TempDir(), "absent.json"))
		assert.ErrorIs(t, err, os.ErrNotExist)
		assert.ErrorContains(t, err, "absent.json")
	})
}

// givenLibrary is a library file as a user or another tool may write it:
// members the File type does not know, numbers beyond float64, escapes,
// one compact object among indented ones, an object without tags or
// updatedAt, and keys in an unusual order.
const givenLibrary = `[
  {
    "fileId": "a1",
    "type": "file",
    "name": "shoe.jpg",
    "filePath": "/products/shoe.jpg",
    "tags": [
      "sale2019",
      "hero"
    ],
    "AITags": [
      {
        "name": "Shoe",
        "confidence": 97.25,
        "source": "google-auto-tagging"
      },
      {
        "name": "sale2019",
        "confidence": 60,
        "source": "aws-auto-tagging"
      }
    ],
    "description": "caf\u00e9 \"red\"",
    "customMetadata": {
      "sku": 12345678901234567890,
      "price": 1.50
    },
    "embeddedMetadata": {
      "Make": "Canon",
      "DateTimeOriginal": "2019:08:22 10:20:30"
    },
    "createdAt": "2024-01-01T00:00:00.000Z",
    "updatedAt": "2024-01-02T00:00:00.000Z"
  },
  {"fileId":"a2","filePath":"/products/bag.png","tags":["sale2019"],"createdAt":"2024-01-03T00:00:00Z","size":1e3},
  {
    "updatedAt": "2024-01-04T00:00:00Z",
    "filePath": "/blog/post.jpg",
    "fileId": "a3",
    "createdAt": "2024-01-04T00:00:00Z"
  }
]
`

// elements returns the objects of a JSON array, each as its bytes.
func elements(t *testing.T, data []byte) []string {
	t.Helper()
	var raw []json.RawMessage
	require.NoError(t, json.Unmarshal(data, &raw))
	out := make([]string, len(raw))
	for i, r := range raw {
		out[i] = string(r)
	}
	return out
}

func openGiven(t *testing.T, opts ...imagekittest.Option) (*imagekittest.Library, *imagekittest.Handler) {
	t.Helper()
	lib, err := imagekittest.ReadLibrary(context.Background(), strings.NewReader(givenLibrary))
	require.NoError(t, err)
	return lib, imagekittest.NewLibraryHandler(lib, opts...)
}

func written(t *testing.T, lib *imagekittest.Library) string {
	t.Helper()
	var b bytes.Buffer
	n, err := lib.WriteTo(&b)
	require.NoError(t, err)
	assert.EqualValues(t, b.Len(), n, "WriteTo counts the bytes it wrote")
	return b.String()
}

func TestLibraryKeepsObjectsAsGiven(t *testing.T) {
	lib, _ := openGiven(t)
	assert.Equal(t, 3, lib.Len())
	assert.False(t, lib.Changed())
	out := written(t, lib)
	assert.Equal(t, elements(t, []byte(givenLibrary)), elements(t, []byte(out)), "every object byte for byte")
	assert.Contains(t, out, `"sku": 12345678901234567890`)
	assert.Contains(t, out, `"description": "caf\u00e9 \"red\""`)

	t.Run("ReadOneByteAtATime", func(t *testing.T) {
		lib, err := imagekittest.ReadLibrary(context.Background(), iotest.OneByteReader(strings.NewReader(givenLibrary)))
		require.NoError(t, err)
		assert.Equal(t, elements(t, []byte(givenLibrary)), elements(t, []byte(written(t, lib))))
	})
	t.Run("ReadThroughErrors", func(t *testing.T) {
		_, err := imagekittest.ReadLibrary(context.Background(), iotest.TimeoutReader(iotest.HalfReader(strings.NewReader(givenLibrary))))
		assert.ErrorIs(t, err, iotest.ErrTimeout, "a read error is returned, wrapped")
	})
	t.Run("AnIndentedLibraryIsWrittenBackUnchanged", func(t *testing.T) {
		var b bytes.Buffer
		require.NoError(t, imagekittest.EncodeLibrary(&b, library()))
		lib, err := imagekittest.ReadLibrary(context.Background(), bytes.NewReader(b.Bytes()))
		require.NoError(t, err)
		assert.Equal(t, b.String(), written(t, lib))
	})
	t.Run("FilesIsTheTypedView", func(t *testing.T) {
		files := lib.Files()
		require.Len(t, files, 3)
		assert.Equal(t, []string{"sale2019", "hero"}, files[0].Tags)
		assert.Equal(t, "Canon", files[0].EmbeddedMetadata["Make"])
		assert.Equal(t, "file", files[2].Type, "a missing type is a file")
		assert.Nil(t, files[2].Tags)
	})
	t.Run("SearchesReadNumbersAsGiven", func(t *testing.T) {
		_, h := openGiven(t)
		assert.Equal(t, []string{"a2"}, rawIDs(t, h, `size = 1000`), "1e3 is 1000")
		assert.Equal(t, []string{"a1"}, rawIDs(t, h, `"customMetadata.sku" = 12345678901234567890`))
		assert.Empty(t, rawIDs(t, h, `"customMetadata.sku" = 12345678901234567000`), "a large number is compared exactly")
	})
}

func TestAPIAnswersAddWhatTheAPIAlwaysSends(t *testing.T) {
	_, h := openGiven(t)
	rec := call(t, h, "GET", "/v1/files/a3/details", nil, nil)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"updatedAt":"2024-01-04T00:00:00Z","filePath":"/blog/post.jpg","fileId":"a3","createdAt":"2024-01-04T00:00:00Z",
		"type":"file","name":"post.jpg","tags":null,"AITags":null}`, rec.Body.String())
	rec = call(t, h, "GET", "/v1/files/a1/details", nil, nil)
	assert.Contains(t, rec.Body.String(), `"customMetadata":{"sku":12345678901234567890,"price":1.50}`, "compact, numbers as given")
}

func TestTagCallsChangeOnlyTheirMember(t *testing.T) {
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	const stamp = `"2025-06-01T12:00:00.000Z"`
	given := elements(t, []byte(givenLibrary))
	tests := []struct {
		name     string
		endpoint string
		body     any
		want     []string // the objects after the call
	}{
		{
			name: "RemoveOneTagOfAnIndentedList", endpoint: "removeTags",
			body: map[string]any{"fileIds": []string{"a1"}, "tags": []string{"hero"}},
			want: []string{
				strings.Replace(strings.Replace(given[0], "[\n      \"sale2019\",\n      \"hero\"\n    ]", "[\n      \"sale2019\"\n    ]", 1),
					`"updatedAt": "2024-01-02T00:00:00.000Z"`, `"updatedAt": `+stamp, 1),
				given[1], given[2],
			},
		},
		{
			name: "RemoveTheLastTagLeavesNull", endpoint: "removeTags",
			body: map[string]any{"fileIds": []string{"a2"}, "tags": []string{"sale2019"}},
			want: []string{
				given[0],
				`{"fileId":"a2","filePath":"/products/bag.png","tags":null,"createdAt":"2024-01-03T00:00:00Z","size":1e3,"updatedAt":` + stamp + `}`,
				given[2],
			},
		},
		{
			name: "AddTagsToACompactList", endpoint: "addTags",
			body: map[string]any{"fileIds": []string{"a2"}, "tags": []string{"new", "sale2019"}},
			want: []string{
				given[0],
				`{"fileId":"a2","filePath":"/products/bag.png","tags":["sale2019","new"],"createdAt":"2024-01-03T00:00:00Z","size":1e3,"updatedAt":` + stamp + `}`,
				given[2],
			},
		},
		{
			name: "AddTagsWhereThereIsNoTagsMember", endpoint: "addTags",
			body: map[string]any{"fileIds": []string{"a3"}, "tags": []string{"x", "y"}},
			want: []string{
				given[0], given[1],
				strings.Replace(strings.Replace(given[2], `"createdAt": "2024-01-04T00:00:00Z"`,
					`"createdAt": "2024-01-04T00:00:00Z",`+"\n    "+`"tags": [`+"\n      \"x\",\n      \"y\"\n    ]", 1),
					`"updatedAt": "2024-01-04T00:00:00Z"`, `"updatedAt": `+stamp, 1),
			},
		},
		{
			name: "RemoveAITagsKeepsTheOthersByteForByte", endpoint: "removeAITags",
			body: map[string]any{"fileIds": []string{"a1"}, "AITags": []string{"sale2019"}},
			want: []string{
				strings.Replace(strings.Replace(given[0], `,
      {
        "name": "sale2019",
        "confidence": 60,
        "source": "aws-auto-tagging"
      }`, "", 1), `"updatedAt": "2024-01-02T00:00:00.000Z"`, `"updatedAt": `+stamp, 1),
				given[1], given[2],
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib, h := openGiven(t, imagekittest.WithClock(func() time.Time { return at }))
			rec := call(t, h, "POST", "/v1/files/"+tt.endpoint, tt.body, nil)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			got := elements(t, []byte(written(t, lib)))
			require.Len(t, got, 3)
			for i := range got {
				assert.Equal(t, tt.want[i], got[i], "object %d", i)
			}
			assert.True(t, lib.Changed())
		})
	}
	t.Run("UpdatedAtIsAddedWhenMissing", func(t *testing.T) {
		lib, err := imagekittest.ReadLibrary(context.Background(), strings.NewReader(`[{"fileId":"z","filePath":"/z.jpg","tags":["a"]}]`))
		require.NoError(t, err)
		h := imagekittest.NewLibraryHandler(lib, imagekittest.WithClock(func() time.Time { return at }))
		call(t, h, "POST", "/v1/files/removeTags", map[string]any{"fileIds": []string{"z"}, "tags": []string{"a"}}, nil)
		assert.Equal(t, `[{"fileId":"z","filePath":"/z.jpg","tags":null,"updatedAt":`+stamp+`}]`, strings.Join(strings.Fields(written(t, lib)), ""))
	})
}

func TestChanged(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		body   any
		want   bool
	}{
		{"ReadsChangeNothing", "GET", "/v1/files?searchQuery=" + url.QueryEscape(`tags IN ["sale2019"]`), nil, false},
		{"RemovingAnAbsentTagChangesNothing", "POST", "/v1/files/removeTags", map[string]any{"fileIds": []string{"a1"}, "tags": []string{"absent"}}, false},
		{"AddingAPresentTagChangesNothing", "POST", "/v1/files/addTags", map[string]any{"fileIds": []string{"a1"}, "tags": []string{"hero"}}, false},
		{"ARefusedCallChangesNothing", "POST", "/v1/files/removeTags", map[string]any{"fileIds": []string{"a1", "nope"}, "tags": []string{"hero"}}, false},
		{"RemovingATagIsAChange", "POST", "/v1/files/removeTags", map[string]any{"fileIds": []string{"a1"}, "tags": []string{"hero"}}, true},
		{"ADeletionIsAChange", "DELETE", "/v1/files/a2", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib, h := openGiven(t)
			call(t, h, tt.method, tt.path, tt.body, nil)
			assert.Equal(t, tt.want, lib.Changed())
			if !tt.want {
				assert.Equal(t, elements(t, []byte(givenLibrary)), elements(t, []byte(written(t, lib))))
			}
		})
	}
}

func TestReadLibraryErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"Empty", ``, "the file is empty"},
		{"OnlySpace", " \n ", "the file is empty"},
		{"SyntaxErrorHasLineAndColumn", "[\n  {\"fileId\": \"a\", \"filePath\": \"/a\"},\n  {oops}\n]", "line 3, column 4"},
		{"ElementNotAnObject", `[{"fileId":"a","filePath":"/a"}, 5]`, "file 1 is not a JSON object"},
		{"CutShort", `[{"fileId":"a","filePath":"/a"`, "cut short"},
		{"NotClosed", `[{"fileId":"a","filePath":"/a"}`, "not closed"},
		{"MissingComma", `[{"fileId":"a","filePath":"/a"} {"fileId":"b","filePath":"/b"}]`, "want , or ]"},
		{"BadEscape", `[{"fileId":"a\q","filePath":"/a"}]`, "escape"},
		{"ControlCharacter", "[{\"fileId\":\"a\tb\",\"filePath\":\"/a\"}]", "in string literal"},
		{"TagsNotAList", `[{"fileId":"a","filePath":"/a","tags":"x"}]`, `file 0 (fileId "a"): field "tags" must be an array of strings or null`},
		{"TagNotAString", `[{"fileId":"a","filePath":"/a","tags":[1]}]`, `field "tags"`},
		{"AITagNotAnObject", `[{"fileId":"a","filePath":"/a","AITags":["x"]}]`, `field "AITags"`},
		{"BadDate", `[{"fileId":"a","filePath":"/a","createdAt":"yesterday"}]`, `field "createdAt" must be an RFC 3339 date`},
		{"SizeNotANumber", `[{"fileId":"a","filePath":"/a","size":"big"}]`, `field "size" must be a number`},
		{"FileIDNotAString", `[{"fileId":5,"filePath":"/a"}]`, `field "fileId" must be a string`},
		{"NoFilePath", `[{"fileId":"a"}]`, `file "a" has filePath "": it must start with /`},
		{"DeepNesting", `[{"fileId":"a","filePath":"/a","x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}]`, "nested more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := imagekittest.ReadLibrary(context.Background(), strings.NewReader(tt.content))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, json.Valid([]byte(tt.content)) && strings.Contains(tt.name, "Syntax"), false, "a syntax error is one for encoding/json too")
		})
	}
}

func TestReadLibraryLargeObjects(t *testing.T) {
	// Objects larger than the read buffer, and many of them.
	big := strings.Repeat("x", 3<<20)
	var b strings.Builder
	b.WriteString("[")
	for i := range 3 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"fileId":"f%d","filePath":"/f%d.jpg","description":%q}`, i, i, big)
	}
	b.WriteString("]")
	_, err := imagekittest.ReadLibrary(context.Background(), iotest.OneByteReader(strings.NewReader(b.String()[:100])))
	require.Error(t, err, "a cut-short library is refused, read one byte at a time")
	lib, err := imagekittest.ReadLibrary(context.Background(), strings.NewReader(b.String()))
	require.NoError(t, err)
	assert.Equal(t, 3, lib.Len())
	assert.Equal(t, elements(t, []byte(b.String())), elements(t, []byte(written(t, lib))))
}

// endless is a library that never ends.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	if e.n == 0 {
		e.n++
		return copy(p, "["), nil
	}
	e.n++
	return copy(p, fmt.Sprintf(`{"fileId":"f%d","filePath":"/f.jpg"},`, e.n)), nil
}

func TestReadLibraryStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := imagekittest.ReadLibrary(ctx, &endless{})
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(30 * time.Second):
		t.Fatal("ReadLibrary did not stop when its context ended")
	}
}

func TestOpenLibraryRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path func(t *testing.T) string
		want string
	}{
		{"Directory", func(t *testing.T) string { return dir }, "a directory"},
		{"Device", func(t *testing.T) string {
			if _, err := os.Stat(os.DevNull); err != nil || runtime.GOOS == "windows" {
				t.Skip("no null device")
			}
			return os.DevNull
		}, "a device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path(t)
			_, err := imagekittest.OpenLibrary(context.Background(), path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "not a regular file")
		})
	}
	t.Run("ThroughASymlinkToARegularFile", func(t *testing.T) {
		link := filepath.Join(dir, "link.json")
		require.NoError(t, os.Symlink(writeLibrary(t, library()), link))
		lib, err := imagekittest.OpenLibrary(context.Background(), link)
		require.NoError(t, err)
		assert.Equal(t, len(library()), lib.Len())
	})
}

func TestOpenLibraryRefusesAnOversizeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.json")
	f, err := os.Create(path)
	require.NoError(t, err)
	// A sparse file: its size is all that matters.
	require.NoError(t, f.Truncate(imagekittest.MaxLibraryBytes+1))
	require.NoError(t, f.Close())
	_, err = imagekittest.OpenLibrary(context.Background(), path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "2 GiB")
}

// rawIDs returns the ids a search answers, whatever the objects hold.
func rawIDs(t *testing.T, h http.Handler, query string) []string {
	t.Helper()
	var objs []struct {
		FileID   string `json:"fileId"`
		FolderID string `json:"folderId"`
	}
	rec := call(t, h, "GET", "/v1/files?"+url.Values{"searchQuery": {query}}.Encode(), nil, &objs)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	ids := []string{}
	for _, o := range objs {
		ids = append(ids, o.FileID+o.FolderID)
	}
	return ids
}

func TestCreatedBy(t *testing.T) {
	lib, err := imagekittest.ReadLibrary(context.Background(), strings.NewReader(`[
		{"fileId":"a","filePath":"/a.jpg","createdBy":"x@example.com"},
		{"fileId":"b","filePath":"/b.jpg","createdBy":{"email":"y@example.com","name":"Y"}},
		{"fileId":"c","filePath":"/c.jpg"}]`))
	require.NoError(t, err)
	h := imagekittest.NewLibraryHandler(lib)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{`createdBy = "x@example.com"`, []string{"a"}},
		{`createdBy IN ["y@example.com", "z@example.com"]`, []string{"b"}},
		{`createdBy NOT = "x@example.com"`, []string{"b", "c"}},
		{`createdBy NOT IN ["x@example.com", "y@example.com"]`, []string{"c"}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			assert.Equal(t, tc.want, rawIDs(t, h, tc.query))
		})
	}
}
