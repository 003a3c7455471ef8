package imagekittest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// now is the fixed instant relative dates are measured from.
var now = time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)

// shoe returns a file with every searchable field set, changed by edit.
func shoe(edit func(f *imagekittest.File)) *imagekittest.File {
	f := &imagekittest.File{
		FileID:         "f1",
		Type:           "file",
		Name:           "Shoe.jpg",
		FilePath:       "/products/shoes/Shoe.jpg",
		Tags:           []string{"sale2019", "red"},
		AITags:         []imagekittest.AITag{{Name: "Footwear", Confidence: 90, Source: "google-auto-tagging"}},
		IsPublished:    true,
		Mime:           "image/jpeg",
		Width:          800,
		Height:         600,
		Size:           1536 << 10, // 1.5 MiB
		CustomMetadata: map[string]any{"brand": "nike", "price": 99.0, "onSale": true, "colors": []any{"red", "white"}},
		CreatedAt:      time.Date(2024, 6, 10, 8, 0, 0, 0, time.UTC),
		UpdatedAt:      time.Date(2024, 6, 14, 10, 30, 0, 0, time.UTC),
	}
	if edit != nil {
		edit(f)
	}
	return f
}

func camera(f *imagekittest.File) {
	f.EmbeddedMetadata = map[string]any{"Make": "Canon", "DateTimeOriginal": "2019:08:22 10:20:30", "Keywords": []any{"beach", "sun"}}
}

func video(f *imagekittest.File) {
	f.Name, f.Mime, f.Duration = "clip.mp4", "video/mp4", 90
}

