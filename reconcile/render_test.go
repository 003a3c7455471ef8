package reconcile_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/manifest"
	"github.com/tagprune/tagprune/reconcile"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name.golden, or rewrites the file when
// the test runs with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", path, diff)
	}
}

var (
	createdAt = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	finishAt  = createdAt.Add(83*time.Second + 250*time.Millisecond)
)

// smallRules are the rules of the small fixtures: "cleanup" overlaps
// "retire-sale-2019" on sale2019, and "unused" forbids nothing present.
func smallRules() []manifest.Rule {
	return []manifest.Rule{
		{Name: "retire-sale-2019", Description: "Sale ended in 2019", Paths: []string{"/products/"},
			ForbiddenTags: []string{"sale2019", "campaign-2023-*"}, Source: "manifest.yaml:3:5"},
		{Name: "cleanup", Paths: []string{"/"}, ForbiddenTags: []string{"draft", "sale*"}, Source: "manifest.yaml:9:5"},
		{Name: "unused", Paths: []string{"/"}, ForbiddenTags: []string{"obsolete"}, Source: "manifest.yaml:13:5"},
	}
}

func smallPlan() *reconcile.Plan {
	return &reconcile.Plan{
		FormatVersion: reconcile.FormatVersion,
		Tool:          "v1.2.3",
		CreatedAt:     createdAt,
		RulesDigest:   "sha256:0123",
		Rules:         smallRules(),
		Changes: []reconcile.Change{
			{FileID: "f1", FilePath: "/products/b.jpg", TagsBefore: []string{"sale2019", "campaign-2023-q1", "keep"},
				RemoveTags: []string{"campaign-2023-q1", "sale2019"}, Rules: []string{"cleanup", "retire-sale-2019"}},
			{FileID: "f2", FilePath: "/products/a.jpg", TagsBefore: []string{"draft", "blue"},
				RemoveTags: []string{"draft"}, Rules: []string{"cleanup"}},
			{FileID: "f3", FilePath: "/blog/x.png", TagsBefore: []string{"draft", "sales-team"},
				RemoveTags: []string{"draft", "sales-team"}, Rules: []string{"cleanup"}},
		},
		Batches: []reconcile.Batch{
			{FileIDs: []string{"f1"}, Tags: []string{"campaign-2023-q1", "sale2019"}},
			{FileIDs: []string{"f2", "f3"}, Tags: []string{"draft"}},
			{FileIDs: []string{"f3"}, Tags: []string{"sales-team"}},
		},
		Summary: reconcile.Summary{FilesScanned: 120, FilesToChange: 3, TagsToRemove: 5, RemoveTagsCalls: 3},
	}
}

// bigPlan returns a plan of n files under two rules, the same for every
// run: every file loses sale2019, every third one also campaign-2024-q<k>.
func bigPlan(n int) *reconcile.Plan {
	p := &reconcile.Plan{
		FormatVersion: reconcile.FormatVersion, Tool: "v1.2.3", CreatedAt: createdAt,
		Rules: []manifest.Rule{
			{Name: "retire-sale-2019", Description: "Sale ended in 2019", Paths: []string{"/"}, ForbiddenTags: []string{"sale2019"}},
			{Name: "campaigns", Paths: []string{"/"}, ForbiddenTags: []string{"campaign-*"}},
		},
	}
	sets := map[string][]string{}
	for i := range n {
		c := reconcile.Change{
			FileID:     fmt.Sprintf("id%06d", i),
			FilePath:   fmt.Sprintf("/library/folder-%03d/image-%06d.jpg", i%997, i),
			RemoveTags: []string{"sale2019"},
			Rules:      []string{"retire-sale-2019"},
		}
		if i%3 == 0 {
			c.RemoveTags = []string{fmt.Sprintf("campaign-2024-q%d", i%4+1), "sale2019"}
			c.Rules = []string{"campaigns", "retire-sale-2019"}
		}
		c.TagsBefore = append([]string{"keep"}, c.RemoveTags...)
		p.Changes = append(p.Changes, c)
		key := strings.Join(c.RemoveTags, "\x00")
		sets[key] = append(sets[key], c.FileID)
	}
	for key, ids := range sets {
		for len(ids) > 0 {
			k := min(50, len(ids))
			p.Batches = append(p.Batches, reconcile.Batch{FileIDs: ids[:k], Tags: strings.Split(key, "\x00")})
			ids = ids[k:]
		}
	}
	p.Summary = reconcile.Summary{FilesScanned: 2 * n, FilesToChange: n, RemoveTagsCalls: len(p.Batches)}
	return p
}

