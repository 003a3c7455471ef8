package imagekittest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds the searchQuery lexer: it cuts a query into words,
// strings, operators and punctuation.

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tString
	tLParen
	tRParen
	tLBrack
	tRBrack
	tComma
	tOp // = : < <= > >=
)

type token struct {
	kind tokKind
	pos  int
	text string // the word, the unquoted string, or the operator
}

// describe names the token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tString:
		return fmt.Sprintf("string %s", strconv.Quote(t.text))
	default:
		return strconv.Quote(t.text)
	}
}

// lexer reads the tokens of a query one at a time.
type lexer struct {
	src string
	off int
	tok token // the current token
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == '+'
}

// next reads the next token into l.tok.
func (l *lexer) next() error {
	s := l.src
	for l.off < len(s) && (s[l.off] == ' ' || s[l.off] == '\t' || s[l.off] == '\n' || s[l.off] == '\r') {
		l.off++
	}
	start := l.off
	if start >= len(s) {
		l.tok = token{kind: tEOF, pos: start}
		return nil
	}
	c := s[start]
	single := func(k tokKind) error {
		l.off++
		l.tok = token{kind: k, pos: start, text: s[start:l.off]}
		return nil
	}
	switch c {
	case '(':
		return single(tLParen)
	case ')':
		return single(tRParen)
	case '[':
		return single(tLBrack)
	case ']':
		return single(tRBrack)
	case ',':
		return single(tComma)
	case '=', ':':
		return single(tOp)
	case '<', '>':
		l.off++
		if l.off < len(s) && s[l.off] == '=' {
			l.off++
		}
		l.tok = token{kind: tOp, pos: start, text: s[start:l.off]}
		return nil
	case '!':
		return &QueryError{Pos: start, Msg: `operator "!" is not supported; use NOT = or NOT IN`}
	case '"':
		return l.lexString()
	}
	if !isWordByte(c) {
		r, _ := utf8.DecodeRuneInString(s[start:])
		return &QueryError{Pos: start, Msg: fmt.Sprintf("unexpected character %q", r)}
	}
	for l.off < len(s) && isWordByte(s[l.off]) {
		l.off++
	}
	l.tok = token{kind: tWord, pos: start, text: s[start:l.off]}
	return nil
}

func (l *lexer) lexString() error {
	s := l.src
	start := l.off
	var b strings.Builder
	i := start + 1
	from := i
	for i < len(s) {
		switch s[i] {
		case '"':
			b.WriteString(s[from:i])
			l.off = i + 1
			l.tok = token{kind: tString, pos: start, text: b.String()}
			return nil
		case '\\':
			if i+1 >= len(s) {
				return &QueryError{Pos: start, Msg: "unterminated string"}
			}
			if e := s[i+1]; e != '"' && e != '\\' {
				r, _ := utf8.DecodeRuneInString(s[i+1:])
				return &QueryError{Pos: i, Msg: fmt.Sprintf(`escape "\%c" is not supported; only \" and \\ are`, r)}
			}
			b.WriteString(s[from:i])
			b.WriteByte(s[i+1])
			i += 2
			from = i
		default:
			i++
		}
	}
	return &QueryError{Pos: start, Msg: "unterminated string"}
}
