package imagekittest

import (
	"fmt"
	"strings"
	"time"
)

// This file holds the searchQuery parser: conditions joined by AND and OR,
// grouped by parentheses, each a field, an operator and values.

// keyword reports whether the current token is the upper-case keyword kw, and
// fails when it is the same word in another case.
func (p *parser) keyword(kw string) (bool, error) {
	if p.tok.kind != tWord {
		return false, nil
	}
	if p.tok.text == kw {
		return true, nil
	}
	if strings.EqualFold(p.tok.text, kw) {
		return false, p.errf("keyword %q must be written in upper case: %s", p.tok.text, kw)
	}
	return false, nil
}

// parser builds the condition tree of a query from its lexer's tokens.
type parser struct {
	lexer
	now   time.Time // anchors relative dates
	items int       // list items so far
	// rawFields says that a condition reads members of the file object
	// beyond those the emulator indexes (custom or embedded metadata).
	rawFields bool
	// typed says that a condition names the type field, so that the query
	// itself says whether folders and file versions are wanted.
	typed bool
}

// errf returns a *QueryError at the current token.
func (p *parser) errf(format string, args ...any) error {
	return &QueryError{Pos: p.tok.pos, Msg: fmt.Sprintf(format, args...)}
}

var keywords = []string{"AND", "OR", "NOT", "IN", "HAS", "EXISTS"}

func (p *parser) parseOr(depth int) (*node, error) {
	return p.parseChain(depth, "OR", opOr, p.parseAnd)
}

func (p *parser) parseAnd(depth int) (*node, error) {
	return p.parseChain(depth, "AND", opAnd, p.parsePrimary)
}

