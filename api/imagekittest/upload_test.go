package imagekittest_test

import (
	"bytes"
	stdb64 "encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// upload sends a multipart upload of content with the form fields to h;
// a nil content sends no file field.
func upload(t *testing.T, h http.Handler, fields map[string]string, content []byte) *httptest.ResponseRecorder {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if content != nil {
		fw, err := mw.CreateFormFile("file", "upload.bin")
		require.NoError(t, err)
		_, err = fw.Write(content)
		require.NoError(t, err)
	}
	for k, v := range fields {
		require.NoError(t, mw.WriteField(k, v))
	}
	require.NoError(t, mw.Close())
	req := httptest.NewRequest("POST", "/api/v1/files/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func pngImage(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, w, h))))
	return b.Bytes()
}

// uploaded is the answer to an upload.
type uploaded struct {
	FileID       string                   `json:"fileId"`
	Name         string                   `json:"name"`
	Size         int                      `json:"size"`
	VersionInfo  imagekittest.VersionInfo `json:"versionInfo"`
	FilePath     string                   `json:"filePath"`
	URL          string                   `json:"url"`
	FileType     string                   `json:"fileType"`
	Width        *int                     `json:"width"`
	Height       *int                     `json:"height"`
	ThumbnailURL string                   `json:"thumbnailUrl"`
	Tags         []string                 `json:"tags"`
	AITags       []imagekittest.AITag     `json:"AITags"`
}

func TestUpload(t *testing.T) {
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	h := imagekittest.NewHandler(library(), imagekittest.WithClock(func() time.Time { return at }), imagekittest.WithPrivateKey("k"))
	content := pngImage(t, 3, 2)
	req := func(fields map[string]string, content []byte) *httptest.ResponseRecorder {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, err := mw.CreateFormFile("file", "x")
		require.NoError(t, err)
		_, _ = fw.Write(content)
		for k, v := range fields {
			require.NoError(t, mw.WriteField(k, v))
		}
		require.NoError(t, mw.Close())
		r := httptest.NewRequest("POST", "/api/v1/files/upload", &body)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		r.SetBasicAuth("k", "")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}

	rec := req(map[string]string{"fileName": "dot.png", "folder": "tagprune-conformance-x", "tags": "a, b,,a"}, content)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var got uploaded
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.Regexp(t, `^dot_[A-Za-z0-9]{9}\.png$`, got.Name, "a unique name by default")
	assert.Equal(t, "/tagprune-conformance-x/"+got.Name, got.FilePath)
	assert.Len(t, got.FileID, 24)
	assert.Equal(t, imagekittest.VersionInfo{ID: got.FileID, Name: "Version 1"}, got.VersionInfo)
	assert.Equal(t, "image", got.FileType)
	assert.Equal(t, len(content), got.Size)
	require.NotNil(t, got.Width)
	assert.Equal(t, 3, *got.Width)
	assert.Equal(t, 2, *got.Height)
	assert.Equal(t, []string{"a", "b"}, got.Tags)
	assert.Nil(t, got.AITags)
	assert.Contains(t, got.URL, got.FilePath)
	assert.Contains(t, got.ThumbnailURL, got.FilePath)
	assert.Contains(t, rec.Body.String(), `"AITags":null`)

	t.Run("TheFileIsInTheLibrary", func(t *testing.T) {
		f := byID(h.Files())[got.FileID]
		assert.Equal(t, "file", f.Type)
		assert.Equal(t, got.FilePath, f.FilePath)
		assert.Equal(t, "image/png", f.Mime)
		assert.True(t, f.HasAlpha)
		assert.Equal(t, at, f.CreatedAt)
		assert.Equal(t, []string{"a", "b"}, f.Tags)
		assert.True(t, h.Library().Changed())
		var found []imagekittest.File
		rec := call(t, h, "GET", "/v1/files?"+url.Values{"searchQuery": {`path : "/tagprune-conformance-x/" AND tags IN ["b"]`}}.Encode(), nil, &found,
			"Authorization", "Basic "+base64("k:"))
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, []string{got.FileID}, ids(found))
	})
	t.Run("WithoutAUniqueNameASecondUploadIsANewVersion", func(t *testing.T) {
		fields := map[string]string{"fileName": "doc.txt", "folder": "/docs/", "useUniqueFileName": "false", "tags": "v1"}
		var first, second uploaded
		require.Equal(t, http.StatusOK, req(fields, []byte("one")).Code)
		require.NoError(t, json.Unmarshal(req(fields, []byte("one")).Body.Bytes(), &first))
		fields["tags"] = "v2"
		rec := req(fields, []byte("second"))
		require.Equal(t, http.StatusOK, rec.Code)
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &second))
		assert.Equal(t, "/docs/doc.txt", second.FilePath)
		assert.Equal(t, first.FileID, second.FileID, "the same file")
		assert.NotEqual(t, first.VersionInfo.ID, second.VersionInfo.ID)
		assert.Equal(t, "Version 3", second.VersionInfo.Name)
		f := byID(h.Files())[second.FileID]
		assert.Equal(t, []string{"v2"}, f.Tags)
		assert.Equal(t, 6, int(f.Size))
		assert.Equal(t, "non-image", f.FileType)
	})
	t.Run("Base64Content", func(t *testing.T) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		require.NoError(t, mw.WriteField("file", stdb64.StdEncoding.EncodeToString([]byte("hello"))))
		require.NoError(t, mw.WriteField("fileName", "hello.txt"))
		require.NoError(t, mw.Close())
		r := httptest.NewRequest("POST", "/api/v1/files/upload", &body)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		r.SetBasicAuth("k", "")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var got uploaded
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		assert.Equal(t, 5, got.Size)
	})
	t.Run("CountedAndLogged", func(t *testing.T) {
		st := h.Stats()
		assert.EqualValues(t, 5, st.Requests.Upload)
		first := h.Requests()[0]
		assert.Equal(t, "/api/v1/files/upload", first.Path)
		assert.Equal(t, map[string]any{"fileName": "dot.png", "folder": "/tagprune-conformance-x/", "tags": []any{"a", "b"},
			"useUniqueFileName": true, "size": float64(len(content))}, first.Body)
	})
}