func TestQueryMatch(t *testing.T) {
	noTags := func(f *imagekittest.File) { f.Tags, f.AITags = nil, nil }
	onlyAITag := func(f *imagekittest.File) { f.Tags = nil }
	tests := []struct {
		name  string
		query string
		edit  func(f *imagekittest.File)
		want  bool
	}{
		{"id equals", `id = "f1"`, nil, true},
		{"id equals another", `id = "f2"`, nil, false},
		{"id in list", `id IN ["f0", "f1"]`, nil, true},
		{"id not in list", `id IN ["f0", "f2"]`, nil, false},
		{"id not equals", `id NOT = "f1"`, nil, false},
		{"id not equals another", `id NOT = "f2"`, nil, true},
		{"id not in", `id NOT IN ["f1"]`, nil, false},
		{"id not in others", `id NOT IN ["f2", "f3"]`, nil, true},
		{"id in long list", `id IN [` + quotedList("x", 50) + `, "f1"]`, nil, true},
		{"id not in long list", `id IN [` + quotedList("x", 50) + `]`, nil, false},

		{"name equals", `name = "Shoe.jpg"`, nil, true},
		{"name equals is case-sensitive", `name = "shoe.jpg"`, nil, false},
		{"name prefix", `name : "Sho"`, nil, true},
		{"name prefix is case-sensitive", `name : "sho"`, nil, false},
		{"name prefix elsewhere", `name : "hoe"`, nil, false},
		{"name in", `name IN ["a.png", "Shoe.jpg"]`, nil, true},
		{"name not equals", `name NOT = "Shoe.jpg"`, nil, false},
		{"name not in", `name NOT IN ["a.png"]`, nil, true},

		{"path equals folder", `path = "/products/shoes/"`, nil, true},
		{"path equals folder without slash", `path = "/products/shoes"`, nil, true},
		{"path equals parent is not the folder", `path = "/products/"`, nil, false},
		{"path colon parent holds subfolders", `path : "/products/"`, nil, true},
		{"path colon parent without slash", `path : "/products"`, nil, true},
		{"path colon is per folder not per prefix", `path : "/prod"`, nil, false},
		{"path colon root", `path : "/"`, nil, true},
		{"path equals root", `path = "/"`, nil, false},
		{"path equals root for a root file", `path = "/"`, func(f *imagekittest.File) { f.FilePath = "/Shoe.jpg" }, true},
		{"path in", `path IN ["/a/", "/products/shoes"]`, nil, true},
		{"path in parents only", `path IN ["/a/", "/products/"]`, nil, false},
		{"path not equals", `path NOT = "/products/shoes/"`, nil, false},
		{"path not in", `path NOT IN ["/products/"]`, nil, true},

		{"tags in tag", `tags IN ["red"]`, nil, true},
		{"tags in AITag", `tags IN ["Footwear"]`, nil, true},
		{"tags in AITag only", `tags IN ["Footwear"]`, onlyAITag, true},
		{"tags in is case-sensitive", `tags IN ["RED"]`, nil, false},
		{"tags in none", `tags IN ["blue", "green"]`, nil, false},
		{"tags not in tag", `tags NOT IN ["red"]`, nil, false},
		{"tags not in excludes AITags", `tags NOT IN ["Footwear"]`, nil, false},
		{"tags not in others", `tags NOT IN ["blue"]`, nil, true},
		{"tags exists", `tags EXISTS`, nil, true},
		{"tags exists with AITags only", `tags EXISTS`, onlyAITag, true},
		{"tags exists without tags", `tags EXISTS`, noTags, false},
		{"tags not exists", `tags NOT EXISTS`, nil, false},
		{"tags not exists without tags", `tags NOT EXISTS`, noTags, true},

		{"type file", `type = "file"`, nil, true},
		{"type file-version", `type = "file-version"`, nil, false},
		{"type of a version", `type = "file-version"`, func(f *imagekittest.File) { f.Type = "file-version" }, true},
		{"type folder never a file", `type = "folder"`, nil, false},
		{"type in", `type IN ["folder", "file"]`, nil, true},
		{"type not equals", `type NOT = "file"`, nil, false},
		{"type not in", `type NOT IN ["file-version"]`, nil, true},

		{"createdAt before date", `createdAt < "2024-06-11"`, nil, true},
		{"createdAt before its own day", `createdAt < "2024-06-10"`, nil, false},
		{"createdAt on or before its day", `createdAt <= "2024-06-10"`, nil, true},
		{"createdAt after its day", `createdAt > "2024-06-10"`, nil, false},
		{"createdAt after the day before", `createdAt > "2024-06-09"`, nil, true},
		{"createdAt on or after its day", `createdAt >= "2024-06-10"`, nil, true},
		{"createdAt equals day", `createdAt = "2024-06-10"`, nil, true},
		{"createdAt equals bare day", `createdAt = 2024-06-10`, nil, true},
		{"createdAt equals other day", `createdAt = "2024-06-11"`, nil, false},
		{"createdAt equals second", `createdAt = "2024-06-10T08:00:00"`, nil, true},
		{"createdAt equals within second", `createdAt = "2024-06-10T08:00:00"`, func(f *imagekittest.File) { f.CreatedAt = f.CreatedAt.Add(500 * time.Millisecond) }, true},
		{"createdAt equals other second", `createdAt = "2024-06-10T08:00:01"`, nil, false},
		{"createdAt with zone", `createdAt = "2024-06-10T10:00:00+02:00"`, nil, true},
		{"createdAt after instant with zone", `createdAt > "2024-06-10T07:59:59Z"`, nil, true},
		{"createdAt before instant", `createdAt < "2024-06-10T08:00:00"`, nil, false},
		{"createdAt fractional instant", `createdAt >= "2024-06-10T08:00:00.000Z"`, nil, true},
		{"createdAt in days", `createdAt IN ["2024-01-01", "2024-06-10"]`, nil, true},
		{"createdAt not in days", `createdAt NOT IN ["2024-01-01", "2024-06-10"]`, nil, false},
		{"createdAt not equals", `createdAt NOT = "2024-06-11"`, nil, true},
		{"createdAt in last 7 days", `createdAt > "7d"`, nil, true},
		{"createdAt in last 3 days", `createdAt > "3d"`, nil, false},
		{"createdAt older than 1 week", `createdAt < "1w"`, nil, false},
		{"createdAt in last 125 hours", `createdAt > "125h"`, nil, true},
		{"createdAt not in last 124 hours", `createdAt > "124h"`, nil, false},
		{"createdAt older than a month", `createdAt < "1m"`, func(f *imagekittest.File) { f.CreatedAt = now.AddDate(0, -1, -1) }, true},
		{"createdAt older than a year", `createdAt < "1y"`, nil, false},
		{"createdAt relative equals day", `createdAt = "5d"`, nil, true},
		{"createdAt relative equals other day", `createdAt = "4d"`, nil, false},
		{"updatedAt equals day", `updatedAt = "2024-06-14"`, nil, true},
		{"updatedAt in last 2 days", `updatedAt > "2d"`, nil, true},
		{"updatedAt not in last day", `updatedAt > "1d"`, nil, false},
		{"updatedAt before", `updatedAt < "2024-06-14"`, nil, false},

		{"width greater", `width > 500`, nil, true},
		{"width greater equal", `width >= 800`, nil, true},
		{"width less", `width < 800`, nil, false},
		{"width less equal", `width <= 800`, nil, true},
		{"width equals", `width = 800`, nil, true},
		{"width quoted", `width = "800"`, nil, true},
		{"width not equals", `width NOT = 800`, nil, false},
		{"height", `height < 601`, nil, true},
		{"size in bytes", `size > 1000000`, nil, true},
		{"size in mb", `size < "1mb"`, nil, false},
		{"size in mb above", `size > "1mb"`, nil, true},
		{"size fractional mb", `size = "1.5mb"`, nil, true},
		{"size in kb", `size <= "1536kb"`, nil, true},
		{"size in upper-case units", `size < "2MB"`, nil, true},
		{"size in gb", `size < "1gb"`, nil, true},

		{"format from extension", `format = "jpg"`, nil, true},
		{"format jpeg alias", `format = "jpeg"`, nil, true},
		{"format other", `format = "png"`, nil, false},
		{"format in", `format IN ["png", "jpg"]`, nil, true},
		{"format from mime", `format = "png"`, func(f *imagekittest.File) { f.Name, f.Mime = "logo", "image/png" }, true},
		{"format not equals", `format NOT = "jpg"`, nil, false},

		{"private false", `private = false`, nil, true},
		{"private true", `private = true`, nil, false},
		{"published true", `published = true`, nil, true},
		{"published not true", `published NOT = true`, nil, false},
		{"transparency", `transparency = false`, nil, true},

		{"custom metadata string", `"customMetadata.brand" = "nike"`, nil, true},
		{"custom metadata other string", `"customMetadata.brand" = "adidas"`, nil, false},
		{"custom metadata number", `"customMetadata.price" = 99`, nil, true},
		{"custom metadata number is not a string", `"customMetadata.price" = "99"`, nil, false},
		{"custom metadata bool", `"customMetadata.onSale" = true`, nil, true},
		{"custom metadata list item", `"customMetadata.colors" = "white"`, nil, true},
		{"custom metadata in", `"customMetadata.brand" IN ["adidas", "nike"]`, nil, true},
		{"custom metadata json number", `"customMetadata.count" = 3`, func(f *imagekittest.File) { f.CustomMetadata["count"] = json.Number("3") }, true},
		{"custom metadata int", `"customMetadata.count" = 3.0`, func(f *imagekittest.File) { f.CustomMetadata["count"] = 3 }, true},
		{"custom metadata missing key", `"customMetadata.size" = "42"`, nil, false},
		{"custom metadata not equals missing key", `"customMetadata.size" NOT = "42"`, nil, true},
		{"custom metadata not in", `"customMetadata.brand" NOT IN ["nike"]`, nil, false},
		{"quoted plain field name", `"name" = "Shoe.jpg"`, nil, true},

		{"and both", `tags IN ["red"] AND path : "/products/"`, nil, true},
		{"and one", `tags IN ["red"] AND path : "/other/"`, nil, false},
		{"or one", `tags IN ["blue"] OR path : "/products/"`, nil, true},
		{"or neither", `tags IN ["blue"] OR path : "/other/"`, nil, false},
		{"and binds tighter than or", `id = "f1" OR id = "x" AND name = "nope"`, nil, true},
		{"and binds tighter than or on the right", `id = "x" AND name = "Shoe.jpg" OR name = "nope"`, nil, false},
		{"parentheses override precedence", `(id = "f1" OR id = "x") AND name = "nope"`, nil, false},
		{"nested parentheses", `((id = "f1") AND ((name : "S") OR (width < 1)))`, nil, true},
		{"documented example", `(size < "1mb" AND width > 500) OR (tags IN ["summer-sale","banner"])`, nil, false},
		{"no spaces", `id="f1"AND(name:"Sh"OR width>1)`, nil, true},
		{"escaped quote", `name = "say \"hi\".jpg"`, func(f *imagekittest.File) { f.Name = `say "hi".jpg` }, true},
		{"escaped backslash", `name = "a\\b"`, func(f *imagekittest.File) { f.Name = `a\b` }, true},
		{"newlines and tabs", "id = \"f1\"\n\tAND\r\nwidth > 1", nil, true},

		{"name has a word in any case", `name HAS "SHOE"`, nil, true},
		{"name has the last word as a prefix", `name HAS "sho"`, nil, true},
		{"name has the extension as a word", `name HAS "jpg"`, nil, true},
		{"name has every word", `name HAS "shoe jp"`, nil, true},
		{"name has not a word inside a word", `name HAS "hoe"`, nil, false},
		{"name has only the last word as a prefix", `name HAS "sh jpg"`, nil, false},
		{"name has words split at punctuation", `name HAS "red dress"`, func(f *imagekittest.File) { f.Name = "Red-Dress_2024.jpg" }, true},
		{"name has unicode words", `name HAS "ÉTÉ"`, func(f *imagekittest.File) { f.Name = "plage-été.jpg" }, true},
		{"tags has a tag's word", `tags HAS "sale"`, nil, true},
		{"tags has an AITag's word", `tags HAS "foot"`, nil, true},
		{"tags has every word in one tag", `tags HAS "red sale"`, nil, false},
		{"tags has words of a tag", `tags HAS "summer sale"`, func(f *imagekittest.File) { f.Tags = []string{"summer-sale"} }, true},
		{"tags has nothing without tags", `tags HAS "sale"`, noTags, false},

		{"custom metadata exists", `"customMetadata.brand" EXISTS`, nil, true},
		{"custom metadata key absent", `"customMetadata.none" EXISTS`, nil, false},
		{"custom metadata not exists", `"customMetadata.none" NOT EXISTS`, nil, true},
		{"custom metadata null is absent", `"customMetadata.gone" EXISTS`, func(f *imagekittest.File) { f.CustomMetadata["gone"] = nil }, false},
		{"custom metadata greater", `"customMetadata.price" > 50`, nil, true},
		{"custom metadata less", `"customMetadata.price" < 50`, nil, false},
		{"custom metadata at least", `"customMetadata.price" >= 99`, nil, true},
		{"custom metadata prefix", `"customMetadata.brand" : "ni"`, nil, true},
		{"custom metadata prefix is case-sensitive", `"customMetadata.brand" : "Ni"`, nil, false},
		{"custom metadata has", `"customMetadata.brand" HAS "NIKE"`, nil, true},
		{"custom metadata date", `"customMetadata.launch" < "2024-01-01"`, func(f *imagekittest.File) { f.CustomMetadata["launch"] = "2023-05-01" }, true},
		{"custom metadata relative date", `"customMetadata.launch" > "1y"`, func(f *imagekittest.File) { f.CustomMetadata["launch"] = "2023-05-01" }, false},
		{"custom metadata number is not a date", `"customMetadata.price" < "2024-01-01"`, nil, false},
		{"embedded metadata equals", `"embeddedMetadata.Make" = "Canon"`, camera, true},
		{"embedded metadata other", `"embeddedMetadata.Make" = "Nikon"`, camera, false},
		{"embedded metadata exif date", `"embeddedMetadata.DateTimeOriginal" > "2019-01-01"`, camera, true},
		{"embedded metadata exif date relative", `"embeddedMetadata.DateTimeOriginal" > "1y"`, camera, false},
		{"embedded metadata keyword in", `"embeddedMetadata.Keywords" IN ["sun"]`, camera, true},
		{"embedded metadata keyword not in", `"embeddedMetadata.Keywords" NOT IN ["sun"]`, camera, false},
		{"embedded metadata exists", `"embeddedMetadata.Keywords" EXISTS`, camera, true},
		{"embedded metadata absent", `"embeddedMetadata.Keywords" EXISTS`, nil, false},

		{"video duration with minutes", `videoDuration = "1.5min"`, video, true},
		{"video duration greater", `videoDuration > "30sec"`, video, true},
		{"video duration in seconds", `videoDuration < 60`, video, false},
		{"video duration in list", `videoDuration IN ["90s", "2hr"]`, video, true},
		{"video duration in hours", `videoDuration < "1h"`, video, true},
		{"video duration of an image", `videoDuration >= 0`, nil, false},
		{"video duration not equals an image", `videoDuration NOT = 5`, nil, true},

		{"width in", `width IN [800, 900]`, nil, true},
		{"width not in", `width NOT IN [800]`, nil, false},
		{"size in with units", `size IN ["1.5mb", 1]`, nil, true},
		{"height in others", `height IN [1, 2]`, nil, false},
		{"created by without an uploader", `createdBy = "a@example.com"`, nil, false},
		{"created by not equals without an uploader", `createdBy NOT = "a@example.com"`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := imagekittest.ParseQuery(tt.query, now)
			require.NoError(t, err)
			assert.Equal(t, tt.want, q.Match(shoe(tt.edit)), "query %s", tt.query)
		})
	}
}

