package manifest

import (
	"context"
	"strings"

	"gopkg.in/yaml.v3"
)

// check validates the values of a decoded manifest and converts its rules.
// top is the manifest's node tree, used for positions. It stops early, with
// ctx's error, when ctx is done; it checks ctx once per rule.
func (l *loader) check(ctx context.Context, file string, top *yaml.Node, doc *manifestDoc) error {
	rulesNode := lookup(top, "rules")
	if rulesNode == nil || rulesNode.Kind != yaml.SequenceNode {
		return nil
	}
	for i, rd := range doc.Rules {
		if err := ctx.Err(); err != nil {
			return err
		}
		if i >= len(rulesNode.Content) || resolve(rulesNode.Content[i]).Kind != yaml.MappingNode {
			continue
		}
		rn := resolve(rulesNode.Content[i])
		c := &checker{l: l, file: file, rule: rd.Name}
		pos := Position{File: file, Line: rulesNode.Content[i].Line, Col: rulesNode.Content[i].Column}
		r := Rule{
			Name:        rd.Name,
			Description: rd.Description,
			Source:      pos.String(),
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
			l.names[rd.Name] = pos
		}

		filesNode := lookup(rn, "files")
		r.Paths = c.paths(lookup(filesNode, "paths"))
		r.FileIDs = c.fileIDs(lookup(filesNode, "fileIds"))
		if qn := lookup(filesNode, "searchQuery"); qn != nil {
			r.SearchQuery = strings.TrimSpace(rd.Files.SearchQuery)
			if msg := searchQueryProblem(rd.Files.SearchQuery); msg != "" {
				c.errAt(qn, "%s", msg)
			}
		}
		if exNode := lookup(filesNode, "exclude"); exNode != nil {
			r.ExcludePaths = c.paths(lookup(exNode, "paths"))
			r.ExcludeFileIDs = c.fileIDs(lookup(exNode, "fileIds"))
		}

		r.ForbiddenTags = c.patterns(lookup(rn, "forbiddenTags"), forbiddenKind)
		r.AllowedTags = c.patterns(lookup(rn, "allowedTags"), allowedKind)
		r.ForbiddenAITags = c.patterns(lookup(rn, "forbiddenAITags"), forbiddenAIKind)
		r.ReplaceTags = c.replaceTags(lookup(rn, "replaceTags"))
		l.rules = append(l.rules, r)
		l.replaceNodes = append(l.replaceNodes, replaceNodes(lookup(rn, "replaceTags"), file))
	}
	return nil
}

// checkReplaceConflicts reports the replaceTags entries that chain or that
// their own rule forbids, across every rule loaded, at the position of the
// replacement tag.
func (l *loader) checkReplaceConflicts() {
	for _, c := range replaceConflicts(l.rules) {
		pos := l.replaceNodes[c.rule][c.old]
		l.add(pos, l.rules[c.rule].Name, "%s", c.msg)
	}
}

// replaceNodes returns where each replaceTags entry's replacement is written.
func replaceNodes(m *yaml.Node, file string) map[string]Position {
	out := map[string]Position{}
	if m == nil || m.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		v := m.Content[i+1]
		out[m.Content[i].Value] = Position{File: file, Line: v.Line, Col: v.Column}
	}
	return out
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

// patterns validates a list of tag patterns, keeping the order written and
// dropping duplicates.
func (c *checker) patterns(n *yaml.Node, kind patternKind) []string {
	var out []string
	seen := map[string]bool{}
	for j, at := range scalars(n) {
		if msg := patternProblem(kind, j, at.Value); msg != "" {
			c.errAt(at, "%s", msg)
			continue
		}
		if !seen[at.Value] {
			seen[at.Value] = true
			out = append(out, at.Value)
		}
	}
	return out
}

// replaceTags validates the entries of a replaceTags mapping.
func (c *checker) replaceTags(m *yaml.Node) map[string]string {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var out map[string]string
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], resolve(m.Content[i+1])
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode || isNull(k) || isNull(v) {
			continue // reported by the walk
		}
		if msg, onKey := replaceProblem(k.Value, v.Value); msg != "" {
			at := m.Content[i+1]
			if onKey {
				at = k
			}
			c.errAt(at, "%s", msg)
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k.Value] = v.Value
	}
	return out
}

// paths validates and normalises the folder paths of a list, dropping duplicates.
func (c *checker) paths(n *yaml.Node) []string {
	var out []string
	seen := map[string]bool{}
	for _, at := range scalars(n) {
		norm, msg := normalizePath(at.Value)
		if msg != "" {
			c.errAt(at, "%s", msg)
			continue
		}
		if !seen[norm] {
			seen[norm] = true
			out = append(out, norm)
		}
	}
	return out
}

// fileIDs validates fileIds, dropping duplicates. It is linear in the
// number of ids.
func (c *checker) fileIDs(n *yaml.Node) []string {
	var out []string
	seen := map[string]bool{}
	for j, at := range scalars(n) {
		if msg := fileIDProblem(j, at.Value); msg != "" {
			c.errAt(at, "%s", msg)
			continue
		}
		if !seen[at.Value] {
			seen[at.Value] = true
			out = append(out, at.Value)
		}
	}
	return out
}