// hostilePlan carries names, paths and tags that try to break the output.
func hostilePlan() *reconcile.Plan {
	tags := []string{
		"a|b", "<script>alert(1)</script>", "line\nbreak", "bad\xff\xfeutf8", "\x1b[31mred", "@org/team",
		"`code`", "*bold*", "_em_", "[link](http://x)", "back\\slash|", "rtl\u202eevil", "nul\x00",
	}
	forbidden := append([]string{`\[link\](http://x)`, "\x1b\\[31mred"}, tags...)
	rule := manifest.Rule{Name: "evil|rule\n<b>", Description: "<img src=x onerror=alert(1)>|",
		Paths: []string{"/"}, ForbiddenTags: forbidden}
	p := &reconcile.Plan{FormatVersion: 1, CreatedAt: createdAt, Tool: "v<1>|", Rules: []manifest.Rule{rule}}
	for i, path := range []string{"/x|y/<i>.jpg", "/new\nline.jpg", "/ok.jpg", "/\xc3(.jpg"} {
		p.Changes = append(p.Changes, reconcile.Change{
			FileID: fmt.Sprintf("id|%d\n", i), FilePath: path, TagsBefore: tags, RemoveTags: tags, Rules: []string{rule.Name},
		})
	}
	p.Batches = []reconcile.Batch{{FileIDs: []string{"x"}, Tags: tags}}
	return p
}

func renderText(t *testing.T, p *reconcile.Plan, color bool) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, reconcile.RenderText(&b, p, color))
	return b.Bytes()
}

func renderMarkdown(t *testing.T, p *reconcile.Plan) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, reconcile.RenderMarkdown(&b, p))
	return b.Bytes()
}

func TestRenderTextGolden(t *testing.T) {
	tests := []struct {
		name  string
		plan  *reconcile.Plan
		color bool
	}{
		{"text", smallPlan(), false},
		{"text_color", smallPlan(), true},
		{"text_nochanges", &reconcile.Plan{FormatVersion: 1, Rules: smallRules()}, false},
		{"text_nochanges_color", &reconcile.Plan{FormatVersion: 1, Rules: smallRules()}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, tt.name, renderText(t, tt.plan, tt.color))
		})
	}
}

func TestRenderText(t *testing.T) {
	t.Run("NoChangesIsExactlyOneLine", func(t *testing.T) {
		got := renderText(t, &reconcile.Plan{Rules: smallRules()}, false)
		assert.Equal(t, "No changes. The library matches the manifest.\n", string(got))
	})
	t.Run("NoChangesIsGreenWithColor", func(t *testing.T) {
		got := renderText(t, &reconcile.Plan{}, true)
		assert.Equal(t, "\x1b[32mNo changes. The library matches the manifest.\x1b[0m\n", string(got))
	})
	t.Run("WithoutColorHasNoEscapeBytes", func(t *testing.T) {
		for _, p := range []*reconcile.Plan{smallPlan(), hostilePlan(), {}} {
			assert.NotContains(t, string(renderText(t, p, false)), "\x1b")
		}
	})
	t.Run("WithColorRemovedTagsAreRedAndHeadersBold", func(t *testing.T) {
		got := string(renderText(t, smallPlan(), true))
		assert.Contains(t, got, "    \x1b[31m- sale2019\x1b[0m\n")
		assert.Contains(t, got, "\x1b[1mRule cleanup: would remove tags from 3 files\x1b[0m\n")
	})
	t.Run("TagForbiddenBySeveralRulesShowsUnderEach", func(t *testing.T) {
		got := string(renderText(t, smallPlan(), false))
		assert.Equal(t, 2, strings.Count(got, "    - sale2019\n"), got)
		assert.Contains(t, got, "Plan: 3 files to change, 5 tags to remove, 3 removeTags calls.\n")
	})
	t.Run("RulesWithoutChangesAreLeftOut", func(t *testing.T) {
		assert.NotContains(t, string(renderText(t, smallPlan(), false)), "unused")
	})
	t.Run("FilesAreSortedByPathWithinARule", func(t *testing.T) {
		got := string(renderText(t, smallPlan(), false))
		cleanup := got[strings.Index(got, "Rule cleanup"):]
		a, b, x := strings.Index(cleanup, "/products/a.jpg"), strings.Index(cleanup, "/products/b.jpg"), strings.Index(cleanup, "/blog/x.png")
		assert.True(t, x < a && a < b, "order of files under cleanup:\n%s", cleanup)
	})
	t.Run("UnattributedTagsAreStillShown", func(t *testing.T) {
		p := smallPlan()
		p.Changes[1].RemoveTags = []string{"draft", "precious"}
		got := string(renderText(t, p, false))
		assert.Contains(t, got, "Rule (not attributed to a rule of this plan): would remove tags from 1 file\n  /products/a.jpg\n    - precious\n")
	})
	t.Run("HostileTextIsQuoted", func(t *testing.T) {
		got := string(renderText(t, hostilePlan(), false))
		assert.Contains(t, got, `    - "line\nbreak"`+"\n")
		assert.Contains(t, got, `    - "bad\xff\xfeutf8"`+"\n")
		assert.Contains(t, got, `    - "\x1b[31mred"`+"\n")
		assert.Contains(t, got, `    - "rtl\u202eevil"`+"\n")
		assert.Contains(t, got, `  "/new\nline.jpg"`+"\n")
		assert.True(t, utf8.ValidString(got), "output is valid UTF-8")
		assert.Equal(t, 3+4+4*13, strings.Count(got, "\n"), "one line per header, file, tag, blank and summary")
	})
	t.Run("NeverSaysRemoved", func(t *testing.T) {
		for _, p := range []*reconcile.Plan{smallPlan(), {}} {
			got := strings.ToLower(string(renderText(t, p, false)))
			assert.NotContains(t, got, " removed")
		}
	})
}

