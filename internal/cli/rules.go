package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	urfave "github.com/urfave/cli/v2"

	"github.com/tagprune/tagprune/internal/english"
	"github.com/tagprune/tagprune/internal/suggest"
	"github.com/tagprune/tagprune/manifest"
)

// Bounds of what a --rule error lists.
const (
	ruleSuggestions = 3  // closest rule names suggested for a NAME that matches none
	ruleNamesListed = 10 // rule names listed when none is close
)

// ruleFlag is --rule of plan and apply -f.
func ruleFlag() urfave.Flag {
	return &urfave.StringSliceFlag{Name: flagRule,
		Usage: "evaluate only the rule `NAME`, or every rule a glob matches (path.Match syntax: *, ?, [a-z]); repeatable; for break-glass runs"}
}

// checkRuleFlags refuses an empty --rule, which could select no rule.
func checkRuleFlags(patterns []string) error {
	for _, p := range patterns {
		if strings.TrimSpace(p) == "" {
			return fmt.Errorf("--%s needs a rule name or a glob, such as --%s 'retire-*'", flagRule, flagRule)
		}
	}
	return nil
}

// checkRuleFilter checks the --rule NAMEs against the rules loaded, before
// anything is read: each must select at least one rule. Its error names
// every NAME that selects none with the closest rule names, or, when none
// is close, the rules there are.
func checkRuleFilter(rules []manifest.Rule, patterns []string) error {
	_, _, err := manifest.SelectRules(rules, patterns)
	var fe *manifest.RuleFilterError
	if !errors.As(err, &fe) {
		return err
	}
	var parts []string
	anyClose := false
	for _, p := range fe.Unmatched {
		s := fmt.Sprintf("--%s %s matches no rule", flagRule, strconv.Quote(p))
		if best := suggest.Ranked(p, fe.Names, ruleSuggestions); len(best) > 0 {
			s += " (did you mean " + orList(best) + "?)"
			anyClose = true
		}
		parts = append(parts, s)
	}
	for _, p := range fe.Invalid {
		parts = append(parts, fmt.Sprintf("--%s %s is neither a rule name nor a valid glob (path.Match syntax: *, ?, [a-z]; \\ escapes)",
			flagRule, strconv.Quote(p)))
	}
	msg := strings.Join(parts, "; ")
	if !anyClose {
		msg += "; " + rulesThereAre(fe.Names)
	}
	return errors.New(msg + "; nothing was read or changed")
}

// orList quotes names and joins them as `"a", "b" or "c"`.
func orList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// rulesThereAre lists the first ruleNamesListed rule names and counts the
// rest.
func rulesThereAre(names []string) string {
	if len(names) == 0 {
		return "the manifests have no rules"
	}
	shown := names[:min(len(names), ruleNamesListed)]
	q := make([]string, len(shown))
	for i, n := range shown {
		q[i] = strconv.Quote(n)
	}
	s := "the " + english.Plural(len(names), "rule is", "rules are") + " " + strings.Join(q, ", ")
	if more := len(names) - len(shown); more > 0 {
		s += " and " + english.Thousands(more) + " more"
	}
	return s
}
