package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/tagprune/tagprune/manifest"
)

// RulesDigest returns "sha256:" and the hex SHA-256 of the canonical JSON of
// rules: the rules in order, encoded by encoding/json with the field order of
// manifest.Rule (map keys sorted) and no insignificant white space.
func RulesDigest(rules []manifest.Rule) string {
	if rules == nil {
		rules = []manifest.Rule{}
	}
	b, err := json.Marshal(rules)
	if err != nil {
		// A Rule holds only strings, slices and maps of strings: Marshal cannot fail.
		panic(fmt.Sprintf("reconcile: encoding rules: %v", err))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ruleSet is a list of rules compiled for matching, with their names.
type ruleSet struct {
	rules   []manifest.Rule
	m       *manifest.Matcher
	byName  map[string]int
	aiRules bool // some rule has forbiddenAITags
}

// compileRules compiles rules; the error is a manifest.Errors naming each
// bad rule.
func compileRules(rules []manifest.Rule) (*ruleSet, error) {
	m, err := manifest.Compile(rules)
	if err != nil {
		return nil, err
	}
	rs := &ruleSet{rules: rules, m: m, byName: make(map[string]int, len(rules))}
	for i, r := range rules {
		rs.byName[r.Name] = i
		rs.aiRules = rs.aiRules || len(r.ForbiddenAITags) > 0
	}
	return rs, nil
}

// names returns the names of the rules at idx, sorted.
func (rs *ruleSet) names(idx []int) []string {
	out := make([]string, len(idx))
	for i, r := range idx {
		out[i] = rs.rules[r].Name
	}
	slices.Sort(out)
	return out
}

// recorded returns the rules that, by the plan's own record, select the file
// of c: the rules whose paths or fileIds select its id and filePath, minus
// those whose searchQuery is not known to select it. A searchQuery is known
// to select the file when a rule that c names has it (that rule forbade one
// of the file's tags, so its query selected the file when the plan read it).
// Rules with another searchQuery may select the file too; leaving them out
// makes every check of removals stricter. It can hide a rename conflict
// with such a rule (a new tag it forbids), which the plan's own read
// (MakePlan asks those searchQueries) and CheckPlan's fresh read both see.
func (rs *ruleSet) recorded(c *Change) *manifest.Selection {
	return rs.m.Select(c.FileID, c.FilePath, func(q string) bool {
		for _, name := range c.Rules {
			if i, ok := rs.byName[name]; ok && rs.rules[i].SearchQuery == q {
				return true
			}
		}
		return false
	})
}