func TestRenderTextSummaryLine(t *testing.T) {
	tests := []struct {
		name                 string
		files, tags, batches int
		want                 string
	}{
		{"Singular", 1, 1, 1, "Plan: 1 file to change, 1 tag to remove, 1 removeTags call."},
		{"Plural", 2, 3, 2, "Plan: 2 files to change, 6 tags to remove, 2 removeTags calls."},
		{"ThousandsSeparators", 1234, 1, 25, "Plan: 1,234 files to change, 1,234 tags to remove, 25 removeTags calls."},
		{"Millions", 1_000_000, 2, 20_000, "Plan: 1,000,000 files to change, 2,000,000 tags to remove, 20,000 removeTags calls."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &reconcile.Plan{Rules: []manifest.Rule{{Name: "r", ForbiddenTags: []string{"t*"}}}}
			tags := []string{"t1", "t2", "t3"}[:tt.tags]
			p.Changes = make([]reconcile.Change, tt.files)
			for i := range p.Changes {
				p.Changes[i] = reconcile.Change{FileID: fmt.Sprint(i), FilePath: fmt.Sprintf("/f%07d", i), RemoveTags: tags, Rules: []string{"r"}}
			}
			p.Batches = make([]reconcile.Batch, tt.batches)
			var b bytes.Buffer
			require.NoError(t, reconcile.RenderText(&b, p, false))
			lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			assert.Equal(t, tt.want, lines[len(lines)-1])
			assert.Empty(t, lines[len(lines)-2], "a blank line comes before the summary")
		})
	}
}

// checkTable asserts that every table row of md has as many unescaped
// pipes as its header, that is, no text broke out of its cell.
func checkTable(t *testing.T, md string) {
	t.Helper()
	want := -1
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			want = -1
			continue
		}
		n := 0
		for i := 0; i < len(line); i++ {
			switch line[i] {
			case '\\':
				i++
			case '|':
				n++
			}
		}
		if want < 0 {
			want = n
			continue
		}
		assert.Equal(t, want, n, "cells of row %q", line)
	}
}

func TestRenderMarkdownGolden(t *testing.T) {
	t.Run("SmallPlan", func(t *testing.T) {
		got := renderMarkdown(t, smallPlan())
		checkTable(t, string(got))
		golden(t, "markdown_small", got)
	})
	t.Run("NoChanges", func(t *testing.T) {
		golden(t, "markdown_nochanges", renderMarkdown(t, &reconcile.Plan{FormatVersion: 1, CreatedAt: createdAt, Rules: smallRules()}))
	})
	t.Run("FiftyThousandFilesFitAComment", func(t *testing.T) {
		got := renderMarkdown(t, bigPlan(50_000))
		md := string(got)
		assert.Less(t, len(got), reconcile.MarkdownLimit)
		assert.Less(t, utf8.RuneCount(got), reconcile.MarkdownLimit)
		assert.Contains(t, md, "**Plan: 50,000 files to change, 66,667 tags to remove, ")
		assert.Contains(t, md, "### retire-sale-2019")
		assert.Contains(t, md, "### campaigns")
		assert.Equal(t, 2, strings.Count(md, "<details><summary>"), "one collapsed block per rule")
		assert.Equal(t, strings.Count(md, "<details>"), strings.Count(md, "</details>"))
		assert.Contains(t, md, "more files not shown to keep this comment under GitHub's size limit; see the JSON plan")
		assert.Greater(t, len(got), reconcile.MarkdownLimit-2048, "the budget is used, not wasted")
		checkTable(t, md)
		golden(t, "markdown_50k", got)
	})
}

