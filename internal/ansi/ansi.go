// Package ansi colours terminal text with ANSI escape sequences. Whether to
// colour at all (a terminal, NO_COLOR, --no-color) is the caller's decision.
package ansi

// Escape sequences.
const (
	Reset  = "\x1b[0m"
	Bold   = "\x1b[1m"
	Red    = "\x1b[31m"
	Green  = "\x1b[32m"
	Yellow = "\x1b[33m"
)

// Style returns s wrapped in code and Reset when on is set, and s unchanged
// otherwise, so that plain output holds no escape sequence at all.
func Style(on bool, code, s string) string {
	if !on {
		return s
	}
	return code + s + Reset
}
