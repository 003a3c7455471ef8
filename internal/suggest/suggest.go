// Package suggest names what a user most likely meant by a mistyped name: a
// command, a flag, a manifest key or a rule name. It measures similarity as urfave/cli does.
package suggest

import (
	"cmp"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/xrash/smetrics"
)

// MinSimilarity is the Jaro-Winkler similarity a name needs to be suggested.
// Below it a name is not a likely typo: "deploy" suggests no command.
const MinSimilarity = 0.85

// Jaro-Winkler parameters, the ones urfave/cli's SuggestFlag uses.
const (
	boostThreshold = 0.7
	prefixSize     = 4
)

// Closest returns the name among names that given most likely misspells,
// ignoring case, or "" when none is similar enough. Names shorter than two
// characters (one-letter aliases) are never suggested. The closest name is
// picked by urfave/cli's SuggestFlag.
func Closest(given string, names []string) string {
	if cli.SuggestFlag == nil { // built with urfave_cli_no_suggest
		return ""
	}
	byLower := make(map[string]string, len(names))
	flags := make([]cli.Flag, 0, len(names))
	for _, n := range names {
		l := strings.ToLower(n)
		if _, dup := byLower[l]; dup || len(l) < 2 {
			continue
		}
		byLower[l] = n
		flags = append(flags, &cli.BoolFlag{Name: l})
	}
	g := strings.ToLower(given)
	best := strings.TrimLeft(cli.SuggestFlag(flags, g, true), "-")
	if best == "" || smetrics.JaroWinkler(g, best, boostThreshold, prefixSize) < MinSimilarity {
		return ""
	}
	return byLower[best]
}

// Ranked returns at most n of names that given most likely misspells, the
// most similar first (ties in the order of names), ignoring case: those
// whose Jaro-Winkler similarity to given is at least MinSimilarity. Names
// shorter than two characters are never suggested, and each name is
// suggested once.
func Ranked(given string, names []string, n int) []string {
	type scored struct {
		name  string
		score float64
	}
	if n <= 0 {
		return nil
	}
	g := strings.ToLower(given)
	seen := make(map[string]bool, len(names))
	var found []scored
	for _, name := range names {
		if len(name) < 2 || seen[name] {
			continue
		}
		seen[name] = true
		if s := smetrics.JaroWinkler(g, strings.ToLower(name), boostThreshold, prefixSize); s >= MinSimilarity {
			found = append(found, scored{name, s})
		}
	}
	slices.SortStableFunc(found, func(a, b scored) int { return cmp.Compare(b.score, a.score) })
	found = found[:min(n, len(found))]
	out := make([]string, 0, len(found))
	for _, f := range found {
		out = append(out, f.name)
	}
	return out
}
