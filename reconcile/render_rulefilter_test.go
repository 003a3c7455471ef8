package reconcile_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/reconcile"
)

// filteredPlan is smallPlan as made with --rule 'c*' --rule retire-sale-2019:
// "unused" was left out, so the plan carries the two other rules only.
func filteredPlan() *reconcile.Plan {
	p := smallPlan()
	p.Rules = p.Rules[:2]
	p.RuleFilter = []string{"c*", "retire-sale-2019"}
	p.RulesLeftOut = []string{"unused"}
	return p
}

// manyLeftOut returns a plan made with --rule one-rule out of n+1 rules.
func manyLeftOut(n int) *reconcile.Plan {
	p := &reconcile.Plan{FormatVersion: 1, CreatedAt: createdAt, Rules: smallRules()[:1], RuleFilter: []string{"retire-sale-2019"}}
	for i := range n {
		p.RulesLeftOut = append(p.RulesLeftOut, fmt.Sprintf("team-%04d-cleanup", i))
	}
	return p
}

func TestRenderRuleFilter(t *testing.T) {
	t.Run("TextGolden", func(t *testing.T) {
		text := renderText(t, filteredPlan(), false)
		golden(t, "text_rulefilter", text)
		assert.Contains(t, string(text), "\nRule filter --rule \"c*\" --rule \"retire-sale-2019\": 2 of 3 rules evaluated, 1 left out: unused.\n"+
			"Plan: 3 files to change, 5 tags to remove, 3 removeTags calls.\n", "the filter is said just above the summary")
	})
	t.Run("MarkdownGolden", func(t *testing.T) {
		md := renderMarkdown(t, filteredPlan())
		golden(t, "markdown_rulefilter", md)
		assert.Contains(t, string(md), "> **Rule filter --rule \"c\\*\" --rule \"retire-sale-2019\":** 2 of 3 rules evaluated, 1 left out: unused.\n")
		assert.NotContains(t, string(md), "<details><summary>1 rule left out", "a short list is not folded")
	})
	t.Run("NoChangesSaysOnlyTheSelectedRulesMatch", func(t *testing.T) {
		p := manyLeftOut(2)
		text := string(renderText(t, p, false))
		assert.Equal(t, "Rule filter --rule \"retire-sale-2019\": 1 of 3 rules evaluated, 2 left out: team-0000-cleanup, team-0001-cleanup.\n"+
			reconcile.NoChangesFilteredText+"\n", text)
		assert.NotContains(t, text, reconcile.NoChangesText, "the rules left out were not looked at")
		md := string(renderMarkdown(t, p))
		assert.Contains(t, md, "**"+reconcile.NoChangesFilteredText+"**")
		assert.NotContains(t, md, reconcile.NoChangesText)
	})
	t.Run("AFilterThatLeavesNothingOut", func(t *testing.T) {
		p := smallPlan()
		p.RuleFilter = []string{"*"}
		assert.Contains(t, string(renderText(t, p, false)), "Rule filter --rule \"*\": 3 of 3 rules evaluated, none left out.\n")
	})
	t.Run("ALongListIsFolded", func(t *testing.T) {
		p := manyLeftOut(5000)
		text := string(renderText(t, p, false))
		assert.Contains(t, text, "1 of 5,001 rules evaluated, 5,000 left out: team-0000-cleanup, ")
		assert.Contains(t, text, ", team-0009-cleanup and 4,990 more (rulesLeftOut in the JSON plan lists them all).\n")
		assert.NotContains(t, text, "team-0010-cleanup")

		md := string(renderMarkdown(t, p))
		assert.Less(t, len(md), reconcile.MarkdownLimit)
		assert.Contains(t, md, "team-0009-cleanup and 4,990 more (rulesLeftOut in the JSON plan lists them all).")
		assert.Contains(t, md, "<details><summary>5,000 rules left out</summary>")
		assert.Contains(t, md, "team-0010-cleanup", "the rest are folded")
		assert.Regexp(t, `team-\d{4}-cleanup and [\d,]+ more\n\n</details>`, md, "the folded list is bounded")
		assert.Less(t, strings.Index(md, "</details>")-strings.Index(md, "<details>"), 5<<10)
	})
	t.Run("HostileNamesAreEscaped", func(t *testing.T) {
		p := manyLeftOut(0)
		p.RuleFilter = []string{"retire-sale-2019", "*<b>|\n"}
		p.RulesLeftOut = []string{"@team|<i>", "x\x1b[31m"}
		text := string(renderText(t, p, false))
		assert.NotContains(t, text, "\x1b")
		assert.Contains(t, text, `--rule "*<b>|\n"`)
		md := string(renderMarkdown(t, p))
		assert.Contains(t, md, `&#64;team\|&lt;i&gt;`)
		assert.NotContains(t, md, "<b>")
	})
	t.Run("ReportMarkdownAndJUnit", func(t *testing.T) {
		r := smallReport()
		r.RuleFilter = []string{"c*", "retire-sale-2019"}
		r.Rules = r.Rules[:2]
		r.RulesLeftOut = []string{"unused", "legacy"}
		var md bytes.Buffer
		require.NoError(t, reconcile.RenderReportMarkdown(&md, r))
		assert.Contains(t, md.String(), "> **Rule filter --rule \"c\\*\" --rule \"retire-sale-2019\":** 2 of 4 rules evaluated, 2 left out: unused, legacy.\n")

		var b bytes.Buffer
		require.NoError(t, reconcile.RenderJUnit(&b, r))
		golden(t, "report_junit_rulefilter.xml", b.Bytes())
		var doc reconcile.JUnitSuites
		require.NoError(t, xml.Unmarshal(b.Bytes(), &doc))
		s := doc.Suites[0]
		assert.Contains(t, s.Props, reconcile.JUnitProperty{Name: "ruleFilter", Value: "c* retire-sale-2019"})
		require.Len(t, s.Cases, 4)
		for i, name := range []string{"unused", "legacy"} {
			c := s.Cases[2+i]
			assert.Equal(t, name, c.Name)
			require.NotNil(t, c.Skipped, "a rule left out was not evaluated: neither passed nor failed")
			assert.Contains(t, c.Skipped.Message, "left out by the rule filter")
		}
		assert.Equal(t, 2, s.Skipped)
		assert.Equal(t, 2, s.Failures)
	})
}

func TestRenderAllowlistListsEveryTagWhenFew(t *testing.T) {
	p := allowlistPlan()
	p.Changes = p.Changes[:2] // Red, promo, draft, sale: four distinct tags
	text := string(renderText(t, p, false))
	assert.Contains(t, text, "  allowlist: would remove 4 distinct tags: Red (2 files), promo (2 files), draft (1 file), sale (1 file)\n")
	assert.NotContains(t, text, "most often")
	md := string(renderMarkdown(t, p))
	assert.Contains(t, md, "As an allowlist, it would remove 4 distinct tags: Red (2 files), promo (2 files), draft (1 file), sale (1 file).")
}
