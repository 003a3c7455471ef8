package e2e

import (
	"bytes"
	"os"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// The oracle says which tags each file must lose, read directly from the
// semantics of DESIGN.md section 2 over the tests' own fixtures. It shares
// no code with the manifest and reconcile packages, so that a bug in their
// matching cannot hide in the check of it.

// oracleRule is what the oracle reads of a manifest rule. Decoding is
// strict: a fixture that uses a field the oracle does not know (an extension
// such as replaceTags) fails the test instead of being judged wrongly.
type oracleRule struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Files       struct {
		Paths       []string `yaml:"paths"`
		FileIDs     []string `yaml:"fileIds"`
		SearchQuery string   `yaml:"searchQuery"`
		Exclude     struct {
			Paths   []string `yaml:"paths"`
			FileIDs []string `yaml:"fileIds"`
		} `yaml:"exclude"`
	} `yaml:"files"`
	ForbiddenTags []string `yaml:"forbiddenTags"`
	AllowedTags   []string `yaml:"allowedTags"`
	// ForbiddenAITags are matched like forbiddenTags, against the names of
	// a file's AITags.
	ForbiddenAITags []string `yaml:"forbiddenAITags"`
	// ReplaceTags renames OLD to NEW: OLD is forbidden, and a file that
	// carries it gains NEW.
	ReplaceTags map[string]string `yaml:"replaceTags"`
}

// searchQueries are the searchQuery values of the tests' manifests, each
// with the files it selects, written out by hand. Dates such as
// "2024-01-01" are whole UTC days, so `createdAt < "2024-01-01"` selects
// files created before its midnight, UTC.
var searchQueries = map[string]func(f *imagekittest.File) bool{
	`createdAt < "2024-01-01"`: createdBefore(2024, time.January, 1),
	`createdAt < "2022-06-01"`: createdBefore(2022, time.June, 1),
}

func createdBefore(y int, m time.Month, d int) func(f *imagekittest.File) bool {
	limit := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return func(f *imagekittest.File) bool { return f.CreatedAt.Before(limit) }
}

// oracle is the rules of a set of manifests.
type oracle []oracleRule

