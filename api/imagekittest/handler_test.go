package imagekittest_test

import (
	"bytes"
	b64 "encoding/base64"
	"encoding/json"
	"fmt"
	"io"
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

var (
	t0      = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	fixedAt = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
)

// library is a small library: folders at several depths, tags and AITags.
func library() []imagekittest.File {
	mk := func(id, path string, days int, size int64, tags []string, ai ...string) imagekittest.File {
		f := imagekittest.File{
			FileID: id, Type: "file", FilePath: path, Name: path[strings.LastIndex(path, "/")+1:],
			Tags: tags, FileType: "image", Mime: "image/jpeg", Size: size, Width: 100, Height: 100,
			CreatedAt: t0.AddDate(0, 0, days), UpdatedAt: t0.AddDate(0, 0, days),
			CustomMetadata: map[string]any{},
		}
		for _, a := range ai {
			f.AITags = append(f.AITags, imagekittest.AITag{Name: a, Confidence: 90, Source: "google-auto-tagging"})
		}
		return f
	}
	pdf := mk("f7", "/docs/guide.pdf", 7, 700, []string{"sale2019"})
	pdf.FileType, pdf.Mime = "non-image", "application/pdf"
	return []imagekittest.File{
		mk("f1", "/products/a.jpg", 1, 300, []string{"sale2019", "hero"}),
		mk("f2", "/products/shoes/b.jpg", 2, 100, []string{"sale2019"}),
		mk("f3", "/products/shoes/2019/c.jpg", 3, 500, nil, "sale2019"),
		mk("f4", "/products/d.jpg", 4, 200, []string{"keep"}),
		mk("f5", "/blog/e.jpg", 5, 600, []string{"sale2019", "draft"}),
		mk("f6", "/root.jpg", 6, 400, nil),
		pdf,
	}
}

// call sends one request to h and decodes a JSON answer into out when out
// is not nil. It fails the test when a JSON answer lacks its content type.
func call(t *testing.T, h http.Handler, method, target string, body any, out any, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Body.Len() > 0 {
		require.Equal(t, "application/json", rec.Header().Get("Content-Type"), "answer to %s %s", method, target)
	}
	if out != nil {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), out), "body: %s", rec.Body.String())
	}
	return rec
}

func ids(files []imagekittest.File) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.FileID
	}
	return out
}

func listIDs(t *testing.T, h http.Handler, query url.Values) []string {
	t.Helper()
	var files []imagekittest.File
	rec := call(t, h, "GET", "/v1/files?"+query.Encode(), nil, nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &files))
	return ids(files)
}

func base64(s string) string { return b64.StdEncoding.EncodeToString([]byte(s)) }

type apiError struct {
	Message        string   `json:"message"`
	Help           string   `json:"help"`
	MissingFileIDs []string `json:"missingFileIds"`
}

func TestAuth(t *testing.T) {
	h := imagekittest.NewHandler(library(), imagekittest.WithPrivateKey("private_key"))
	basic := func(user string) string {
		return "Basic " + base64(user+":do_not_set")
	}
	tests := []struct {
		name   string
		header []string
		want   int
	}{
		{"MissingKeyIs401", nil, http.StatusUnauthorized},
		{"WrongKeyIs401", []string{"Authorization", basic("other")}, http.StatusUnauthorized},
		{"NotBasicIs401", []string{"Authorization", "Bearer private_key"}, http.StatusUnauthorized},
		{"KeyAsUserNameIs200", []string{"Authorization", basic("private_key")}, http.StatusOK},
		{"PasswordIsIgnored", []string{"Authorization", "Basic " + base64("private_key:")}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := call(t, h, "GET", "/v1/files/f1/details", nil, nil, tt.header...)
			assert.Equal(t, tt.want, rec.Code)
			assert.Equal(t, "1000", rec.Header().Get("X-RateLimit-Interval"))
			if tt.want == http.StatusUnauthorized {
				var e apiError
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
				assert.NotEmpty(t, e.Message)
				assert.Contains(t, e.Help, "support@imagekit.io")
			}
		})
	}
	t.Run("IntrospectionNeedsNoKey", func(t *testing.T) {
		var st imagekittest.Stats
		rec := call(t, h, "GET", "/_emulator/stats", nil, &st)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.EqualValues(t, len(tests), st.Requests.Details)
	})
}

