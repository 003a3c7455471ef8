package manifest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/manifest"
)

const invalidDir = "testdata/invalid"

// invalidCases covers every fixture in testdata/invalid; TestInvalidFixturesAreAllTested
// keeps it that way.
var invalidCases = []struct {
	file   string // under testdata/invalid
	want   string // substring of the error text
	noPos  bool   // the problem has no line:col
	errors int    // number of problems expected, 0 meaning 1
}{
	{file: "syntax-error.yaml", want: "invalid YAML: did not find expected ',' or '}'"},
	{file: "unknown-key.yaml", want: `unknown field "owner" in rules entry`},
	{file: "misspelled-key.yaml", want: `unknown field "forbidenTags"; did you mean "forbiddenTags"?`, errors: 2},
	{file: "wrong-version.yaml", want: "unsupported version 2; this tagprune reads version 1"},
	{file: "missing-version.yaml", want: `missing-version.yaml:1:1: manifest is missing the required field "version"`},
	{file: "version-as-string.yaml", want: `version must be the number 1, not the string "1"`},
	{file: "empty-rules.yaml", want: "rules is an empty list"},
	{file: "missing-rules.yaml", want: `missing the required field "rules"`},
	{file: "missing-name.yaml", want: `rules entry is missing the required field "name"`},
	{file: "blank-name.yaml", want: "rule name must not be empty"},
	{file: "duplicate-name.yaml", want: `rule "retire-sale-2019": duplicate rule name; it is already defined at testdata/invalid/duplicate-name.yaml:3:5`},
	{file: "dup-across-files", want: `b.yaml:7:11: rule "retire-sale-2019": duplicate rule name; it is already defined at testdata/invalid/dup-across-files/a.yaml:3:5`},
	{file: "duplicate-key.yaml", want: `duplicate key "forbiddenTags" in rules entry; it was first set at line 6`},
	{file: "empty-forbidden-tags.yaml", want: "forbiddenTags is an empty list"},
	{file: "empty-string-tag.yaml", want: "forbiddenTags entry 2 is empty"},
	{file: "bad-glob.yaml", want: `bad glob "[abc": syntax error in pattern`},
	{file: "relative-path.yaml", want: `path "products/" is relative; paths start with "/"`},
	{file: "dotdot-path.yaml", want: `holds a ".." segment`},
	{file: "double-slash-path.yaml", want: "has an empty folder name (//)"},
	{file: "no-paths-nor-fileids.yaml", want: "files needs paths or fileIds (or both)"},
	{file: "empty-fileids.yaml", want: "fileIds is an empty list"},
	{file: "fileid-with-quote.yaml", want: "holds spaces, quotes or backslashes"},
	{file: "null-paths.yaml", want: "paths is empty"},
	{file: "null-tag-entry.yaml", want: `null-tag-entry.yaml:8:8: rule "retire-sale-2019": forbiddenTags entry 2 is empty`, errors: 2},
	{file: "alias-bomb.yaml", want: "aliases expand to more than 100000 YAML nodes"},
	{file: "invalid-utf8.yaml", want: "manifest is not valid UTF-8 (first bad byte at offset 66)", noPos: true},
	{file: "tab-indentation.yaml", want: "tab-indentation.yaml:5:1: invalid YAML: found character that cannot start any token; indent with spaces"},
	{file: "scalar-instead-of-list.yaml", want: `paths must be a list, not a string "/products/"`},
	{file: "exclude-unknown-key.yaml", want: `unknown field "searchQuery" in exclude; the fields of exclude are paths, fileIds`},
	{file: "empty-exclude.yaml", want: "exclude is empty"},
	{file: "blank-search-query.yaml", want: "searchQuery is blank"},
	{file: "unbalanced-quote-search-query.yaml", want: "searchQuery has an unterminated double quote"},
	{file: "unbalanced-parentheses-search-query.yaml", want: `searchQuery has a "(" without a matching ")"`},
	{file: "top-level-list.yaml", want: "manifest must be a mapping (key: value lines), not a list"},
	{file: "empty-file.yaml", want: "manifest is empty", noPos: true},
	{file: "two-documents.yaml", want: "two-documents.yaml:7:1: a second YAML document starts here"},
	{file: "several-problems.yaml", want: `unknown field "fils"; did you mean "files"?`, errors: 5},
	{file: "no-policy.yaml", want: `no-policy.yaml:3:5: rule "says-nothing": rules entry needs forbiddenTags, allowedTags, replaceTags or forbiddenAITags`},
	{file: "empty-allowed-tags.yaml", want: "allowedTags is an empty list"},
	{file: "empty-string-allowed-tag.yaml", want: "empty-string-allowed-tag.yaml:6:24: rule \"shop-vocabulary\": allowedTags entry 2 is empty"},
	{file: "bad-glob-allowed-tag.yaml", want: `bad-glob-allowed-tag.yaml:6:24: rule "shop-vocabulary": bad glob "color-[a-"`},
	{file: "bad-glob-ai-tag.yaml", want: `bad-glob-ai-tag.yaml:6:23: rule "no-people": bad glob "Pers[on"`},
	{file: "empty-ai-tag-entry.yaml", want: "forbiddenAITags entry 2 is empty"},
	{file: "empty-replace-tags.yaml", want: "replaceTags is an empty mapping"},
	{file: "replace-tags-as-list.yaml", want: "replaceTags must be a mapping of OLD: NEW tags, not a list"},
	{file: "replace-without-new.yaml", want: `replace-without-new.yaml:8:12: rule "lower-case-colors": replaceTags entry "Blue" has no replacement`},
	{file: "replace-glob.yaml", want: `replace-glob.yaml:7:7: rule "lower-case-colors": replaceTags: the tag to replace "Red*" holds *, ? or [`},
	{file: "replace-with-itself.yaml", want: `replaceTags replaces "red" with itself`},
	{file: "replace-too-long.yaml", want: `replace-too-long.yaml:7:12: rule "spell-out": replaceTags: the replacement tag for "ugc" is 501 characters long; ImageKit adds no tag longer than 500 characters`},
	{file: "replace-chain.yaml", want: `replace-chain.yaml:7:10: rule "lower-case-colors": replaceTags "a" → "b" chains: this rule replaces "b" in turn`},
	{file: "replace-cycle-across-rules.yaml", want: `replace-cycle-across-rules.yaml:10:24: rule "colors-to-upper": replaceTags "red" → "Red" chains: rule "colors-to-lower" replaces "Red" in turn`, errors: 2},
	{file: "replace-forbidden-by-its-rule.yaml", want: `replace-forbidden-by-its-rule.yaml:7:24: rule "lower-case-colors": replaceTags "Red" → "red": the rule itself forbids "red"`},
	{file: "replace-outside-its-allowlist.yaml", want: `rule "shop-vocabulary": replaceTags "Red" → "red": the rule itself forbids "red"`},
	{file: "yaml-tag-binary.yaml", want: "yaml-tag-binary.yaml:6:21: explicit YAML tag !!binary is not allowed in a manifest"},
	{file: "yaml-tag-custom.yaml", want: "yaml-tag-custom.yaml:6:21: explicit YAML tag !foo is not allowed"},
	{file: "yaml-tag-str.yaml", want: "yaml-tag-str.yaml:3:11: explicit YAML tag !!str is not allowed", errors: 2},
	{file: "yaml-tag-bare.yaml", want: "yaml-tag-bare.yaml:6:21: explicit YAML tag ! is not allowed", errors: 2},
}

