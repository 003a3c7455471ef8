package imagekittest_test

import (
	"errors"
	"testing"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// FuzzParseQuery checks that any input either parses or fails with a
// *QueryError inside the query, and that a parsed query evaluates without
// panicking and only claims hints its matches satisfy.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		`path : "/products/" AND tags IN ["sale2019","draft"]`,
		`id IN ["5e21880d5efe355febd4bccd","5e1c13c1c55ec3437c451403"]`,
		`(size < "1mb" AND width > 500) OR (tags IN ["summer-sale","banner"])`,
		`createdAt > "7d" AND updatedAt <= "2024-06-14T10:30:00Z"`,
		`"customMetadata.brand" NOT IN ["nike", 5, true]`,
		`name = "a \"b\" \\ c" OR type NOT = "file-version"`,
		`((path = "/a") OR path IN ["/a/b/", "/c"]) AND tags NOT EXISTS`,
		`format IN ["jpeg"] AND private = false AND published NOT = true`,
		`id = "a" and name = "b"`,
		`name HAS "red dre" AND tags HAS "sale"`,
		`tags EXISTS AND "customMetadata.brand" NOT EXISTS`,
		`"embeddedMetadata.DateTimeOriginal" > "1y" OR "embeddedMetadata.Keywords" IN ["sun"]`,
		`videoDuration > "1.5min" AND videoDuration <= 7200 AND format = "mp4"`,
		`createdBy IN ["a@example.com"] OR createdBy NOT = "b@example.com"`,
		`size IN ["1mb", 1024, "2.5kb"] AND width NOT IN [0] AND height NOT = 1`,
		`createdAt > "3w" AND updatedAt < "4m" AND createdAt >= "1y" AND updatedAt = "2h"`,
		`"customMetadata.price" >= 12345678901234567890 AND "customMetadata.name" : "x"`,
		`type IN ["file", "folder"] AND type NOT = "file-version"`,
		`"embeddedMetadata.LocationTaken" = "40,100 5km"`,
		`(((`,
		`name = "unterminated`,
	} {
		f.Add(s)
	}
	files := []*imagekittest.File{
		shoe(nil),
		shoe(func(f *imagekittest.File) { f.Tags, f.AITags, f.FilePath = nil, nil, "/Shoe.jpg" }),
		shoe(func(f *imagekittest.File) { f.FileID, f.Type, f.FilePath = "a", "file-version", "/a/b/x.png" }),
		{},
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := imagekittest.ParseQuery(s, now)
		if err != nil {
			var qe *imagekittest.QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("ParseQuery(%q) error %v is not a *QueryError", s, err)
			}
			if qe.Pos < 0 || qe.Pos > len(s) || qe.Msg == "" {
				t.Fatalf("ParseQuery(%q) error %+v has no usable position or message", s, qe)
			}
			return
		}
		h := q.Hints()
		for _, file := range files {
			if q.Match(file) {
				if err := satisfies(h, file); err != nil {
					t.Fatalf("query %q matches file %+v but its hints %+v do not: %v", s, file, h, err)
				}
			}
		}
	})
}
