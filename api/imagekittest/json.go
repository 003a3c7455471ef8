package imagekittest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// This file holds a small strict JSON scanner. The emulator keeps every file
// object as the bytes it was given; the scanner validates those bytes, finds
// the members the emulator indexes and edits single members in place,
// without decoding the rest.

// maxJSONDepth bounds the nesting of a JSON value, as encoding/json does.
const maxJSONDepth = 10000

// errShort says that the data ended inside a value: a streaming reader
// reads more and scans the value again.
var errShort = errors.New("unexpected end of JSON input")

// syntaxError is malformed JSON at an offset of the scanned data.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

func badChar(b []byte, i int, context string) error {
	r, _ := utf8.DecodeRune(b[i:])
	return &syntaxError{off: i, msg: fmt.Sprintf("invalid character %q %s", r, context)}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the offset of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipValue checks the JSON value that starts at b[i] (no leading
// whitespace) and returns the offset just after it. It returns errShort when
// b ends inside the value, and a *syntaxError when the value is malformed.
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, errShort
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{':
		return skipObject(b, i, depth+1)
	case c == '[':
		return skipArray(b, i, depth+1)
	case c == '-' || c >= '0' && c <= '9':
		return skipNumber(b, i)
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	default:
		return 0, badChar(b, i, "looking for beginning of value")
	}
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(b) {
			return 0, errShort
		}
		if b[i+k] != lit[k] {
			return 0, badChar(b, i+k, "in literal "+lit)
		}
	}
	return i + len(lit), nil
}

