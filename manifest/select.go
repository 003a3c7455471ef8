package manifest

import (
	"context"
	"path"
	"strconv"
	"strings"
)

// MatchRuleName reports whether a rule filter pattern selects the rule
// named name: the pattern is the name itself, or a glob in path.Match
// syntax (*, ?, [a-z]; \ escapes) that matches the whole name. A pattern
// that is not a valid glob selects only the rule of that exact name.
func MatchRuleName(pattern, name string) bool {
	if pattern == name {
		return true
	}
	ok, err := path.Match(pattern, name)
	return ok && err == nil
}

// SelectRules returns the rules whose names match at least one of patterns
// (see MatchRuleName), in their order, and the names of the others, in
// their order. With no patterns it returns rules unchanged and no names.
//
// Every pattern must select at least one rule: a pattern that selects none
// (a misspelt name, or a glob that is not valid and names no rule) makes
// SelectRules return a *RuleFilterError and no rules.
func SelectRules(rules []Rule, patterns []string) (selected []Rule, leftOut []string, err error) {
	if len(patterns) == 0 {
		return rules, nil, nil
	}
	used := make([]bool, len(patterns))
	for _, r := range rules {
		in := false
		for i, p := range patterns {
			if MatchRuleName(p, r.Name) {
				used[i], in = true, true
			}
		}
		if in {
			selected = append(selected, r)
		} else {
			leftOut = append(leftOut, r.Name)
		}
	}
	fe := &RuleFilterError{}
	for i, p := range patterns {
		if used[i] {
			continue
		}
		if _, err := path.Match(p, ""); err != nil {
			fe.Invalid = append(fe.Invalid, p)
		} else {
			fe.Unmatched = append(fe.Unmatched, p)
		}
	}
	if len(fe.Unmatched)+len(fe.Invalid) > 0 {
		fe.Names = make([]string, len(rules))
		for i, r := range rules {
			fe.Names[i] = r.Name
		}
		return nil, nil, fe
	}
	return selected, leftOut, nil
}

// RuleFilterError is a rule filter with patterns that select no rule.
type RuleFilterError struct {
	Unmatched []string // valid names or globs that match no rule's name
	Invalid   []string // globs that are not valid path.Match patterns and name no rule
	Names     []string // the names of every rule the filter was applied to, in order
}

// Error names each pattern that selects nothing.
func (e *RuleFilterError) Error() string {
	var parts []string
	if len(e.Unmatched) > 0 {
		parts = append(parts, quoteList(e.Unmatched)+" "+verb(len(e.Unmatched), "matches", "match")+" no rule name")
	}
	if len(e.Invalid) > 0 {
		parts = append(parts, quoteList(e.Invalid)+" "+verb(len(e.Invalid), "is", "are")+
			" neither a rule name nor a valid glob (path.Match syntax: *, ?, [a-z]; \\ escapes)")
	}
	return "rule filter " + strings.Join(parts, "; ")
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// RuleNames returns the names of the rules in the manifests at paths (files
// and directories, read as Load reads them), in order and each once. It is
// lenient, for shell completion and suggestions: a file that cannot be read
// or parsed adds no name, and a file with other problems adds the names it
// gives its rules, so one mistake does not hide every name. It returns what
// it has read so far when ctx is done.
func RuleNames(ctx context.Context, paths ...string) []string {
	l := &loader{names: map[string]Position{}}
	for _, f := range l.expand(paths) {
		if l.loadFile(ctx, f) != nil {
			break
		}
	}
	seen := make(map[string]bool, len(l.rules))
	var out []string
	for _, r := range l.rules {
		if strings.TrimSpace(r.Name) == "" || seen[r.Name] {
			continue
		}
		seen[r.Name] = true
		out = append(out, r.Name)
	}
	return out
}

// Position returns where the rule starts, read back from Source
// (file:line:col). A Source without a line gives a Position with only its
// File.
func (r *Rule) Position() Position {
	s := r.Source
	nums := make([]int, 0, 2)
	for range 2 {
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			break
		}
		n, err := strconv.Atoi(s[i+1:])
		if err != nil || n <= 0 {
			break
		}
		nums = append(nums, n)
		s = s[:i]
	}
	switch len(nums) {
	case 2:
		return Position{File: s, Line: nums[1], Col: nums[0]}
	case 1:
		return Position{File: s, Line: nums[0]}
	}
	return Position{File: r.Source}
}
