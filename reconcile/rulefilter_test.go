package reconcile

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/manifest"
)

// filterRules are three rules over one folder, each forbidding its own tag:
// two retire campaigns, one releases a hold.
func filterRules() []manifest.Rule {
	return []manifest.Rule{
		rule("retire-2022", []string{"/a/"}, nil, "c2022*"),
		rule("release-hold", []string{"/a/"}, nil, "hold"),
		rule("retire-2023", []string{"/a/"}, nil, "c2023"),
	}
}

func filterFiles() []imagekittest.File {
	return []imagekittest.File{
		file("f1", "/a/1.jpg", "c2022", "hold", "keep"),
		file("f2", "/a/2.jpg", "c2023"),
		file("f3", "/a/3.jpg", "hold"),
	}
}

func namesOf(rules []manifest.Rule) []string {
	var out []string
	for _, r := range rules {
		out = append(out, r.Name)
	}
	return out
}

func TestMakePlanWithARuleFilter(t *testing.T) {
	tests := []struct {
		name        string
		filter      []string
		wantRules   []string
		wantLeftOut []string
		want        map[string]string
	}{
		{
			name:      "no filter evaluates every rule",
			wantRules: []string{"retire-2022", "release-hold", "retire-2023"},
			want:      map[string]string{"f1": "c2022,hold by release-hold,retire-2022", "f2": "c2023 by retire-2023", "f3": "hold by release-hold"},
		},
		{
			name:        "a name evaluates that rule alone",
			filter:      []string{"release-hold"},
			wantRules:   []string{"release-hold"},
			wantLeftOut: []string{"retire-2022", "retire-2023"},
			want:        map[string]string{"f1": "hold by release-hold", "f3": "hold by release-hold"},
		},
		{
			name:        "a glob evaluates every rule it matches, in manifest order",
			filter:      []string{"retire-*"},
			wantRules:   []string{"retire-2022", "retire-2023"},
			wantLeftOut: []string{"release-hold"},
			want:        map[string]string{"f1": "c2022 by retire-2022", "f2": "c2023 by retire-2023"},
		},
		{
			name:        "entries that overlap select a rule once",
			filter:      []string{"retire-2023", "retire-20?3", "retire-*3"},
			wantRules:   []string{"retire-2023"},
			wantLeftOut: []string{"retire-2022", "release-hold"},
			want:        map[string]string{"f2": "c2023 by retire-2023"},
		},
		{
			name:      "a filter that selects every rule leaves none out",
			filter:    []string{"*"},
			wantRules: []string{"retire-2022", "release-hold", "retire-2023"},
			want:      map[string]string{"f1": "c2022,hold by release-hold,retire-2022", "f2": "c2023 by retire-2023", "f3": "hold by release-hold"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := newTestLib(t, filterFiles())
			p, err := MakePlan(context.Background(), lib, filterRules(), PlanOptions{RuleFilter: tt.filter})
			require.NoError(t, err)
			assert.Equal(t, tt.filter, p.RuleFilter, "the filter is recorded as given")
			assert.Equal(t, tt.wantRules, namesOf(p.Rules), "the plan carries only the rules it evaluated")
			assert.Equal(t, tt.wantLeftOut, p.RulesLeftOut)
			assert.Equal(t, RulesDigest(p.Rules), p.RulesDigest, "the digest covers the rules the plan carries")
			assert.Equal(t, tt.want, removals(p))
			require.NoError(t, CheckConsistency(p))
		})
	}
}

