package imagekittest

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// This file holds the searchQuery values: dates, numbers, sizes, durations,
// the words of HAS, and the values of metadata fields.

// value is one literal of a condition: a quoted string or a bare word.
type value struct {
	text   string
	quoted bool
	pos    int
}

// span is the interval a date value covers: [lo, hi).
type span struct{ lo, hi time.Time }

const day = 24 * time.Hour

// parseDate returns the interval a date value covers. A relative date is a
// single instant, or with equality the UTC day that holds it.
func parseDate(v value, now time.Time, equality bool) (span, error) {
	sp, ok, err := dateSpan(v.text, now, equality)
	if err != nil {
		return span{}, &QueryError{Pos: v.pos, Msg: err.Error()}
	}
	if !ok {
		return span{}, &QueryError{Pos: v.pos, Msg: fmt.Sprintf(`date %q is not supported; use "2020-01-01", "2020-01-01T12:12:12", RFC 3339 with a zone, or a relative date like "7d" (h, d, w, m, y)`, v.text)}
	}
	return sp, nil
}

// dateSpan reads a date: ok is false when s is not one, err says why a
// relative date is refused.
func dateSpan(s string, now time.Time, equality bool) (span, bool, error) {
	if n, unit, ok := relativeDate(s); ok {
		if n > 10000 {
			return span{}, false, fmt.Errorf("relative date %q is too far in the past", s)
		}
		var t time.Time
		switch unit {
		case 'h':
			t = now.Add(-time.Duration(n) * time.Hour)
		case 'd':
			t = now.AddDate(0, 0, -n)
		case 'w':
			t = now.AddDate(0, 0, -7*n)
		case 'm':
			t = now.AddDate(0, -n, 0)
		case 'y':
			t = now.AddDate(-n, 0, 0)
		}
		if equality {
			d := t.UTC().Truncate(day)
			return span{d, d.Add(day)}, true, nil
		}
		return span{t, t.Add(time.Nanosecond)}, true, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return span{t, t.Add(day)}, true, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Nanosecond() == 0 && !strings.Contains(s, ".") {
				return span{t, t.Add(time.Second)}, true, nil
			}
			return span{t, t.Add(time.Nanosecond)}, true, nil
		}
	}
	return span{}, false, nil
}

// relativeDate splits "7d" into 7 and 'd'.
func relativeDate(s string) (int, byte, bool) {
	if len(s) < 2 || len(s) > 8 {
		return 0, 0, false
	}
	unit := s[len(s)-1]
	switch unit {
	case 'h', 'd', 'w', 'm', 'y':
	default:
		return 0, 0, false
	}
	n := 0
	for _, c := range []byte(s[:len(s)-1]) {
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, unit, true
}

// decimal parses a plain decimal number: digits with an optional sign and
// fraction, nothing else.
func decimal(s string) (float64, bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits, dot := 0, false
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}

// parseNumber reads a number, quoted or not.
func parseNumber(v value) (float64, bool) { return decimal(v.text) }

// withUnit reads a number followed by one of the units (case-insensitive,
// spaces allowed between), or a number alone times plain.
func withUnit(s string, plain float64, units []unit) (float64, bool) {
	lower := strings.ToLower(s)
	for _, u := range units {
		if num, ok := strings.CutSuffix(lower, u.suffix); ok {
			x, ok := decimal(strings.TrimSpace(num))
			return x * u.mult, ok
		}
	}
	x, ok := decimal(s)
	return x * plain, ok
}

type unit struct {
	suffix string
	mult   float64
}

// Longer suffixes first: "kb" before "b", "min" before "m".
var (
	sizeUnits     = []unit{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"b", 1}}
	durationUnits = []unit{{"sec", 1}, {"min", 60}, {"hr", 3600}, {"s", 1}, {"m", 60}, {"h", 3600}}
)

// parseSize reads a size in bytes: 2048, "2kb", "1.5mb".
func parseSize(v value) (float64, bool) { return withUnit(v.text, 1, sizeUnits) }

// parseDuration reads a duration in seconds: 90, "30sec", "1.5min", "2hr".
func parseDuration(v value) (float64, bool) { return withUnit(v.text, 1, durationUnits) }

