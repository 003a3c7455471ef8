package reconcile

import (
	"errors"
	"fmt"
	"slices"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/manifest"
)

// maxListedProblems is how many problems an *InconsistentPlanError lists.
const maxListedProblems = 10

// CheckConsistency checks that a plan agrees with itself, trusting nothing
// in it but its rules, and those only once they match its rulesDigest. From
// those rules and the state the plan recorded for each file (fileId,
// filePath, tagsBefore; a searchQuery is taken to select the file when a
// rule of that query is among the rules the change names), it recomputes
// every change's removals and rules, and checks that every batch has 1..50
// distinct known files and tags forbidden for each of them, and that every
// removal of every change is covered by a batch. A plan made with a rule
// filter carries only the rules the filter selects: it checks that each of
// them matches the filter, that each entry of the filter matches one of
// them, and that no rule the plan says it left out matches the filter. The
// allowlist summaries, when the plan has them, must be those its changes
// give.
//
// It returns nil, an *UnsupportedError (the plan uses forbiddenAITags,
// replaceTags, or their fields), or an *InconsistentPlanError listing the
// problems, which matches ErrInconsistentPlan.
func CheckConsistency(p *Plan) error {
	_, err := checkConsistency(p)
	return err
}

// problems collects what is wrong with a plan.
type problems struct {
	list []string
	more int
}

func (ps *problems) add(format string, args ...any) {
	if len(ps.list) < maxListedProblems {
		ps.list = append(ps.list, fmt.Sprintf(format, args...))
		return
	}
	ps.more++
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	return &InconsistentPlanError{Problems: ps.list, More: ps.more}
}

// checkConsistency is CheckConsistency, returning the plan's compiled rules
// when it passes.
func checkConsistency(p *Plan) (*ruleSet, error) {
	if err := unsupportedPlan(p); err != nil {
		return nil, err
	}
	var ps problems
	if got := RulesDigest(p.Rules); p.RulesDigest != got {
		ps.add("rulesDigest is %q but the rules hash to %q", p.RulesDigest, got)
	}
	rs, err := compileRules(p.Rules)
	if err != nil {
		var errs manifest.Errors
		if !errors.As(err, &errs) {
			return nil, err
		}
		for _, e := range errs {
			ps.add("%s", e.Error())
		}
		return nil, ps.err()
	}
	if err := ps.err(); err != nil {
		return nil, err
	}

	changes := make(map[string]*Change, len(p.Changes))
	sels := make(map[string]*manifest.Selection, len(p.Changes))
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.FileID == "" {
			ps.add("change %d has no fileId", i+1)
			continue
		}
		if _, dup := changes[c.FileID]; dup {
			ps.add("file %s is changed twice", c.FileID)
			continue
		}
		changes[c.FileID] = c
		sel := rs.recorded(c)
		sels[c.FileID] = sel
		checkChange(&ps, rs, c, sel)
	}

	covered := make(map[string]map[string]bool, len(p.Changes))
	for bi, b := range p.Batches {
		if len(b.FileIDs) == 0 || len(b.FileIDs) > api.MaxRemoveTagsFiles {
			ps.add("batch %d has %d files: a call takes 1..%d", bi+1, len(b.FileIDs), api.MaxRemoveTagsFiles)
		}
		if b.Endpoint != "" && b.Endpoint != EndpointRemoveTags {
			ps.add("batch %d has an unknown endpoint %q", bi+1, b.Endpoint)
		}
		if len(b.Tags) == 0 {
			ps.add("batch %d removes no tags", bi+1)
		}
		if slices.Contains(b.Tags, "") {
			ps.add("batch %d removes the empty tag, which the API refuses", bi+1)
		}
		inBatch := make(map[string]bool, len(b.FileIDs))
		for _, id := range b.FileIDs {
			if inBatch[id] {
				ps.add("batch %d names file %s twice", bi+1, id)
				continue
			}
			inBatch[id] = true
			c := changes[id]
			if c == nil {
				ps.add("batch %d names file %s, which is not one of the plan's changes", bi+1, id)
				continue
			}
			for _, t := range b.Tags {
				if t != "" && !sels[id].Forbids(t) {
					ps.add("batch %d would remove tag %q from file %s (%s), where no rule that selects it forbids it", bi+1, t, id, c.FilePath)
				}
			}
			if covered[id] == nil {
				covered[id] = make(map[string]bool, len(c.RemoveTags))
			}
			for _, t := range b.Tags {
				covered[id][t] = true
			}
		}
	}
	for _, c := range p.Changes {
		for _, t := range c.RemoveTags {
			if !covered[c.FileID][t] {
				ps.add("file %s (%s): no batch removes its tag %q", c.FileID, c.FilePath, t)
			}
		}
	}
	checkRuleFilter(&ps, p)
	checkAllowlists(&ps, p)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return rs, nil
}