func TestRenderMarkdownStaysUnderTheLimit(t *testing.T) {
	manyRules := &reconcile.Plan{}
	for r := range 3000 {
		name := fmt.Sprintf("rule-%04d", r)
		manyRules.Rules = append(manyRules.Rules, manifest.Rule{Name: name, Description: strings.Repeat("d", 200), ForbiddenTags: []string{"t"}})
		for f := range 30 {
			manyRules.Changes = append(manyRules.Changes, reconcile.Change{
				FileID: fmt.Sprint(r, f), FilePath: fmt.Sprintf("/r%d/f%d.jpg", r, f), RemoveTags: []string{"t"}, Rules: []string{name}})
		}
	}
	long := strings.Repeat("<|>", 40_000)
	hugeCells := &reconcile.Plan{Rules: []manifest.Rule{{Name: long, Description: long, ForbiddenTags: []string{"*"}}}}
	for f := range 100 {
		var tags []string
		for i := range 500 {
			tags = append(tags, fmt.Sprintf("%s-%d", long[:300], i))
		}
		hugeCells.Changes = append(hugeCells.Changes, reconcile.Change{FileID: fmt.Sprint(f), FilePath: "/" + long, RemoveTags: tags, Rules: []string{long}})
	}
	tests := []struct {
		name string
		plan *reconcile.Plan
		want []string
	}{
		{"ThousandsOfRules", manyRules, []string{"more rules not shown", "more sections (", "see the JSON plan"}},
		{"HugeCells", hugeCells, []string{"… (", "more)"}},
		{"Hostile", hostilePlan(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := renderMarkdown(t, tt.plan)
			assert.Less(t, len(got), reconcile.MarkdownLimit)
			assert.True(t, utf8.Valid(got), "output is valid UTF-8")
			checkTable(t, string(got))
			for _, w := range tt.want {
				assert.Contains(t, string(got), w)
			}
		})
	}
}

func TestRenderMarkdownEscapesHostileText(t *testing.T) {
	md := string(renderMarkdown(t, hostilePlan()))
	for _, bad := range []string{"<script", "<img", "<b>", "<i>", "@org", "\x1b", "\x00", "\xff", "\u202e", "line\nbreak", "new\nline"} {
		assert.NotContains(t, md, bad)
	}
	for _, good := range []string{
		`&lt;script&gt;alert(1)&lt;/script&gt;`, `a\|b`, `"line\\nbreak"`, `"bad\\xff\\xfeutf8"`, `&#64;org/team`,
		"\\`code\\`", `\*bold\*`, `\_em\_`, `\[link\](http://x)`, `back\\slash\|`, `"nul\\x00"`,
	} {
		assert.Contains(t, md, good)
	}
	checkTable(t, md)
}

func smallReport() *reconcile.Report {
	return &reconcile.Report{
		FormatVersion: reconcile.FormatVersion,
		Command:       "apply",
		Tool:          "v1.2.3",
		StartedAt:     createdAt,
		FinishedAt:    finishAt,
		Error:         "removeTags failed for 2 files after 6 attempts",
		Rules:         smallRules(),
		Summary: reconcile.Summary{
			FilesScanned: 120, FilesToChange: 7, FilesChanged: 3, FilesFailed: 2, FilesMissing: 1, FilesPending: 1,
			TagsRemoved: 4, RemoveTagsCalls: 4, APICalls: reconcile.APICalls{List: 3, RemoveTags: 6}, Retries: 2, RateLimited: 1,
		},
		Files: []reconcile.FileResult{
			{FileID: "f1", FilePath: "/products/b.jpg", RemoveTags: []string{"campaign-2023-q1", "sale2019"},
				Rules: []string{"cleanup", "retire-sale-2019"}, Status: reconcile.StatusChanged},
			{FileID: "f2", FilePath: "/products/a.jpg", RemoveTags: []string{"draft"}, Rules: []string{"cleanup"}, Status: reconcile.StatusChanged},
			{FileID: "f3", FilePath: "/blog/x.png", RemoveTags: []string{"draft"}, Rules: []string{"cleanup"}, Status: reconcile.StatusChanged},
			{FileID: "f4", FilePath: "/products/c.jpg", RemoveTags: []string{"sale2019"}, Rules: []string{"cleanup", "retire-sale-2019"},
				Status: reconcile.StatusFailed, Error: "HTTP 500: internal error (6 attempts)"},
			{FileID: "f5", FilePath: "/blog/<y>.png", RemoveTags: []string{"draft|x"}, Rules: []string{"cleanup"},
				Status: reconcile.StatusFailed, Error: "HTTP 207: file is locked\nretry later"},
			{FileID: "f6", FilePath: "/products/gone.jpg", RemoveTags: []string{"sale2019"}, Rules: []string{"retire-sale-2019"}, Status: reconcile.StatusMissing},
			{FileID: "f7", FilePath: "/products/later.jpg", RemoveTags: []string{"sale2019"}, Rules: []string{"retire-sale-2019"}, Status: reconcile.StatusPending},
		},
	}
}

// planReport is the report of a plan run: every file is pending.
func planReport() *reconcile.Report {
	r := smallReport()
	r.Command, r.Error = "plan", ""
	r.Files = []reconcile.FileResult{r.Files[0], r.Files[1]}
	for i := range r.Files {
		r.Files[i].Status = reconcile.StatusPending
	}
	return r
}

