package manifest

import (
	"errors"
	"path"
	"slices"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// check validates the values of a decoded manifest and converts its rules.
// top is the manifest's node tree, used for positions.
func (l *loader) check(file string, top *yaml.Node, doc *manifestDoc) {
	rulesNode := lookup(top, "rules")
	if rulesNode == nil || rulesNode.Kind != yaml.SequenceNode {
		return
	}
	for i, rd := range doc.Rules {
		if i >= len(rulesNode.Content) || resolve(rulesNode.Content[i]).Kind != yaml.MappingNode {
			continue
		}
		rn := resolve(rulesNode.Content[i])
		c := &checker{l: l, file: file, rule: rd.Name}
		r := Rule{
			Name:        rd.Name,
			Description: rd.Description,
			Source:      Position{File: file, Line: rulesNode.Content[i].Line, Col: rulesNode.Content[i].Column},
		}
		nameNode := lookup(rn, "name")
		switch {
		case nameNode == nil: // reported by the walk
		case strings.TrimSpace(rd.Name) == "":
			c.rule = ""
			c.errAt(nameNode, "rule name must not be empty")
		case l.names[rd.Name] != (Position{}):
			first := l.names[rd.Name]
			c.errAt(nameNode, "duplicate rule name; it is already defined at %s, and names must be unique across all manifests loaded together", first)
		default:
			l.names[rd.Name] = r.Source
		}

		filesNode := lookup(rn, "files")
		r.Files.Paths = c.paths(lookup(filesNode, "paths"))
		r.Files.FileIDs = c.fileIDs(lookup(filesNode, "fileIds"))
		if qn := lookup(filesNode, "searchQuery"); qn != nil {
			r.Files.SearchQuery = strings.TrimSpace(rd.Files.SearchQuery)
			if msg := checkSearchQuery(rd.Files.SearchQuery); msg != "" {
				c.errAt(qn, "%s", msg)
			}
		}
		if exNode := lookup(filesNode, "exclude"); exNode != nil {
			r.Exclude.Paths = c.paths(lookup(exNode, "paths"))
			r.Exclude.FileIDs = c.fileIDs(lookup(exNode, "fileIds"))
		}

		for j, at := range scalars(lookup(rn, "forbiddenTags")) {
			t := at.Value
			switch {
			case strings.TrimSpace(t) == "":
				c.errAt(at, "forbiddenTags entry %d is empty; write the tag or remove the entry", j+1)
				continue
			case strings.TrimSpace(t) != t:
				c.errAt(at, "forbidden tag %q has leading or trailing spaces; tags are matched exactly", t)
				continue
			}
			if slices.Contains(r.forbidden, t) {
				continue
			}
			r.forbidden = append(r.forbidden, t)
			if !IsGlob(t) {
				r.ExactTags = append(r.ExactTags, t)
				continue
			}
			if _, err := path.Match(t, ""); errors.Is(err, path.ErrBadPattern) {
				c.errAt(at, "bad glob %q: %v; escape a literal *, ? or [ with \\", t, err)
				continue
			}
			r.Globs = append(r.Globs, t)
		}
		l.rules = append(l.rules, r)
	}
}

// checker reports problems of one rule.
type checker struct {
	l    *loader
	file string
	rule string
}

func (c *checker) errAt(n *yaml.Node, format string, args ...any) {
	pos := Position{File: c.file}
	if n != nil {
		pos.Line, pos.Col = n.Line, n.Column
	}
	c.l.add(pos, c.rule, format, args...)
}

// scalars returns the entries of a list of strings (aliases resolved),
// leaving out what is not a string: the walk has reported those. Values
// are read from the nodes rather than the decoded manifest so that each
// keeps its position.
func scalars(seq *yaml.Node) []*yaml.Node {
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return nil
	}
	var out []*yaml.Node
	for _, n := range seq.Content {
		if r := resolve(n); r.Kind == yaml.ScalarNode && !isNull(r) {
			out = append(out, &yaml.Node{Kind: yaml.ScalarNode, Value: r.Value, Line: n.Line, Column: n.Column})
		}
	}
	return out
}

// paths validates and normalises the folder paths of a list, dropping duplicates.
func (c *checker) paths(n *yaml.Node) []string {
	var out []string
	for _, at := range scalars(n) {
		p := at.Value
		norm, msg := normalizePath(p)
		if msg != "" {
			c.errAt(at, "%s", msg)
			continue
		}
		if !slices.Contains(out, norm) {
			out = append(out, norm)
		}
	}
	return out
}

// normalizePath checks a folder path and makes it end with "/". It returns
// a message saying what is wrong, or "".
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

// fileIDs validates fileIds, dropping duplicates. A fileId ends up inside
// an id IN [...] searchQuery, so it may not hold quotes or spaces.
func (c *checker) fileIDs(n *yaml.Node) []string {
	var out []string
	for j, at := range scalars(n) {
		id := at.Value
		switch {
		case id == "":
			c.errAt(at, "fileIds entry %d is empty; write the fileId or remove the entry", j+1)
			continue
		case strings.ContainsFunc(id, func(r rune) bool {
			return unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' || r == '\'' || r == '\\'
		}):
			c.errAt(at, "fileId %q holds spaces, quotes or backslashes; a fileId is a plain id such as 5e21880d5efe355febd4bccd", id)
			continue
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// checkSearchQuery does a light syntax check of a searchQuery (the API
// evaluates it): not blank, quotes closed, parentheses balanced outside
// quotes. It returns a message saying what is wrong, or "".
func checkSearchQuery(q string) string {
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