// parseChain parses operands joined by the keyword kw (AND binds tighter
// than OR because parseOr's operands are parseAnd's chains).
func (p *parser) parseChain(depth int, kw string, op nodeOp, operand func(int) (*node, error)) (*node, error) {
	first, err := operand(depth)
	if err != nil {
		return nil, err
	}
	kids := []*node{first}
	for {
		ok, err := p.keyword(kw)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		k, err := operand(depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &node{op: op, kids: kids}, nil
}

// parsePrimary parses a condition or a parenthesised group.
func (p *parser) parsePrimary(depth int) (*node, error) {
	switch p.tok.kind {
	case tLParen:
		if depth >= MaxQueryDepth {
			return nil, p.errf("parentheses nested more than %d deep", MaxQueryDepth)
		}
		open := p.tok.pos
		if err := p.next(); err != nil {
			return nil, err
		}
		n, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			if p.tok.kind == tEOF {
				return nil, &QueryError{Pos: open, Msg: "unclosed ("}
			}
			return nil, p.errf("unexpected %s; expected AND, OR or )", p.tok.describe())
		}
		return n, p.next()
	case tWord, tString:
		return p.parseCond()
	case tEOF:
		return nil, p.errf("query ends where a condition was expected")
	default:
		return nil, p.errf("unexpected %s where a condition was expected", p.tok.describe())
	}
}

// operator is a parsed comparison: one of = : < <= > >= IN HAS EXISTS, with
// not set for NOT =, NOT IN, NOT EXISTS.
type operator struct {
	name string
	not  bool
	pos  int
}

// String returns the operator as the query writes it.
func (o operator) String() string {
	if o.not {
		return "NOT " + o.name
	}
	return o.name
}

// parseCond parses one condition: a field, an operator and its values.
func (p *parser) parseCond() (*node, error) {
	ftok := p.tok
	if ftok.kind == tWord {
		for _, kw := range keywords {
			if strings.EqualFold(ftok.text, kw) {
				if kw == "NOT" {
					return nil, p.errf("NOT before a condition is not supported; use NOT =, NOT IN or NOT EXISTS after the field name")
				}
				return nil, p.errf("keyword %q where a field name was expected", ftok.text)
			}
		}
	}
	fd, err := p.lookupField(ftok)
	if err != nil {
		return nil, err
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	op, err := p.parseOperator(ftok.text)
	if err != nil {
		return nil, err
	}
	if !fd.allows(op) {
		return nil, &QueryError{Pos: op.pos, Msg: fmt.Sprintf("operator %s is not supported on field %s (supported: %s)", op, ftok.text, fd.opsList())}
	}
	if op.name == "EXISTS" {
		return fd.build(p, op, nil)
	}
	vals, err := p.parseValues(op)
	if err != nil {
		return nil, err
	}
	return fd.build(p, op, vals)
}

// parseOperator parses an operator, NOT = / NOT IN / NOT EXISTS included.
func (p *parser) parseOperator(field string) (operator, error) {
	op := operator{pos: p.tok.pos}
	if ok, err := p.keyword("NOT"); err != nil {
		return op, err
	} else if ok {
		op.not = true
		if err := p.next(); err != nil {
			return op, err
		}
	}
	switch p.tok.kind {
	case tOp:
		op.name = p.tok.text
		if op.not && op.name != "=" {
			return op, p.errf("operator NOT %s is not supported; after NOT use =, IN or EXISTS", op.name)
		}
		return op, p.next()
	case tWord:
		for _, kw := range []string{"IN", "HAS", "EXISTS"} {
			ok, err := p.keyword(kw)
			if err != nil {
				return op, err
			}
			if ok {
				op.name = kw
				if op.not && kw == "HAS" {
					return op, p.errf("operator NOT HAS is not supported")
				}
				return op, p.next()
			}
		}
	}
	if p.tok.kind == tEOF {
		return op, p.errf("query ends after field %s; expected an operator", field)
	}
	return op, p.errf("unexpected %s after field %s; expected an operator", p.tok.describe(), field)
}

// parseValues parses the value of op: a list in [ ] for IN, else one value.
func (p *parser) parseValues(op operator) ([]value, error) {
	if op.name == "IN" {
		if p.tok.kind != tLBrack {
			return nil, p.errf("operator %s needs a list in [ ], not %s", op, p.tok.describe())
		}
		open := p.tok.pos
		if err := p.next(); err != nil {
			return nil, err
		}
		var vals []value
		for {
			if p.tok.kind == tRBrack {
				if len(vals) == 0 {
					return nil, p.errf("empty list after %s", op)
				}
				return vals, p.next()
			}
			if len(vals) > 0 {
				if p.tok.kind != tComma {
					if p.tok.kind == tEOF {
						return nil, &QueryError{Pos: open, Msg: "unclosed ["}
					}
					return nil, p.errf("unexpected %s in a list; expected , or ]", p.tok.describe())
				}
				if err := p.next(); err != nil {
					return nil, err
				}
			}
			v, err := p.parseValue()
			if err != nil {
				return nil, err
			}
			p.items++
			if p.items > MaxQueryListItems {
				return nil, &QueryError{Pos: v.pos, Msg: fmt.Sprintf("more than %d list items in the query", MaxQueryListItems)}
			}
			vals = append(vals, v)
		}
	}
	if p.tok.kind == tLBrack {
		return nil, p.errf("operator %s takes a single value, not a list; use IN", op)
	}
	v, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	return []value{v}, nil
}

// parseValue parses a quoted string or a bare word.
func (p *parser) parseValue() (value, error) {
	switch p.tok.kind {
	case tString:
		v := value{text: p.tok.text, quoted: true, pos: p.tok.pos}
		return v, p.next()
	case tWord:
		for _, kw := range keywords {
			if strings.EqualFold(p.tok.text, kw) {
				return value{}, p.errf("keyword %q where a value was expected", p.tok.text)
			}
		}
		v := value{text: p.tok.text, pos: p.tok.pos}
		return v, p.next()
	case tEOF:
		return value{}, p.errf("query ends where a value was expected")
	default:
		return value{}, p.errf("unexpected %s where a value was expected", p.tok.describe())
	}
}
