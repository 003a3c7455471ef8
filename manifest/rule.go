// Package manifest loads and validates tagprune manifests into Rules.
// It does no network I/O and reads nothing but the files it is given.
package manifest

import (
	"path"
	"slices"
	"strconv"
	"strings"
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

// Selection says which files a rule governs, before exclusions.
type Selection struct {
	Paths       []string // folder paths, normalised to end with "/"
	FileIDs     []string
	SearchQuery string // ImageKit syntax, ANDed with the rest; "" for none
}

// Rule is one validated manifest rule.
type Rule struct {
	Name        string
	Description string
	Files       Selection
	Exclude     Selection // only Paths and FileIDs are used
	ExactTags   []string  // forbidden tags written without glob characters
	Globs       []string  // forbidden tags with *, ? or [ (path.Match syntax)
	Source      Position  // where the rule starts

	// forbidden holds forbiddenTags as written, duplicates removed.
	forbidden []string
}

// IsGlob reports whether a forbiddenTags entry is a glob (it contains *, ?
// or [) rather than an exact tag.
func IsGlob(tag string) bool { return strings.ContainsAny(tag, "*?[") }

// InScope reports whether a file with this id and path is selected by the
// rule's paths or fileIds and not excluded. The searchQuery is not checked
// here: it is evaluated by the API.
func (r *Rule) InScope(fileID, filePath string) bool {
	if slices.Contains(r.Exclude.FileIDs, fileID) || underAny(filePath, r.Exclude.Paths) {
		return false
	}
	return slices.Contains(r.Files.FileIDs, fileID) || underAny(filePath, r.Files.Paths)
}

// underAny reports whether filePath lies in one of folders (each ending in "/").
func underAny(filePath string, folders []string) bool {
	for _, f := range folders {
		if strings.HasPrefix(filePath, f) {
			return true
		}
	}
	return false
}

// Forbids reports whether tag is forbidden by the rule, exactly or by a glob.
func (r *Rule) Forbids(tag string) bool {
	if slices.Contains(r.ExactTags, tag) {
		return true
	}
	for _, g := range r.Globs {
		if ok, err := path.Match(g, tag); err == nil && ok {
			return true
		}
	}
	return false
}

// ForbiddenTags returns the rule's forbiddenTags as written (exact tags and
// globs), in manifest order with duplicates removed. The caller may modify
// the returned slice.
func (r *Rule) ForbiddenTags() []string {
	if r.forbidden == nil {
		// A Rule built by hand rather than by Load.
		return append(slices.Clone(r.ExactTags), r.Globs...)
	}
	return slices.Clone(r.forbidden)
}
