package imagekittest

import (
	"bytes"
	"strings"
)

// This file edits one member of a stored object in place: every other byte
// of the object stays as it was given, and a new value is laid out in the
// object's own style (compact, or indented like its other members).

// editList rewrites the array member key of the valid object obj: it keeps
// the elements for which keep returns true (all of them when keep is nil),
// byte for byte, and appends the strings add. An array left empty becomes
// null, as the API serves a file without tags. It returns obj itself and
// false when nothing changes.
func editList(obj []byte, key string, keep func(el []byte) bool, add []string) ([]byte, bool) {
	m, found := findMember(obj, key)
	var elems [][]byte
	lead, close, sep := "", "", ""
	dropped := false
	if found && obj[m.from] == '[' {
		arr := obj[m.from:m.to]
		spans := elementSpans(arr)
		if len(spans) > 0 {
			lead = string(arr[1:spans[0][0]])
			close = string(arr[spans[len(spans)-1][1] : len(arr)-1])
			if len(spans) > 1 {
				// The separator is the whitespace after the first comma.
				between := arr[spans[0][1]:spans[1][0]]
				sep = string(between[bytes.IndexByte(between, ',')+1:])
			} else {
				sep = lead
			}
		}
		for _, sp := range spans {
			el := arr[sp[0]:sp[1]]
			if keep == nil || keep(el) {
				elems = append(elems, el)
			} else {
				dropped = true
			}
		}
	}
	if !dropped && len(add) == 0 {
		return obj, false
	}
	if len(elems) == 0 && len(add) > 0 && lead == "" && close == "" {
		// No elements to copy the layout from: lay the list out like the
		// object's members.
		if indent, ok := memberIndent(obj, m, found); ok {
			unit := indentUnit(obj, indent)
			lead, close = "\n"+indent+unit, "\n"+indent
			sep = lead
		}
	}
	for _, t := range add {
		elems = append(elems, appendQuote(nil, t))
	}
	var value []byte
	if len(elems) == 0 {
		value = []byte("null")
	} else {
		value = append(value, '[')
		value = append(value, lead...)
		for i, el := range elems {
			if i > 0 {
				value = append(value, ',')
				value = append(value, sep...)
			}
			value = append(value, el...)
		}
		value = append(value, close...)
		value = append(value, ']')
	}
	return setMember(obj, key, value), true
}

// elementSpans returns the offsets of the elements of the valid array arr.
func elementSpans(arr []byte) [][2]int {
	var spans [][2]int
	i := skipSpace(arr, 1)
	if arr[i] == ']' {
		return nil
	}
	for {
		end, err := skipValue(arr, i, 0)
		if err != nil {
			return spans
		}
		spans = append(spans, [2]int{i, end})
		i = skipSpace(arr, end)
		if arr[i] == ']' {
			return spans
		}
		i = skipSpace(arr, i+1)
	}
}

// setMember returns a copy of the valid object obj with the value of its
// member key replaced by value, or with the member added at its end.
func setMember(obj []byte, key string, value []byte) []byte {
	out := make([]byte, 0, len(obj)+len(value)+len(key)+16)
	if m, ok := findMember(obj, key); ok {
		out = append(out, obj[:m.from]...)
		out = append(out, value...)
		return append(out, obj[m.to:]...)
	}
	first, last, n := member{}, member{}, 0
	_, _ = walkObject(obj, 0, 0, func(m member) error {
		if n == 0 {
			first = m
		}
		last = m
		n++
		return nil
	})
	if n == 0 {
		// An empty object: {"key":value}
		out = append(out, obj[:len(obj)-1]...)
		out = appendQuote(out, key)
		out = append(out, ':')
		out = append(out, value...)
		return append(out, '}')
	}
	out = append(out, obj[:last.to]...)
	out = append(out, ',')
	out = append(out, obj[1:first.keyFrom]...) // the layout before the first key
	out = appendQuote(out, key)
	out = append(out, obj[first.keyTo:first.from]...) // ":" or ": "
	out = append(out, value...)
	return append(out, obj[last.to:]...)
}

// memberIndent returns the indentation of the line that holds member m's
// key (of the first member when m was not found), when obj is laid out one
// member a line.
func memberIndent(obj []byte, m member, found bool) (string, bool) {
	if !found {
		var first member
		n := 0
		_, _ = walkObject(obj, 0, 0, func(mm member) error {
			if n == 0 {
				first = mm
			}
			n++
			return nil
		})
		if n == 0 {
			return "", false
		}
		m = first
	}
	return lineIndent(obj, m.keyFrom)
}

// lineIndent returns the whitespace between the start of the line that
// holds obj[pos] and pos, when there is only whitespace there.
func lineIndent(obj []byte, pos int) (string, bool) {
	nl := bytes.LastIndexByte(obj[:pos], '\n')
	if nl < 0 {
		return "", false
	}
	indent := obj[nl+1 : pos]
	if len(bytes.Trim(indent, " \t")) != 0 {
		return "", false
	}
	return string(indent), true
}

// indentUnit returns one level of indentation of obj: what the members'
// indentation adds to the closing brace's.
func indentUnit(obj []byte, memberIndent string) string {
	closing, ok := lineIndent(obj, len(obj)-1)
	if ok && len(memberIndent) > len(closing) && strings.HasPrefix(memberIndent, closing) {
		return memberIndent[len(closing):]
	}
	return "  "
}