func TestUploadBadRequests(t *testing.T) {
	tests := []struct {
		name    string
		fields  map[string]string
		content []byte
		want    string
	}{
		{"NoFile", map[string]string{"fileName": "a.txt"}, nil, "missing file"},
		{"NoFileName", map[string]string{}, []byte("x"), "missing fileName"},
		{"FileNameWithAFolder", map[string]string{"fileName": "a/b.txt"}, []byte("x"), "holds a /"},
		{"BadFolder", map[string]string{"fileName": "a.txt", "folder": "/a/../b"}, []byte("x"), "not a folder path"},
		{"BadBoolean", map[string]string{"fileName": "a.txt", "useUniqueFileName": "yes"}, []byte("x"), "useUniqueFileName"},
		{"BadCustomMetadata", map[string]string{"fileName": "a.txt", "customMetadata": "[1]"}, []byte("x"), "customMetadata"},
		{"FromAURL", map[string]string{"fileName": "a.txt", "file": "https://example.com/a.jpg"}, nil, "from a URL is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := imagekittest.NewHandler(library())
			rec := upload(t, h, tt.fields, tt.content)
			assert.Equal(t, http.StatusBadRequest, rec.Code)
			var e apiError
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
			assert.Contains(t, e.Message, tt.want)
			assert.False(t, h.Library().Changed())
		})
	}
	t.Run("NotMultipart", func(t *testing.T) {
		h := imagekittest.NewHandler(library())
		var e apiError
		rec := call(t, h, "POST", "/api/v1/files/upload", `{"fileName":"a"}`, &e)
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Contains(t, e.Message, "multipart/form-data")
	})
}

func TestDeleteFolder(t *testing.T) {
	h := imagekittest.NewHandler(library())
	rec := call(t, h, "DELETE", "/v1/folder", map[string]any{"folderPath": "/products/shoes"}, nil)
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Empty(t, rec.Body.String())
	assert.Equal(t, []string{"f1", "f4", "f5", "f6", "f7"}, ids(h.Files()), "the folder and its subfolders are gone")
	assert.Equal(t, []string{"f1", "f4"}, listIDs(t, h, url.Values{"searchQuery": {`path : "/products/"`}}))
	assert.Equal(t, http.StatusNotFound, call(t, h, "GET", "/v1/files/f2/details", nil, nil).Code)
	assert.True(t, h.Library().Changed())

	for _, tc := range []struct {
		name string
		body any
		want int
		msg  string
	}{
		{"GoneIs404", map[string]any{"folderPath": "/products/shoes/"}, http.StatusNotFound, "/products/shoes"},
		{"NeverThereIs404", map[string]any{"folderPath": "/nowhere/"}, http.StatusNotFound, "/nowhere"},
		{"RootIs400", map[string]any{"folderPath": "/"}, http.StatusBadRequest, "root"},
		{"NoPathIs400", map[string]any{}, http.StatusBadRequest, "folderPath is missing"},
		{"RelativeIs400", map[string]any{"folderPath": "products"}, http.StatusBadRequest, "products"},
		{"MalformedIs400", `{"folderPath":`, http.StatusBadRequest, "malformed JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.Files()
			var e apiError
			rec := call(t, h, "DELETE", "/v1/folder", tc.body, &e)
			assert.Equal(t, tc.want, rec.Code)
			assert.Contains(t, e.Message, tc.msg)
			assert.Equal(t, before, h.Files())
		})
	}
	assert.EqualValues(t, 7, h.Stats().Requests.DeleteFolder)
}
