package manifest_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/manifest"
)

// selects says whether the rule selects a file with this id and path
// (every searchQuery matching), through a compiled Matcher.
func selects(t *testing.T, r manifest.Rule, id, path string) bool {
	t.Helper()
	r.Name, r.ForbiddenTags = "r", []string{"x"}
	m, err := manifest.Compile([]manifest.Rule{r})
	require.NoError(t, err)
	return m.Select(id, path, func(string) bool { return true }).Len() == 1
}

func TestRuleSelection(t *testing.T) {
	r := manifest.Rule{
		Paths:          []string{"/products/"},
		FileIDs:        []string{"listed", "listed-but-excluded"},
		ExcludePaths:   []string{"/products/keep/"},
		ExcludeFileIDs: []string{"excluded", "listed-but-excluded"},
	}
	tests := []struct {
		name, id, path string
		want           bool
	}{
		{"under a path", "a", "/products/shoe.jpg", true},
		{"in a subfolder", "a", "/products/2019/shoe.jpg", true},
		{"outside every path", "a", "/outlet/shoe.jpg", false},
		{"a folder that only shares a prefix", "a", "/products-old/shoe.jpg", false},
		{"listed by fileId elsewhere", "listed", "/outlet/shoe.jpg", true},
		{"under an excluded folder", "a", "/products/keep/shoe.jpg", false},
		{"under a subfolder of an excluded folder", "a", "/products/keep/old/shoe.jpg", false},
		{"excluded by fileId", "excluded", "/products/shoe.jpg", false},
		{"listed and excluded by fileId", "listed-but-excluded", "/outlet/shoe.jpg", false},
		{"listed but under an excluded folder", "listed", "/products/keep/shoe.jpg", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, selects(t, r, tc.id, tc.path))
		})
	}
	t.Run("the root path selects everything", func(t *testing.T) {
		assert.True(t, selects(t, manifest.Rule{Paths: []string{"/"}}, "a", "/deep/down/file.png"))
	})
}

func TestRuleForbids(t *testing.T) {
	m, err := manifest.Compile([]manifest.Rule{{
		Name:          "r",
		Paths:         []string{"/"},
		ForbiddenTags: []string{"sale2019", "Draft", "campaign-2023-*", "promo-202[0-2]", `literal\*`},
	}})
	require.NoError(t, err)
	sel := m.Select("a", "/a.jpg", nil)
	tests := []struct {
		tag  string
		want bool
	}{
		{"sale2019", true},
		{"sale2020", false},
		{"draft", false}, // case-sensitive
		{"Draft", true},
		{"campaign-2023-spring", true},
		{"campaign-2024-spring", false},
		{"promo-2021", true},
		{"promo-2023", false},
		{"literal*", true},
		{"literalx", false},
		{"", false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.tag), func(t *testing.T) {
			assert.Equal(t, tc.want, sel.Forbids(tc.tag))
		})
	}
}

func TestRuleExactTags(t *testing.T) {
	r := manifest.Rule{ForbiddenTags: []string{"b", "g*", "a"}, ReplaceTags: map[string]string{"Red": "red"}}
	assert.Equal(t, []string{"Red", "a", "b"}, r.ExactTags())
	assert.True(t, r.MatchesAnyTag(), "a glob")
	assert.False(t, (&manifest.Rule{ForbiddenTags: []string{"a"}}).MatchesAnyTag())
	assert.True(t, (&manifest.Rule{AllowedTags: []string{"a"}}).MatchesAnyTag(), "an allowlist")
}

// A search's `tags IN` matches AITags too, so the exact forbiddenAITags are
// asked for by name and their globs need `tags EXISTS`.
func TestRuleExactTagsCoverAITags(t *testing.T) {
	r := manifest.Rule{ForbiddenTags: []string{"sale"}, ForbiddenAITags: []string{"Person", "Text*", "sale"}}
	assert.Equal(t, []string{"Person", "sale"}, r.ExactTags())
	assert.True(t, r.MatchesAnyTag(), "a glob in forbiddenAITags")
	assert.False(t, (&manifest.Rule{ForbiddenAITags: []string{"Person"}}).MatchesAnyTag())
}

func TestPositionString(t *testing.T) {
	tests := []struct {
		pos  manifest.Position
		want string
	}{
		{manifest.Position{File: "m.yaml", Line: 3, Col: 7}, "m.yaml:3:7"},
		{manifest.Position{File: "m.yaml", Line: 3}, "m.yaml:3"},
		{manifest.Position{File: "m.yaml"}, "m.yaml"},
		{manifest.Position{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.pos.String())
		})
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  *manifest.Error
		want string
	}{
		{"position and rule", &manifest.Error{Pos: manifest.Position{File: "m.yaml", Line: 4, Col: 5}, Rule: "r1", Msg: "bad"}, `m.yaml:4:5: rule "r1": bad`},
		{"position only", &manifest.Error{Pos: manifest.Position{File: "m.yaml", Line: 1, Col: 1}, Msg: "bad"}, "m.yaml:1:1: bad"},
		{"file only", &manifest.Error{Pos: manifest.Position{File: "m.yaml"}, Msg: "too big"}, "m.yaml: too big"},
		{"nothing known", &manifest.Error{Msg: "no manifest"}, "no manifest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.err.Error())
		})
	}
	t.Run("Errors joins one per line and unwraps to each", func(t *testing.T) {
		a := &manifest.Error{Pos: manifest.Position{File: "a.yaml"}, Msg: "one"}
		b := &manifest.Error{Pos: manifest.Position{File: "b.yaml"}, Msg: "two"}
		var err error = fmt.Errorf("loading: %w", manifest.Errors{a, b})
		assert.Equal(t, "loading: a.yaml: one\nb.yaml: two", err.Error())
		var got *manifest.Error
		assert.True(t, errors.As(err, &got))
		assert.Same(t, a, got)
		assert.ErrorIs(t, err, b)
	})
}