// quotedList returns n quoted values prefix0, prefix1, ... joined by commas.
func quotedList(prefix string, n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf("%q", fmt.Sprint(prefix, i))
	}
	return strings.Join(items, ", ")
}

func TestParseQueryErrors(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		wantPos int
		wantMsg string // a part of the message
	}{
		{"empty query", ``, 0, "empty query"},
		{"blank query", `   `, 0, "empty query"},
		{"unknown field", `colour = "red"`, 0, `"colour"`},
		{"field in the wrong case", `createdat > "7d"`, 0, "createdAt"},
		{"HAS on id", `id HAS "f1"`, 3, "HAS"},
		{"HAS with a list", `tags HAS ["a"]`, 9, "single value"},
		{"HAS without a word", `name HAS "--"`, 9, "no letter or digit"},
		{"HAS unquoted", `name HAS shoe`, 9, "double quotes"},
		{"HAS on path", `path HAS "a"`, 5, "operator HAS is not supported on field path"},
		{"colon on id", `id : "f"`, 3, "operator : is not supported on field id"},
		{"less on name", `name < "b"`, 5, "operator < is not supported on field name"},
		{"equals on tags", `tags = "red"`, 5, "operator = is not supported on field tags"},
		{"EXISTS on name", `name EXISTS`, 5, "EXISTS"},
		{"IN on private", `private IN [true]`, 8, "IN"},
		{"EXISTS on width", `width EXISTS`, 6, "EXISTS"},
		{"colon on createdBy", `createdBy : "a"`, 10, "operator : is not supported on field createdBy"},
		{"NOT less", `width NOT < 5`, 10, "NOT <"},
		{"NOT HAS", `name NOT HAS "x"`, 9, "NOT HAS"},
		{"bang equals", `id != "f1"`, 3, `"!"`},
		{"leading NOT", `NOT id = "f1"`, 0, "NOT before a condition"},
		{"lower-case and", `id = "a" and name = "b"`, 9, `"and" must be written in upper case`},
		{"lower-case or", `id = "a" or name = "b"`, 9, "OR"},
		{"lower-case in", `id in ["a"]`, 3, "IN"},
		{"lower-case not", `id not = "a"`, 3, "NOT"},
		{"unterminated string", `name = "abc`, 7, "unterminated string"},
		{"unterminated after escape", `name = "abc\`, 7, "unterminated string"},
		{"unsupported escape", `name = "a\nb"`, 9, `"\n"`},
		{"trailing garbage", `id = "a" "b"`, 9, `unexpected string "b"`},
		{"trailing word", `id = "a" name`, 9, `"name"`},
		{"trailing operator", `id = "a" AND`, 12, "query ends where a condition was expected"},
		{"missing operator", `name`, 4, "expected an operator"},
		{"missing value", `name =`, 6, "value"},
		{"unclosed parenthesis", `(id = "a"`, 0, "unclosed ("},
		{"unmatched parenthesis", `id = "a")`, 8, "unmatched )"},
		{"empty parentheses", `()`, 1, "condition"},
		{"unclosed list", `id IN ["a"`, 6, "unclosed ["},
		{"empty list", `id IN []`, 7, "empty list"},
		{"trailing comma", `id IN ["a",]`, 11, "value"},
		{"list without commas", `id IN ["a" "b"]`, 11, "expected , or ]"},
		{"IN without list", `id IN "a"`, 6, "needs a list"},
		{"equals with list", `id = ["a"]`, 5, "single value"},
		{"unquoted id", `id = f1`, 5, "double quotes"},
		{"unquoted tag", `tags IN [red]`, 9, "double quotes"},
		{"keyword as value", `id = AND`, 5, "keyword"},
		{"keyword as field", `AND = "x"`, 0, "keyword"},
		{"unexpected character", `id = "a" & name = "b"`, 9, `'&'`},
		{"bad date", `createdAt > "yesterday"`, 12, `date "yesterday"`},
		{"bad relative unit", `createdAt > "7s"`, 12, `date "7s"`},
		{"relative date too far", `createdAt > "99999y"`, 12, "too far"},
		{"bad number", `width > "wide"`, 8, `"wide"`},
		{"bad size", `size > "1tb"`, 7, `"1tb"`},
		{"hex number", `width > 0x10`, 8, `"0x10"`},
		{"bad boolean", `private = yes`, 10, "true or false"},
		{"type value", `type = "image"`, 7, `type "image"`},
		{"relative path", `path = "products/"`, 7, "must start with /"},
		{"double slash path", `path : "/a//b/"`, 7, "//"},
		{"unquoted custom metadata", `customMetadata.brand = "nike"`, 0, "double quotes"},
		{"empty custom metadata key", `"customMetadata." = "nike"`, 0, "names no customMetadata key"},
		{"custom metadata compared with a word", `"customMetadata.price" > "soon"`, 25, "bare number or a quoted date"},
		{"custom metadata compared with a list", `"customMetadata.price" > [1]`, 25, "single value"},
		{"metadata field in the wrong case", `"custommetadata.brand" = "nike"`, 0, "customMetadata.KEY"},
		{"bad custom metadata value", `"customMetadata.brand" = nike`, 25, "nike"},
		{"geographic search", `"embeddedMetadata.LocationTaken" = "40,100 5km"`, 0, "geographic"},
		{"unquoted embedded metadata", `embeddedMetadata.Make = "Canon"`, 0, "double quotes"},
		{"bad video duration", `videoDuration > "long"`, 16, `"long"`},
		{"video duration in days", `videoDuration > "2d"`, 16, `"2d"`},
		{"bad size in a list", `size IN [1, "big"]`, 12, `"big"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := imagekittest.ParseQuery(tt.query, now)
			require.Error(t, err)
			assert.Nil(t, q)
			var qe *imagekittest.QueryError
			require.True(t, errors.As(err, &qe), "error %v is not a *QueryError", err)
			assert.Contains(t, qe.Msg, tt.wantMsg)
			assert.Equal(t, tt.wantPos, qe.Pos, "position of %q", qe.Msg)
			assert.Contains(t, err.Error(), fmt.Sprintf("offset %d", tt.wantPos))
		})
	}
}