func TestList(t *testing.T) {
	h := imagekittest.NewHandler(library())
	tests := []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"DefaultIsAscCreated", url.Values{}, []string{"f1", "f2", "f3", "f4", "f5", "f6", "f7"}},
		{"DescCreated", url.Values{"sort": {"DESC_CREATED"}}, []string{"f7", "f6", "f5", "f4", "f3", "f2", "f1"}},
		{"AscSize", url.Values{"sort": {"ASC_SIZE"}}, []string{"f2", "f4", "f1", "f6", "f3", "f5", "f7"}},
		{"DescSize", url.Values{"sort": {"DESC_SIZE"}}, []string{"f7", "f5", "f3", "f6", "f1", "f4", "f2"}},
		{"AscName", url.Values{"sort": {"ASC_NAME"}}, []string{"f1", "f2", "f3", "f4", "f5", "f7", "f6"}},
		{"DescName", url.Values{"sort": {"DESC_NAME"}}, []string{"f6", "f7", "f5", "f4", "f3", "f2", "f1"}},
		{"PathIsExactFolder", url.Values{"path": {"/products/"}}, []string{"f1", "f4"}},
		{"PathWithoutSlash", url.Values{"path": {"/products/shoes"}}, []string{"f2"}},
		{"UnknownPathIsEmpty", url.Values{"path": {"/nowhere/"}}, []string{}},
		{"FileTypeImage", url.Values{"fileType": {"image"}, "path": {"/docs/"}}, []string{}},
		{"FileTypeNonImage", url.Values{"fileType": {"non-image"}}, []string{"f7"}},
		{"SearchSubtreeAndTagsMatchesAITags",
			url.Values{"searchQuery": {`path : "/products/" AND tags IN ["sale2019"]`}}, []string{"f1", "f2", "f3"}},
		{"SearchExactFolder", url.Values{"searchQuery": {`path = "/products/"`}}, []string{"f1", "f4"}},
		{"SearchByID", url.Values{"searchQuery": {`id IN ["f5","f2","nope"]`}}, []string{"f2", "f5"}},
		{"SearchSorted", url.Values{"searchQuery": {`tags IN ["sale2019"]`}, "sort": {"DESC_SIZE"}}, []string{"f7", "f5", "f3", "f1", "f2"}},
		{"SearchAndPathParam", url.Values{"searchQuery": {`tags IN ["sale2019"]`}, "path": {"/products/"}}, []string{"f1"}},
		{"SearchIgnoresTypeParam", url.Values{"searchQuery": {`tags IN ["keep"]`}, "type": {"folder"}}, []string{"f4"}},
		{"SearchWithoutIndexHint", url.Values{"searchQuery": {`name = "e.jpg" OR createdAt > "2024-01-06"`}}, []string{"f5", "f6", "f7"}},
		{"SearchNoMatch", url.Values{"searchQuery": {`tags IN ["absent"]`}}, []string{}},
		{"Skip", url.Values{"skip": {"5"}}, []string{"f6", "f7"}},
		{"SkipPastEnd", url.Values{"skip": {"50"}}, []string{}},
		{"Limit", url.Values{"limit": {"2"}, "skip": {"1"}}, []string{"f2", "f3"}},
		{"SearchSkipLimit", url.Values{"searchQuery": {`tags IN ["sale2019"]`}, "limit": {"2"}, "skip": {"1"}}, []string{"f2", "f3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, listIDs(t, h, tt.query))
		})
	}
}

func TestListFolders(t *testing.T) {
	h := imagekittest.NewHandler(library())
	type item struct {
		Type       string `json:"type"`
		FileID     string `json:"fileId"`
		FolderID   string `json:"folderId"`
		Name       string `json:"name"`
		FolderPath string `json:"folderPath"`
	}
	names := func(items []item) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.Type+":"+it.Name+it.FileID)
		}
		return out
	}
	t.Run("FolderListsDirectSubfolders", func(t *testing.T) {
		var items []item
		call(t, h, "GET", "/v1/files?type=folder&path=/products/", nil, &items)
		require.Len(t, items, 1)
		assert.Equal(t, item{Type: "folder", FolderID: items[0].FolderID, Name: "shoes", FolderPath: "/products/shoes"}, items[0])
		assert.Len(t, items[0].FolderID, 24)
	})
	t.Run("FolderWithoutPathListsAll", func(t *testing.T) {
		var items []item
		call(t, h, "GET", "/v1/files?type=folder", nil, &items)
		assert.Equal(t, []string{"folder:blog", "folder:docs", "folder:products", "folder:shoes", "folder:2019"}, names(items))
	})
	t.Run("AllListsFoldersThenFiles", func(t *testing.T) {
		var items []item
		call(t, h, "GET", "/v1/files?type=all&path=/products/", nil, &items)
		assert.Equal(t, []string{"folder:shoes", "file:a.jpgf1", "file:d.jpgf4"}, names(items))
	})
	t.Run("AllPagesAcrossFoldersAndFiles", func(t *testing.T) {
		var items []item
		call(t, h, "GET", "/v1/files?type=all&path=/products/&skip=1&limit=1", nil, &items)
		assert.Equal(t, []string{"file:a.jpgf1"}, names(items))
	})
}

