package reconcile

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tagprune/tagprune/api"
	"github.com/tagprune/tagprune/internal/sorted"
	"github.com/tagprune/tagprune/manifest"
)

// maxListedProblems is how many problems an *InconsistentPlanError lists.
const maxListedProblems = 10

// CheckConsistency checks that a plan agrees with itself, trusting nothing
// in it but its rules, and those only once they match its rulesDigest. From
// those rules and the state the plan recorded for each file (fileId,
// filePath, tagsBefore, aiTagsBefore; a searchQuery is taken to select the
// file when a rule of that query is among the rules the change names), it
// recomputes every change's removals, AITag removals, renames, additions
// and rules, refuses a rename whose new tag a rule that selects the file
// forbids, and checks that every batch has 1..50 distinct known files, a
// known endpoint and tags that add up to at most MaxTagsLength characters,
// and that:
//   - every tag of a removeTags batch is forbidden for each of its files;
//   - every name of a removeAITags batch is a forbidden AITag for each;
//   - every tag of an addTags batch is one that a rename of a rule that
//     selects the file adds to it (the twin of the safety invariant);
//   - every removal, AITag removal and addition of every change is
//     covered by a batch of its endpoint, but for a tag longer than
//     MaxTagsLength on its own, which no call can carry
//     (Plan.UnsendableTags).
//
// A plan made with a rule filter carries only the rules the filter
// selects: it checks that each of them matches the filter, that each entry
// of the filter matches one of them, and that no rule the plan says it left
// out matches the filter. The allowlist summaries, when the plan has them,
// must be those its changes give.
//
// It returns nil or an *InconsistentPlanError listing the problems, which
// matches ErrInconsistentPlan.
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
	adds := make(map[string][]string, len(p.Changes)) // the tags each file's renames add, recomputed
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
		adds[c.FileID] = checkChange(&ps, rs, c, sel)
	}

	var covered [steps]map[string]map[string]bool
	for k := range covered {
		covered[k] = map[string]map[string]bool{}
	}
	for bi, b := range p.Batches {
		if len(b.FileIDs) == 0 || len(b.FileIDs) > api.MaxBulkFiles {
			ps.add("batch %d has %d files: a call takes 1..%d", bi+1, len(b.FileIDs), api.MaxBulkFiles)
		}
		k, ok := stepOf(b.Endpoint)
		if !ok {
			ps.add("batch %d has an unknown endpoint %q", bi+1, b.Endpoint)
			continue
		}
		what := map[int]string{stepAdd: "adds", stepRemove: "removes", stepRemoveAI: "removes"}[k]
		if len(b.Tags) == 0 {
			ps.add("batch %d %s no tags", bi+1, what)
		}
		if slices.Contains(b.Tags, "") {
			ps.add("batch %d %s the empty tag, which the API refuses", bi+1, what)
		}
		if n := tagsLength(b.Tags); n > MaxTagsLength {
			ps.add("batch %d %s tags that add up to %d characters: a call takes at most %d, and the API refuses more", bi+1, what, n, MaxTagsLength)
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
				switch {
				case t == "":
				case k == stepRemove && !sels[id].Forbids(t):
					ps.add("batch %d would remove tag %q from file %s (%s), where no rule that selects it forbids it", bi+1, t, id, c.FilePath)
				case k == stepRemoveAI && !sels[id].ForbidsAITag(t):
					ps.add("batch %d would remove AITag %q from file %s (%s), where no rule that selects it forbids it", bi+1, t, id, c.FilePath)
				case k == stepAdd && !slices.Contains(adds[id], t):
					ps.add("batch %d would add tag %q to file %s (%s), which no rename of a rule that selects it adds", bi+1, t, id, c.FilePath)
				}
			}
			if covered[k][id] == nil {
				covered[k][id] = map[string]bool{}
			}
			for _, t := range b.Tags {
				covered[k][id][t] = true
			}
		}
	}
	for _, c := range p.Changes {
		for _, need := range []struct {
			k    int
			tags []string
			what string
		}{{stepRemove, c.RemoveTags, "removes its tag"}, {stepRemoveAI, c.RemoveAITags, "removes its AITag"}, {stepAdd, c.AddTags, "adds its tag"}} {
			for _, t := range need.tags {
				if !covered[need.k][c.FileID][t] && !tooLong(t) {
					ps.add("file %s (%s): no batch %s %q", c.FileID, c.FilePath, need.what, t)
				}
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
// recorded: the same removals, AITag removals, renames, additions and
// rules, and renames free of conflicts. It returns the tags the change's
// renames add, as recomputed.
func checkChange(ps *problems, rs *ruleSet, c *Change, sel *manifest.Selection) []string {
	if len(c.RemoveTags) == 0 && len(c.RemoveAITags) == 0 {
		ps.add("file %s (%s) removes no tags", c.FileID, c.FilePath)
	}
	res := sel.Evaluate(c.TagsBefore, c.AITagsBefore)
	where := fmt.Sprintf("file %s (%s)", c.FileID, c.FilePath)
	compareSet(ps, where, "tag", c.RemoveTags, res.Remove, c.TagsBefore, "tagsBefore")
	compareSet(ps, where, "AITag", c.RemoveAITags, res.RemoveAITags, c.AITagsBefore, "aiTagsBefore")

	renames, adds := rs.renames(res.Renames, c.TagsBefore)
	if !slices.Equal(c.Renames, renames) {
		ps.add("%s records the renames %s, but its rules give %s", where, renameList(c.Renames), renameList(renames))
	}
	planned, want := setOf(c.AddTags), setOf(adds)
	for _, t := range c.AddTags {
		if !want[t] {
			ps.add("%s adds tag %q, which no rename of a rule that selects it adds", where, t)
		}
	}
	for _, t := range adds {
		if !planned[t] {
			ps.add("%s does not add tag %q, which its renames add", where, t)
		}
	}
	for _, rc := range rs.renameConflicts(c.FileID, c.FilePath, sel, res.Renames) {
		ps.add("rename conflict on %s", rc.String())
	}

	wantNames := rs.names(sorted.Union(res.RemoveBy, res.RemoveAIBy))
	wantRules := setOf(wantNames)
	named := setOf(c.Rules)
	for _, name := range c.Rules {
		switch _, known := rs.byName[name]; {
		case !known:
			ps.add("file %s names rule %q, which is not in the plan's rules", c.FileID, name)
		case !wantRules[name]:
			ps.add("%s names rule %q, which does not select it or forbids none of its tags", where, name)
		}
	}
	for _, name := range wantNames {
		if !named[name] {
			ps.add("%s does not name rule %q, which forbids some of its tags", where, name)
		}
	}
	return adds
}

// compareSet compares a change's planned removals of one kind (tags or
// AITags) with the recomputed ones.
func compareSet(ps *problems, where, noun string, planned, want, before []string, beforeName string) {
	wantSet, plannedSet, beforeSet := setOf(want), setOf(planned), setOf(before)
	for _, t := range planned {
		switch {
		case wantSet[t]:
		case t == "":
			ps.add("%s removes the empty %s, which the API refuses", where, noun)
		case !beforeSet[t]:
			ps.add("%s removes %s %q, which is not in its %s", where, noun, t, beforeName)
		default:
			ps.add("%s removes %s %q, which none of its rules forbids", where, noun, t)
		}
	}
	for _, t := range want {
		if !plannedSet[t] {
			ps.add("%s keeps %s %q, which its rules forbid", where, noun, t)
		}
	}
}

// renameList formats renames for a message: [Red → red (by rule)].
func renameList(rn []Rename) string {
	parts := make([]string, len(rn))
	for i, r := range rn {
		parts[i] = fmt.Sprintf("%q → %q (rule %q)", r.Old, r.New, r.Rule)
	}
	return "[" + strings.Join(parts, ", ") + "]"
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