var ctx = context.Background()

var positioned = regexp.MustCompile(`\.ya?ml:\d+:\d+: `)

func TestLoadRejectsInvalidManifests(t *testing.T) {
	for _, tc := range invalidCases {
		t.Run(strings.TrimSuffix(tc.file, ".yaml"), func(t *testing.T) {
			p := filepath.Join(invalidDir, tc.file)
			rules, err := manifest.Load(ctx, p)
			require.Error(t, err)
			assert.Nil(t, rules)
			assert.Contains(t, err.Error(), tc.want)

			var errs manifest.Errors
			require.True(t, errors.As(err, &errs), "Load returns manifest.Errors")
			assert.Len(t, errs, max(tc.errors, 1), "problems: %v", err)
			for _, e := range errs {
				assert.True(t, strings.HasPrefix(e.Pos.File, p), "every problem names its file: %v", e)
				if tc.noPos {
					assert.Zero(t, e.Pos.Line, "no position for this problem: %v", e)
					assert.Equal(t, e.Pos.File+": ", e.Error()[:len(e.Pos.File)+2])
				} else {
					assert.Positive(t, e.Pos.Line)
					assert.Positive(t, e.Pos.Col)
					assert.Regexp(t, positioned, e.Error())
				}
			}
			var first *manifest.Error
			require.True(t, errors.As(err, &first), "errors.As reaches each *Error")
			assert.Equal(t, errs[0], first)
		})
	}
}

