package reconcile

import (
	"path"
	"slices"
	"strings"
)

// isGlob reports whether a forbiddenTags entry is a glob rather than an exact tag.
func isGlob(t string) bool { return strings.ContainsAny(t, `*?[`) }

// Forbids reports whether the rule forbids tag, exactly or by a glob.
func (r *PlanRule) Forbids(tag string) bool {
	for _, f := range r.ForbiddenTags {
		if !isGlob(f) {
			if f == tag {
				return true
			}
			continue
		}
		if ok, err := path.Match(f, tag); err == nil && ok {
			return true
		}
	}
	return false
}

// InScope reports whether a file is under one of the rule's paths or listed
// in its fileIds, and not excluded. The searchQuery is left to the API.
func (r *PlanRule) InScope(fileID, filePath string) bool {
	if slices.Contains(r.ExcludeIDs, fileID) || underAny(filePath, r.ExcludePaths) {
		return false
	}
	return slices.Contains(r.FileIDs, fileID) || underAny(filePath, r.Paths)
}

// underAny reports whether filePath lies in one of the folders (each ending in "/").
func underAny(filePath string, folders []string) bool {
	for _, f := range folders {
		if strings.HasPrefix(filePath, f) {
			return true
		}
	}
	return false
}