func TestParseQueryLimits(t *testing.T) {
	nest := func(n int) string {
		return strings.Repeat("(", n) + `id = "a"` + strings.Repeat(")", n)
	}
	t.Run("nesting up to the limit", func(t *testing.T) {
		q, err := imagekittest.ParseQuery(nest(imagekittest.MaxQueryDepth), now)
		require.NoError(t, err)
		assert.True(t, q.Match(&imagekittest.File{FileID: "a"}))
	})
	t.Run("nesting beyond the limit", func(t *testing.T) {
		_, err := imagekittest.ParseQuery(nest(imagekittest.MaxQueryDepth+1), now)
		var qe *imagekittest.QueryError
		require.ErrorAs(t, err, &qe)
		assert.Contains(t, qe.Msg, "nested")
		assert.Equal(t, imagekittest.MaxQueryDepth, qe.Pos)
	})
	t.Run("list items up to the limit", func(t *testing.T) {
		s := `id IN [` + quotedList("id", imagekittest.MaxQueryListItems) + `]`
		require.Greater(t, len(s), 64<<10, "the query should be longer than 64 KiB")
		q, err := imagekittest.ParseQuery(s, now)
		require.NoError(t, err)
		assert.True(t, q.Match(&imagekittest.File{FileID: "id9999"}))
		assert.False(t, q.Match(&imagekittest.File{FileID: "id10000"}))
		assert.Len(t, q.Hints().IDs, imagekittest.MaxQueryListItems)
	})
	t.Run("list items beyond the limit across lists", func(t *testing.T) {
		s := `id IN [` + quotedList("id", imagekittest.MaxQueryListItems/2) + `] OR tags IN [` +
			quotedList("t", imagekittest.MaxQueryListItems/2+1) + `]`
		_, err := imagekittest.ParseQuery(s, now)
		var qe *imagekittest.QueryError
		require.ErrorAs(t, err, &qe)
		assert.Contains(t, qe.Msg, "list items")
	})
	t.Run("query too long", func(t *testing.T) {
		s := `name = "` + strings.Repeat("x", imagekittest.MaxQueryBytes) + `"`
		_, err := imagekittest.ParseQuery(s, now)
		var qe *imagekittest.QueryError
		require.ErrorAs(t, err, &qe)
		assert.Contains(t, qe.Msg, "bytes long")
	})
	t.Run("many conditions without nesting", func(t *testing.T) {
		conds := make([]string, 5000)
		for i := range conds {
			conds[i] = fmt.Sprintf(`id = "x%d"`, i)
		}
		q, err := imagekittest.ParseQuery(strings.Join(conds, " OR "), now)
		require.NoError(t, err)
		assert.True(t, q.Match(&imagekittest.File{FileID: "x4999"}))
		assert.Len(t, q.Hints().IDs, 5000)
	})
}

