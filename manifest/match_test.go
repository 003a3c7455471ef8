package manifest_test

import (
	"fmt"
	"math/rand"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/manifest"
)

// file is what the Matcher is asked about in these tests.
type file struct {
	id, path string
	tags, ai []string
	matched  []string // the searchQueries that select it
}

// verdict is a Result with rule names instead of indexes.
type verdict struct {
	Remove, By, RemoveAI, AIBy []string
	Renames                    []string // OLD>NEW by RULE
}

func evaluate(t *testing.T, rules []manifest.Rule, f file) verdict {
	t.Helper()
	m, err := manifest.Compile(rules)
	require.NoError(t, err)
	sel := m.Select(f.id, f.path, func(q string) bool { return slices.Contains(f.matched, q) })
	res := sel.Evaluate(f.tags, f.ai)
	names := func(idx []int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, rules[i].Name)
		}
		return out
	}
	v := verdict{Remove: res.Remove, By: names(res.RemoveBy), RemoveAI: res.RemoveAITags, AIBy: names(res.RemoveAIBy)}
	for _, r := range res.Renames {
		v.Renames = append(v.Renames, r.Old+">"+r.New+" by "+rules[r.Rule].Name)
	}
	return v
}

func TestMatcherEvaluate(t *testing.T) {
	root := func(name string, r manifest.Rule) manifest.Rule {
		r.Name = name
		if r.Paths == nil && r.FileIDs == nil {
			r.Paths = []string{"/"}
		}
		return r
	}
	tests := []struct {
		name  string
		rules []manifest.Rule
		file  file
		want  verdict
	}{
		{
			name: "rules add up and each is named for what it forbids",
			rules: []manifest.Rule{
				root("A", manifest.Rule{ForbiddenTags: []string{"x"}}),
				root("B", manifest.Rule{ForbiddenTags: []string{"y*"}}),
				root("C", manifest.Rule{ForbiddenTags: []string{"z"}}),
			},
			file: file{id: "f", path: "/a/1.jpg", tags: []string{"x", "yes", "keep"}},
			want: verdict{Remove: []string{"x", "yes"}, By: []string{"A", "B"}},
		},
		{
			name:  "exact tags are case-sensitive",
			rules: []manifest.Rule{root("A", manifest.Rule{ForbiddenTags: []string{"Sale"}})},
			file:  file{id: "f", path: "/1.jpg", tags: []string{"sale", "Sale"}},
			want:  verdict{Remove: []string{"Sale"}, By: []string{"A"}},
		},
		{
			name:  "a tag carried twice is removed once",
			rules: []manifest.Rule{root("A", manifest.Rule{ForbiddenTags: []string{"x"}})},
			file:  file{id: "f", path: "/1.jpg", tags: []string{"x", "x"}},
			want:  verdict{Remove: []string{"x"}, By: []string{"A"}},
		},
		{
			name:  "an allowlist removes every tag it does not admit",
			rules: []manifest.Rule{root("shop", manifest.Rule{AllowedTags: []string{"red", "size-*"}})},
			file:  file{id: "f", path: "/shop/1.jpg", tags: []string{"red", "size-xl", "Red", "promo"}},
			want:  verdict{Remove: []string{"Red", "promo"}, By: []string{"shop"}},
		},
		{
			name:  "forbiddenTags beside an allowlist remove what the allowlist admits",
			rules: []manifest.Rule{root("shop", manifest.Rule{AllowedTags: []string{"red", "size-*"}, ForbiddenTags: []string{"size-unknown"}})},
			file:  file{id: "f", path: "/shop/1.jpg", tags: []string{"red", "size-xl", "size-unknown"}},
			want:  verdict{Remove: []string{"size-unknown"}, By: []string{"shop"}},
		},
		{
			name: "two allowlists combine by union of what they forbid",
			rules: []manifest.Rule{
				root("colors", manifest.Rule{AllowedTags: []string{"red", "blue", "xl"}}),
				root("sizes", manifest.Rule{AllowedTags: []string{"xl", "red"}}),
			},
			file: file{id: "f", path: "/1.jpg", tags: []string{"red", "blue", "xl"}},
			want: verdict{Remove: []string{"blue"}, By: []string{"sizes"}},
		},
		{
			name: "an allowlist of another folder does not apply",
			rules: []manifest.Rule{
				root("shop", manifest.Rule{Paths: []string{"/shop/"}, AllowedTags: []string{"red"}}),
			},
			file: file{id: "f", path: "/blog/1.jpg", tags: []string{"blue"}},
			want: verdict{},
		},
		{
			name:  "the empty tag is never removed, even by a glob that matches it",
			rules: []manifest.Rule{root("all", manifest.Rule{ForbiddenTags: []string{"*"}}), root("none", manifest.Rule{AllowedTags: []string{"keep"}})},
			file:  file{id: "f", path: "/1.jpg", tags: []string{"", "x", "keep"}},
			want:  verdict{Remove: []string{"keep", "x"}, By: []string{"all", "none"}},
		},
		{
			name:  "AITags are never removed by forbiddenTags",
			rules: []manifest.Rule{root("A", manifest.Rule{ForbiddenTags: []string{"Person", "x"}})},
			file:  file{id: "f", path: "/1.jpg", tags: []string{"keep"}, ai: []string{"Person", "x"}},
			want:  verdict{},
		},
		{
			name:  "forbiddenAITags remove AITags and leave a same-named tag",
			rules: []manifest.Rule{root("no-people", manifest.Rule{ForbiddenAITags: []string{"Person", "Face*"}})},
			file:  file{id: "f", path: "/1.jpg", tags: []string{"Person"}, ai: []string{"Person", "Face close-up", "Text", ""}},
			want:  verdict{RemoveAI: []string{"Face close-up", "Person"}, AIBy: []string{"no-people"}},
		},
		{
			name: "replaceTags forbid the old tag and name the new one",
			rules: []manifest.Rule{
				root("lower", manifest.Rule{ReplaceTags: map[string]string{"Red": "red", "Blue": "blue"}}),
				root("also-lower", manifest.Rule{Paths: []string{"/shop/"}, ReplaceTags: map[string]string{"Red": "red"}}),
			},
			file: file{id: "f", path: "/shop/1.jpg", tags: []string{"Red", "green"}},
			want: verdict{Remove: []string{"Red"}, By: []string{"lower", "also-lower"}, Renames: []string{"Red>red by lower", "Red>red by also-lower"}},
		},
		{
			name: "a searchQuery rule applies only where its query selects the file",
			rules: []manifest.Rule{
				root("old", manifest.Rule{SearchQuery: `updatedAt < "2024-06-01"`, ForbiddenTags: []string{"x", "y"}}),
				root("new", manifest.Rule{SearchQuery: `updatedAt > "2025-01-01"`, ForbiddenTags: []string{"z"}}),
			},
			file: file{id: "f", path: "/a/f.jpg", tags: []string{"x", "y", "z"}, matched: []string{`updatedAt < "2024-06-01"`}},
			want: verdict{Remove: []string{"x", "y"}, By: []string{"old"}},
		},
		{
			name: "exclusions by folder and by id apply to selection by id and by folder",
			rules: []manifest.Rule{
				root("by-id", manifest.Rule{FileIDs: []string{"f"}, ExcludePaths: []string{"/a/keep/"}, ForbiddenTags: []string{"x"}}),
				root("by-path", manifest.Rule{Paths: []string{"/a/"}, ExcludeFileIDs: []string{"f"}, ForbiddenTags: []string{"y"}}),
				root("both", manifest.Rule{Paths: []string{"/a/"}, FileIDs: []string{"f"}, ForbiddenTags: []string{"z"}}),
			},
			file: file{id: "f", path: "/a/keep/f.jpg", tags: []string{"x", "y", "z"}},
			want: verdict{Remove: []string{"z"}, By: []string{"both"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := evaluate(t, tt.rules, tt.file)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSelectionForbidsTagsTheFileDoesNotCarry(t *testing.T) {
	m, err := manifest.Compile([]manifest.Rule{
		{Name: "shop", Paths: []string{"/shop/"}, AllowedTags: []string{"red", "size-*"}},
		{Name: "sale", Paths: []string{"/"}, ForbiddenTags: []string{"sale*"}, ReplaceTags: map[string]string{"Red": "red"}},
	})
	require.NoError(t, err)
	shop := m.Select("f", "/shop/a.jpg", nil)
	blog := m.Select("g", "/blog/a.jpg", nil)
	for tag, want := range map[string][2]bool{
		"red":     {false, false},
		"size-xl": {false, false},
		"blue":    {true, false},
		"sale-1":  {true, true},
		"Red":     {true, true},
	} {
		assert.Equal(t, want[0], shop.Forbids(tag), "%q in /shop/", tag)
		assert.Equal(t, want[1], blog.Forbids(tag), "%q in /blog/", tag)
	}
}

func TestSelectionForbiddenByNamesEveryForbiddingRule(t *testing.T) {
	m, err := manifest.Compile([]manifest.Rule{
		{Name: "shop", Paths: []string{"/shop/"}, AllowedTags: []string{"Red", "size-*"}},
		{Name: "colors", Paths: []string{"/"}, ReplaceTags: map[string]string{"Red": "red"}},
		{Name: "no-red", Paths: []string{"/shop/"}, ForbiddenTags: []string{"re?"}},
	})
	require.NoError(t, err)
	shop := m.Select("f", "/shop/a.jpg", nil)
	tests := []struct {
		tag  string
		want []int
	}{
		{"red", []int{0, 2}},
		{"Red", []int{1}},
		{"size-xl", nil},
		{"blue", []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.tag, func(t *testing.T) {
			assert.Equal(t, tt.want, shop.ForbiddenBy(tt.tag))
			assert.Equal(t, len(tt.want) > 0, shop.Forbids(tt.tag), "ForbiddenBy agrees with Forbids")
		})
	}
}

func TestSelectionsAreShared(t *testing.T) {
	rules := []manifest.Rule{
		{Name: "a", Paths: []string{"/a/"}, ForbiddenTags: []string{"x", "y*"}},
		{Name: "b", Paths: []string{"/b/"}, ForbiddenTags: []string{"y*", "x"}},
		{Name: "q", Paths: []string{"/a/"}, SearchQuery: `name = "1.jpg"`, ForbiddenTags: []string{"z"}},
	}
	m, err := manifest.Compile(rules)
	require.NoError(t, err)
	none := func(string) bool { return false }
	a1, a2 := m.Select("1", "/a/1.jpg", none), m.Select("2", "/a/deep/2.jpg", none)
	assert.Same(t, a1, a2, "files selected by the same rules share one Selection")
	b := m.Select("3", "/b/3.jpg", none)
	assert.NotSame(t, a1, b)
	assert.Equal(t, a1.Signature(), b.Signature(), "rules forbidding the same patterns have one signature")
	q := m.Select("1", "/a/1.jpg", func(string) bool { return true })
	assert.NotEqual(t, a1.Signature(), q.Signature())
	assert.Equal(t, []int{0, 2}, q.Rules())
	assert.Equal(t, []string{`name = "1.jpg"`}, m.Scope("1", "/a/1.jpg").Queries())
	assert.Empty(t, m.Scope("3", "/b/3.jpg").Queries())
	assert.Equal(t, 0, m.Select("4", "/c/4.jpg", nil).Len())
}

func TestCompileRefusesBadRules(t *testing.T) {
	ok := manifest.Rule{Name: "ok", Paths: []string{"/"}, ForbiddenTags: []string{"x"}}
	with := func(f func(r *manifest.Rule)) []manifest.Rule {
		r := ok
		f(&r)
		return []manifest.Rule{r}
	}
	tests := []struct {
		name  string
		rules []manifest.Rule
		want  string
	}{
		{"a rule without a name", with(func(r *manifest.Rule) { r.Name = " " }), "rule 1 has no name"},
		{"two rules of one name", []manifest.Rule{ok, ok}, `rule "ok": duplicate rule name`},
		{"neither paths nor fileIds", with(func(r *manifest.Rule) { r.Paths = nil }), "neither paths nor fileIds"},
		{"a folder path without its slash", with(func(r *manifest.Rule) { r.Paths = []string{"/a"} }), `path "/a" does not end with "/"`},
		{"a relative exclusion", with(func(r *manifest.Rule) { r.ExcludePaths = []string{"a/"} }), "is relative"},
		{"a fileId with a quote", with(func(r *manifest.Rule) { r.FileIDs = []string{`a"b`} }), "holds spaces, quotes or backslashes"},
		{"an unbalanced searchQuery", with(func(r *manifest.Rule) { r.SearchQuery = `name = "x` }), "unterminated double quote"},
		{"nothing forbidden", with(func(r *manifest.Rule) { r.ForbiddenTags = nil }), "rule needs forbiddenTags, allowedTags, replaceTags or forbiddenAITags"},
		{"a bad glob", with(func(r *manifest.Rule) { r.AllowedTags = []string{"[a"} }), `bad glob "[a"`},
		{"an empty AITag", with(func(r *manifest.Rule) { r.ForbiddenAITags = []string{""} }), "forbiddenAITags entry 1 is empty"},
		{"a glob in replaceTags", with(func(r *manifest.Rule) { r.ReplaceTags = map[string]string{"a": "b*"} }), `the replacement tag "b*" holds *, ? or [`},
		{"a replaceTags chain", with(func(r *manifest.Rule) { r.ReplaceTags = map[string]string{"a": "b", "b": "c"} }), `replaceTags "a" → "b" chains`},
		{"a replacement its own rule forbids", with(func(r *manifest.Rule) { r.ReplaceTags = map[string]string{"X": "x"} }), `the rule itself forbids "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := manifest.Compile(tt.rules)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			var errs manifest.Errors
			require.ErrorAs(t, err, &errs)
		})
	}
}

// bruteForbidden says whether tag is forbidden for f by rules, straight from
// the manifest semantics of DESIGN.md section 2, without the Matcher.
func bruteForbidden(rules []manifest.Rule, f file, tag string) (bool, []string) {
	under := func(folders []string) bool {
		for _, d := range folders {
			if strings.HasPrefix(f.path, d) {
				return true
			}
		}
		return false
	}
	var by []string
	for _, r := range rules {
		if slices.Contains(r.ExcludeFileIDs, f.id) || under(r.ExcludePaths) {
			continue
		}
		if !slices.Contains(r.FileIDs, f.id) && !under(r.Paths) {
			continue
		}
		if r.SearchQuery != "" && !slices.Contains(f.matched, r.SearchQuery) {
			continue
		}
		if bruteRuleForbids(r, tag) {
			by = append(by, r.Name)
		}
	}
	return len(by) > 0, by
}

// bruteRuleForbids says, straight from DESIGN.md section 2, whether rule r
// forbids tag on a file it selects: the tag matches forbiddenTags, is
// replaced by replaceTags, or matches no allowedTags of an allowlist.
func bruteRuleForbids(r manifest.Rule, tag string) bool {
	match := func(patterns []string) bool {
		for _, p := range patterns {
			if p == tag {
				return true
			}
			if strings.ContainsAny(p, "*?[") {
				if ok, _ := path.Match(p, tag); ok {
					return true
				}
			}
		}
		return false
	}
	_, replaced := r.ReplaceTags[tag]
	return match(r.ForbiddenTags) || replaced || (len(r.AllowedTags) > 0 && !match(r.AllowedTags))
}

// TestMatcherAgreesWithTheSemantics compares the Matcher with a brute-force
// reading of the semantics on random rules and files.
func TestMatcherAgreesWithTheSemantics(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	folders := []string{"/", "/a/", "/a/b/", "/a/bc/", "/c/", "/c/d/e/"}
	pool := []string{"x", "y", "z", "camp-1", "camp-2", "Keep", "keep", "", "[lit]"}
	patterns := []string{"x", "y", "camp-*", "K*", "camp-[12]", `\[lit\]`, "?", "keep"}
	queries := []string{`name = "1.jpg"`, `createdAt < "2024-01-01"`}
	sample := func(from []string, p float64) []string {
		var out []string
		for _, s := range from {
			if rng.Float64() < p {
				out = append(out, s)
			}
		}
		return out
	}
	for iter := range 300 {
		var rules []manifest.Rule
		for i := range 1 + rng.Intn(6) {
			r := manifest.Rule{
				Name:           fmt.Sprintf("r%d", i),
				Paths:          sample(folders, 0.25),
				FileIDs:        sample([]string{"f1", "f2", "f3"}, 0.2),
				ExcludePaths:   sample(folders[1:], 0.15),
				ExcludeFileIDs: sample([]string{"f1", "f2"}, 0.1),
				ForbiddenTags:  sample(patterns, 0.3),
			}
			if len(r.Paths)+len(r.FileIDs) == 0 {
				r.Paths = []string{folders[rng.Intn(len(folders))]}
			}
			if rng.Intn(3) == 0 {
				r.AllowedTags = sample(patterns, 0.4)
			}
			if rng.Intn(4) == 0 {
				r.ReplaceTags = map[string]string{"camp-1": "campaign-one"}
			}
			if rng.Intn(3) == 0 {
				r.SearchQuery = queries[rng.Intn(len(queries))]
			}
			if len(r.ForbiddenTags)+len(r.AllowedTags)+len(r.ReplaceTags) == 0 {
				r.ForbiddenTags = []string{"x"}
			}
			rules = append(rules, r)
		}
		m, err := manifest.Compile(rules)
		if err != nil { // a replacement its own rule forbids: drop the renames
			for i := range rules {
				rules[i].ReplaceTags = nil
				if len(rules[i].ForbiddenTags)+len(rules[i].AllowedTags) == 0 {
					rules[i].ForbiddenTags = []string{"x"}
				}
			}
			m, err = manifest.Compile(rules)
		}
		require.NoError(t, err, "iteration %d", iter)
		for range 20 {
			f := file{
				id:      fmt.Sprintf("f%d", rng.Intn(5)),
				path:    folders[rng.Intn(len(folders))] + "1.jpg",
				tags:    sample(pool, 0.4),
				matched: sample(queries, 0.5),
			}
			sel := m.Select(f.id, f.path, func(q string) bool { return slices.Contains(f.matched, q) })
			res := sel.Evaluate(f.tags, nil)
			var wantRemove, wantBy []string
			for _, tag := range slices.Concat(f.tags, pool, []string{"other"}) {
				forbidden, by := bruteForbidden(rules, f, tag)
				require.Equal(t, forbidden, sel.Forbids(tag), "iteration %d: tag %q of %+v", iter, tag, f)
				for _, r := range rules {
					require.Equal(t, bruteRuleForbids(r, tag), r.Policy().Forbids(tag), "iteration %d: rule %s, tag %q", iter, r.Name, tag)
				}
				if forbidden && tag != "" && slices.Contains(f.tags, tag) {
					wantRemove = append(wantRemove, tag)
					wantBy = append(wantBy, by...)
				}
			}
			slices.Sort(wantRemove)
			wantRemove = slices.Compact(wantRemove)
			var gotBy []string
			for _, i := range res.RemoveBy {
				gotBy = append(gotBy, rules[i].Name)
			}
			slices.Sort(wantBy)
			wantBy = slices.Compact(wantBy)
			require.Equal(t, wantRemove, res.Remove, "iteration %d: %+v", iter, f)
			require.Equal(t, wantBy, gotBy, "iteration %d: %+v", iter, f)
		}
	}
}
