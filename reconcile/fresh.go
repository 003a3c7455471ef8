package reconcile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tagprune/tagprune/internal/sorted"
	"github.com/tagprune/tagprune/manifest"
)

// fileCalls holds the tags (or AITag names) of one file's planned calls,
// by step.
type fileCalls [steps][]string

// plannedCalls returns, for every file named by a batch, the tags of its
// planned calls by step, sorted and without duplicates.
func plannedCalls(batches []Batch) map[string]*fileCalls {
	out := map[string]*fileCalls{}
	for _, b := range batches {
		k, ok := stepOf(b.Endpoint)
		if !ok {
			continue
		}
		for _, id := range b.FileIDs {
			fc := out[id]
			if fc == nil {
				fc = &fileCalls{}
				out[id] = fc
			}
			fc[k] = append(fc[k], b.Tags...)
		}
	}
	for _, fc := range out {
		for k := range fc {
			fc[k] = sorted.Unique(fc[k])
		}
	}
	return out
}

// judgeFresh judges a planned file afresh: sel holds the rules that select
// it now, f its state now and calls the tags of its planned calls. The file
// is stale when what it would lose or gain now differs from the plan (tags,
// AITags, the tags its renames add, the rules behind them), when a tag of
// one of its planned calls is no longer forbidden for it (or, for an
// addTags call, no longer the new tag of a rename of a rule that selects
// it), or when a rule that selects it now forbids the new tag of one of its
// renames.
func judgeFresh(rs *ruleSet, c *Change, f current, sel *manifest.Selection, calls *fileCalls) (StaleFile, bool) {
	if calls == nil {
		calls = &fileCalls{}
	}
	res := sel.Evaluate(f.tags, f.ai)
	_, nowAdd := rs.renames(res.Renames, f.tags)
	named := map[string]bool{} // the new tags the renames of the selecting rules name for the file now
	for _, r := range res.Renames {
		named[r.New] = true
	}
	var notForbidden, notForbiddenAI, notRenamed []string
	for _, t := range calls[stepRemove] {
		if !sel.Forbids(t) {
			notForbidden = append(notForbidden, t)
		}
	}
	for _, t := range calls[stepRemoveAI] {
		if !sel.ForbidsAITag(t) {
			notForbiddenAI = append(notForbiddenAI, t)
		}
	}
	for _, t := range calls[stepAdd] {
		if !named[t] {
			notRenamed = append(notRenamed, t)
		}
	}
	var conflicts []string
	for _, rc := range rs.renameConflicts(c.FileID, f.path, sel, res.Renames) {
		conflicts = append(conflicts, rc.String())
	}
	s := StaleFile{
		FileID: c.FileID, FilePath: c.FilePath, NowPath: f.path,
		RemoveTags: sorted.Unique(c.RemoveTags), NowRemove: res.Remove,
		Rules: sorted.Unique(c.Rules), NowRules: rs.names(sorted.Union(res.RemoveBy, res.RemoveAIBy)),
		NotForbidden:    notForbidden,
		RemoveAITags:    sorted.Unique(c.RemoveAITags),
		NowRemoveAITags: res.RemoveAITags,
		AddTags:         sorted.Unique(c.AddTags),
		NowAddTags:      nowAdd,
		NotForbiddenAI:  notForbiddenAI,
		NotRenamed:      notRenamed,
		Conflicts:       conflicts,
	}
	if slices.Equal(s.RemoveTags, s.NowRemove) && slices.Equal(s.Rules, s.NowRules) &&
		slices.Equal(s.RemoveAITags, s.NowRemoveAITags) && slices.Equal(s.AddTags, s.NowAddTags) &&
		len(notForbidden)+len(notForbiddenAI)+len(notRenamed)+len(conflicts) == 0 {
		return StaleFile{}, false
	}
	if s.NowRemove == nil {
		s.NowRemove = []string{}
	}
	if s.NowRules == nil {
		s.NowRules = []string{}
	}
	how := staleHow(c, &s, f.tags, rs, sel)
	if more := staleHowMore(&s, f); more != "" {
		if how != "" {
			how += ", "
		}
		how += more
	}
	s.How = how
	return s, true
}

// staleHowMore says, for people, how a file's AITags and renames changed
// since the plan: the part of the story staleHow does not tell.
func staleHowMore(s *StaleFile, f current) string {
	var parts []string
	carriesAI, plannedAI := setOf(f.ai), setOf(s.RemoveAITags)
	parts = append(parts, listChange(s.RemoveAITags, s.NowRemoveAITags, carriesAI,
		"AITag %q is no longer forbidden for it", "AITag %q was removed from it", "it now carries forbidden AITag %q")...)
	for _, t := range s.NotForbiddenAI {
		if !plannedAI[t] || !carriesAI[t] {
			parts = append(parts, fmt.Sprintf("AITag %q of its planned call is no longer forbidden for it", t))
		}
	}
	plannedAdd := setOf(s.AddTags)
	parts = append(parts, listChange(s.AddTags, s.NowAddTags, setOf(f.tags),
		"it now carries %q already, the new tag of its rename", "no rename adds %q to it now", "a rename now adds %q to it")...)
	for _, t := range s.NotRenamed {
		if !plannedAdd[t] {
			parts = append(parts, fmt.Sprintf("its planned call would add %q, which no rename of a rule that selects it names now", t))
		}
	}
	for _, c := range s.Conflicts {
		parts = append(parts, "rename conflict: "+c)
	}
	return strings.Join(parts, ", ")
}
