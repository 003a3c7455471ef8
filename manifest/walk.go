package manifest

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tagprune/tagprune/internal/suggest"
)

// walker checks the shape of a YAML node tree against the manifest's Go
// types before they are decoded, so that every problem of a file is reported
// at once and with its position: unknown and duplicate keys, missing
// required fields, a scalar where a list belongs, empty lists.
type walker struct {
	file string
	rule string // name of the rule being walked, when known
	errs Errors
}

func reflectType[T any]() reflect.Type { return reflect.TypeFor[T]() }

func (w *walker) errAt(n *yaml.Node, format string, args ...any) {
	w.errs = append(w.errs, &Error{
		Pos:  Position{File: w.file, Line: n.Line, Col: n.Column},
		Rule: w.rule,
		Msg:  fmt.Sprintf(format, args...),
	})
}

// field is a struct field as the manifest spells it.
type field struct {
	name     string
	index    int
	required bool
	anyOf    string // the anyof_required group, "" for none
}

// fieldsOf lists the yaml fields of a struct type with the constraints its
// jsonschema tags declare.
func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		f := field{name: name, index: i}
		for _, opt := range strings.Split(sf.Tag.Get("jsonschema"), ",") {
			if opt == "required" {
				f.required = true
			}
			if g, ok := strings.CutPrefix(opt, "anyof_required="); ok {
				f.anyOf = g
			}
		}
		out = append(out, f)
	}
	return out
}

// kindName says in words what a node is, for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	switch n.ShortTag() {
	case "!!null":
		return "null"
	case "!!str":
		return fmt.Sprintf("string %q", n.Value)
	case "!!int", "!!float":
		return "number " + n.Value
	case "!!bool":
		return "boolean " + n.Value
	}
	return "scalar " + strconv.Quote(n.Value)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// value checks that n can hold a value of type t; what names it in messages.
func (w *walker) value(n *yaml.Node, t reflect.Type, what string) {
	at := n // errors point at what was written, even when it is an alias
	n = resolve(n)
	switch t.Kind() {
	case reflect.Pointer:
		w.value(at, t.Elem(), what)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.errAt(at, "%s must be a mapping (key: value lines), not a %s", what, kindName(n))
			return
		}
		w.mapping(at, n, t, what)
	case reflect.Slice:
		switch {
		case isNull(n):
			w.errAt(at, "%s is empty; give at least one entry or remove the key", what)
		case n.Kind == yaml.SequenceNode && len(n.Content) == 0:
			w.errAt(at, "%s is an empty list; give at least one entry or remove the key", what)
		case n.Kind != yaml.SequenceNode:
			w.errAt(at, "%s must be a list, not a %s; write [value] for a single entry", what, kindName(n))
		default:
			rule := w.rule
			for i, item := range n.Content {
				if isNull(resolve(item)) {
					w.errAt(item, "%s entry %d is empty; write a value or remove the entry", what, i+1)
					continue
				}
				if t.Elem() == reflectType[ruleDoc]() {
					w.rule = ruleName(resolve(item))
				}
				w.value(item, t.Elem(), what+" entry")
			}
			w.rule = rule
		}
	case reflect.Map:
		w.stringMap(at, n, what)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			w.errAt(at, "%s must be a string, not a %s", what, kindName(n))
		}
	case reflect.Int:
		w.version(at, n, what)
	default:
		w.errAt(at, "%s has a type this version cannot read", what)
	}
}

// version checks the version field: the number 1.
func (w *walker) version(at, n *yaml.Node, what string) {
	switch {
	case n.Kind != yaml.ScalarNode:
		w.errAt(at, "%s must be the number %d, not a %s", what, SupportedVersion, kindName(n))
	case n.ShortTag() == "!!str":
		w.errAt(at, "%s must be the number %d, not the string %q; write %s: %d without quotes", what, SupportedVersion, n.Value, what, SupportedVersion)
	case n.ShortTag() != "!!int":
		w.errAt(at, "%s must be the number %d, not a %s", what, SupportedVersion, kindName(n))
	default:
		v, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil || v != SupportedVersion {
			w.errAt(at, "unsupported %s %s; this tagprune reads version %d", what, n.Value, SupportedVersion)
		}
	}
}