func TestListPagination(t *testing.T) {
	files := imagekittest.GenerateLibrary(2500, 7)
	h := imagekittest.NewHandler(files)
	for _, sort := range []string{"ASC_CREATED", "DESC_CREATED", "ASC_NAME", "DESC_UPDATED", "ASC_SIZE", "DESC_SIZE"} {
		t.Run(sort, func(t *testing.T) {
			var all []string
			for skip := 0; ; skip += 1000 {
				page := listIDs(t, h, url.Values{"sort": {sort}, "skip": {strconv.Itoa(skip)}})
				all = append(all, page...)
				if len(page) < 1000 {
					break
				}
			}
			assert.Len(t, all, len(files))
			assert.ElementsMatch(t, ids(files), all)
		})
	}
	t.Run("DefaultLimitIs1000", func(t *testing.T) {
		assert.Len(t, listIDs(t, h, url.Values{}), 1000)
	})
	t.Run("SearchPagesAreDisjoint", func(t *testing.T) {
		q := `path : "/products/" AND tags IN ["sale2019","draft"]`
		var want []string
		for _, f := range files {
			if strings.HasPrefix(f.FilePath, "/products/") && (hasAny(f, "sale2019", "draft")) {
				want = append(want, f.FileID)
			}
		}
		require.NotEmpty(t, want)
		var got []string
		for skip := 0; skip < len(want)+10; skip += 10 {
			got = append(got, listIDs(t, h, url.Values{"searchQuery": {q}, "skip": {strconv.Itoa(skip)}, "limit": {"10"}})...)
		}
		assert.Equal(t, want, got)
	})
}

func hasAny(f imagekittest.File, tags ...string) bool {
	for _, t := range tags {
		if f.HasTag(t) {
			return true
		}
	}
	return false
}

func TestListBadRequests(t *testing.T) {
	h := imagekittest.NewHandler(library())
	tests := []struct {
		name  string
		query url.Values
		names string // the message must name this
	}{
		{"LimitOver1000", url.Values{"limit": {"1001"}}, "1001"},
		{"LimitZero", url.Values{"limit": {"0"}}, "limit"},
		{"NegativeSkip", url.Values{"skip": {"-1"}}, "skip"},
		{"UnknownSort", url.Values{"sort": {"ASC_COLOR"}}, "ASC_COLOR"},
		{"RelevanceSort", url.Values{"sort": {"DESC_RELEVANCE"}}, "DESC_RELEVANCE"},
		{"UnknownType", url.Values{"type": {"video"}}, "video"},
		{"UnknownFileType", url.Values{"fileType": {"gif"}}, "gif"},
		{"UnsupportedQueryField", url.Values{"searchQuery": {`"embeddedMetadata.LocationTaken" = "40,100 5km"`}}, "embeddedMetadata.LocationTaken"},
		{"UnknownQueryField", url.Values{"searchQuery": {`colour = "red"`}}, "colour"},
		{"DurationSort", url.Values{"sort": {"ASC_DURATIONS"}}, "ASC_DURATIONS"},
		{"MalformedQuery", url.Values{"searchQuery": {`tags IN ["a"`}}, "searchQuery"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e apiError
			rec := call(t, h, "GET", "/v1/files?"+tt.query.Encode(), nil, &e)
			assert.Equal(t, http.StatusBadRequest, rec.Code)
			assert.Contains(t, e.Message, tt.names)
		})
	}
}

func TestDetails(t *testing.T) {
	h := imagekittest.NewHandler(library())
	t.Run("ExistingFile", func(t *testing.T) {
		var f imagekittest.File
		rec := call(t, h, "GET", "/v1/files/f3/details", nil, &f)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, library()[2], f)
	})
	t.Run("NoTagsServesNull", func(t *testing.T) {
		rec := call(t, h, "GET", "/v1/files/f6/details", nil, nil)
		assert.Contains(t, rec.Body.String(), `"tags":null`)
		assert.Contains(t, rec.Body.String(), `"AITags":null`)
	})
	t.Run("MissingFileIs404", func(t *testing.T) {
		var e apiError
		rec := call(t, h, "GET", "/v1/files/nope/details", nil, &e)
		assert.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, "The requested file does not exist.", e.Message)
	})
}

