package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tagprune/tagprune/manifest"
)

// RulesFromManifest converts manifest rules into the rules a plan carries.
// ForbiddenTags lists the exact tags, then the globs, as the manifest gave
// them; Source is "file:line:col" (or less when the position is unknown).
func RulesFromManifest(rules []manifest.Rule) []PlanRule {
	out := make([]PlanRule, 0, len(rules))
	for _, r := range rules {
		forbidden := make([]string, 0, len(r.ExactTags)+len(r.Globs))
		forbidden = append(forbidden, r.ExactTags...)
		forbidden = append(forbidden, r.Globs...)
		out = append(out, PlanRule{
			Name:          r.Name,
			Description:   r.Description,
			Paths:         slices.Clone(r.Files.Paths),
			FileIDs:       slices.Clone(r.Files.FileIDs),
			SearchQuery:   r.Files.SearchQuery,
			ExcludePaths:  slices.Clone(r.Exclude.Paths),
			ExcludeIDs:    slices.Clone(r.Exclude.FileIDs),
			ForbiddenTags: forbidden,
			Source:        r.Source.String(),
		})
	}
	return out
}

// RulesDigest returns "sha256:" and the hex SHA-256 of the canonical JSON of
// rules: the rules in order, encoded by encoding/json with the field order of
// PlanRule and no insignificant white space.
func RulesDigest(rules []PlanRule) string {
	if rules == nil {
		rules = []PlanRule{}
	}
	b, err := json.Marshal(rules)
	if err != nil {
		// PlanRule holds only strings and slices of strings: Marshal cannot fail.
		panic(fmt.Sprintf("reconcile: encoding rules: %v", err))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// exactTags returns the rule's forbidden tags that are not globs.
func (r *PlanRule) exactTags() []string {
	var out []string
	for _, t := range r.ForbiddenTags {
		if !isGlob(t) {
			out = append(out, t)
		}
	}
	return out
}

// hasGlob reports whether any of the rule's forbidden tags is a glob.
func (r *PlanRule) hasGlob() bool {
	return slices.ContainsFunc(r.ForbiddenTags, isGlob)
}

// forbidIndex answers "is tag t forbidden for the file of this change?" from
// a plan's own data, so MakePlan and ReadPlan agree on it. The rules known to
// select a change's file are the rules the change names plus every rule
// without a searchQuery whose paths or fileIds select the file (its scope is
// known locally). A rule with a searchQuery that the change does not name may
// select the file too; leaving it out only makes the check stricter.
type forbidIndex struct {
	rules  []PlanRule
	byName map[string]int
	// sigs interns signatures (sorted unique forbidden patterns) by the
	// selecting rules' index list.
	sigs map[string]string
}

func newForbidIndex(rules []PlanRule) *forbidIndex {
	ix := &forbidIndex{rules: rules, byName: make(map[string]int, len(rules)), sigs: map[string]string{}}
	for i, r := range rules {
		if _, dup := ix.byName[r.Name]; !dup {
			ix.byName[r.Name] = i
		}
	}
	return ix
}

// selecting returns the indexes, ascending, of the rules known to select the
// file of c. Unknown rule names are ignored (ReadPlan reports them).
func (ix *forbidIndex) selecting(c *Change) []int {
	var sel []int
	for _, name := range c.Rules {
		if i, ok := ix.byName[name]; ok {
			sel = append(sel, i)
		}
	}
	for i := range ix.rules {
		r := &ix.rules[i]
		if r.SearchQuery == "" && r.InScope(c.FileID, c.FilePath) {
			sel = append(sel, i)
		}
	}
	slices.Sort(sel)
	return slices.Compact(sel)
}

// forbids reports whether tag is forbidden by one of the rules in sel.
func (ix *forbidIndex) forbids(sel []int, tag string) bool {
	for _, i := range sel {
		if ix.rules[i].Forbids(tag) {
			return true
		}
	}
	return false
}

// signature returns a key shared by files whose forbidden sets are equal:
// the sorted, unique forbiddenTags entries (exact tags and globs) of the
// selecting rules.
func (ix *forbidIndex) signature(sel []int) string {
	var kb strings.Builder
	for _, i := range sel {
		kb.WriteString(strconv.Itoa(i))
		kb.WriteByte(',')
	}
	key := kb.String()
	if s, ok := ix.sigs[key]; ok {
		return s
	}
	var pats []string
	for _, i := range sel {
		pats = append(pats, ix.rules[i].ForbiddenTags...)
	}
	slices.Sort(pats)
	pats = slices.Compact(pats)
	s := strings.Join(pats, "\x00")
	ix.sigs[key] = s
	return s
}
