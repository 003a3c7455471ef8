package imagekittest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// versioned is library() with a version of f1.
func versioned() []imagekittest.File {
	files := library()
	v := files[0]
	v.FileID, v.Type = "f1v1", "file-version"
	v.CreatedAt = v.CreatedAt.Add(-time.Hour)
	return append(files, v)
}

// object is what a search answers, file or folder.
type object struct {
	Type       string    `json:"type"`
	FileID     string    `json:"fileId"`
	FolderID   string    `json:"folderId"`
	Name       string    `json:"name"`
	FolderPath string    `json:"folderPath"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

func search(t *testing.T, h http.Handler, query url.Values) []object {
	t.Helper()
	var out []object
	rec := call(t, h, "GET", "/v1/files?"+query.Encode(), nil, &out)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return out
}

func kinds(objs []object) []string {
	out := []string{}
	for _, o := range objs {
		if o.Type == "folder" {
			out = append(out, "folder:"+o.FolderPath)
		} else {
			out = append(out, o.Type+":"+o.FileID)
		}
	}
	return out
}

func TestFoldersInSearch(t *testing.T) {
	plain := imagekittest.NewHandler(versioned())
	folders := imagekittest.NewHandler(versioned(), imagekittest.WithFoldersInSearch(true))
	tests := []struct {
		name    string
		h       http.Handler
		query   string
		want    []string
		comment string
	}{
		{"ByDefaultASearchFindsFilesOnly", plain, `path : "/products/"`,
			[]string{"file:f1", "file:f2", "file:f3", "file:f4"}, ""},
		{"WithTheOptionFoldersComeFirstAndVersionsToo", folders, `path : "/products/"`,
			[]string{"folder:/products/shoes", "folder:/products/shoes/2019", "file-version:f1v1", "file:f1", "file:f2", "file:f3", "file:f4"}, ""},
		{"ATypeConditionDecides", folders, `path : "/products/" AND type = "file"`,
			[]string{"file:f1", "file:f2", "file:f3", "file:f4"}, ""},
		{"ATypeConditionDecidesWithoutTheOption", plain, `type = "folder"`,
			[]string{"folder:/blog", "folder:/docs", "folder:/products", "folder:/products/shoes", "folder:/products/shoes/2019"}, ""},
		{"VersionsByType", plain, `type = "file-version"`, []string{"file-version:f1v1"}, ""},
		{"NotFile", plain, `type NOT = "file" AND path : "/products/shoes/"`,
			[]string{"folder:/products/shoes/2019"}, ""},
		{"TagsNeverMatchAFolder", folders, `tags IN ["sale2019"] AND path : "/products/"`,
			[]string{"file-version:f1v1", "file:f1", "file:f2", "file:f3"}, ""},
		{"FoldersMatchByName", folders, `name HAS "shoe"`, []string{"folder:/products/shoes"}, ""},
		{"FoldersMatchById", folders, `id = "` + folderIDOf(t, plain, "/products/shoes") + `"`, []string{"folder:/products/shoes"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, kinds(search(t, tt.h, url.Values{"searchQuery": {tt.query}})))
		})
	}
	t.Run("FolderObjectsHaveTheAPIShape", func(t *testing.T) {
		var objs []map[string]any
		call(t, folders, "GET", "/v1/files?"+url.Values{"searchQuery": {`name = "shoes"`}}.Encode(), nil, &objs)
		require.Len(t, objs, 1)
		for _, key := range []string{"type", "folderId", "name", "folderPath", "createdAt", "updatedAt"} {
			assert.Contains(t, objs[0], key)
		}
		assert.NotContains(t, objs[0], "fileId")
		assert.Equal(t, "2024-01-03T00:00:00Z", objs[0]["createdAt"], "the earliest file below it")
	})
	t.Run("PagesRunAcrossFoldersAndFiles", func(t *testing.T) {
		all := kinds(search(t, folders, url.Values{"searchQuery": {`path : "/products/"`}}))
		var paged []string
		for skip := 0; skip < len(all)+2; skip += 2 {
			paged = append(paged, kinds(search(t, folders, url.Values{"searchQuery": {`path : "/products/"`}, "skip": {strconv.Itoa(skip)}, "limit": {"2"}}))...)
		}
		assert.Equal(t, all, paged)
	})
}

// folderIDOf returns the folderId h gives a folder.
func folderIDOf(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	for _, o := range search(t, h, url.Values{"type": {"folder"}}) {
		if o.FolderPath == path {
			return o.FolderID
		}
	}
	t.Fatalf("no folder %s", path)
	return ""
}

func TestRequestIDs(t *testing.T) {
	h := imagekittest.NewHandler(library(), imagekittest.WithPrivateKey("k"), imagekittest.WithRateLimit(1))
	auth := []string{"Authorization", "Basic " + base64("k:")}
	seen := map[string]bool{}
	for _, tc := range []struct {
		name, method, path string
		hdr                []string
		want               int
	}{
		{"Answered", "GET", "/v1/files", auth, http.StatusOK},
		{"RateLimited", "GET", "/v1/files", auth, http.StatusTooManyRequests},
		{"Unauthorized", "GET", "/v1/files/f1/details", nil, http.StatusUnauthorized},
		{"UnknownRoute", "GET", "/v2/files", auth, http.StatusNotFound},
		{"Introspection", "GET", "/_emulator/stats", nil, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := call(t, h, tc.method, tc.path, nil, nil, tc.hdr...)
			assert.Equal(t, tc.want, rec.Code)
			id := rec.Header().Get("x-ik-requestId")
			assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$`, id)
			assert.False(t, seen[id], "request ids are unique")
			seen[id] = true
		})
	}
	other := call(t, imagekittest.NewHandler(nil), "GET", "/v1/files", nil, nil).Header().Get("x-ik-requestId")
	assert.False(t, seen[other], "another handler gives other ids")
}

