package reconcile

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tagprune/tagprune/internal/english"
)

// JUnit names used by RenderJUnit.
const (
	JUnitSuiteName = "tagprune"
	JUnitClassName = "tagprune.rules"
)

// JUnitSuites is the <testsuites> document RenderJUnit writes. Its types
// are exported so that tests and tools can read the XML back.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr,omitempty"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is the one <testsuite> of a report.
type JUnitSuite struct {
	Name      string          `xml:"name,attr"`
	Tests     int             `xml:"tests,attr"`
	Failures  int             `xml:"failures,attr"`
	Errors    int             `xml:"errors,attr"`
	Skipped   int             `xml:"skipped,attr"`
	Time      string          `xml:"time,attr,omitempty"`
	Timestamp string          `xml:"timestamp,attr,omitempty"`
	Props     []JUnitProperty `xml:"properties>property"`
	Cases     []JUnitCase     `xml:"testcase"`
	SystemErr string          `xml:"system-err,omitempty"`
}

// JUnitProperty is a name and value recorded on the suite.
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitCase is the <testcase> of one rule.
type JUnitCase struct {
	ClassName string         `xml:"classname,attr"`
	Name      string         `xml:"name,attr"`
	Failures  []JUnitFailure `xml:"failure"`
	Skipped   *JUnitSkipped  `xml:"skipped"`
	SystemOut string         `xml:"system-out,omitempty"`
}

// JUnitSkipped marks the test case of a rule whose files a plan would
// change: a plan changes nothing, so it neither passes nor fails them.
type JUnitSkipped struct {
	Message string `xml:"message,attr"`
}