func TestUnknownRoute(t *testing.T) {
	h := imagekittest.NewHandler(library())
	for _, tt := range []struct{ method, path string }{
		{"GET", "/v2/files"}, {"PUT", "/v1/files/f1"}, {"GET", "/v1/files/removeTags/x"}, {"GET", "/_emulator/nothing"},
	} {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			var e apiError
			rec := call(t, h, tt.method, tt.path, nil, &e)
			assert.Equal(t, http.StatusNotFound, rec.Code)
			assert.Contains(t, e.Message, tt.path)
		})
	}
}

type updateAnswer struct {
	Updated []string `json:"successfullyUpdatedFileIds"`
	Errors  []struct {
		FileID string `json:"fileId"`
		Error  string `json:"error"`
	} `json:"errors"`
}

func byID(files []imagekittest.File) map[string]imagekittest.File {
	m := make(map[string]imagekittest.File, len(files))
	for _, f := range files {
		m[f.FileID] = f
	}
	return m
}

func TestRemoveTags(t *testing.T) {
	t.Run("RemovesOnlyTagsNeverAITags", func(t *testing.T) {
		h := imagekittest.NewHandler(library(), imagekittest.WithClock(func() time.Time { return fixedAt }))
		var got updateAnswer
		rec := call(t, h, "POST", "/v1/files/removeTags", map[string]any{"fileIds": []string{"f1", "f3", "f2"}, "tags": []string{"sale2019", "absent"}}, &got)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Equal(t, []string{"f1", "f3", "f2"}, got.Updated)
		assert.Nil(t, got.Errors)
		files := byID(h.Files())
		assert.Equal(t, []string{"hero"}, files["f1"].Tags)
		assert.Equal(t, fixedAt, files["f1"].UpdatedAt)
		assert.Nil(t, files["f2"].Tags, "a file left without tags has null tags")
		assert.Equal(t, "sale2019", files["f3"].AITags[0].Name)
		assert.Equal(t, library()[2].UpdatedAt, files["f3"].UpdatedAt, "a no-op leaves updatedAt")
		// The tag index follows: f3 still matches by its AITag, f1 and f2 no longer.
		assert.Equal(t, []string{"f3", "f5", "f7"}, listIDs(t, h, url.Values{"searchQuery": {`tags IN ["sale2019"]`}}))
	})
	t.Run("RepeatIsNoOp", func(t *testing.T) {
		h := imagekittest.NewHandler(library())
		body := map[string]any{"fileIds": []string{"f5"}, "tags": []string{"draft"}}
		call(t, h, "POST", "/v1/files/removeTags", body, nil)
		before := h.Files()
		rec := call(t, h, "POST", "/v1/files/removeTags", body, nil)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, before, h.Files())
	})
	t.Run("MissingFileIs404AndNothingChanges", func(t *testing.T) {
		h := imagekittest.NewHandler(library())
		var e apiError
		rec := call(t, h, "POST", "/v1/files/removeTags", map[string]any{"fileIds": []string{"f1", "x1", "f2", "x2", "x1"}, "tags": []string{"sale2019"}}, &e)
		assert.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, "The requested file(s) does not exist.", e.Message)
		assert.Equal(t, []string{"x1", "x2"}, e.MissingFileIDs)
		assert.NotEmpty(t, e.Help)
		assert.Equal(t, library(), h.Files())
	})
}

func TestTagsBadRequests(t *testing.T) {
	many := make([]string, 51)
	for i := range many {
		many[i] = "f1"
	}
	tests := []struct {
		name  string
		body  any
		names string
	}{
		{"MalformedJSON", `{"fileIds": ["f1"`, "malformed JSON"},
		{"NotAnObject", `["f1"]`, "malformed JSON"},
		{"TrailingData", `{"fileIds":["f1"],"tags":["a"]} {}`, "malformed JSON"},
		{"EmptyBody", ``, "malformed JSON"},
		{"NoFileIDs", map[string]any{"tags": []string{"a"}}, "fileIds"},
		{"EmptyFileIDs", map[string]any{"fileIds": []string{}, "tags": []string{"a"}}, "fileIds"},
		{"Over50FileIDs", map[string]any{"fileIds": many, "tags": []string{"a"}}, "51"},
		{"NoTags", map[string]any{"fileIds": []string{"f1"}}, "tags"},
		{"EmptyTags", map[string]any{"fileIds": []string{"f1"}, "tags": []string{}}, "tags"},
		{"EmptyTag", map[string]any{"fileIds": []string{"f1"}, "tags": []string{""}}, "tags[0]"},
		{"EmptyFileID", map[string]any{"fileIds": []string{"f1", ""}, "tags": []string{"a"}}, "fileIds[1]"},
	}
	for _, endpoint := range []string{"removeTags", "addTags"} {
		for _, tt := range tests {
			t.Run(endpoint+"/"+tt.name, func(t *testing.T) {
				h := imagekittest.NewHandler(library())
				var e apiError
				rec := call(t, h, "POST", "/v1/files/"+endpoint, tt.body, &e)
				assert.Equal(t, http.StatusBadRequest, rec.Code)
				assert.Contains(t, e.Message, tt.names)
				assert.Equal(t, library(), h.Files())
			})
		}
	}
}

