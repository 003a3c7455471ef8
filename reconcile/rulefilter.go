package reconcile

import (
	"strconv"
	"strings"

	"github.com/tagprune/tagprune/internal/english"
)

// NoChangesFilteredText is the line RenderText writes for a plan made with
// a rule filter that changes nothing: the rules left out were not looked
// at, so the library is only known to match the selected ones.
const NoChangesFilteredText = "No changes. The library matches the selected rules."

// leftOutShown is how many names of rules left out by a rule filter the
// text and markdown renderers list in the open; the rest are counted (and,
// in markdown, folded).
const leftOutShown = 10

// leftOutBytes bounds the folded list of rules left out in markdown, so
// that it cannot crowd the changes out of a pull-request comment.
const leftOutBytes = 4 << 10

// filterSentence returns the sentence that says a plan (or the run of one)
// was limited by a rule filter, in two parts: the filter itself (head), and
// how many rules were evaluated and which were left out, the first
// leftOutShown of them by name (tail). It returns "", "" when there is no
// filter. pattern formats an entry of the filter, name a rule name; seeAlso
// names the document that lists every rule left out.
func filterSentence(filter, leftOut []string, evaluated int, pattern, name func(string) string, seeAlso string) (head, tail string) {
	if len(filter) == 0 {
		return "", ""
	}
	flags := make([]string, len(filter))
	for i, f := range filter {
		flags[i] = "--rule " + pattern(f)
	}
	head = "Rule filter " + strings.Join(flags, " ")
	tail = english.Thousands(evaluated) + " of " + english.Plural(evaluated+len(leftOut), "rule", "rules") + " evaluated"
	if len(leftOut) == 0 {
		return head, tail + ", none left out."
	}
	shown := leftOut[:min(len(leftOut), leftOutShown)]
	names := make([]string, len(shown))
	for i, n := range shown {
		names[i] = name(n)
	}
	tail += ", " + english.Thousands(len(leftOut)) + " left out: " + strings.Join(names, ", ")
	if more := len(leftOut) - len(shown); more > 0 {
		tail += " and " + english.Thousands(more) + " more (" + seeAlso + " lists them all)"
	}
	return head, tail + "."
}

// textRuleFilter returns the line RenderText writes for a plan made with a
// rule filter, or "".
func textRuleFilter(p *Plan) string {
	head, tail := filterSentence(p.RuleFilter, p.RulesLeftOut, len(p.Rules), strconv.Quote, display, "rulesLeftOut in the JSON plan")
	if head == "" {
		return ""
	}
	return head + ": " + tail
}

// mdRuleFilter writes, for a plan or report made with a rule filter, a
// quoted line saying so, then, when more rules were left out than the line
// names, every name (up to leftOutBytes) in a collapsed <details> block.
func (d *mdDoc) mdRuleFilter(filter, leftOut []string, evaluated int, seeAlso string) {
	if len(filter) == 0 {
		return
	}
	pattern := func(s string) string { return `"` + mdCell(s) + `"` }
	head, tail := filterSentence(filter, leftOut, evaluated, pattern, mdCell, seeAlso)
	d.line("> **" + head + ":** " + tail)
	d.line("")
	if len(leftOut) <= leftOutShown {
		return
	}
	var b strings.Builder
	n := 0
	for _, name := range leftOut {
		c := mdCell(name)
		if n > 0 && b.Len()+len(c) > leftOutBytes {
			break
		}
		if n > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c)
		n++
	}
	if n < len(leftOut) {
		b.WriteString(" and " + english.Thousands(len(leftOut)-n) + " more")
	}
	d.line("<details><summary>" + english.Plural(len(leftOut), "rule", "rules") + " left out</summary>")
	d.line("")
	d.line(b.String())
	d.line("")
	d.line("</details>")
	d.line("")
}
