package manifest

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tagprune/tagprune/internal/sorted"
)

// The checks below are shared by Load, which reports each problem at its
// position in the file, and Compile, which checks rules that come from
// elsewhere (a plan file) and reports them by rule name. Each returns a
// message saying what is wrong, or "".

// patternKind names a list of tag patterns in messages.
type patternKind struct {
	key  string // the manifest key, such as forbiddenTags
	noun string // one entry, such as "forbidden tag"
}

var (
	forbiddenKind   = patternKind{key: "forbiddenTags", noun: "forbidden tag"}
	allowedKind     = patternKind{key: "allowedTags", noun: "allowed tag"}
	forbiddenAIKind = patternKind{key: "forbiddenAITags", noun: "forbidden AITag"}
)

// patternProblem checks entry j (0-based) of a list of tag patterns.
func patternProblem(kind patternKind, j int, p string) string {
	switch {
	case strings.TrimSpace(p) == "":
		return fmt.Sprintf("%s entry %d is empty; write the tag or remove the entry", kind.key, j+1)
	case strings.TrimSpace(p) != p:
		return fmt.Sprintf("%s %q has leading or trailing spaces; tags are matched exactly", kind.noun, p)
	case IsGlob(p):
		if _, err := path.Match(p, ""); errors.Is(err, path.ErrBadPattern) {
			return fmt.Sprintf("bad glob %q: %v; escape a literal *, ? or [ with \\", p, err)
		}
	}
	return ""
}

// MaxTagsLength is the most characters, counted as Unicode code points, that
// the tags of one ImageKit tag call may add up to (its OpenAPI description
// of addTags and removeTags); reconcile keeps every call within it. A
// replacement tag longer than that could never be added.
const MaxTagsLength = 500

// replaceProblem checks one OLD: NEW entry of replaceTags. onKey says
// whether the problem is with OLD rather than NEW.
func replaceProblem(old, new string) (msg string, onKey bool) {
	if old == new {
		return fmt.Sprintf("replaceTags replaces %q with itself; remove the entry", old), true
	}
	if n := utf8.RuneCountInString(new); n > MaxTagsLength {
		return fmt.Sprintf("replaceTags: the replacement tag for %q is %d characters long; ImageKit adds no tag longer than %d characters", old, n, MaxTagsLength), false
	}
	for _, side := range []struct {
		what, tag string
		key       bool
	}{{"tag to replace", old, true}, {"replacement tag", new, false}} {
		switch {
		case strings.TrimSpace(side.tag) == "":
			return fmt.Sprintf("replaceTags: the %s is empty; write OLD: NEW with two tags", side.what), side.key
		case strings.TrimSpace(side.tag) != side.tag:
			return fmt.Sprintf("replaceTags: the %s %q has leading or trailing spaces; tags are matched exactly", side.what, side.tag), side.key
		case IsGlob(side.tag):
			return fmt.Sprintf("replaceTags: the %s %q holds *, ? or [; replaceTags takes exact tags, not globs", side.what, side.tag), side.key
		}
	}
	return "", false
}

// normalizePath checks a folder path and makes it end with "/".
func normalizePath(p string) (string, string) {
	switch {
	case p == "":
		return "", `path is empty; write "/" for the whole library`
	case !strings.HasPrefix(p, "/"):
		return "", `path "` + p + `" is relative; paths start with "/" (write "/` + p + `")`
	case strings.Contains(p, "//"):
		return "", `path "` + p + `" has an empty folder name (//); remove the extra "/"`
	case strings.ContainsFunc(p, unicode.IsControl):
		return "", `path "` + p + `" holds a control character`
	}
	for seg := range strings.SplitSeq(strings.Trim(p, "/"), "/") {
		if seg == "." || seg == ".." {
			return "", `path "` + p + `" holds a "` + seg + `" segment; write the folder path out in full`
		}
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p, ""
}

// fileIDProblem checks entry j (0-based) of a list of fileIds. A fileId ends
// up inside an id IN [...] searchQuery, so it may not hold quotes or spaces.
func fileIDProblem(j int, id string) string {
	switch {
	case id == "":
		return fmt.Sprintf("fileIds entry %d is empty; write the fileId or remove the entry", j+1)
	case strings.ContainsFunc(id, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' || r == '\'' || r == '\\'
	}):
		return fmt.Sprintf("fileId %q holds spaces, quotes or backslashes; a fileId is a plain id such as 5e21880d5efe355febd4bccd", id)
	}
	return ""
}

