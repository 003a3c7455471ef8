package manifest

import (
	"strconv"
	"strings"

	"github.com/tagprune/tagprune/internal/sorted"
)

// Position is where something was written in a manifest.
type Position struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// String formats the position as file:line:col (or file when unknown).
func (p Position) String() string {
	s := p.File
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
		if p.Col > 0 {
			s += ":" + strconv.Itoa(p.Col)
		}
	}
	return s
}

// Rule is one validated manifest rule. Load returns Rules; a plan file
// carries them in this JSON form (the field names are part of the plan file
// format, and the order of the fields is that of the plan's rulesDigest).
//
// A file is selected by the rule when it is under one of Paths or listed in
// FileIDs, matches SearchQuery when there is one, and is neither under one of
// ExcludePaths nor listed in ExcludeFileIDs. For a selected file, a tag is
// forbidden by the rule when it matches an entry of ForbiddenTags, or when the
// rule has AllowedTags and the tag matches none of them, or when it is a key
// of ReplaceTags. An AITag is forbidden when its name matches an entry of
// ForbiddenAITags. Entries of ForbiddenTags, AllowedTags and ForbiddenAITags
// are exact, case-sensitive tags, or globs when they contain *, ? or [
// (path.Match syntax; \ escapes). ReplaceTags maps exact tags to exact tags.
//
// Use Compile to evaluate rules against files.
type Rule struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Paths are folder paths, each starting and ending with "/"; "/" is the
	// whole library.
	Paths          []string `json:"paths,omitempty"`
	FileIDs        []string `json:"fileIds,omitempty"`
	SearchQuery    string   `json:"searchQuery,omitempty"` // ImageKit syntax, ANDed with the rest; "" for none
	ExcludePaths   []string `json:"excludePaths,omitempty"`
	ExcludeFileIDs []string `json:"excludeFileIds,omitempty"`
	ForbiddenTags  []string `json:"forbiddenTags,omitempty"`
	AllowedTags    []string `json:"allowedTags,omitempty"`
	// ForbiddenAITags are matched against the names of a file's AITags.
	ForbiddenAITags []string `json:"forbiddenAITags,omitempty"`
	// ReplaceTags maps a tag to the tag that replaces it (OLD: NEW).
	ReplaceTags map[string]string `json:"replaceTags,omitempty"`
	// Source is where the rule starts, as file:line:col.
	Source string `json:"source"`
}

// IsGlob reports whether a tag pattern (an entry of forbiddenTags,
// allowedTags or forbiddenAITags) is a glob: it contains *, ? or [.
func IsGlob(pattern string) bool { return strings.ContainsAny(pattern, "*?[") }

// ExactTags returns the names a search must ask for (`tags IN [...]`) to
// find every file the rule may change through an exact entry: the entries
// of ForbiddenTags and ForbiddenAITags that are not globs and the keys of
// ReplaceTags, sorted and without duplicates. ImageKit's `tags IN` matches a
// file's tags and its AITags alike, so one list serves both. A file that
// carries none of them can lose a tag or an AITag to the rule only through
// a glob or an allowlist (see MatchesAnyTag).
func (r *Rule) ExactTags() []string {
	var out []string
	for _, list := range [][]string{r.ForbiddenTags, r.ForbiddenAITags} {
		for _, t := range list {
			if !IsGlob(t) {
				out = append(out, t)
			}
		}
	}
	for old := range r.ReplaceTags {
		out = append(out, old)
	}
	return sorted.Unique(out)
}

// MatchesAnyTag reports whether the rule may forbid a tag or an AITag that
// ExactTags does not list: it has a glob in ForbiddenTags or
// ForbiddenAITags, or an allowlist. A search for its files cannot name the
// tags, and asks for `tags EXISTS` (which matches AITags too).
func (r *Rule) MatchesAnyTag() bool {
	if len(r.AllowedTags) > 0 {
		return true
	}
	for _, list := range [][]string{r.ForbiddenTags, r.ForbiddenAITags} {
		for _, t := range list {
			if IsGlob(t) {
				return true
			}
		}
	}
	return false
}