func TestRenderReportMarkdown(t *testing.T) {
	t.Run("Golden", func(t *testing.T) {
		var b bytes.Buffer
		require.NoError(t, reconcile.RenderReportMarkdown(&b, smallReport()))
		md := b.String()
		checkTable(t, md)
		assert.Less(t, strings.Index(md, "### Failed"), strings.Index(md, "### Changed"), "failed files come first")
		assert.Contains(t, md, `| /blog/&lt;y&gt;.png | f5 | draft\|x | cleanup | "HTTP 207: file is locked\\nretry later" |`)
		assert.Contains(t, md, "| /products/b.jpg | campaign-2023-q1, sale2019 | cleanup, retire-sale-2019 |", "a row names the rules that removed its tags")
		golden(t, "report_markdown", b.Bytes())
	})
	t.Run("AllConverged", func(t *testing.T) {
		r := smallReport()
		r.Error = ""
		r.Files = r.Files[:3]
		var b bytes.Buffer
		require.NoError(t, reconcile.RenderReportMarkdown(&b, r))
		assert.Contains(t, b.String(), "**All 3 planned files converged.**")
		assert.NotContains(t, b.String(), "### Failed")
	})
	t.Run("PlanReportSaysNothingChanged", func(t *testing.T) {
		r := planReport()
		var b bytes.Buffer
		require.NoError(t, reconcile.RenderReportMarkdown(&b, r))
		md := b.String()
		assert.Contains(t, md, "**Nothing has been changed:** `tagprune apply` would remove tags from 2 files.")
		assert.Contains(t, md, "### Would change (2)")
		assert.NotContains(t, md, "not converged")
		assert.NotContains(t, md, "were removed")
		assert.NotRegexp(t, `(?i)\bremoved\b`, md, "a plan's words say what would be removed")
		checkTable(t, md)
	})
	t.Run("LargeReportFitsAComment", func(t *testing.T) {
		r := smallReport()
		r.Files = nil
		for i := range 60_000 {
			status := []string{reconcile.StatusChanged, reconcile.StatusFailed, reconcile.StatusPending}[i%3]
			r.Files = append(r.Files, reconcile.FileResult{FileID: fmt.Sprint(i), FilePath: fmt.Sprintf("/f/%06d.jpg", i),
				RemoveTags: []string{"sale2019"}, Rules: []string{"cleanup"}, Status: status, Error: "boom"})
		}
		var b bytes.Buffer
		require.NoError(t, reconcile.RenderReportMarkdown(&b, r))
		md := b.String()
		assert.Less(t, b.Len(), reconcile.MarkdownLimit)
		for _, s := range []string{"### Failed (20,000)", "### Pending (20,000)", "### Changed (20,000)", "see the JSON report"} {
			assert.Contains(t, md, s)
		}
		checkTable(t, md)
	})
}