// tagsOfLength returns n tags that add up to total characters, the
// first carrying the rest of the division; each starts with prefix.
func tagsOfLength(prefix string, n, total int) []string {
	tags := make([]string, n)
	for i := range tags {
		size := total / n
		if i == 0 {
			size += total % n
		}
		tag := fmt.Sprintf("%s%d-", prefix, i)
		tags[i] = tag + strings.Repeat("x", size-len([]rune(tag)))
	}
	return tags
}

// The tags of one addTags or removeTags call add up to at most 500
// characters, as the API's OpenAPI description says; a longer list is a
// 400 that changes nothing.
func TestCombinedLengthOfTags(t *testing.T) {
	tests := []struct {
		name   string
		opts   []imagekittest.Option
		tags   []string
		status int
	}{
		{"FiveHundredCharactersPass", nil, tagsOfLength("t", 10, 500), http.StatusOK},
		{"FiveHundredAndOneAreRefused", nil, tagsOfLength("t", 10, 501), http.StatusBadRequest},
		{"OneLongTagIsRefused", nil, []string{strings.Repeat("x", 501)}, http.StatusBadRequest},
		{"CountedInCharactersNotBytes", nil, []string{strings.Repeat("é", 500)}, http.StatusOK},
		{"ALowerLimit", []imagekittest.Option{imagekittest.WithMaxTagsLength(20)}, tagsOfLength("t", 2, 21), http.StatusBadRequest},
		{"NoLimit", []imagekittest.Option{imagekittest.WithMaxTagsLength(0)}, tagsOfLength("t", 4, 4000), http.StatusOK},
	}
	for _, endpoint := range []string{"removeTags", "addTags"} {
		for _, tt := range tests {
			t.Run(endpoint+"/"+tt.name, func(t *testing.T) {
				h := imagekittest.NewHandler(library(), tt.opts...)
				var e apiError
				rec := call(t, h, "POST", "/v1/files/"+endpoint, map[string]any{"fileIds": []string{"f1"}, "tags": tt.tags}, &e)
				require.Equal(t, tt.status, rec.Code, e.Message)
				if tt.status == http.StatusBadRequest {
					assert.Contains(t, e.Message, "Combined length of all tags")
					assert.Equal(t, library(), h.Files(), "a refused call changes nothing")
				}
			})
		}
	}
	t.Run("RemoveAITagsHasNoSuchLimit", func(t *testing.T) {
		h := imagekittest.NewHandler(library())
		rec := call(t, h, "POST", "/v1/files/removeAITags", map[string]any{"fileIds": []string{"f3"}, "AITags": tagsOfLength("t", 10, 600)}, nil)
		assert.Equal(t, http.StatusOK, rec.Code)
	})
}

func TestAddTags(t *testing.T) {
	h := imagekittest.NewHandler(library())
	var got updateAnswer
	rec := call(t, h, "POST", "/v1/files/addTags", map[string]any{"fileIds": []string{"f1", "f6"}, "tags": []string{"hero", "new"}}, &got)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, []string{"f1", "f6"}, got.Updated)
	files := byID(h.Files())
	assert.Equal(t, []string{"sale2019", "hero", "new"}, files["f1"].Tags)
	assert.Equal(t, []string{"hero", "new"}, files["f6"].Tags)
	assert.Equal(t, []string{"f1", "f6"}, listIDs(t, h, url.Values{"searchQuery": {`tags IN ["new"]`}}))
}