// JUnitFailure is one file of a rule that did not converge.
type JUnitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// RenderJUnit writes a report as JUnit XML for CI dashboards.
//
// The document holds one <testsuite name="tagprune"> with a <testcase> per
// rule of the report (classname "tagprune.rules", name the rule's name), in
// the order of r.Rules, followed by a test case for any rule named only by
// files. A file that did not converge gives a <failure> in the test case of
// each of its rules: type "failed" for a file the API would not change, and
// type "pending" for a file the run never reached, because a pending file
// still carries its forbidden tags and CI should not show it as passing.
// The report of a plan (command "plan") changes nothing: there, a rule with
// files to change is <skipped>, with a message saying how many, and counts
// in the skipped attributes.
// The body of a failure lists the file id, path, tags and error, and, when
// the run adds tags or removes AITags, those and what the API confirmed
// before the file failed or the run stopped ("added: red" on a rename whose
// old tag is still there). Changed
// and missing files (deleted files count as converged) pass, and each test
// case's <system-out> counts them. The tests and failures counts are counts
// of test cases: a rule with several failed files counts once. The run's
// error, if any, is in the suite's <system-err>. A run limited by a rule
// filter records it in the property "ruleFilter" (its entries, space
// separated), and each rule it left out is a <skipped> test case after the
// others. Text that XML cannot carry
// (control characters, invalid UTF-8) is written as visible escapes.
// RenderJUnit returns the first error from w.
func RenderJUnit(w io.Writer, r *Report) error {
	suite := JUnitSuite{Name: JUnitSuiteName, SystemErr: xmlText(r.Error)}
	if !r.StartedAt.IsZero() {
		suite.Timestamp = r.StartedAt.UTC().Format(time.RFC3339)
		if !r.FinishedAt.IsZero() {
			suite.Time = fmt.Sprintf("%.3f", r.FinishedAt.Sub(r.StartedAt).Seconds())
		}
	}
	suite.Props = []JUnitProperty{
		{Name: "command", Value: display(r.Command)},
		{Name: "tool", Value: display(r.Tool)},
		{Name: "interrupted", Value: fmt.Sprint(r.Interrupted)},
	}
	if len(r.RuleFilter) > 0 {
		pats := make([]string, len(r.RuleFilter))
		for i, f := range r.RuleFilter {
			pats[i] = display(f)
		}
		suite.Props = append(suite.Props, JUnitProperty{Name: "ruleFilter", Value: strings.Join(pats, " ")})
	}

	index := map[string]int{}
	isPlan := r.Command == "plan"
	type tally struct{ changed, missing, planned int }
	var tallies []tally
	addCase := func(name string) int {
		if i, ok := index[name]; ok {
			return i
		}
		index[name] = len(suite.Cases)
		suite.Cases = append(suite.Cases, JUnitCase{ClassName: JUnitClassName, Name: display(name)})
		tallies = append(tallies, tally{})
		return len(suite.Cases) - 1
	}
	for _, rule := range r.Rules {
		addCase(rule.Name)
	}
	for _, f := range r.Files {
		rules := f.Rules
		if len(rules) == 0 {
			rules = []string{unattributedRule}
		}
		for _, name := range rules {
			i := addCase(name)
			switch f.Status {
			case StatusChanged:
				tallies[i].changed++
			case StatusMissing:
				tallies[i].missing++
			case StatusPending:
				if isPlan {
					tallies[i].planned++
					continue
				}
				suite.Cases[i].Failures = append(suite.Cases[i].Failures, junitFailure(f))
			default:
				suite.Cases[i].Failures = append(suite.Cases[i].Failures, junitFailure(f))
			}
		}
	}
	ruleCases := len(suite.Cases)
	for _, name := range r.RulesLeftOut {
		if _, dup := index[name]; !dup {
			addCase(name)
		}
	}
	for i := range suite.Cases {
		c := &suite.Cases[i]
		if i >= ruleCases {
			c.Skipped = &JUnitSkipped{Message: "left out by the rule filter: not evaluated in this run"}
			suite.Skipped++
			continue
		}
		c.SystemOut = fmt.Sprintf("%s changed, %s missing, %s not converged",
			english.Plural(tallies[i].changed, "file", "files"), english.Thousands(tallies[i].missing), english.Thousands(len(c.Failures)))
		if len(c.Failures) > 0 {
			suite.Failures++
		} else if tallies[i].planned > 0 {
			c.Skipped = &JUnitSkipped{Message: "plan only: apply would remove tags from " + english.Plural(tallies[i].planned, "file", "files")}
			suite.Skipped++
		}
	}
	suite.Tests = len(suite.Cases)
	doc := JUnitSuites{Name: JUnitSuiteName, Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped,
		Time: suite.Time, Suites: []JUnitSuite{suite}}

	var b strings.Builder
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode junit report: %w", err)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// junitFailure describes a file that did not converge.
func junitFailure(f FileResult) JUnitFailure {
	typ := f.Status
	what := "not changed"
	switch f.Status {
	case StatusFailed:
		what = "could not be changed"
	case StatusPending:
		what = "was not reached"
		if len(f.AddedTags)+len(f.RemovedTags)+len(f.RemovedAITags) > 0 {
			what = "was not finished"
		}
	default:
		typ = "status " + display(f.Status)
	}
	msg := display(f.FilePath) + " " + what
	if f.Error != "" {
		msg += ": " + display(f.Error)
	}
	tags := make([]string, len(f.RemoveTags))
	for i, t := range f.RemoveTags {
		tags[i] = display(t)
	}
	body := "fileId: " + display(f.FileID) + "\n" +
		"path: " + display(f.FilePath) + "\n" +
		"tags: " + strings.Join(tags, ", ") + "\n"
	for _, l := range []struct {
		name string
		list []string
	}{
		{"add tags", f.AddTags}, {"AITags", f.RemoveAITags},
		{"added", f.AddedTags}, {"removed", f.RemovedTags}, {"AITags removed", f.RemovedAITags},
	} {
		if len(l.list) > 0 {
			shown := make([]string, len(l.list))
			for i, t := range l.list {
				shown[i] = display(t)
			}
			body += l.name + ": " + strings.Join(shown, ", ") + "\n"
		}
	}
	body += "status: " + display(f.Status) + "\n"
	if f.Error != "" {
		body += "error: " + xmlText(f.Error) + "\n"
	}
	return JUnitFailure{Message: msg, Type: typ, Body: body}
}

// xmlText returns s with invalid UTF-8 and the characters XML 1.0 cannot
// carry replaced by visible escapes; newlines and tabs are kept.
func xmlText(s string) string {
	ok := true
	for _, r := range s {
		if !xmlChar(r) || r == utf8.RuneError {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !xmlChar(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

// xmlChar reports whether r is in XML 1.0's Char production.
func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