func TestRenderJUnit(t *testing.T) {
	t.Run("GoldenAndValid", func(t *testing.T) {
		var b bytes.Buffer
		require.NoError(t, reconcile.RenderJUnit(&b, smallReport()))
		golden(t, "report_junit.xml", b.Bytes())

		var doc reconcile.JUnitSuites
		require.NoError(t, xml.Unmarshal(b.Bytes(), &doc))
		require.Len(t, doc.Suites, 1)
		s := doc.Suites[0]
		assert.Equal(t, "tagprune", s.Name)
		assert.Equal(t, 3, s.Tests)
		assert.Equal(t, 2, s.Failures, "cleanup and retire-sale-2019 have files that did not converge")
		assert.Equal(t, 3, doc.Tests)
		assert.Equal(t, 2, doc.Failures)
		assert.Equal(t, "83.250", s.Time)
		names := map[string][]string{}
		for _, c := range s.Cases {
			assert.Equal(t, "tagprune.rules", c.ClassName)
			for _, f := range c.Failures {
				names[c.Name] = append(names[c.Name], f.Type)
			}
		}
		assert.Equal(t, map[string][]string{
			"cleanup":          {"failed", "failed"},
			"retire-sale-2019": {"failed", "pending"},
		}, names)
		assert.Equal(t, "unused", s.Cases[2].Name)
		assert.Contains(t, s.Cases[1].Failures[0].Body, "fileId: f4\npath: /products/c.jpg\ntags: sale2019\n")
		assert.Contains(t, s.Cases[1].Failures[0].Body, "error: HTTP 500: internal error (6 attempts)\n")
	})
	t.Run("HostileTextStaysValidXML", func(t *testing.T) {
		p := hostilePlan()
		r := &reconcile.Report{Command: "apply\x00", Error: "bad \x01\xff", Rules: p.Rules}
		for _, c := range p.Changes {
			r.Files = append(r.Files, reconcile.FileResult{FileID: c.FileID, FilePath: c.FilePath, RemoveTags: c.RemoveTags,
				Rules: c.Rules, Status: reconcile.StatusFailed, Error: "x\x00<y>&\"z\xfe"})
		}
		var b bytes.Buffer
		require.NoError(t, reconcile.RenderJUnit(&b, r))
		assert.True(t, utf8.Valid(b.Bytes()))
		assert.NotContains(t, b.String(), "<script")
		var doc reconcile.JUnitSuites
		require.NoError(t, xml.Unmarshal(b.Bytes(), &doc), b.String())
		require.Len(t, doc.Suites[0].Cases, 1)
		c := doc.Suites[0].Cases[0]
		assert.Equal(t, `"evil|rule\n<b>"`, c.Name)
		require.Len(t, c.Failures, 4)
		assert.Contains(t, c.Failures[0].Body, `<script>alert(1)</script>`, "text survives the round trip, escaped")
		assert.Contains(t, c.Failures[0].Body, `error: x\u0000<y>&"z\xfe`)
		assert.Equal(t, `bad \u0001\xff`, doc.Suites[0].SystemErr)
	})
	t.Run("PlanReportSkipsRulesWithChanges", func(t *testing.T) {
		var b bytes.Buffer
		require.NoError(t, reconcile.RenderJUnit(&b, planReport()))
		var doc reconcile.JUnitSuites
		require.NoError(t, xml.Unmarshal(b.Bytes(), &doc))
		s := doc.Suites[0]
		assert.Equal(t, 0, s.Failures)
		assert.Equal(t, 2, s.Skipped)
		assert.Equal(t, 2, doc.Skipped)
		require.Len(t, s.Cases, 3)
		require.NotNil(t, s.Cases[0].Skipped)
		assert.Equal(t, "plan only: apply would remove tags from 1 file", s.Cases[0].Skipped.Message)
		assert.Nil(t, s.Cases[2].Skipped, "a rule without changes passes")
	})
	t.Run("FilesWithoutRulesGetTheirOwnCase", func(t *testing.T) {
		r := &reconcile.Report{Files: []reconcile.FileResult{{FileID: "a", FilePath: "/a", Status: reconcile.StatusPending}}}
		var b bytes.Buffer
		require.NoError(t, reconcile.RenderJUnit(&b, r))
		var doc reconcile.JUnitSuites
		require.NoError(t, xml.Unmarshal(b.Bytes(), &doc))
		assert.Equal(t, 1, doc.Suites[0].Failures)
		assert.Equal(t, "pending", doc.Suites[0].Cases[0].Failures[0].Type)
	})
}

func FuzzRenderMarkdown(f *testing.F) {
	for _, s := range []string{"plain", "a|b", "<script>", "x\ny", "\xff", "\\|", "`", "@team"} {
		f.Add(s, "/path/"+s)
	}
	f.Fuzz(func(t *testing.T, tag, path string) {
		p := &reconcile.Plan{
			Rules:   []manifest.Rule{{Name: tag, Description: path, ForbiddenTags: []string{"*"}}},
			Changes: []reconcile.Change{{FileID: tag, FilePath: path, RemoveTags: []string{tag, path}, Rules: []string{tag}}},
		}
		md := renderMarkdown(t, p)
		assert.True(t, utf8.Valid(md))
		assert.NotContains(t, string(md), "<", "a one-file plan has no HTML at all")
		checkTable(t, string(md))
		text := renderText(t, p, false)
		assert.NotContains(t, string(text), "\x1b")
		assert.True(t, utf8.Valid(text))
	})
}

