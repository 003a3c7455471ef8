package manifest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/manifest"
)

func TestMatchRuleName(t *testing.T) {
	tests := []struct {
		name, pattern, rule string
		want                bool
	}{
		{"TheNameItself", "retire-sale", "retire-sale", true},
		{"AnotherName", "retire-sale", "retire-sales", false},
		{"NamesAreCaseSensitive", "Retire-Sale", "retire-sale", false},
		{"AStarMatchesTheRest", "retire-*", "retire-sale", true},
		{"AGlobMatchesTheWholeName", "sale*", "retire-sale", false},
		{"AQuestionMarkIsOneCharacter", "retire-20?3", "retire-2023", true},
		{"AClass", "retire-202[34]", "retire-2024", true},
		{"AnEscapedStarIsLiteral", `retire-\*`, "retire-x", false},
		{"AStarStopsAtASlash", "team/*", "team/a/b", false},
		{"ANameWithGlobCharactersMatchesItself", "sale[2019]", "sale[2019]", true},
		{"ABadGlobMatchesOnlyItself", "sale[", "sale[", true},
		{"ABadGlobMatchesNothingElse", "sale[", "sale", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, manifest.MatchRuleName(tt.pattern, tt.rule))
		})
	}
}

func TestSelectRules(t *testing.T) {
	rules := []manifest.Rule{{Name: "retire-2022"}, {Name: "release-hold"}, {Name: "retire-2023"}}
	names := func(rs []manifest.Rule) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	t.Run("NoPatternsSelectEverything", func(t *testing.T) {
		sel, left, err := manifest.SelectRules(rules, nil)
		require.NoError(t, err)
		assert.Equal(t, rules, sel)
		assert.Empty(t, left)
	})
	t.Run("AGlobSelectsSeveralInManifestOrder", func(t *testing.T) {
		sel, left, err := manifest.SelectRules(rules, []string{"retire-2023", "retire-*"})
		require.NoError(t, err)
		assert.Equal(t, []string{"retire-2022", "retire-2023"}, names(sel))
		assert.Equal(t, []string{"release-hold"}, left)
	})
	t.Run("APatternThatSelectsNothingIsAnError", func(t *testing.T) {
		sel, left, err := manifest.SelectRules(rules, []string{"retire-*", "relase-hold", "x[", "retire-2099"})
		assert.Nil(t, sel)
		assert.Nil(t, left)
		var fe *manifest.RuleFilterError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, []string{"relase-hold", "retire-2099"}, fe.Unmatched)
		assert.Equal(t, []string{"x["}, fe.Invalid)
		assert.Equal(t, []string{"retire-2022", "release-hold", "retire-2023"}, fe.Names)
		assert.Equal(t, `rule filter "relase-hold", "retire-2099" match no rule name; "x[" is neither a rule name nor a valid glob (path.Match syntax: *, ?, [a-z]; \ escapes)`, err.Error())
	})
	t.Run("NoRulesAtAll", func(t *testing.T) {
		_, _, err := manifest.SelectRules(nil, []string{"*"})
		var fe *manifest.RuleFilterError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, `rule filter "*" matches no rule name`, err.Error())
	})
}

func TestRuleNames(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	good := write("a.yaml", "version: 1\nrules:\n  - name: retire-sale\n    files: {paths: [/]}\n    forbiddenTags: [sale]\n"+
		"  - name: release-hold\n    files: {fileIds: [x]}\n    allowedTags: [a]\n")
	withMistakes := write("b.yaml", "version: 1\nrules:\n  - name: typo-rule\n    files: {paths: [nope]}\n    forbiddenTags: []\n"+
		"  - name: retire-sale\n    files: {paths: [/]}\n    forbiddenTags: [x]\n  - files: {paths: [/]}\n    forbiddenTags: [x]\n")
	notYAML := write("c.yaml", "rules: [unclosed\n")

	assert.Equal(t, []string{"retire-sale", "release-hold"}, manifest.RuleNames(context.Background(), good))
	assert.Equal(t, []string{"retire-sale", "release-hold", "typo-rule"}, manifest.RuleNames(context.Background(), good, withMistakes, notYAML),
		"a manifest with mistakes still gives its names, each once")
	assert.Equal(t, []string{"retire-sale", "release-hold", "typo-rule"}, manifest.RuleNames(context.Background(), dir), "a directory gives its manifests' names")
	assert.Empty(t, manifest.RuleNames(context.Background(), filepath.Join(dir, "absent.yaml")))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.Empty(t, manifest.RuleNames(ctx, good), "nothing is read once ctx is done")
}

func TestRulePosition(t *testing.T) {
	tests := []struct {
		source string
		want   manifest.Position
	}{
		{"m.yaml:3:5", manifest.Position{File: "m.yaml", Line: 3, Col: 5}},
		{"dir/a:1.yaml:12:3", manifest.Position{File: "dir/a:1.yaml", Line: 12, Col: 3}},
		{"m.yaml:7", manifest.Position{File: "m.yaml", Line: 7}},
		{"m.yaml", manifest.Position{File: "m.yaml"}},
		{"", manifest.Position{}},
		{"m.yaml:x:5", manifest.Position{File: "m.yaml:x", Line: 5}},
		{"m.yaml:0:0", manifest.Position{File: "m.yaml:0:0"}},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			r := manifest.Rule{Source: tt.source}
			assert.Equal(t, tt.want, r.Position())
		})
	}
	t.Run("LoadedRulesRoundTrip", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "m.yaml")
		require.NoError(t, os.WriteFile(p, []byte("version: 1\nrules:\n  - name: a\n    files: {paths: [/]}\n    forbiddenTags: [x]\n"), 0o644))
		rules, err := manifest.Load(context.Background(), p)
		require.NoError(t, err)
		assert.Equal(t, manifest.Position{File: p, Line: 3, Col: 5}, rules[0].Position())
	})
}