// checkChange compares a change with what its rules give for the state it
// recorded: the same removals and the same rules.
func checkChange(ps *problems, rs *ruleSet, c *Change, sel *manifest.Selection) {
	if len(c.RemoveTags) == 0 {
		ps.add("file %s (%s) removes no tags", c.FileID, c.FilePath)
	}
	res := sel.Evaluate(c.TagsBefore, nil)
	before := setOf(c.TagsBefore)
	want := setOf(res.Remove)
	planned := setOf(c.RemoveTags)
	for _, t := range c.RemoveTags {
		switch {
		case want[t]:
		case t == "":
			ps.add("file %s (%s) removes the empty tag, which the API refuses", c.FileID, c.FilePath)
		case !before[t]:
			ps.add("file %s (%s) removes tag %q, which is not in its tagsBefore", c.FileID, c.FilePath, t)
		default:
			ps.add("file %s (%s) removes tag %q, which none of its rules forbids", c.FileID, c.FilePath, t)
		}
	}
	for _, t := range res.Remove {
		if !planned[t] {
			ps.add("file %s (%s) keeps tag %q, which its rules forbid", c.FileID, c.FilePath, t)
		}
	}
	wantRules := setOf(rs.names(res.RemoveBy))
	named := setOf(c.Rules)
	for _, name := range c.Rules {
		switch _, known := rs.byName[name]; {
		case !known:
			ps.add("file %s names rule %q, which is not in the plan's rules", c.FileID, name)
		case !wantRules[name]:
			ps.add("file %s (%s) names rule %q, which does not select it or forbids none of its tags", c.FileID, c.FilePath, name)
		}
	}
	for _, name := range rs.names(res.RemoveBy) {
		if !named[name] {
			ps.add("file %s (%s) does not name rule %q, which forbids some of its tags", c.FileID, c.FilePath, name)
		}
	}
}

// unsupportedPlan returns an *UnsupportedError when the plan uses a
// feature this version cannot apply.
func unsupportedPlan(p *Plan) error {
	if err := unsupportedRules(p.Rules); err != nil {
		return err
	}
	for _, c := range p.Changes {
		if len(c.RemoveAITags) > 0 {
			return &UnsupportedError{Feature: fmt.Sprintf("removeAITags (file %s)", c.FileID)}
		}
		if len(c.AddTags) > 0 {
			return &UnsupportedError{Feature: fmt.Sprintf("addTags (file %s)", c.FileID)}
		}
	}
	for i, b := range p.Batches {
		if b.Endpoint == EndpointRemoveAITags || b.Endpoint == EndpointAddTags {
			return &UnsupportedError{Feature: fmt.Sprintf("endpoint %q (batch %d)", b.Endpoint, i+1)}
		}
	}
	return nil
}

// setOf returns the elements of list as a set.
func setOf(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

// checkRuleFilter adds a problem for every way the plan's rule filter
// disagrees with its rules: the plan holds exactly the rules the filter
// selects, every entry of the filter selected one of them when the plan was
// made, and the rules left out are not among them nor selected by it.
func checkRuleFilter(ps *problems, p *Plan) {
	if len(p.RuleFilter) == 0 {
		if len(p.RulesLeftOut) > 0 {
			ps.add("rulesLeftOut names %d rules, but the plan has no ruleFilter", len(p.RulesLeftOut))
		}
		return
	}
	selected := func(name string) bool {
		return slices.ContainsFunc(p.RuleFilter, func(f string) bool { return manifest.MatchRuleName(f, name) })
	}
	names := make(map[string]bool, len(p.Rules))
	for _, r := range p.Rules {
		names[r.Name] = true
		if !selected(r.Name) {
			ps.add("rule %q is not selected by the plan's ruleFilter", r.Name)
		}
	}
	for _, f := range p.RuleFilter {
		if !slices.ContainsFunc(p.Rules, func(r manifest.Rule) bool { return manifest.MatchRuleName(f, r.Name) }) {
			ps.add("ruleFilter entry %q selects none of the plan's rules", f)
		}
	}
	for _, name := range p.RulesLeftOut {
		switch {
		case names[name]:
			ps.add("rule %q is both in the plan's rules and in rulesLeftOut", name)
		case selected(name):
			ps.add("rulesLeftOut names rule %q, which the plan's ruleFilter selects", name)
		}
	}
}