// words cuts s into lower-case words at every character that is neither a
// letter nor a digit.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// hasWords reports whether s holds every word of want, the last one as a
// prefix of a word of s: the HAS operator.
func hasWords(s string, want []string) bool {
	got := words(s)
	for i, w := range want {
		last := i == len(want)-1
		found := false
		for _, g := range got {
			if g == w || last && strings.HasPrefix(g, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// metaTest returns the test a condition on a metadata field applies to
// each JSON value (or list item) the field holds.
func metaTest(name string, op operator, vals []value, now time.Time) (func([]byte) bool, error) {
	switch op.name {
	case "HAS":
		want, err := hasQuery(name, vals[0])
		if err != nil {
			return nil, err
		}
		return func(v []byte) bool {
			s, ok := jsonString(v)
			return ok && hasWords(s, want)
		}, nil
	case ":":
		if !vals[0].quoted {
			return nil, &QueryError{Pos: vals[0].pos, Msg: fmt.Sprintf("value %s for field %s must be a string in double quotes", vals[0].text, name)}
		}
		prefix := vals[0].text
		return func(v []byte) bool {
			s, ok := jsonString(v)
			return ok && strings.HasPrefix(s, prefix)
		}, nil
	case "<", "<=", ">", ">=":
		v := vals[0]
		if x, ok := exactNumber(v.text); ok && !v.quoted {
			return func(got []byte) bool {
				y, ok := exactNumber(string(got))
				return ok && compareOp(op.name, y.Cmp(x))
			}, nil
		}
		sp, ok, err := dateSpan(v.text, now, false)
		if err != nil {
			return nil, &QueryError{Pos: v.pos, Msg: err.Error()}
		}
		if !ok || !v.quoted {
			return nil, &QueryError{Pos: v.pos, Msg: fmt.Sprintf("value %s for operator %s on field %s must be a bare number or a quoted date", v.text, op.name, name)}
		}
		test := spanPred(op.name, []span{sp})
		return func(got []byte) bool {
			t, ok := metaDate(got)
			return ok && test(t)
		}, nil
	}
	// = and IN.
	want := make([]metaValue, len(vals))
	for i, v := range vals {
		mv, err := parseMetaValue(name, v)
		if err != nil {
			return nil, err
		}
		want[i] = mv
	}
	return func(got []byte) bool {
		for _, w := range want {
			if w.equal(got) {
				return true
			}
		}
		return false
	}, nil
}

// compareOp reports whether a comparison result c satisfies op.
func compareOp(op string, c int) bool {
	switch op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	default:
		return c >= 0
	}
}

// metaValue is a literal compared with a metadata value: a string, a
// number (compared exactly, so 12345678901234567890 is not ...67000) or a
// boolean.
type metaValue struct {
	s   string
	num *big.Rat
	b   string // "true" or "false"
}

func parseMetaValue(name string, v value) (metaValue, error) {
	if v.quoted {
		return metaValue{s: v.text}, nil
	}
	if v.text == "true" || v.text == "false" {
		return metaValue{b: v.text}, nil
	}
	x, ok := exactNumber(v.text)
	if !ok {
		return metaValue{}, &QueryError{Pos: v.pos, Msg: fmt.Sprintf("value %s for field %s is not a quoted string, a number or a boolean", v.text, name)}
	}
	return metaValue{num: x}, nil
}

// equal reports whether the JSON value got equals the literal.
func (w metaValue) equal(got []byte) bool {
	switch {
	case w.num != nil:
		y, ok := exactNumber(string(got))
		return ok && y.Cmp(w.num) == 0
	case w.b != "":
		return string(got) == w.b
	default:
		s, ok := jsonString(got)
		return ok && s == w.s
	}
}

// exactNumber parses a number in JSON's syntax (or with a leading +)
// exactly. It refuses anything else, JSON strings included.
func exactNumber(s string) (*big.Rat, bool) {
	t := strings.TrimPrefix(s, "+")
	if t == "" || len(t) > 400 {
		return nil, false
	}
	b := append([]byte(t), ' ')
	if end, err := skipNumber(b, 0); err != nil || end != len(t) {
		return nil, false
	}
	x, ok := new(big.Rat).SetString(t)
	return x, ok
}

// jsonString returns the JSON string v decoded.
func jsonString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	return unquote(v)
}

// metaDate reads a date held in metadata: RFC 3339, a date alone, or EXIF's
// "2006:01:02 15:04:05".
func metaDate(v []byte) (time.Time, bool) {
	s, ok := jsonString(v)
	if !ok {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", time.DateOnly, "2006:01:02 15:04:05", time.DateTime} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
