package main

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// scope is the folder the bench's rule governs; four files in five live
// under it, the rest under /blog/, where the same tags are allowed.
const scope = "/products/"

var (
	benchGroups = []string{"shoes", "bags", "summer", "winter", "kids", "outdoor"}
	benchPlain  = []string{"product", "hero", "approved", "catalog", "web", "lifestyle"}
	// removalSets are the forbidden tags a candidate carries, drawn with
	// weights 4:1:1 so that files share a forbidden set but not a removal set.
	removalSets = [][]string{{"sale2019"}, {"sale2019"}, {"sale2019"}, {"sale2019"}, {"sale2020"}, {"sale2019", "sale2020"}}
)

// exactTags and globTags are the two manifests' forbidden tags: the first
// lets tagprune ask the server for candidates only, the second makes it read
// the whole scope.
var (
	exactTags = []string{"sale2019", "sale2020"}
	globTags  = []string{"sale20*"}
)

// promoTags are the forbidden tags of the library with many removal sets:
// each candidate carries each of them with even odds, so that 10,000
// candidates have about 8,500 distinct removal sets. promoGlob forbids the
// same tags.
var (
	promoTags = func() []string {
		var tags []string
		for i := 1; i <= 15; i++ {
			tags = append(tags, fmt.Sprintf("promo-%02d", i))
		}
		return tags
	}()
	promoGlob = []string{"promo-*"}
)

// forbiddenTags returns the rule's forbidden tags for a library: the sale
// tags or, with sets, the promo tags; exact, or one glob.
func forbiddenTags(sets, glob bool) []string {
	switch {
	case sets && glob:
		return promoGlob
	case sets:
		return promoTags
	case glob:
		return globTags
	default:
		return exactTags
	}
}

// generate returns a library of n files, candidates of which are under
// scope and carry forbidden tags: sale2019, sale2020 or both, or, with
// sets, a random half of promoTags. It is deterministic for a given seed.
// Some files under /blog/ carry a forbidden tag too: they are out of scope
// and must keep it. The emulator's generator builds the file objects.
func generate(n, candidates int, seed uint64, sets bool) []imagekittest.File {
	g := imagekittest.NewGenerator(seed, 0xbe9c)
	g.SetEndpoint("https://ik.imagekit.io/bench")
	rng := g.Rand()
	inScope := n - n/5
	candidates = min(candidates, inScope)
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	k := 0 // in-scope files so far
	for i := range n {
		var dir string
		tags := []string{benchPlain[rng.IntN(len(benchPlain))]}
		if i%5 == 4 {
			dir = fmt.Sprintf("/blog/%s/", benchGroups[i%len(benchGroups)])
			if i%50 == 4 {
				tags = append(tags, "sale2019", "promo-01")
			}
		} else {
			dir = fmt.Sprintf("%s%s/%d/", scope, benchGroups[i%len(benchGroups)], 2019+i%6)
			// Spread the candidates evenly over the in-scope files.
			switch {
			case k*candidates/inScope == (k+1)*candidates/inScope:
			case sets:
				var drawn []string
				for len(drawn) == 0 {
					for _, t := range promoTags {
						if rng.IntN(2) == 0 {
							drawn = append(drawn, t)
						}
					}
				}
				tags = append(tags, drawn...)
			default:
				tags = append(tags, removalSets[rng.IntN(len(removalSets))]...)
			}
			k++
		}
		id := fmt.Sprintf("%024x", uint64(i)*0x9e3779b97f4a7c15^seed)
		name := fmt.Sprintf("img-%07d.jpg", i)
		g.Add(imagekittest.FileSpec{
			ID: id, Path: dir + name, Tags: tags, Created: t0.Add(time.Duration(i) * time.Minute),
			Size: 150_000, Width: 1200, Height: 800,
		})
	}
	return g.Files()
}

// manifestYAML returns the bench's manifest: one rule over scope.
func manifestYAML(forbidden []string) string {
	q := make([]string, len(forbidden))
	for i, t := range forbidden {
		q[i] = fmt.Sprintf("%q", t)
	}
	return fmt.Sprintf("version: 1\nrules:\n  - name: retire-sales\n    files:\n      paths: [%s]\n    forbiddenTags: [%s]\n",
		scope, strings.Join(q, ", "))
}

// removals returns the tags of a file under scope that forbidden (exact
// tags or path.Match globs) names, sorted: the same semantics a careful
// script would implement.
func removals(tags, forbidden []string) []string {
	var out []string
	for _, t := range tags {
		for _, f := range forbidden {
			if ok, _ := path.Match(f, t); ok || f == t {
				out = append(out, t)
				break
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// expected returns the number of files the rule changes and the calls the
// careful script makes: one per 50 files of each distinct removal set.
func expected(files []imagekittest.File, forbidden []string) (changes, groupedCalls int) {
	groups := map[string]int{}
	for _, f := range files {
		if !strings.HasPrefix(f.FilePath, scope) {
			continue
		}
		if rm := removals(f.Tags, forbidden); len(rm) > 0 {
			changes++
			groups[strings.Join(rm, "\x00")]++
		}
	}
	for _, n := range groups {
		groupedCalls += (n + 49) / 50
	}
	return changes, groupedCalls
}

// distinctSets returns how many distinct removal sets the files under
// scope have.
func distinctSets(files []imagekittest.File, forbidden []string) int {
	sets := map[string]bool{}
	for _, f := range files {
		if rm := removals(f.Tags, forbidden); len(rm) > 0 && strings.HasPrefix(f.FilePath, scope) {
			sets[strings.Join(rm, "\x00")] = true
		}
	}
	return len(sets)
}