func BenchmarkRenderMarkdown50k(b *testing.B) {
	p := bigPlan(50_000)
	for b.Loop() {
		if err := reconcile.RenderMarkdown(io.Discard, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderText50k(b *testing.B) {
	p := bigPlan(50_000)
	for b.Loop() {
		if err := reconcile.RenderText(io.Discard, p, false); err != nil {
			b.Fatal(err)
		}
	}
}

// allowlistPlan is a plan of an allowlist rule that removes seven distinct
// tags, some from several files, beside a denylist rule.
func allowlistPlan() *reconcile.Plan {
	p := &reconcile.Plan{
		FormatVersion: reconcile.FormatVersion, Tool: "v1.2.3", CreatedAt: createdAt,
		Rules: []manifest.Rule{
			{Name: "shop-vocabulary", Description: "Only the shop's vocabulary", Paths: []string{"/shop/"}, AllowedTags: []string{"red", "size-*"}, Source: "manifest.yaml:3:5"},
			{Name: "drafts", Paths: []string{"/"}, ForbiddenTags: []string{"draft"}, Source: "manifest.yaml:9:5"},
		},
	}
	add := func(id, path string, rules []string, tags ...string) {
		p.Changes = append(p.Changes, reconcile.Change{FileID: id, FilePath: path, TagsBefore: append([]string{"red"}, tags...), RemoveTags: tags, Rules: rules})
	}
	add("f1", "/shop/1.jpg", []string{"shop-vocabulary"}, "Red", "promo")
	add("f2", "/shop/2.jpg", []string{"drafts", "shop-vocabulary"}, "Red", "draft", "promo", "sale")
	add("f3", "/shop/3.jpg", []string{"shop-vocabulary"}, "Blue", "Red", "green", "xl")
	add("f4", "/blog/4.jpg", []string{"drafts"}, "draft")
	p.Batches = []reconcile.Batch{{FileIDs: []string{"f1", "f2", "f3", "f4"}, Tags: []string{"Blue", "Red", "draft", "green", "promo", "sale", "xl"}}}
	p.Summary = reconcile.Summary{FilesScanned: 10, FilesToChange: 4, TagsToRemove: 11, RemoveTagsCalls: 1}
	return p
}

func TestRenderAllowlistSummary(t *testing.T) {
	text := renderText(t, allowlistPlan(), false)
	golden(t, "text_allowlist", text)
	assert.Contains(t, string(text), "  allowlist: would remove 7 distinct tags, most often Red (3 files), promo (2 files), Blue (1 file), draft (1 file), green (1 file), …\n")
	assert.Equal(t, 1, strings.Count(string(text), "allowlist:"), "only the allowlist rule says so")
	md := renderMarkdown(t, allowlistPlan())
	golden(t, "markdown_allowlist", md)
	assert.Contains(t, string(md), "As an allowlist, it would remove 7 distinct tags, most often Red (3 files)")
}

// renamePlan renames Red to red (f2 has red already), removes sale and the
// AITag Person, and removes a tag that colors also renames elsewhere.
func renamePlan() *reconcile.Plan {
	rules := []manifest.Rule{
		{Name: "colors", Description: "One spelling per color", Paths: []string{"/shop/"},
			ReplaceTags: map[string]string{"Red": "red", "Blue": "blue"}, Source: "m.yaml:3:5"},
		{Name: "no-sale", Paths: []string{"/"}, ForbiddenTags: []string{"sale"}, Source: "m.yaml:8:5"},
		{Name: "no-people", Paths: []string{"/"}, ForbiddenAITags: []string{"Person", "Face*"}, Source: "m.yaml:11:5"},
	}
	return &reconcile.Plan{
		FormatVersion: reconcile.FormatVersion, Tool: "v1.2.3", CreatedAt: createdAt, RulesDigest: "sha256:0123", Rules: rules,
		Changes: []reconcile.Change{
			{FileID: "f1", FilePath: "/shop/1.jpg", TagsBefore: []string{"Red", "Blue", "sale"}, AITagsBefore: []string{"Person"},
				RemoveTags: []string{"Blue", "Red", "sale"}, Rules: []string{"colors", "no-people", "no-sale"},
				RemoveAITags: []string{"Person"}, AddTags: []string{"blue", "red"},
				Renames: []reconcile.Rename{{Old: "Blue", New: "blue", Rule: "colors"}, {Old: "Red", New: "red", Rule: "colors"}}},
			{FileID: "f2", FilePath: "/shop/2.jpg", TagsBefore: []string{"Red", "red"},
				RemoveTags: []string{"Red"}, Rules: []string{"colors"},
				Renames: []reconcile.Rename{{Old: "Red", New: "red", Rule: "colors"}}},
			{FileID: "f3", FilePath: "/blog/3.jpg", TagsBefore: []string{"keep"}, AITagsBefore: []string{"Face close-up", "Text"},
				RemoveTags: []string{}, Rules: []string{"no-people"}, RemoveAITags: []string{"Face close-up"}},
		},
		Batches: []reconcile.Batch{
			{Endpoint: reconcile.EndpointAddTags, FileIDs: []string{"f1"}, Tags: []string{"blue", "red"}},
			{Endpoint: reconcile.EndpointRemoveTags, FileIDs: []string{"f1"}, Tags: []string{"Blue", "Red", "sale"}},
			{Endpoint: reconcile.EndpointRemoveTags, FileIDs: []string{"f2"}, Tags: []string{"Red"}},
			{Endpoint: reconcile.EndpointRemoveAITags, FileIDs: []string{"f1"}, Tags: []string{"Person"}},
			{Endpoint: reconcile.EndpointRemoveAITags, FileIDs: []string{"f3"}, Tags: []string{"Face close-up"}},
		},
		Summary: reconcile.Summary{FilesScanned: 9, FilesToChange: 3, TagsToRemove: 4, TagsToAdd: 2, AITagsToRemove: 2,
			RemoveTagsCalls: 2, AddTagsCalls: 1, RemoveAITagsCalls: 2},
	}
}

// renameReport is the report of renamePlan's apply, interrupted once the
// additions and f2's removal were done: f1 has its new tags and its AITag
// removal, but not its removal.
func renameReport() *reconcile.Report {
	p := renamePlan()
	r := &reconcile.Report{FormatVersion: 1, Command: "apply", Tool: "v1.2.3", StartedAt: createdAt, FinishedAt: finishAt,
		Interrupted: true, Error: "apply interrupted with 1 of 3 files not confirmed (left pending): context canceled", Rules: p.Rules}
	for _, c := range p.Changes {
		r.Files = append(r.Files, reconcile.FileResult{FileID: c.FileID, FilePath: c.FilePath, RemoveTags: c.RemoveTags, Rules: c.Rules,
			Status: reconcile.StatusChanged, AddTags: c.AddTags, RemoveAITags: c.RemoveAITags, Renames: c.Renames,
			AddedTags: c.AddTags, RemovedTags: c.RemoveTags, RemovedAITags: c.RemoveAITags})
	}
	r.Files[0].Status, r.Files[0].RemovedTags = reconcile.StatusPending, nil
	r.Summary = reconcile.Summary{FilesScanned: 9, FilesToChange: 3, FilesChanged: 2, FilesPending: 1, TagsToRemove: 4, TagsRemoved: 1,
		TagsToAdd: 2, TagsAdded: 2, AITagsToRemove: 2, AITagsRemoved: 2, RemoveTagsCalls: 2, AddTagsCalls: 1, RemoveAITagsCalls: 2,
		APICalls: reconcile.APICalls{List: 2, RemoveTags: 1, AddTags: 1, RemoveAITags: 2}}
	return r
}

func TestRenderRenamesAndAITags(t *testing.T) {
	t.Run("Text", func(t *testing.T) {
		text := string(renderText(t, renamePlan(), false))
		golden(t, "text_renames", []byte(text))
		for _, want := range []string{
			"Rule colors (One spelling per color): would rename tags on 2 files\n",
			"    ~ Red → red\n", "    ~ Red → red (already there)\n",
			"Rule no-people: would remove AITags from 2 files\n", "    - Person (AITag)\n",
			"Plan: 3 files to change, 4 tags to remove, 2 tags to add, 2 AITags to remove, 2 removeTags calls, 1 addTags call, 2 removeAITags calls.\n",
		} {
			assert.Contains(t, text, want)
		}
		assert.NotContains(t, text, "    - Red\n", "a renamed tag shows as a rename")
		golden(t, "text_renames_color", renderText(t, renamePlan(), true))
	})
	t.Run("Markdown", func(t *testing.T) {
		md := string(renderMarkdown(t, renamePlan()))
		checkTable(t, md)
		golden(t, "markdown_renames", []byte(md))
		assert.Contains(t, md, "| Rule | Description | Files | Tags to remove | Renames | AITags to remove |")
		assert.Contains(t, md, "Would rename 3 tags on 2 files.")
		assert.Contains(t, md, "Would remove 2 AITags from 2 files.")
		assert.Contains(t, md, "| /shop/1.jpg | Blue → blue, Red → red |")
		assert.Contains(t, md, "| /shop/2.jpg | Red → red (already there) |")
	})
	t.Run("ReportOfAnInterruptedRename", func(t *testing.T) {
		var b bytes.Buffer
		require.NoError(t, reconcile.RenderReportMarkdown(&b, renameReport()))
		md := b.String()
		checkTable(t, md)
		golden(t, "report_markdown_renames", b.Bytes())
		assert.Contains(t, md, "| Changed | Failed | Missing | Pending | Tags removed | Tags added | AITags removed |")
		assert.Contains(t, md, "These files were not finished")
		assert.Contains(t, md, "| /shop/1.jpg | f1 | Blue, Red, sale | blue, red |  |", "the pending file shows its new tags, and its old ones not removed")
		assert.Contains(t, md, "1 addTags, 2 removeAITags")
	})
	t.Run("JUnit", func(t *testing.T) {
		var b bytes.Buffer
		require.NoError(t, reconcile.RenderJUnit(&b, renameReport()))
		golden(t, "report_junit_renames.xml", b.Bytes())
		var doc reconcile.JUnitSuites
		require.NoError(t, xml.Unmarshal(b.Bytes(), &doc))
		require.Equal(t, 3, doc.Failures, "each rule of the pending file has a failure")
		assert.Equal(t, "/shop/1.jpg was not finished", doc.Suites[0].Cases[0].Failures[0].Message)
		body := doc.Suites[0].Cases[0].Failures[0].Body
		assert.Contains(t, body, "add tags: blue, red\n")
		assert.Contains(t, body, "added: blue, red\n")
		assert.NotContains(t, body, "\nremoved:")
	})
}
