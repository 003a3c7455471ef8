package manifest_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tagprune/tagprune/manifest"
)

func TestRuleInScope(t *testing.T) {
	r := &manifest.Rule{
		Files: manifest.Selection{
			Paths:   []string{"/products/"},
			FileIDs: []string{"listed", "listed-but-excluded"},
		},
		Exclude: manifest.Selection{
			Paths:   []string{"/products/keep/"},
			FileIDs: []string{"excluded", "listed-but-excluded"},
		},
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
		{"excluded by fileId", "excluded", "/products/shoe.jpg", false},
		{"listed and excluded by fileId", "listed-but-excluded", "/outlet/shoe.jpg", false},
		{"listed but under an excluded folder", "listed", "/products/keep/shoe.jpg", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, r.InScope(tc.id, tc.path))
		})
	}
	t.Run("the root path selects everything", func(t *testing.T) {
		root := &manifest.Rule{Files: manifest.Selection{Paths: []string{"/"}}}
		assert.True(t, root.InScope("a", "/deep/down/file.png"))
	})
}

func TestRuleForbids(t *testing.T) {
	r := &manifest.Rule{
		ExactTags: []string{"sale2019", "Draft"},
		Globs:     []string{"campaign-2023-*", "promo-202[0-2]", `literal\*`},
	}
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
			assert.Equal(t, tc.want, r.Forbids(tc.tag))
		})
	}
}

func TestRuleForbiddenTagsOfAHandMadeRule(t *testing.T) {
	r := &manifest.Rule{ExactTags: []string{"a"}, Globs: []string{"b*"}}
	got := r.ForbiddenTags()
	assert.Equal(t, []string{"a", "b*"}, got)
	got[0] = "changed"
	assert.Equal(t, []string{"a"}, r.ExactTags, "the caller's copy is its own")
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