// searchQueryProblem does a light syntax check of a searchQuery (the API
// evaluates it): not blank, quotes closed, parentheses balanced outside
// quotes.
func searchQueryProblem(q string) string {
	if strings.TrimSpace(q) == "" {
		return "searchQuery is blank; write a query such as createdAt < \"2024-01-01\" or remove the key"
	}
	depth, inQuote, escaped := 0, false, false
	for _, r := range q {
		if inQuote {
			switch {
			case escaped:
				escaped = false
			case r == '\\':
				escaped = true
			case r == '"':
				inQuote = false
			}
			continue
		}
		switch r {
		case '"':
			inQuote = true
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return "searchQuery has a \")\" without a matching \"(\""
			}
		}
	}
	if inQuote {
		return "searchQuery has an unterminated double quote; close the string with \""
	}
	if depth > 0 {
		return "searchQuery has a \"(\" without a matching \")\""
	}
	return ""
}

// noPolicy is the message for a rule that says nothing about tags.
const noPolicy = "rule needs forbiddenTags, allowedTags, replaceTags or forbiddenAITags: say which tags its files must lose"

// hasPolicy reports whether the rule says which tags its files lose.
func (r *Rule) hasPolicy() bool {
	return len(r.ForbiddenTags)+len(r.AllowedTags)+len(r.ReplaceTags)+len(r.ForbiddenAITags) > 0
}

// replaceConflict is a replaceTags entry that cannot be applied in one run.
type replaceConflict struct {
	rule int    // index of the rule whose entry it is
	old  string // the entry's key
	msg  string
}

// replaceConflicts finds the replaceTags entries that chain or loop (the
// replacement of one entry is replaced by another entry, of this rule or of
// any other rule loaded together: a → b, b → c), and those whose replacement
// the same rule forbids (it would be added, then removed). Conflicts come in
// rule order, then by key.
func replaceConflicts(rules []Rule) []replaceConflict {
	olds := map[string]int{} // OLD -> first rule that replaces it
	for i := range rules {
		for _, old := range sorted.Keys(rules[i].ReplaceTags) {
			if _, ok := olds[old]; !ok {
				olds[old] = i
			}
		}
	}
	var out []replaceConflict
	for i := range rules {
		r := &rules[i]
		if len(r.ReplaceTags) == 0 {
			continue
		}
		pol := r.Policy()
		for _, old := range sorted.Keys(r.ReplaceTags) {
			new := r.ReplaceTags[old]
			if j, ok := olds[new]; ok {
				where := "this rule"
				if j != i {
					where = fmt.Sprintf("rule %q", rules[j].Name)
				}
				out = append(out, replaceConflict{rule: i, old: old, msg: fmt.Sprintf(
					"replaceTags %q → %q chains: %s replaces %q in turn; rename each tag straight to its final name", old, new, where, new)})
				continue
			}
			if pol.Forbids(new) {
				out = append(out, replaceConflict{rule: i, old: old, msg: fmt.Sprintf(
					"replaceTags %q → %q: the rule itself forbids %q, so it would be added and removed again", old, new, new)})
			}
		}
	}
	return out
}

// checkRules checks rules that did not come from Load, by rule name.
func checkRules(rules []Rule) Errors {
	var errs Errors
	add := func(rule, format string, args ...any) {
		errs = append(errs, &Error{Rule: rule, Msg: fmt.Sprintf(format, args...)})
	}
	names := make(map[string]bool, len(rules))
	for i := range rules {
		r := &rules[i]
		switch {
		case strings.TrimSpace(r.Name) == "":
			add("", "rule %d has no name", i+1)
		case names[r.Name]:
			add(r.Name, "duplicate rule name; names must be unique")
		}
		names[r.Name] = true
		if len(r.Paths)+len(r.FileIDs) == 0 {
			add(r.Name, "rule has neither paths nor fileIds")
		}
		for _, list := range [][]string{r.Paths, r.ExcludePaths} {
			for _, p := range list {
				if norm, msg := normalizePath(p); msg != "" {
					add(r.Name, "%s", msg)
				} else if norm != p {
					add(r.Name, "path %q does not end with \"/\"", p)
				}
			}
		}
		for _, list := range [][]string{r.FileIDs, r.ExcludeFileIDs} {
			for j, id := range list {
				if msg := fileIDProblem(j, id); msg != "" {
					add(r.Name, "%s", msg)
				}
			}
		}
		if r.SearchQuery != "" {
			if msg := searchQueryProblem(r.SearchQuery); msg != "" {
				add(r.Name, "%s", msg)
			}
		}
		if !r.hasPolicy() {
			add(r.Name, "%s", noPolicy)
		}
		for _, pl := range []struct {
			kind patternKind
			list []string
		}{{forbiddenKind, r.ForbiddenTags}, {allowedKind, r.AllowedTags}, {forbiddenAIKind, r.ForbiddenAITags}} {
			for j, p := range pl.list {
				if msg := patternProblem(pl.kind, j, p); msg != "" {
					add(r.Name, "%s", msg)
				}
			}
		}
		for _, old := range sorted.Keys(r.ReplaceTags) {
			if msg, _ := replaceProblem(old, r.ReplaceTags[old]); msg != "" {
				add(r.Name, "%s", msg)
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	for _, c := range replaceConflicts(rules) {
		add(rules[c.rule].Name, "%s", c.msg)
	}
	return errs
}