func TestPartialRate(t *testing.T) {
	body := map[string]any{"fileIds": []string{"f1", "f2", "f5", "f7"}, "tags": []string{"sale2019"}}
	run := func(seed int64) (updateAnswer, []imagekittest.File, imagekittest.Stats) {
		h := imagekittest.NewHandler(library(), imagekittest.WithPartialRate(1), imagekittest.WithSeed(seed))
		var got updateAnswer
		rec := call(t, h, "POST", "/v1/files/removeTags", body, &got)
		require.Equal(t, http.StatusMultiStatus, rec.Code)
		return got, h.Files(), h.Stats()
	}
	got, files, st := run(42)
	t.Run("FailsSomeAndAppliesTheRest", func(t *testing.T) {
		require.NotEmpty(t, got.Errors)
		var failed []string
		for _, e := range got.Errors {
			failed = append(failed, e.FileID)
			assert.NotEmpty(t, e.Error)
		}
		assert.ElementsMatch(t, []string{"f1", "f2", "f5", "f7"}, append(failed, got.Updated...))
		m := byID(files)
		orig := byID(library())
		for _, id := range failed {
			assert.Equal(t, orig[id], m[id], "failed file %s is unchanged", id)
		}
		for _, id := range got.Updated {
			f := m[id]
			assert.False(t, f.HasTag("sale2019"), "updated file %s lost the tag", id)
		}
		assert.EqualValues(t, 1, st.Faults)
	})
	t.Run("SameSeedSameOutcome", func(t *testing.T) {
		again, _, _ := run(42)
		assert.Equal(t, got, again)
	})
	t.Run("SeedsDiffer", func(t *testing.T) {
		differ := false
		for seed := int64(1); seed < 20 && !differ; seed++ {
			other, _, _ := run(seed)
			differ = fmt.Sprint(other) != fmt.Sprint(got)
		}
		assert.True(t, differ, "some seed fails other files")
	})
	for _, tc := range []struct{ endpoint, key, tag string }{{"addTags", "tags", "new"}, {"removeAITags", "AITags", "sale2019"}} {
		t.Run(tc.endpoint+"IsPartialToo", func(t *testing.T) {
			h := imagekittest.NewHandler(library(), imagekittest.WithPartialRate(1), imagekittest.WithSeed(42))
			var got updateAnswer
			rec := call(t, h, "POST", "/v1/files/"+tc.endpoint, map[string]any{"fileIds": []string{"f1", "f3", "f5"}, tc.key: []string{tc.tag}}, &got)
			require.Equal(t, http.StatusMultiStatus, rec.Code, rec.Body.String())
			require.NotEmpty(t, got.Errors)
			orig := byID(library())
			files := byID(h.Files())
			for _, e := range got.Errors {
				assert.Equal(t, orig[e.FileID], files[e.FileID], "failed file %s is unchanged", e.FileID)
			}
			assert.EqualValues(t, 1, h.Stats().Faults)
		})
	}
	t.Run("404BeatsPartial", func(t *testing.T) {
		h := imagekittest.NewHandler(library(), imagekittest.WithPartialRate(1))
		rec := call(t, h, "POST", "/v1/files/removeTags", map[string]any{"fileIds": []string{"f1", "zz"}, "tags": []string{"sale2019"}}, nil)
		assert.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, library(), h.Files())
	})
}

func TestFailFiles(t *testing.T) {
	h := imagekittest.NewHandler(library(), imagekittest.WithFailFiles("f2", "f5"))
	var got updateAnswer
	rec := call(t, h, "POST", "/v1/files/removeTags", map[string]any{"fileIds": []string{"f1", "f2", "f5"}, "tags": []string{"sale2019"}}, &got)
	require.Equal(t, http.StatusMultiStatus, rec.Code)
	assert.Equal(t, []string{"f1"}, got.Updated)
	require.Len(t, got.Errors, 2)
	assert.Equal(t, "f2", got.Errors[0].FileID)
	assert.Equal(t, "f5", got.Errors[1].FileID)
	assert.NotEmpty(t, got.Errors[0].Error)
	files := byID(h.Files())
	assert.Equal(t, []string{"hero"}, files["f1"].Tags)
	assert.Equal(t, []string{"sale2019"}, files["f2"].Tags)

	rec = call(t, h, "POST", "/v1/files/removeTags", map[string]any{"fileIds": []string{"f1"}, "tags": []string{"hero"}}, &got)
	assert.Equal(t, http.StatusOK, rec.Code, "a call without those files succeeds")
}