// newOracle reads the rules of the manifests at paths; a directory stands
// for its *.yaml and *.yml files, as -f reads it.
func newOracle(t *testing.T, paths []string) oracle {
	t.Helper()
	var o oracle
	for _, p := range manifestFiles(t, paths) {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		var doc struct {
			Version int          `yaml:"version"`
			Rules   []oracleRule `yaml:"rules"`
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		require.NoError(t, dec.Decode(&doc), "the oracle reads %s", p)
		for _, r := range doc.Rules {
			if q := r.Files.SearchQuery; q != "" {
				require.Contains(t, searchQueries, q, "%s: the oracle does not know which files searchQuery %q selects: add it to searchQueries", p, q)
			}
		}
		o = append(o, doc.Rules...)
	}
	require.NotEmpty(t, o, "no rules in %v", paths)
	return o
}

// under reports whether filePath is in folder or one of its subfolders.
// A folder is normalised to end with "/", so "/products" is "/products/"
// and does not hold "/products-old/x.jpg"; "/" holds every file.
func under(filePath, folder string) bool {
	if !strings.HasSuffix(folder, "/") {
		folder += "/"
	}
	return strings.HasPrefix(filePath, folder)
}

// selects reports whether r selects f: f is under one of its paths or is
// one of its fileIds, it matches the searchQuery if there is one, and it
// is not excluded by path or fileId.
func (r *oracleRule) selects(f *imagekittest.File) bool {
	isUnder := func(folder string) bool { return under(f.FilePath, folder) }
	in := slices.ContainsFunc(r.Files.Paths, isUnder) || slices.Contains(r.Files.FileIDs, f.FileID)
	out := slices.ContainsFunc(r.Files.Exclude.Paths, isUnder) || slices.Contains(r.Files.Exclude.FileIDs, f.FileID)
	if !in || out {
		return false
	}
	if q := r.Files.SearchQuery; q != "" {
		return searchQueries[q](f)
	}
	return true
}

// forbids reports whether r forbids tag: it is a key of replaceTags, it
// matches an entry of forbiddenTags, or the rule has allowedTags and the tag
// matches none of them (DESIGN.md section 2, Extensions).
func (r *oracleRule) forbids(tag string) bool {
	if _, renamed := r.ReplaceTags[tag]; renamed {
		return true
	}
	if matches(r.ForbiddenTags, tag) {
		return true
	}
	return len(r.AllowedTags) > 0 && !matches(r.AllowedTags, tag)
}

// forbidsAITag reports whether r forbids an AITag of this name.
func (r *oracleRule) forbidsAITag(name string) bool { return matches(r.ForbiddenAITags, name) }

// matches reports whether tag matches an entry: an entry with *, ? or [ is
// a path.Match glob, any other entry is the exact, case-sensitive tag.
func matches(entries []string, tag string) bool {
	for _, e := range entries {
		if strings.ContainsAny(e, "*?[") {
			if ok, _ := path.Match(e, tag); ok {
				return true
			}
		} else if e == tag {
			return true
		}
	}
	return false
}

// only returns the rules that --rule NAMEs select: those whose name is one
// of names, or matches one of them as a path.Match glob. It fails the test
// when a NAME selects no rule: the run under test refuses that.
func (o oracle) only(t *testing.T, names ...string) oracle {
	t.Helper()
	var out oracle
	used := map[string]bool{}
	for _, r := range o {
		keep := false
		for _, n := range names {
			if ok, _ := path.Match(n, r.Name); ok || n == r.Name {
				keep, used[n] = true, true
			}
		}
		if keep {
			out = append(out, r)
		}
	}
	for _, n := range names {
		require.True(t, used[n], "--rule %q selects no rule of the oracle", n)
	}
	return out
}

// forbidden reports whether some rule that selects f forbids tag.
func (o oracle) forbidden(f *imagekittest.File, tag string) bool {
	for i := range o {
		if o[i].selects(f) && o[i].forbids(tag) {
			return true
		}
	}
	return false
}

// desired returns the tags every file must end with: its own tags less
// those forbidden for it, in their order, then the new tags of the renames
// of its old tags that it lacks, sorted (one addTags call adds them in that
// order). AITags play no part.
func (o oracle) desired(files []imagekittest.File) map[string][]string {
	want := make(map[string][]string, len(files))
	for i := range files {
		f := &files[i]
		var keep []string
		for _, tag := range f.Tags {
			if !o.forbidden(f, tag) {
				keep = append(keep, tag)
			}
		}
		var added []string
		for _, r := range o {
			if !r.selects(f) {
				continue
			}
			for old, new := range r.ReplaceTags {
				if slices.Contains(f.Tags, old) && !slices.Contains(keep, new) && !slices.Contains(added, new) {
					added = append(added, new)
				}
			}
		}
		slices.Sort(added)
		want[f.FileID] = append(keep, added...)
	}
	return want
}

// desiredAITags returns the AITag names every file must end with: its own
// less those some rule that selects it forbids by forbiddenAITags.
func (o oracle) desiredAITags(files []imagekittest.File) map[string][]string {
	want := make(map[string][]string, len(files))
	for i := range files {
		f := &files[i]
		var keep []string
		for _, a := range f.AITags {
			forbidden := false
			for j := range o {
				forbidden = forbidden || o[j].selects(f) && o[j].forbidsAITag(a.Name)
			}
			if !forbidden {
				keep = append(keep, a.Name)
			}
		}
		want[f.FileID] = keep
	}
	return want
}

// desiredState is the oracle's end state for files under the manifests at
// paths.
func desiredState(t *testing.T, paths []string, files []imagekittest.File) map[string][]string {
	t.Helper()
	return newOracle(t, paths).desired(files)
}

// The oracle itself reads the semantics right: each case is one sentence of
// DESIGN.md section 2.
func TestOracle(t *testing.T) {
	t.Parallel()
	old := time.Date(2021, 5, 1, 0, 0, 0, 0, time.UTC)
	file := func(id, p string, created time.Time) *imagekittest.File {
		return &imagekittest.File{FileID: id, FilePath: p, CreatedAt: created}
	}
	rule := func(yml string) *oracleRule {
		var r oracleRule
		require.NoError(t, yaml.Unmarshal([]byte(yml), &r))
		return &r
	}
	tests := []struct {
		name string
		rule string
		file *imagekittest.File
		tag  string
		want bool
	}{
		{"FolderHoldsItsSubfolders", "files: {paths: [/products/]}\nforbiddenTags: [x]", file("a", "/products/shoes/a.jpg", old), "x", true},
		{"FolderWithoutSlashIsAFolder", "files: {paths: [/products]}\nforbiddenTags: [x]", file("a", "/products/a.jpg", old), "x", true},
		{"FolderIsNotAPrefixOfAName", "files: {paths: [/products]}\nforbiddenTags: [x]", file("a", "/products-old/a.jpg", old), "x", false},
		{"RootHoldsEverything", "files: {paths: [/]}\nforbiddenTags: [x]", file("a", "/a.jpg", old), "x", true},
		{"FileIDSelectsAnywhere", "files: {fileIds: [a]}\nforbiddenTags: [x]", file("a", "/elsewhere/a.jpg", old), "x", true},
		{"OtherFileIDIsNotSelected", "files: {fileIds: [b]}\nforbiddenTags: [x]", file("a", "/a.jpg", old), "x", false},
		{"ExcludedFolderIsLeftAlone", "files: {paths: [/], exclude: {paths: [/keep]}}\nforbiddenTags: [x]", file("a", "/keep/a.jpg", old), "x", false},
		{"ExcludedFileIDIsLeftAlone", "files: {fileIds: [a], exclude: {fileIds: [a]}}\nforbiddenTags: [x]", file("a", "/a.jpg", old), "x", false},
		{"ExactTagIsCaseSensitive", "files: {paths: [/]}\nforbiddenTags: [Sale]", file("a", "/a.jpg", old), "sale", false},
		{"GlobMatches", "files: {paths: [/]}\nforbiddenTags: [\"campaign-2023-*\"]", file("a", "/a.jpg", old), "campaign-2023-spring", true},
		{"GlobMatchesTheWholeTag", "files: {paths: [/]}\nforbiddenTags: [\"campaign-2023-*\"]", file("a", "/a.jpg", old), "old-campaign-2023-spring", false},
		{"EscapedStarIsLiteral", "files: {paths: [/]}\nforbiddenTags: ['a\\*']", file("a", "/a.jpg", old), "ab", false},
		{"SearchQuerySelects", "files: {paths: [/], searchQuery: 'createdAt < \"2022-06-01\"'}\nforbiddenTags: [x]", file("a", "/a.jpg", old), "x", true},
		{"SearchQueryIsANDed", "files: {paths: [/], searchQuery: 'createdAt < \"2022-06-01\"'}\nforbiddenTags: [x]",
			file("a", "/a.jpg", time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)), "x", false},
		{"AllowlistKeepsAnExactEntry", "files: {paths: [/]}\nallowedTags: [brand]", file("a", "/a.jpg", old), "brand", false},
		{"AllowlistKeepsAGlobMatch", "files: {paths: [/]}\nallowedTags: [\"color-*\"]", file("a", "/a.jpg", old), "color-red", false},
		{"AllowlistForbidsAnythingElse", "files: {paths: [/]}\nallowedTags: [brand, \"color-*\"]", file("a", "/a.jpg", old), "sale", true},
		{"AllowlistIsCaseSensitive", "files: {paths: [/]}\nallowedTags: [\"color-*\"]", file("a", "/a.jpg", old), "Color-red", true},
		{"AllowlistOnlyGovernsSelectedFiles", "files: {paths: [/shop/]}\nallowedTags: [brand]", file("a", "/blog/a.jpg", old), "sale", false},
		{"ForbiddenTagsWinOverTheAllowlist", "files: {paths: [/]}\nallowedTags: [\"brand-*\"]\nforbiddenTags: [brand-legacy]", file("a", "/a.jpg", old), "brand-legacy", true},
		{"AllowlistWithForbiddenTagsKeepsTheRest", "files: {paths: [/]}\nallowedTags: [\"brand-*\"]\nforbiddenTags: [brand-legacy]", file("a", "/a.jpg", old), "brand-acme", false},
		{"ReplacedTagIsForbidden", "files: {paths: [/]}\nreplaceTags: {Red: red}", file("a", "/a.jpg", old), "Red", true},
		{"ReplacementIsNotForbidden", "files: {paths: [/]}\nreplaceTags: {Red: red}", file("a", "/a.jpg", old), "red", false},
		{"ForbiddenAITagsLeaveTags", "files: {paths: [/]}\nforbiddenAITags: [Person]", file("a", "/a.jpg", old), "Person", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, oracle{*rule(tt.rule)}.forbidden(tt.file, tt.tag))
		})
	}
	t.Run("RenameAddsTheNewTagAfterTheKeptOnes", func(t *testing.T) {
		t.Parallel()
		f := imagekittest.File{FileID: "a", FilePath: "/a.jpg", Tags: []string{"Red", "keep", "Blue"}}
		o := oracle{*rule("files: {paths: [/]}\nreplaceTags: {Red: red, Blue: blue}")}
		assert.Equal(t, []string{"keep", "blue", "red"}, o.desired([]imagekittest.File{f})["a"])
	})
	t.Run("RenameToATagTheFileHasAddsNothing", func(t *testing.T) {
		t.Parallel()
		f := imagekittest.File{FileID: "a", FilePath: "/a.jpg", Tags: []string{"red", "Red"}}
		o := oracle{*rule("files: {paths: [/]}\nreplaceTags: {Red: red}")}
		assert.Equal(t, []string{"red"}, o.desired([]imagekittest.File{f})["a"])
	})
	t.Run("ForbiddenAITagGoesAndTheSameNamedTagStays", func(t *testing.T) {
		t.Parallel()
		f := imagekittest.File{FileID: "a", FilePath: "/a.jpg", Tags: []string{"Person"},
			AITags: []imagekittest.AITag{{Name: "Person"}, {Name: "Text"}}}
		o := oracle{*rule("files: {paths: [/]}\nforbiddenAITags: [Person]")}
		assert.Equal(t, []string{"Text"}, o.desiredAITags([]imagekittest.File{f})["a"])
		assert.Equal(t, []string{"Person"}, o.desired([]imagekittest.File{f})["a"])
	})
	t.Run("RulesCombineByUnion", func(t *testing.T) {
		t.Parallel()
		o := oracle{*rule("files: {paths: [/]}\nallowedTags: [sale, keep]"), *rule("files: {paths: [/]}\nforbiddenTags: [sale]")}
		f := file("a", "/a.jpg", old)
		assert.True(t, o.forbidden(f, "sale"), "one rule admits it, another forbids it")
		assert.False(t, o.forbidden(f, "keep"))
	})
}

// The oracle's rule filter reads --rule as DESIGN.md section 3 says: a name,
// or a glob that selects every rule it matches.
func TestOracleRuleFilter(t *testing.T) {
	t.Parallel()
	o := oracle{{Name: "retire-2022"}, {Name: "release-hold"}, {Name: "retire-2023"}}
	names := func(o oracle) []string {
		var out []string
		for _, r := range o {
			out = append(out, r.Name)
		}
		return out
	}
	assert.Equal(t, []string{"release-hold"}, names(o.only(t, "release-hold")))
	assert.Equal(t, []string{"retire-2022", "retire-2023"}, names(o.only(t, "retire-*")))
	assert.Equal(t, []string{"retire-2022", "release-hold"}, names(o.only(t, "re*-hold", "retire-2022")))
}