func TestRateLimitWindows(t *testing.T) {
	h := imagekittest.NewHandler(library(), imagekittest.WithRateLimit(100), imagekittest.WithRateLimitWindow(3, 15*time.Minute))
	var recs []*httptest.ResponseRecorder
	for range 4 {
		recs = append(recs, call(t, h, "GET", "/v1/files?limit=1", nil, nil))
	}
	for i, rec := range recs[:3] {
		assert.Equal(t, http.StatusOK, rec.Code, "request %d fits both windows", i)
		assert.Equal(t, "3", rec.Header().Get("X-RateLimit-Limit"), "the window nearest its limit is announced")
		assert.Equal(t, "900000", rec.Header().Get("X-RateLimit-Interval"))
	}
	refused := recs[3]
	require.Equal(t, http.StatusTooManyRequests, refused.Code)
	assert.Equal(t, "3", refused.Header().Get("X-RateLimit-Limit"), "the window that refused")
	assert.Equal(t, "900000", refused.Header().Get("X-RateLimit-Interval"))
	reset, err := strconv.Atoi(refused.Header().Get("X-RateLimit-Reset"))
	require.NoError(t, err)
	assert.Greater(t, reset, 250_000, "a token of a 3-per-15-minutes window comes back after 5 minutes")
	assert.LessOrEqual(t, reset, 300_000)
	assert.Equal(t, http.StatusOK, call(t, h, "GET", "/v1/files/f1/details", nil, nil).Code, "each endpoint has its own windows")

	t.Run("TheShortWindowStillCounts", func(t *testing.T) {
		h := imagekittest.NewHandler(library(), imagekittest.WithRateLimit(1), imagekittest.WithRateLimitWindow(1000, time.Hour))
		assert.Equal(t, http.StatusOK, call(t, h, "GET", "/v1/files", nil, nil).Code)
		rec := call(t, h, "GET", "/v1/files", nil, nil)
		require.Equal(t, http.StatusTooManyRequests, rec.Code)
		assert.Equal(t, "1", rec.Header().Get("X-RateLimit-Limit"))
		assert.Equal(t, "1000", rec.Header().Get("X-RateLimit-Interval"))
	})
	t.Run("UploadIsNotRateLimited", func(t *testing.T) {
		h := imagekittest.NewHandler(nil, imagekittest.WithRateLimit(1))
		for range 3 {
			rec := upload(t, h, map[string]string{"fileName": "a.txt"}, []byte("hello"))
			assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.NotEmpty(t, rec.Header().Get("X-RateLimit-Limit"), "every answer has the headers")
		}
	})
}