func TestMakePlanRefusesAFilterThatSelectsNothing(t *testing.T) {
	tests := []struct {
		name          string
		filter        []string
		wantUnmatched []string
		wantInvalid   []string
	}{
		{"a misspelt name", []string{"retire-2O22"}, []string{"retire-2O22"}, nil},
		{"a glob that matches nothing", []string{"expire-*"}, []string{"expire-*"}, nil},
		{"one bad entry among good ones", []string{"retire-*", "relase-hold"}, []string{"relase-hold"}, nil},
		{"a glob that is not valid", []string{"retire-[2022"}, nil, []string{"retire-[2022"}},
		{"a name that differs only in case", []string{"Release-Hold"}, []string{"Release-Hold"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := newTestLib(t, filterFiles())
			p, err := MakePlan(context.Background(), lib, filterRules(), PlanOptions{RuleFilter: tt.filter})
			assert.Nil(t, p)
			var fe *manifest.RuleFilterError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.wantUnmatched, fe.Unmatched)
			assert.Equal(t, tt.wantInvalid, fe.Invalid)
			assert.Equal(t, []string{"retire-2022", "release-hold", "retire-2023"}, fe.Names)
			assert.Empty(t, lib.queries, "nothing is read")
			assert.Zero(t, lib.client.Stats(), "no request is sent")
		})
	}
}