func TestInvalidFixturesAreAllTested(t *testing.T) {
	entries, err := os.ReadDir(invalidDir)
	require.NoError(t, err)
	tested := map[string]bool{}
	for _, tc := range invalidCases {
		tested[tc.file] = true
	}
	for _, e := range entries {
		assert.True(t, tested[e.Name()], "testdata/invalid/%s has no case in invalidCases", e.Name())
	}
	assert.GreaterOrEqual(t, len(entries), 24)
}

func TestLoadRefusesOversizeFiles(t *testing.T) {
	tests := []struct {
		name string
		size int64
	}{
		{name: "one byte over the limit", size: manifest.MaxFileSize + 1},
		{name: "a sparse gigabyte", size: 1 << 30},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "oversize.yaml")
			f, err := os.Create(p)
			require.NoError(t, err)
			_, err = f.WriteString("version: 1\n# padding\n")
			require.NoError(t, err)
			require.NoError(t, f.Truncate(tc.size))
			require.NoError(t, f.Close())

			_, err = manifest.Load(ctx, p)
			require.Error(t, err)
			assert.Equal(t, p+": manifest is larger than 10 MiB; split it into several files", err.Error())
		})
	}
}

func TestLoadAcceptsAFileAtTheSizeLimit(t *testing.T) {
	body := "version: 1\nrules:\n  - name: r\n    files: {paths: [/]}\n    forbiddenTags: [t]\n"
	data := []byte(body + "#" + strings.Repeat("x", manifest.MaxFileSize-len(body)-2) + "\n")
	require.Len(t, data, manifest.MaxFileSize)
	p := filepath.Join(t.TempDir(), "big.yaml")
	require.NoError(t, os.WriteFile(p, data, 0o600))
	rules, err := manifest.Load(ctx, p)
	require.NoError(t, err)
	assert.Len(t, rules, 1)
}

func TestLoadReadsDirectories(t *testing.T) {
	rule := func(name string) string {
		return "version: 1\nrules:\n  - name: " + name + "\n    files: {paths: [/]}\n    forbiddenTags: [t]\n"
	}
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
	}
	write("b.yml", rule("from-b"))
	write("a.yaml", rule("from-a"))
	write("c.yaml", rule("from-c"))
	write("notes.txt", "not a manifest")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "d.yaml"), []byte(rule("from-sub")), 0o600))

	t.Run("all yaml and yml files sorted by name, not recursive", func(t *testing.T) {
		rules, err := manifest.Load(ctx, dir)
		require.NoError(t, err)
		var got []string
		for _, r := range rules {
			got = append(got, r.Name)
		}
		assert.Equal(t, []string{"from-a", "from-b", "from-c"}, got)
	})
	t.Run("a file named again is read once", func(t *testing.T) {
		rules, err := manifest.Load(ctx, dir, filepath.Join(dir, "a.yaml"))
		require.NoError(t, err)
		assert.Len(t, rules, 3)
	})
	t.Run("files and directories together", func(t *testing.T) {
		rules, err := manifest.Load(ctx, filepath.Join(dir, "sub", "d.yaml"), dir)
		require.NoError(t, err)
		assert.Equal(t, "from-sub", rules[0].Name)
		assert.Len(t, rules, 4)
	})
	t.Run("a directory without manifests is an error", func(t *testing.T) {
		empty := t.TempDir()
		_, err := manifest.Load(ctx, empty)
		require.Error(t, err)
		assert.Equal(t, empty+": directory holds no *.yaml or *.yml manifest; name a manifest file or a directory that has some", err.Error())
	})
}