func TestStatusFaults(t *testing.T) {
	for _, status := range []int{http.StatusRequestTimeout, http.StatusConflict} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			h := imagekittest.NewHandler(library(), imagekittest.WithStatusRate(status, 1))
			var e apiError
			rec := call(t, h, "POST", "/v1/files/removeTags", map[string]any{"fileIds": []string{"f1"}, "tags": []string{"sale2019"}}, &e)
			assert.Equal(t, status, rec.Code)
			assert.NotEmpty(t, e.Message)
			assert.Contains(t, e.Help, "support@imagekit.io")
			assert.Equal(t, library(), h.Files(), "a fault changes nothing")
			assert.EqualValues(t, 1, h.Stats().Faults)
			assert.False(t, h.Library().Changed())
		})
	}
	t.Run("AFractionDeterministically", func(t *testing.T) {
		statuses := func(seed int64) []int {
			var cfg imagekittest.Config
			require.NoError(t, cfg.Set("status-rate", "408=0.3"))
			require.NoError(t, cfg.Set("status-rate", "409=0.3"))
			require.NoError(t, cfg.Set("seed", strconv.FormatInt(seed, 10)))
			h := imagekittest.NewHandler(library(), cfg.Options()...)
			var out []int
			for range 60 {
				out = append(out, call(t, h, "GET", "/v1/files?limit=1", nil, nil).Code)
			}
			return out
		}
		a := statuses(4)
		assert.Equal(t, a, statuses(4))
		assert.Contains(t, a, http.StatusOK)
		assert.Contains(t, a, http.StatusRequestTimeout)
		assert.Contains(t, a, http.StatusConflict)
		assert.NotEqual(t, a, statuses(5))
	})
	t.Run("UnusedFaultsLeaveTheSequenceAlone", func(t *testing.T) {
		codes := func(opts ...imagekittest.Option) []int {
			h := imagekittest.NewHandler(library(), append(opts, imagekittest.WithFailRate(0.5), imagekittest.WithSeed(3))...)
			var out []int
			for range 30 {
				out = append(out, call(t, h, "GET", "/v1/files?limit=1", nil, nil).Code)
			}
			return out
		}
		assert.Equal(t, codes(), codes(imagekittest.WithStatusRate(http.StatusConflict, 0)))
	})
}

func TestIgnoreSkip(t *testing.T) {
	h := imagekittest.NewHandler(library(), imagekittest.WithIgnoreSkip(true))
	first := listIDs(t, h, url.Values{"limit": {"3"}})
	assert.Equal(t, first, listIDs(t, h, url.Values{"limit": {"3"}, "skip": {"3"}}), "skip is ignored")
	assert.Equal(t, first, listIDs(t, h, url.Values{"limit": {"3"}, "skip": {"3"}, "searchQuery": {`path : "/"`}}))
	assert.EqualValues(t, 2, h.Stats().Faults, "each ignored skip is a fault")
}

