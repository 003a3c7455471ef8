package manifest

import "path"

// Policy is one rule's tag tests, compiled: which tags and AITags the rule
// forbids on a file it selects, whatever its selection. A Matcher holds one
// per rule; Rule.Policy builds one alone, for showing which rule forbids
// what.
type Policy struct {
	exact      map[string]struct{} // forbiddenTags entries that are not globs
	globs      []string            // forbiddenTags entries that are globs
	allowlist  bool                // the rule has allowedTags
	allowExact map[string]struct{}
	allowGlobs []string
	aiExact    map[string]struct{}
	aiGlobs    []string
	replace    map[string]string // replaceTags: OLD -> NEW
}

// Policy compiles the rule's tag tests. The rule's patterns are expected to
// be valid (see Compile); a bad glob matches nothing.
func (r *Rule) Policy() *Policy {
	p := &Policy{allowlist: len(r.AllowedTags) > 0, replace: r.ReplaceTags}
	p.exact, p.globs = splitPatterns(r.ForbiddenTags)
	p.allowExact, p.allowGlobs = splitPatterns(r.AllowedTags)
	p.aiExact, p.aiGlobs = splitPatterns(r.ForbiddenAITags)
	return p
}

// splitPatterns puts the exact entries of a pattern list in a set and the
// globs, without duplicates, in a list.
func splitPatterns(patterns []string) (map[string]struct{}, []string) {
	var exact map[string]struct{}
	var globs []string
	seen := map[string]bool{}
	for _, t := range patterns {
		if !IsGlob(t) {
			if exact == nil {
				exact = make(map[string]struct{}, len(patterns))
			}
			exact[t] = struct{}{}
			continue
		}
		if !seen[t] {
			seen[t] = true
			globs = append(globs, t)
		}
	}
	return exact, globs
}

// matchAny reports whether tag matches one of the globs. Globs are checked
// when rules are compiled, so a bad pattern cannot occur here.
func matchAny(globs []string, tag string) bool {
	for _, g := range globs {
		if globMatch(g, tag) {
			return true
		}
	}
	return false
}

// globMatch reports whether tag matches the glob.
func globMatch(glob, tag string) bool {
	ok, _ := path.Match(glob, tag)
	return ok
}

// allows reports whether the rule's allowlist admits tag.
func (p *Policy) allows(tag string) bool {
	if _, ok := p.allowExact[tag]; ok {
		return true
	}
	return matchAny(p.allowGlobs, tag)
}

// Forbids reports whether the rule forbids tag on a file it selects: the tag
// matches forbiddenTags, is replaced by replaceTags, or matches no entry of
// the rule's allowedTags.
func (p *Policy) Forbids(tag string) bool {
	if _, ok := p.exact[tag]; ok {
		return true
	}
	if _, ok := p.replace[tag]; ok {
		return true
	}
	return matchAny(p.globs, tag) || (p.allowlist && !p.allows(tag))
}

// ForbidsAITag reports whether the rule forbids an AITag of this name on a
// file it selects.
func (p *Policy) ForbidsAITag(name string) bool {
	if _, ok := p.aiExact[name]; ok {
		return true
	}
	return matchAny(p.aiGlobs, name)
}