func TestARuleFilterPlanIsCheckedAgainstItsOwnRules(t *testing.T) {
	newPlan := func(t *testing.T) *Plan {
		lib := newTestLib(t, filterFiles())
		p, err := MakePlan(context.Background(), lib, filterRules(), PlanOptions{RuleFilter: []string{"retire-*"}, Source: &Source{Library: "lib.json"}})
		require.NoError(t, err)
		return p
	}
	t.Run("it reads back unchanged", func(t *testing.T) {
		p := newPlan(t)
		path := filepath.Join(t.TempDir(), "plan.json")
		require.NoError(t, WritePlan(path, p))
		got, err := ReadPlan(path)
		require.NoError(t, err)
		if diff := cmp.Diff(p, got); diff != "" {
			t.Errorf("plan (-written +read):\n%s", diff)
		}
	})
	tests := []struct {
		name string
		edit func(p *Plan)
		want string
	}{
		{"a filter that no longer selects the plan's rules", func(p *Plan) { p.RuleFilter = []string{"release-*"} },
			`rule "retire-2022" is not selected by the plan's ruleFilter`},
		{"a filter entry that selects none of the plan's rules", func(p *Plan) { p.RuleFilter = append(p.RuleFilter, "release-hold") },
			`ruleFilter entry "release-hold" selects none of the plan's rules`},
		{"a wider filter than the rules left out allow", func(p *Plan) { p.RuleFilter = []string{"*"} },
			`rulesLeftOut names rule "release-hold", which the plan's ruleFilter selects`},
		{"a rule left out that the plan carries", func(p *Plan) { p.RulesLeftOut = append(p.RulesLeftOut, "retire-2023") },
			`rule "retire-2023" is both in the plan's rules and in rulesLeftOut`},
		{"rules left out without a filter", func(p *Plan) { p.RuleFilter = nil },
			"rulesLeftOut names 1 rules, but the plan has no ruleFilter"},
		{"a rule added to a filtered plan", func(p *Plan) {
			p.Rules = append(p.Rules, rule("release-hold", []string{"/a/"}, nil, "hold"))
			p.RulesDigest = RulesDigest(p.Rules)
		}, `rule "release-hold" is not selected by the plan's ruleFilter`},
	}
	for _, tt := range tests {
		t.Run("it refuses "+tt.name, func(t *testing.T) {
			p := newPlan(t)
			tt.edit(p)
			err := CheckConsistency(p)
			require.ErrorIs(t, err, ErrInconsistentPlan)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// A plan made with a rule filter is checked, when applied, against its own
// rules only: what a rule left out would remove is no part of it, while a
// change to what its own rules remove still makes it stale.
func TestApplySavedPlanWithARuleFilter(t *testing.T) {
	newPlan := func(t *testing.T) (*testLib, *Plan) {
		lib := newTestLib(t, filterFiles())
		p, err := MakePlan(context.Background(), lib, filterRules(), PlanOptions{RuleFilter: []string{"retire-2022"}})
		require.NoError(t, err)
		require.Equal(t, map[string]string{"f1": "c2022 by retire-2022"}, removals(p))
		return lib, p
	}
	t.Run("it removes only what its rules forbid", func(t *testing.T) {
		lib, p := newPlan(t)
		r, err := ApplySavedPlan(context.Background(), lib, p, ApplyOptions{})
		require.NoError(t, err)
		assert.Equal(t, []Batch{{FileIDs: []string{"f1"}, Tags: []string{"c2022"}}}, lib.sent())
		assert.Equal(t, []string{"hold", "keep"}, lib.tags("f1"), "the rule left out removes nothing")
		assert.Equal(t, []string{"c2023"}, lib.tags("f2"))
		assert.Equal(t, []string{"retire-2022"}, r.RuleFilter, "the report carries the filter")
		assert.Equal(t, []string{"release-hold", "retire-2023"}, r.RulesLeftOut)
	})
	t.Run("a tag only a rule left out forbids does not make it stale", func(t *testing.T) {
		lib, p := newPlan(t)
		lib.addTags([]string{"c2023"}, "f1")
		_, err := ApplySavedPlan(context.Background(), lib, p, ApplyOptions{})
		require.NoError(t, err)
		assert.Equal(t, []string{"hold", "keep", "c2023"}, lib.tags("f1"))
	})
	t.Run("a tag its own rule forbids makes it stale", func(t *testing.T) {
		lib, p := newPlan(t)
		lib.addTags([]string{"c2022-late"}, "f1")
		_, err := ApplySavedPlan(context.Background(), lib, p, ApplyOptions{})
		var se *StaleError
		require.True(t, errors.As(err, &se), "err = %v", err)
		assert.Empty(t, lib.sent())
	})
	t.Run("a file moved out of its own rule's folder makes it stale", func(t *testing.T) {
		lib, p := newPlan(t)
		lib.move("f1", "/b/")
		_, err := ApplySavedPlan(context.Background(), lib, p, ApplyOptions{})
		var se *StaleError
		require.True(t, errors.As(err, &se), "err = %v", err)
		assert.Empty(t, lib.sent())
	})
}

func TestPlanSaysWhatEachAllowlistRemoves(t *testing.T) {
	rules := []manifest.Rule{
		allow("shop", []string{"/shop/"}, "red", "size-*"),
		allow("unused", []string{"/empty/"}, "x"),
		rule("drafts", []string{"/"}, nil, "draft"),
	}
	files := []imagekittest.File{
		file("f1", "/shop/1.jpg", "red", "Red", "promo"),
		file("f2", "/shop/2.jpg", "size-m", "promo", "draft"),
		file("f3", "/shop/3.jpg", "Red", "green"),
		file("f4", "/blog/4.jpg", "draft"),
	}
	p, err := MakePlan(context.Background(), newTestLib(t, files), rules, PlanOptions{})
	require.NoError(t, err)
	want := []AllowlistSummary{
		{Rule: "shop", Files: 3, Tags: 6, DistinctTags: 4, MostFrequent: []TagCount{{"Red", 2}, {"promo", 2}, {"draft", 1}, {"green", 1}}},
		{Rule: "unused", MostFrequent: []TagCount{}},
	}
	if diff := cmp.Diff(want, p.Allowlists); diff != "" {
		t.Errorf("allowlists (-want +got):\n%s", diff)
	}
	require.NoError(t, CheckConsistency(p))

	t.Run("a plan whose summary is not what its changes remove is refused", func(t *testing.T) {
		p.Allowlists[0].DistinctTags = 1
		err := CheckConsistency(p)
		require.ErrorIs(t, err, ErrInconsistentPlan)
		assert.Contains(t, err.Error(), "allowlists does not say what the plan's allowlist rules remove")
	})
	t.Run("a plan without allowlists has no summary", func(t *testing.T) {
		p, err := MakePlan(context.Background(), newTestLib(t, files), rules[2:], PlanOptions{})
		require.NoError(t, err)
		assert.Nil(t, p.Allowlists)
	})
}