func TestRemoveAITags(t *testing.T) {
	files := library()
	files[0].AITags = []imagekittest.AITag{{Name: "Shoe", Confidence: 90, Source: "a"}, {Name: "hero", Confidence: 80, Source: "b"}}
	h := imagekittest.NewHandler(files, imagekittest.WithClock(func() time.Time { return fixedAt }))
	var got updateAnswer
	rec := call(t, h, "POST", "/v1/files/removeAITags", map[string]any{"fileIds": []string{"f1", "f3", "f4"}, "AITags": []string{"hero", "sale2019"}}, &got)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, []string{"f1", "f3", "f4"}, got.Updated)
	after := byID(h.Files())
	assert.Equal(t, []imagekittest.AITag{{Name: "Shoe", Confidence: 90, Source: "a"}}, after["f1"].AITags)
	assert.Equal(t, []string{"sale2019", "hero"}, after["f1"].Tags, "tags are never touched")
	assert.Nil(t, after["f3"].AITags)
	assert.Equal(t, fixedAt, after["f3"].UpdatedAt)
	assert.Equal(t, library()[3], after["f4"], "a file without those AITags is unchanged")
	assert.Equal(t, []string{"f1", "f2", "f5", "f7"}, listIDs(t, h, url.Values{"searchQuery": {`tags IN ["sale2019"]`}}),
		"f3 no longer matches by its AITag")
	assert.EqualValues(t, 1, h.Stats().Requests.RemoveAITags)

	t.Run("MissingFileIs404AndNothingChanges", func(t *testing.T) {
		h := imagekittest.NewHandler(library())
		var e apiError
		rec := call(t, h, "POST", "/v1/files/removeAITags", map[string]any{"fileIds": []string{"f3", "gone"}, "AITags": []string{"sale2019"}}, &e)
		assert.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, []string{"gone"}, e.MissingFileIDs)
		assert.Equal(t, library(), h.Files())
	})
	t.Run("TagsInsteadOfAITagsIs400", func(t *testing.T) {
		h := imagekittest.NewHandler(library())
		var e apiError
		rec := call(t, h, "POST", "/v1/files/removeAITags", map[string]any{"fileIds": []string{"f3"}, "tags": []string{"sale2019"}}, &e)
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Contains(t, e.Message, "AITags is missing or empty")
	})
}

func TestTagCallsFailFiles(t *testing.T) {
	for _, tc := range []struct{ endpoint, key, tag string }{
		{"removeTags", "tags", "sale2019"}, {"addTags", "tags", "new"}, {"removeAITags", "AITags", "sale2019"},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			h := imagekittest.NewHandler(library(), imagekittest.WithFailFiles("f3"))
			var got updateAnswer
			rec := call(t, h, "POST", "/v1/files/"+tc.endpoint, map[string]any{"fileIds": []string{"f1", "f3"}, tc.key: []string{tc.tag}}, &got)
			require.Equal(t, http.StatusMultiStatus, rec.Code, rec.Body.String())
			assert.Equal(t, []string{"f1"}, got.Updated)
			require.Len(t, got.Errors, 1)
			assert.Equal(t, "f3", got.Errors[0].FileID)
			assert.Equal(t, library()[2], byID(h.Files())["f3"], "the failed file is unchanged")
		})
	}
}

func TestEmptyTagsAreRefused(t *testing.T) {
	for _, tc := range []struct{ endpoint, key string }{{"removeTags", "tags"}, {"addTags", "tags"}, {"removeAITags", "AITags"}} {
		t.Run(tc.endpoint, func(t *testing.T) {
			h := imagekittest.NewHandler(library())
			var e apiError
			rec := call(t, h, "POST", "/v1/files/"+tc.endpoint, map[string]any{"fileIds": []string{"f1"}, tc.key: []string{"ok", ""}}, &e)
			assert.Equal(t, http.StatusBadRequest, rec.Code)
			assert.Contains(t, e.Message, tc.key+"[1] is an empty string")
			assert.Equal(t, library(), h.Files())
		})
	}
}

func TestListAnswersAreCompactJSON(t *testing.T) {
	h := imagekittest.NewHandler(library())
	rec := call(t, h, "GET", "/v1/files?limit=2", nil, nil)
	assert.NotContains(t, strings.TrimSuffix(rec.Body.String(), "\n"), "\n")
	var page []json.RawMessage
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &page))
	assert.Len(t, page, 2)
}