func TestRateLimit(t *testing.T) {
	h := imagekittest.NewHandler(library(), imagekittest.WithRateLimit(1))
	first := call(t, h, "GET", "/v1/files", nil, nil)
	assert.Equal(t, http.StatusOK, first.Code)
	second := call(t, h, "GET", "/v1/files", nil, nil)
	require.Equal(t, http.StatusTooManyRequests, second.Code)
	var e apiError
	require.NoError(t, json.Unmarshal(second.Body.Bytes(), &e))
	assert.NotEmpty(t, e.Message)
	for _, rec := range []*httptest.ResponseRecorder{first, second} {
		assert.Equal(t, "1", rec.Header().Get("X-RateLimit-Limit"))
		assert.Equal(t, "1000", rec.Header().Get("X-RateLimit-Interval"))
		reset, err := strconv.Atoi(rec.Header().Get("X-RateLimit-Reset"))
		require.NoError(t, err)
		assert.Greater(t, reset, 0, "the bucket is empty after the first request")
		assert.LessOrEqual(t, reset, 1000)
	}
	other := call(t, h, "GET", "/v1/files/f1/details", nil, nil)
	assert.Equal(t, http.StatusOK, other.Code, "each endpoint has its own bucket")

	st := h.Stats()
	assert.EqualValues(t, 2, st.Requests.List, "rate-limited requests are counted")
	assert.EqualValues(t, 1, st.RateLimited)

	t.Run("UnlimitedStillSendsHeaders", func(t *testing.T) {
		rec := call(t, imagekittest.NewHandler(nil), "GET", "/v1/files", nil, nil)
		assert.Equal(t, "0", rec.Header().Get("X-RateLimit-Reset"))
		assert.Equal(t, strconv.Itoa(imagekittest.UnlimitedRateLimit), rec.Header().Get("X-RateLimit-Limit"))
		assert.Equal(t, "1000", rec.Header().Get("X-RateLimit-Interval"))
	})
}

func TestFailRate(t *testing.T) {
	h := imagekittest.NewHandler(library(), imagekittest.WithFailRate(1))
	var e apiError
	rec := call(t, h, "POST", "/v1/files/removeTags", map[string]any{"fileIds": []string{"f1"}, "tags": []string{"sale2019"}}, &e)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.NotEmpty(t, e.Message)
	rec = call(t, h, "DELETE", "/v1/files/f1", nil, nil)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Equal(t, library(), h.Files())
	assert.EqualValues(t, 2, h.Stats().Faults)

	t.Run("HalfFailDeterministically", func(t *testing.T) {
		statuses := func() []int {
			h := imagekittest.NewHandler(library(), imagekittest.WithFailRate(0.5), imagekittest.WithSeed(3))
			var out []int
			for range 40 {
				out = append(out, call(t, h, "GET", "/v1/files?limit=1", nil, nil).Code)
			}
			return out
		}
		a := statuses()
		assert.Equal(t, a, statuses())
		assert.Contains(t, a, http.StatusOK)
		assert.Contains(t, a, http.StatusInternalServerError)
	})
}

func TestDelete(t *testing.T) {
	h := imagekittest.NewHandler(library())
	rec := call(t, h, "DELETE", "/v1/files/f2", nil, nil)
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Empty(t, rec.Body.String())
	var e apiError
	rec = call(t, h, "DELETE", "/v1/files/f2", nil, &e)
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.NotEmpty(t, e.Message)
	assert.Equal(t, http.StatusNotFound, call(t, h, "GET", "/v1/files/f2/details", nil, nil).Code)
	assert.NotContains(t, ids(h.Files()), "f2")
	assert.Equal(t, []string{"f1", "f3"}, listIDs(t, h, url.Values{"searchQuery": {`path : "/products/" AND tags IN ["sale2019"]`}}))
	assert.Equal(t, []string{"f1", "f3", "f4", "f5", "f6", "f7"}, listIDs(t, h, url.Values{}))
	assert.Equal(t, []string{"f7", "f5", "f3", "f6", "f1", "f4"}, listIDs(t, h, url.Values{"sort": {"DESC_SIZE"}}))
	var folders []map[string]any
	call(t, h, "GET", "/v1/files?type=folder&path=/products/shoes/", nil, &folders)
	assert.Len(t, folders, 1, "2019 still holds a file")
	call(t, h, "DELETE", "/v1/files/f3", nil, nil)
	call(t, h, "GET", "/v1/files?type=folder&path=/products/shoes/", nil, &folders)
	assert.Empty(t, folders, "an emptied folder is no longer listed")
}