// ruleName returns the name written in a rule mapping, "" when there is none.
func ruleName(n *yaml.Node) string {
	if v := lookup(n, "name"); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// lookup returns the value of key in mapping m (aliases resolved), or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return resolve(m.Content[i+1])
		}
	}
	return nil
}

// mapping checks the keys of a mapping against the fields of struct type t.
func (w *walker) mapping(at, n *yaml.Node, t reflect.Type, what string) {
	fields := fieldsOf(t)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			w.errAt(k, "keys of %s must be plain names, not a %s", what, kindName(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			w.errAt(k, "merge keys (<<) are not supported in a manifest; write the keys out")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.errAt(k, "duplicate key %q in %s; it was first set at line %d", k.Value, what, first.Line)
			continue
		}
		seen[k.Value] = k
		j := slices.IndexFunc(fields, func(f field) bool { return f.name == k.Value })
		if j < 0 {
			w.errAt(k, "%s", unknownField(k.Value, fields, what))
			continue
		}
		w.value(v, t.Field(fields[j].index).Type, k.Value)
	}
	var alts []string
	anyPresent := false
	for _, f := range fields {
		_, present := seen[f.name]
		if f.required && !present {
			pos := at
			if t == reflectType[manifestDoc]() {
				pos = &yaml.Node{Line: 1, Column: 1} // where a reader looks for it
			}
			w.errAt(pos, "%s is missing the required field %q", what, f.name)
		}
		if f.anyOf != "" {
			alts = append(alts, f.name)
			anyPresent = anyPresent || present
		}
	}
	if len(alts) > 0 && !anyPresent {
		if t == reflectType[filesDoc]() {
			w.errAt(at, "%s needs %s (or both); write paths: [/] to govern the whole library", what, strings.Join(alts, " or "))
		} else {
			w.errAt(at, "%s needs %s or %s: say which tags its files must lose", what, strings.Join(alts[:len(alts)-1], ", "), alts[len(alts)-1])
		}
	}
	if len(n.Content) == 0 && len(alts) == 0 && !slices.ContainsFunc(fields, func(f field) bool { return f.required }) {
		w.errAt(at, "%s is empty; list %s, or remove it", what, fieldNames(fields))
	}
}

// stringMap checks that n is a non-empty mapping of strings to strings
// (replaceTags).
func (w *walker) stringMap(at, n *yaml.Node, what string) {
	switch {
	case isNull(n):
		w.errAt(at, "%s is empty; give at least one OLD: NEW entry or remove the key", what)
		return
	case n.Kind != yaml.MappingNode:
		w.errAt(at, "%s must be a mapping of OLD: NEW tags, not a %s", what, kindName(n))
		return
	case len(n.Content) == 0:
		w.errAt(at, "%s is an empty mapping; give at least one OLD: NEW entry or remove the key", what)
		return
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode || isNull(k):
			w.errAt(k, "keys of %s must be tags, not a %s", what, kindName(k))
			continue
		case k.ShortTag() == "!!merge":
			w.errAt(k, "merge keys (<<) are not supported in a manifest; write the keys out")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.errAt(k, "duplicate key %q in %s; it was first set at line %d", k.Value, what, first.Line)
			continue
		}
		seen[k.Value] = k
		switch rv := resolve(v); {
		case isNull(rv):
			w.errAt(v, "%s entry %q has no replacement; write %s: NEW", what, k.Value, k.Value)
		case rv.Kind != yaml.ScalarNode:
			w.errAt(v, "%s entry %q must be a tag, not a %s", what, k.Value, kindName(rv))
		}
	}
}

func fieldNames(fields []field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return strings.Join(names, " or ")
}

// unknownField says that key is not a field of what, suggesting the closest
// known field when one is near.
func unknownField(key string, fields []field, what string) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	if best := suggest.Closest(key, names); best != "" {
		return fmt.Sprintf("unknown field %q; did you mean %q?", key, best)
	}
	return fmt.Sprintf("unknown field %q in %s; the fields of %s are %s", key, what, what, strings.Join(names, ", "))
}
