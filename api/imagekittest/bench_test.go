package imagekittest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// benchFiles is the size of the benchmark library.
const benchFiles = 1_000_000

var (
	benchOnce    sync.Once
	benchLibrary []imagekittest.File
	benchHandler *imagekittest.Handler
)

// millionFiles returns a generated 1,000,000-file library and a Handler
// serving it, built once for all benchmarks.
func millionFiles(b *testing.B) ([]imagekittest.File, *imagekittest.Handler) {
	b.Helper()
	benchOnce.Do(func() {
		benchLibrary = imagekittest.GenerateLibrary(benchFiles, 1)
		benchHandler = imagekittest.NewHandler(benchLibrary)
	})
	return benchLibrary, benchHandler
}

func serve(b *testing.B, h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s %s: status %d: %s", method, target, rec.Code, rec.Body.String())
	}
	return rec
}

// BenchmarkListFilteredPage serves the first page of a rule's read over the
// whole library: a folder subtree and forbidden tags.
func BenchmarkListFilteredPage(b *testing.B) {
	_, h := millionFiles(b)
	for _, tc := range []struct{ name, query string }{
		{"OneTag", `path : "/products/" AND tags IN ["sale2019"]`},
		{"TwoTags", `path : "/products/" AND tags IN ["sale2019","campaign-2023-fall"]`},
		{"DeepFolder", `path : "/products/shoes/2021/" AND tags IN ["sale2019"]`},
	} {
		target := "/v1/files?" + url.Values{"searchQuery": {tc.query}, "limit": {"1000"}}.Encode()
		var n int
		var page []json.RawMessage
		if err := json.Unmarshal(serve(b, h, "GET", target, "").Body.Bytes(), &page); err != nil {
			b.Fatal(err)
		}
		n = len(page)
		b.Run(fmt.Sprintf("%s/%dfiles", tc.name, n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serve(b, h, "GET", target, "")
			}
		})
	}
}

// BenchmarkListUnfilteredPage serves a page of the whole library in the
// default order, as a full scan does.
func BenchmarkListUnfilteredPage(b *testing.B) {
	_, h := millionFiles(b)
	target := "/v1/files?skip=500000&limit=1000"
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, "GET", target, "")
	}
}

// BenchmarkRemoveTags50 removes a tag from 50 files per call; the tag is
// put back between calls, outside the timer.
func BenchmarkRemoveTags50(b *testing.B) {
	files, h := millionFiles(b)
	var ids []string
	for i := 0; len(ids) < 50; i++ {
		if files[i*997%len(files)].HasTag("sale2019") && len(files[i*997%len(files)].Tags) > 0 {
			ids = append(ids, files[i*997%len(files)].FileID)
		}
	}
	body, _ := json.Marshal(map[string]any{"fileIds": ids, "tags": []string{"sale2019"}})
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, "POST", "/v1/files/removeTags", string(body))
		b.StopTimer()
		serve(b, h, "POST", "/v1/files/addTags", string(body))
		b.StartTimer()
	}
}
