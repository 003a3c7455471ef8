package reconcile

import "slices"

// allowlistSummaries returns, for each rule of p with allowedTags, in the
// order of p.Rules, what it removes from the plan's files (as RenderText
// counts it: a tag goes to every rule named by its change that forbids it);
// nil when no rule is an allowlist.
func allowlistSummaries(p *Plan) []AllowlistSummary {
	var groups map[string]ruleGroup
	var out []AllowlistSummary
	seen := map[string]bool{}
	for _, r := range p.Rules {
		if len(r.AllowedTags) == 0 || seen[r.Name] {
			continue
		}
		seen[r.Name] = true
		if groups == nil {
			groups = map[string]ruleGroup{}
			for _, g := range groupByRule(p) {
				groups[g.Name] = g
			}
		}
		g := groups[r.Name]
		s := AllowlistSummary{Rule: r.Name, Files: len(g.Files), Tags: g.Removed, DistinctTags: g.Distinct, MostFrequent: []TagCount{}}
		s.MostFrequent = append(s.MostFrequent, g.Frequent...)
		out = append(out, s)
	}
	return out
}

// checkAllowlists adds a problem when the plan records allowlist summaries
// that its own changes do not give. A plan may leave them out (they only
// inform), but what it says must be true.
func checkAllowlists(ps *problems, p *Plan) {
	if p.Allowlists == nil {
		return
	}
	same := func(a, b AllowlistSummary) bool {
		return a.Rule == b.Rule && a.Files == b.Files && a.Tags == b.Tags && a.DistinctTags == b.DistinctTags &&
			slices.Equal(a.MostFrequent, b.MostFrequent)
	}
	if !slices.EqualFunc(p.Allowlists, allowlistSummaries(p), same) {
		ps.add("allowlists does not say what the plan's allowlist rules remove from its changes")
	}
}