func TestQueryHints(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  imagekittest.Hints
	}{
		{"id equals", `id = "a"`, imagekittest.Hints{ByID: true, IDs: []string{"a"}}},
		{"id in dedupes", `id IN ["a", "b", "a"]`, imagekittest.Hints{ByID: true, IDs: []string{"a", "b"}}},
		{"id not in says nothing", `id NOT IN ["a"]`, imagekittest.Hints{}},
		{"ids intersect under and", `id IN ["a", "b"] AND id IN ["b", "c"]`, imagekittest.Hints{ByID: true, IDs: []string{"b"}}},
		{"disjoint ids match nothing", `id = "a" AND id = "b"`, imagekittest.Hints{ByID: true, IDs: []string{}}},
		{"ids unite under or", `id = "a" OR id IN ["b", "a"]`, imagekittest.Hints{ByID: true, IDs: []string{"a", "b"}}},
		{"or with another field drops ids", `id = "a" OR name = "b"`, imagekittest.Hints{}},
		{"tags in", `tags IN ["x", "y"]`, imagekittest.Hints{ByTag: true, Tags: []string{"x", "y"}}},
		{"tags not in says nothing", `tags NOT IN ["x"]`, imagekittest.Hints{}},
		{"tags exists says nothing", `tags EXISTS`, imagekittest.Hints{}},
		{"and keeps the shorter tag list", `tags IN ["x", "y"] AND tags IN ["z"]`, imagekittest.Hints{ByTag: true, Tags: []string{"z"}}},
		{"tags unite under or", `tags IN ["x"] OR tags IN ["y"]`, imagekittest.Hints{ByTag: true, Tags: []string{"x", "y"}}},
		{"path equals", `path = "/a"`, imagekittest.Hints{ByFolder: true, Folder: "/a/"}},
		{"path colon", `path : "/a/"`, imagekittest.Hints{ByFolder: true, Folder: "/a/", Subtree: true}},
		{"path not equals says nothing", `path NOT = "/a/"`, imagekittest.Hints{}},
		{"path in siblings", `path IN ["/a/b/", "/a/c/"]`, imagekittest.Hints{ByFolder: true, Folder: "/a/", Subtree: true}},
		{"path in one folder", `path IN ["/a/b", "/a/b/"]`, imagekittest.Hints{ByFolder: true, Folder: "/a/b/"}},
		{"path in unrelated folders", `path IN ["/a/", "/b/"]`, imagekittest.Hints{}},
		{"and keeps the exact folder", `path : "/a/" AND path = "/a/b/"`, imagekittest.Hints{ByFolder: true, Folder: "/a/b/"}},
		{"and keeps the deeper subtree", `path : "/a/" AND path : "/a/b/"`, imagekittest.Hints{ByFolder: true, Folder: "/a/b/", Subtree: true}},
		{"or of folder and its subtree", `path = "/a/b/" OR path : "/a/"`, imagekittest.Hints{ByFolder: true, Folder: "/a/", Subtree: true}},
		{"or of same folder", `path = "/a/" OR path : "/a"`, imagekittest.Hints{ByFolder: true, Folder: "/a/", Subtree: true}},
		{"or of sibling folders and other fields", `(path : "/p/x/" AND tags IN ["t"]) OR (path = "/p/y/" AND id = "i")`,
			imagekittest.Hints{ByFolder: true, Folder: "/p/", Subtree: true}},
		{"planner query", `path : "/products/" AND tags IN ["sale2019", "draft"]`,
			imagekittest.Hints{ByTag: true, Tags: []string{"sale2019", "draft"}, ByFolder: true, Folder: "/products/", Subtree: true}},
		{"all three", `id IN ["a"] AND tags IN ["t"] AND path = "/f/"`,
			imagekittest.Hints{ByID: true, IDs: []string{"a"}, ByTag: true, Tags: []string{"t"}, ByFolder: true, Folder: "/f/"}},
		{"other fields say nothing", `name = "a" AND createdAt > "7d"`, imagekittest.Hints{}},
		{"constraint inside or is dropped", `tags IN ["t"] OR width > 5`, imagekittest.Hints{}},
		{"and over or keeps the and term", `tags IN ["t"] AND (id = "a" OR name = "b")`, imagekittest.Hints{ByTag: true, Tags: []string{"t"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := imagekittest.ParseQuery(tt.query, now)
			require.NoError(t, err)
			if diff := cmp.Diff(tt.want, q.Hints(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Hints() of %s (-want +got):\n%s", tt.query, diff)
			}
		})
	}
	t.Run("disjoint ids give an empty non-nil list", func(t *testing.T) {
		q, err := imagekittest.ParseQuery(`id = "a" AND id = "b"`, now)
		require.NoError(t, err)
		assert.NotNil(t, q.Hints().IDs)
	})
	t.Run("hints are a copy", func(t *testing.T) {
		q, err := imagekittest.ParseQuery(`id IN ["a", "b"] AND tags IN ["t"]`, now)
		require.NoError(t, err)
		h := q.Hints()
		h.IDs[0], h.Tags[0] = "changed", "changed"
		assert.Equal(t, []string{"a", "b"}, q.Hints().IDs)
		assert.Equal(t, []string{"t"}, q.Hints().Tags)
	})
}

// satisfies reports whether f meets every constraint h claims.
func satisfies(h imagekittest.Hints, f *imagekittest.File) error {
	if h.ByID && !contains(h.IDs, f.FileID) {
		return fmt.Errorf("id %q not in hint ids %q", f.FileID, h.IDs)
	}
	if h.ByTag {
		found := false
		for _, t := range f.Tags {
			found = found || contains(h.Tags, t)
		}
		for _, t := range f.AITags {
			found = found || contains(h.Tags, t.Name)
		}
		if !found {
			return fmt.Errorf("tags %q and AITags %v carry none of hint tags %q", f.Tags, f.AITags, h.Tags)
		}
	}
	if h.ByFolder {
		folder := f.Folder()
		if h.Subtree && !strings.HasPrefix(folder, h.Folder) || !h.Subtree && folder != h.Folder {
			return fmt.Errorf("folder %q outside hint folder %q (subtree %v)", folder, h.Folder, h.Subtree)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// gen builds random files and queries over a small vocabulary, so that
// random queries often match random files.
type gen struct{ r *rand.Rand }

var (
	genIDs     = []string{"a", "b", "c", "d"}
	genTags    = []string{"t1", "t2", "t3", "ai1", "ai2"}
	genFolders = []string{"/", "/x/", "/x/y/", "/x/y/z/", "/x/w/", "/v/", "/xy/"}
	genNames   = []string{"a.jpg", "ab.png", "b.jpg", "logo"}
)

func (g gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g gen) some(list []string) []string {
	n := 1 + g.r.IntN(3)
	out := make([]string, n)
	for i := range out {
		out[i] = g.pick(list)
	}
	return out
}

func (g gen) file() *imagekittest.File {
	f := &imagekittest.File{
		FileID:    g.pick(genIDs),
		Type:      "file",
		Name:      g.pick(genNames),
		CreatedAt: now.Add(-time.Duration(g.r.IntN(30*24)) * time.Hour),
		Width:     g.r.IntN(3) * 100,
	}
	f.FilePath = g.pick(genFolders) + f.Name
	if g.r.IntN(4) > 0 {
		f.Tags = g.some(genTags[:3])
	}
	if g.r.IntN(3) == 0 {
		for _, name := range g.some(genTags[3:]) {
			f.AITags = append(f.AITags, imagekittest.AITag{Name: name})
		}
	}
	return f
}

func list(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = fmt.Sprintf("%q", v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func (g gen) cond() string {
	not := ""
	if g.r.IntN(4) == 0 {
		not = "NOT "
	}
	switch g.r.IntN(11) {
	case 0:
		return fmt.Sprintf(`id %s= %q`, not, g.pick(genIDs))
	case 1:
		return fmt.Sprintf(`id %sIN %s`, not, list(g.some(genIDs)))
	case 2:
		return fmt.Sprintf(`tags %sIN %s`, not, list(g.some(genTags)))
	case 3:
		folder := g.pick(genFolders)
		if folder != "/" && g.r.IntN(2) == 0 {
			folder = strings.TrimSuffix(folder, "/")
		}
		return fmt.Sprintf(`path %s= %q`, not, folder)
	case 4:
		return fmt.Sprintf(`path : %q`, g.pick(genFolders))
	case 5:
		return fmt.Sprintf(`path %sIN %s`, not, list(g.some(genFolders)))
	case 6:
		return fmt.Sprintf(`name : %q`, g.pick([]string{"a", "b", "l"}))
	case 7:
		return fmt.Sprintf(`createdAt > "%dd"`, g.r.IntN(30))
	case 8:
		return fmt.Sprintf(`tags %sEXISTS`, not)
	case 9:
		return fmt.Sprintf(`name HAS %q`, g.pick([]string{"a", "AB", "jpg", "logo", "b.j"}))
	default:
		return fmt.Sprintf(`tags HAS %q`, g.pick([]string{"t", "AI", "t1"}))
	}
}

func (g gen) query(depth int) string {
	if depth == 0 || g.r.IntN(3) == 0 {
		return g.cond()
	}
	n := 2 + g.r.IntN(2)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = "(" + g.query(depth-1) + ")"
	}
	if g.r.IntN(2) == 0 {
		return strings.Join(parts, " AND ")
	}
	return strings.Join(parts, " OR ")
}

func TestQueryHintsAreSound(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(1, 2))}
	files := make([]*imagekittest.File, 300)
	for i := range files {
		files[i] = g.file()
	}
	constrained, matched := 0, 0
	for range 3000 {
		s := g.query(3)
		q, err := imagekittest.ParseQuery(s, now)
		require.NoError(t, err, "query %s", s)
		h := q.Hints()
		if h.ByID || h.ByTag || h.ByFolder {
			constrained++
		}
		for _, f := range files {
			if !q.Match(f) {
				continue
			}
			matched++
			if err := satisfies(h, f); err != nil {
				t.Fatalf("query %s matches file %+v but its hints %+v do not: %v", s, f, h, err)
			}
		}
	}
	// The generator must exercise the hints, or the test proves nothing.
	assert.Greater(t, constrained, 1000, "queries with hints")
	assert.Greater(t, matched, 10000, "matches checked")
}

func TestQueryString(t *testing.T) {
	const s = `id = "a"`
	q, err := imagekittest.ParseQuery(s, now)
	require.NoError(t, err)
	assert.Equal(t, s, q.String())
}

func BenchmarkParseQueryLongIDList(b *testing.B) {
	s := `id IN [` + quotedList("5e21880d5efe355febd4bc", 1000) + `]`
	for b.Loop() {
		if _, err := imagekittest.ParseQuery(s, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQueryHintsManyAlternatives(b *testing.B) {
	conds := make([]string, 5000)
	for i := range conds {
		conds[i] = fmt.Sprintf(`id = "x%d" OR tags IN ["t%d"]`, i, i)
	}
	s := strings.Join(conds, " OR ")
	for b.Loop() {
		q, err := imagekittest.ParseQuery(s, now)
		if err != nil {
			b.Fatal(err)
		}
		_ = q.Hints()
	}
}