// skipString checks the string that starts at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	j := i + 1
	for j < len(b) {
		c := b[j]
		switch {
		case c == '"':
			return j + 1, nil
		case c == '\\':
			if j+1 >= len(b) {
				return 0, errShort
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				for k := 2; k < 6; k++ {
					if j+k >= len(b) {
						return 0, errShort
					}
					if !isHex(b[j+k]) {
						return 0, badChar(b, j+k, "in \\u hexadecimal character escape")
					}
				}
				j += 6
			default:
				return 0, badChar(b, j+1, "in string escape code")
			}
		case c < 0x20:
			return 0, badChar(b, j, "in string literal")
		default:
			j++
		}
	}
	return 0, errShort
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipNumber checks the number that starts at b[i]. A number that reaches
// the end of b is short: more digits may follow.
func skipNumber(b []byte, i int) (int, error) {
	j := i
	if b[j] == '-' {
		j++
	}
	if j >= len(b) {
		return 0, errShort
	}
	switch {
	case b[j] == '0':
		j++
	case b[j] >= '1' && b[j] <= '9':
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	default:
		return 0, badChar(b, j, "in numeric literal")
	}
	if j < len(b) && b[j] == '.' {
		j++
		if j >= len(b) {
			return 0, errShort
		}
		if !isDigit(b[j]) {
			return 0, badChar(b, j, "after decimal point in numeric literal")
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j >= len(b) {
			return 0, errShort
		}
		if !isDigit(b[j]) {
			return 0, badChar(b, j, "in exponent of numeric literal")
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	}
	if j >= len(b) {
		return 0, errShort
	}
	return j, nil
}

func skipArray(b []byte, i, depth int) (int, error) {
	if depth > maxJSONDepth {
		return 0, &syntaxError{off: i, msg: fmt.Sprintf("JSON nested more than %d deep", maxJSONDepth)}
	}
	j := skipSpace(b, i+1)
	if j >= len(b) {
		return 0, errShort
	}
	if b[j] == ']' {
		return j + 1, nil
	}
	for {
		end, err := skipValue(b, j, depth)
		if err != nil {
			return 0, err
		}
		j = skipSpace(b, end)
		if j >= len(b) {
			return 0, errShort
		}
		switch b[j] {
		case ',':
			j = skipSpace(b, j+1)
		case ']':
			return j + 1, nil
		default:
			return 0, badChar(b, j, "after array element")
		}
	}
}

func skipObject(b []byte, i, depth int) (int, error) {
	return walkObject(b, i, depth, nil)
}

// walkObject checks the object that starts at b[i] == '{' and returns the
// offset just after it. For each member it calls visit, when not nil, with
// the offsets of the member: its key (quoted) and its value.
func walkObject(b []byte, i, depth int, visit func(m member) error) (int, error) {
	if depth > maxJSONDepth {
		return 0, &syntaxError{off: i, msg: fmt.Sprintf("JSON nested more than %d deep", maxJSONDepth)}
	}
	j := skipSpace(b, i+1)
	if j >= len(b) {
		return 0, errShort
	}
	if b[j] == '}' {
		return j + 1, nil
	}
	for {
		if j >= len(b) {
			return 0, errShort
		}
		if b[j] != '"' {
			return 0, badChar(b, j, "looking for beginning of object key string")
		}
		keyEnd, err := skipString(b, j)
		if err != nil {
			return 0, err
		}
		k := skipSpace(b, keyEnd)
		if k >= len(b) {
			return 0, errShort
		}
		if b[k] != ':' {
			return 0, badChar(b, k, "after object key")
		}
		from := skipSpace(b, k+1)
		to, err := skipValue(b, from, depth)
		if err != nil {
			return 0, err
		}
		if visit != nil {
			if err := visit(member{keyFrom: j, keyTo: keyEnd, from: from, to: to}); err != nil {
				return 0, err
			}
		}
		j = skipSpace(b, to)
		if j >= len(b) {
			return 0, errShort
		}
		switch b[j] {
		case ',':
			j = skipSpace(b, j+1)
		case '}':
			return j + 1, nil
		default:
			return 0, badChar(b, j, "after object key:value pair")
		}
	}
}

// member is one member of an object: the offsets of its key (quoted) and
// of its value.
type member struct {
	keyFrom, keyTo, from, to int
}

// findMember returns the last member of the valid object obj whose key
// decodes to key, as JSON readers take the last of duplicate keys.
func findMember(obj []byte, key string) (member, bool) {
	var found member
	ok := false
	_, _ = walkObject(obj, 0, 0, func(m member) error {
		if keyIs(obj[m.keyFrom:m.keyTo], key) {
			found, ok = m, true
		}
		return nil
	})
	return found, ok
}

// keyIs reports whether the quoted key k decodes to key.
func keyIs(k []byte, key string) bool {
	inner := k[1 : len(k)-1]
	if len(inner) == len(key) && string(inner) == key {
		return true
	}
	if !hasEscape(inner) {
		return false
	}
	s, ok := unquote(k)
	return ok && s == key
}

func hasEscape(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

// unquote decodes a valid JSON string (with its quotes) as encoding/json
// does, invalid UTF-8 included.
func unquote(q []byte) (string, bool) {
	inner := q[1 : len(q)-1]
	if !hasEscape(inner) && isASCII(inner) {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return "", false
	}
	return s, true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// appendCompact appends the valid JSON value v to dst without the
// whitespace outside its strings.
func appendCompact(dst, v []byte) []byte {
	i := 0
	for i < len(v) {
		start := i
		for i < len(v) && !isSpace(v[i]) {
			if v[i] == '"' {
				i = stringEnd(v, i)
			} else {
				i++
			}
		}
		dst = append(dst, v[start:i]...)
		for i < len(v) && isSpace(v[i]) {
			i++
		}
	}
	return dst
}

// stringEnd returns the offset just after the valid JSON string that
// starts at v[i].
func stringEnd(v []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(v[j:], '"')
		if k < 0 {
			return len(v)
		}
		q := j + k
		backslashes := 0
		for b := q - 1; b > i && v[b] == '\\'; b-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
}

// appendQuote appends s as a JSON string, escaped as encoding/json does.
func appendQuote(dst []byte, s string) []byte {
	b, err := json.Marshal(s)
	if err != nil {
		return strconv.AppendQuote(dst, s)
	}
	return append(dst, b...)
}