func TestIntrospection(t *testing.T) {
	h := imagekittest.NewHandler(library(), imagekittest.WithPrivateKey("k"))
	auth := []string{"Authorization", "Basic " + base64("k:")}
	var ids []any
	logged := func(rec *httptest.ResponseRecorder) {
		ids = append(ids, rec.Header().Get("x-ik-requestId"))
	}
	logged(call(t, h, "GET", "/v1/files?path=%2Fproducts%2F", nil, nil, auth...))
	logged(call(t, h, "GET", "/v1/files/f1/details", nil, nil))
	logged(call(t, h, "POST", "/v1/files/removeTags", map[string]any{"fileIds": []string{"f1"}, "tags": []string{"hero"}}, nil, auth...))
	logged(call(t, h, "POST", "/v1/files/addTags", `not json`, nil, auth...))
	logged(call(t, h, "DELETE", "/v1/files/f4", nil, nil, auth...))
	logged(call(t, h, "POST", "/v1/files/removeAITags", map[string]any{"fileIds": []string{"f3"}, "AITags": []string{"sale2019"}}, nil, auth...))
	logged(call(t, h, "DELETE", "/v1/folder", map[string]any{"folderPath": "/blog/"}, nil, auth...))

	var st map[string]any
	call(t, h, "GET", "/_emulator/stats", nil, &st)
	assert.Equal(t, map[string]any{
		"requests": map[string]any{"list": 1.0, "details": 1.0, "removeTags": 1.0, "addTags": 1.0, "delete": 1.0,
			"removeAITags": 1.0, "upload": 0.0, "deleteFolder": 1.0},
		"rateLimited": 0.0, "faults": 0.0,
	}, st)

	var reqs []map[string]any
	call(t, h, "GET", "/_emulator/requests", nil, &reqs)
	assert.Equal(t, []map[string]any{
		{"method": "GET", "path": "/v1/files", "query": "path=%2Fproducts%2F", "body": nil, "status": 200.0, "requestId": ids[0]},
		{"method": "GET", "path": "/v1/files/f1/details", "query": "", "body": nil, "status": 401.0, "requestId": ids[1]},
		{"method": "POST", "path": "/v1/files/removeTags", "query": "", "status": 200.0, "requestId": ids[2],
			"body": map[string]any{"fileIds": []any{"f1"}, "tags": []any{"hero"}}},
		{"method": "POST", "path": "/v1/files/addTags", "query": "", "body": nil, "status": 400.0, "requestId": ids[3]},
		{"method": "DELETE", "path": "/v1/files/f4", "query": "", "body": nil, "status": 204.0, "requestId": ids[4]},
		{"method": "POST", "path": "/v1/files/removeAITags", "query": "", "status": 200.0, "requestId": ids[5],
			"body": map[string]any{"fileIds": []any{"f3"}, "AITags": []any{"sale2019"}}},
		{"method": "DELETE", "path": "/v1/folder", "query": "", "status": 204.0, "requestId": ids[6],
			"body": map[string]any{"folderPath": "/blog/"}},
	}, reqs)
	assert.Len(t, h.Requests(), 7, "introspection requests are not logged")
}

func TestIndexesFollowChanges(t *testing.T) {
	h := imagekittest.NewHandler(library())
	search := func(q, sort string) []string {
		return listIDs(t, h, url.Values{"searchQuery": {q}, "sort": {sort}})
	}
	multi := `tags IN ["hero","draft","keep","sale2019"]`
	subtree := `path : "/products/"`
	assert.Equal(t, []string{"f7", "f5", "f4", "f3", "f2", "f1"}, search(multi, "DESC_CREATED"), "several tags merge in order")
	assert.Equal(t, []string{"f1", "f2", "f3", "f4"}, search(subtree, ""))
	assert.Equal(t, []string{"f4"}, search(`tags IN ["keep"]`, ""))

	call(t, h, "POST", "/v1/files/addTags", map[string]any{"fileIds": []string{"f6", "f2"}, "tags": []string{"keep"}}, nil)
	call(t, h, "POST", "/v1/files/removeTags", map[string]any{"fileIds": []string{"f4"}, "tags": []string{"keep"}}, nil)
	call(t, h, "DELETE", "/v1/files/f2", nil, nil)
	call(t, h, "DELETE", "/v1/files/f7", nil, nil)

	assert.Equal(t, []string{"f6"}, search(`tags IN ["keep"]`, ""))
	assert.Equal(t, []string{"f6", "f5", "f3", "f1"}, search(multi, "DESC_CREATED"))
	assert.Equal(t, []string{"f1", "f6", "f3", "f5"}, search(multi, "ASC_SIZE"))
	assert.Equal(t, []string{"f1", "f3", "f4"}, search(subtree, ""))
	assert.Equal(t, []string{"f4", "f3", "f1"}, search(subtree, "DESC_CREATED"))
	assert.Equal(t, []string{"f6"}, listIDs(t, h, url.Values{"skip": {"4"}}))
	assert.Equal(t, []string{"f5", "f4"}, listIDs(t, h, url.Values{"skip": {"1"}, "limit": {"2"}, "sort": {"DESC_CREATED"}}))
}