func TestLoadReportsMissingInput(t *testing.T) {
	t.Run("no path", func(t *testing.T) {
		_, err := manifest.Load(ctx)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no manifest given")
	})
	t.Run("a file that does not exist", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "nope.yaml")
		_, err := manifest.Load(ctx, p)
		require.Error(t, err)
		assert.Equal(t, p+": cannot read manifest: no such file or directory", err.Error())
	})
	t.Run("problems of several files are all reported, sorted", func(t *testing.T) {
		_, err := manifest.Load(ctx,
			filepath.Join(invalidDir, "wrong-version.yaml"),
			filepath.Join(invalidDir, "bad-glob.yaml"),
		)
		require.Error(t, err)
		lines := strings.Split(err.Error(), "\n")
		require.Len(t, lines, 2)
		assert.Contains(t, lines[0], "bad-glob.yaml:6:21:")
		assert.Contains(t, lines[1], "wrong-version.yaml:1:10:")
	})
}

func TestLoadValidManifests(t *testing.T) {
	dir := "testdata/valid"
	tests := []struct {
		file string
		want []manifest.Rule
	}{
		{
			file: "single-rule.yaml",
			want: []manifest.Rule{{
				Name:          "retire-sale-2019",
				Description:   "Sale ended in 2019",
				Paths:         []string{"/products/"},
				ForbiddenTags: []string{"sale2019"},
				Source:        dir + "/single-rule.yaml:3:5",
			}},
		},
		{
			file: "globs.yaml",
			want: []manifest.Rule{{
				Name:          "retire-2023-campaigns",
				Paths:         []string{"/marketing/", "/social/"},
				ExcludePaths:  []string{"/marketing/archive/"},
				ForbiddenTags: []string{"campaign-2023-*", "promo-202[0-2]", "draft-?", "promo"},
				Source:        dir + "/globs.yaml:3:5",
			}},
		},
		{
			file: "several-rules.yml",
			want: []manifest.Rule{
				{
					Name:           "retire-clearance-before-2024",
					Paths:          []string{"/products/"},
					SearchQuery:    `createdAt < "2024-01-01"`,
					ExcludePaths:   []string{"/products/keep/"},
					ExcludeFileIDs: []string{"5f4abf6fae77ae7f0acda3d1"},
					ForbiddenTags:  []string{"sale2019", "clearance"},
					Source:         dir + "/several-rules.yml:3:5",
				},
				{
					Name:          "whole-library-drafts",
					Paths:         []string{"/"},
					ForbiddenTags: []string{"draft"},
					Source:        dir + "/several-rules.yml:11:5",
				},
			},
		},
		{
			file: "fileids-only.yaml",
			want: []manifest.Rule{{
				Name:          "legal-hold-release",
				FileIDs:       []string{"5e21880d5efe355febd4bccd", "5e1c13c1c55ec3437c451403"},
				ForbiddenTags: []string{"legal-hold"},
				Source:        dir + "/fileids-only.yaml:3:5",
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := manifest.Load(ctx, dir+"/"+tc.file)
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Load(%s) mismatch (-want +got):\n%s", tc.file, diff)
			}
		})
	}
	t.Run("the whole directory", func(t *testing.T) {
		got, err := manifest.Load(ctx, dir)
		require.NoError(t, err)
		assert.Len(t, got, 8)
	})
}

func TestLoadAcceptsAliasesOfModestSize(t *testing.T) {
	p := filepath.Join(t.TempDir(), "anchors.yaml")
	body := `version: 1
rules:
  - name: products
    files: {paths: [/products/]}
    forbiddenTags: &retired [sale2019, "campaign-2023-*"]
  - name: outlet
    files: {paths: [/outlet/]}
    forbiddenTags: *retired
`
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	rules, err := manifest.Load(ctx, p)
	require.NoError(t, err)
	require.Len(t, rules, 2)
	assert.Equal(t, []string{"sale2019", "campaign-2023-*"}, rules[1].ForbiddenTags)
	assert.Equal(t, rules[0].ForbiddenTags, rules[1].ForbiddenTags)
}

func TestLoadStopsWhenTheContextIsDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rules, err := manifest.Load(ctx, "testdata/valid")
	require.Error(t, err)
	assert.Nil(t, rules)
	assert.True(t, errors.Is(err, context.Canceled), "err = %v", err)
}
