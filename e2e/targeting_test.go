package e2e

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/reconcile"
)

// The end-to-end tests of allowlists (allowedTags) and of rule targeting
// (--rule), issue 14: the binary against the emulator, judged by the oracle.

var (
	allowlistManifest = filepath.Join(testdataDir, "allowlist.yaml")
	targetingManifest = filepath.Join(testdataDir, "targeting.yaml")
)

// shopLibrary is a small library for the allowlist of allowlist.yaml: files
// under /shop/ with tags inside and outside its vocabulary, files elsewhere
// with the same tags, and a file whose AITag has the name of a forbidden tag.
func shopLibrary() []imagekittest.File {
	f := func(id, p string, tags ...string) imagekittest.File {
		return imagekittest.File{FileID: id, Type: "file", Name: filepath.Base(p), FilePath: p, Tags: tags}
	}
	withAI := f("s6", "/shop/6.jpg", "brand-acme")
	withAI.AITags = []imagekittest.AITag{{Name: "sale", Confidence: 91, Source: "google-auto-tagging"}}
	return []imagekittest.File{
		f("s1", "/shop/shoes/1.jpg", "brand-acme", "color-red", "sale", "Color-Blue"),
		f("s2", "/shop/shoes/2.jpg", "brand-legacy", "color-blue"),
		f("s3", "/shop/bags/3.jpg", "brand-acme", "color-green"),
		f("s4", "/shop/bags/4.jpg", "draft", "brand-legacy", "summer"),
		f("s5", "/shop/5.jpg"),
		withAI,
		f("b1", "/blog/1.jpg", "sale", "draft", "brand-legacy"),
		f("o1", "/shop-old/1.jpg", "sale", "brand-legacy"),
	}
}

// TestAllowlistWithAGlobAndAnException runs an allowlist of globs with a
// forbiddenTags exception through validate, plan (text and JSON), a
// --max-changes refusal, apply and its reports, against the oracle.
func TestAllowlistWithAGlobAndAnException(t *testing.T) {
	t.Parallel()
	files := shopLibrary()
	srv := emulator(t, files)
	want := desiredState(t, []string{allowlistManifest}, files)
	require.Equal(t, []string{"brand-acme", "color-red"}, want["s1"], "the oracle keeps what the allowlist names")
	require.Equal(t, []string{"color-blue"}, want["s2"], "and drops the exception")

	t.Run("validate warns", func(t *testing.T) {
		r := tagprune(t, cmd{args: []string{"validate", "-f", allowlistManifest}})
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Contains(t, r.stderr, allowlistManifest+`:3:5: warning: rule "shop-vocabulary" is an allowlist`)
		assert.Contains(t, r.stderr, "--max-changes")
		assert.NotContains(t, r.stderr, "retire-blog-drafts", "a denylist gets no warning")
		assert.Contains(t, r.stdout, "Manifest OK: 2 rules")

		r = tagprune(t, cmd{args: []string{"validate", "-f", allowlistManifest, "--format", "github"}})
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Contains(t, r.stdout, ",line=3,col=5::rule \"shop-vocabulary\" is an allowlist")
		assert.True(t, strings.HasPrefix(r.stdout, "::warning file="), r.stdout)
	})

	r := tagprune(t, cmd{args: []string{"plan", "-f", allowlistManifest}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Rule shop-vocabulary (In /shop/ only brand and color tags may stay, and never the legacy brand.): would remove tags from 3 files\n"+
		"  allowlist: would remove 5 distinct tags: brand-legacy (2 files), Color-Blue (1 file), draft (1 file), sale (1 file), summer (1 file)\n")
	for _, q := range listQueries(t, emulatorRequests(t, srv)) {
		if strings.Contains(q, `"/shop/"`) {
			assert.NotContains(t, q, "tags IN", "an allowlist may forbid any tag: its listing cannot name them")
		}
	}
	assert.True(t, slices.ContainsFunc(listQueries(t, emulatorRequests(t, srv)), func(q string) bool {
		return strings.Contains(q, `path : "/shop/"`) && strings.Contains(q, "tags EXISTS")
	}), "the allowlist's folder is listed with tags EXISTS: %q", listQueries(t, emulatorRequests(t, srv)))

	r = tagprune(t, cmd{args: []string{"plan", "-f", allowlistManifest, "--format", "json"}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stderr)
	var plan reconcile.Plan
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &plan))
	assert.Equal(t, []reconcile.AllowlistSummary{{Rule: "shop-vocabulary", Files: 3, Tags: 6, DistinctTags: 5,
		MostFrequent: []reconcile.TagCount{{Tag: "brand-legacy", Files: 2}, {Tag: "Color-Blue", Files: 1}, {Tag: "draft", Files: 1}, {Tag: "sale", Files: 1}, {Tag: "summer", Files: 1}}}},
		plan.Allowlists)
	planned := map[string][]string{}
	for _, c := range plan.Changes {
		planned[c.FileID] = c.RemoveTags
	}
	for _, f := range files {
		var lose []string
		for _, tag := range f.Tags {
			if !slices.Contains(want[f.FileID], tag) {
				lose = append(lose, tag)
			}
		}
		slices.Sort(lose)
		assert.Equal(t, lose, planned[f.FileID], "the plan's removals for %s are the oracle's", f.FileID)
	}
	require.Zero(t, emulatorStats(t, srv).Requests.RemoveTags, "plan changes nothing")

	dir := t.TempDir()
	r = tagprune(t, cmd{args: []string{"apply", "-f", allowlistManifest, "--auto-approve", "--max-changes", "3", "--report", filepath.Join(dir, "refused.json")}, env: apiEnv(srv)})
	require.Equal(t, exitError, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stderr, "more than --max-changes 3")
	require.Zero(t, emulatorStats(t, srv).Requests.RemoveTags, "a refused apply sends nothing")

	reports := []string{filepath.Join(dir, "r.json"), filepath.Join(dir, "r.md"), filepath.Join(dir, "r.xml")}
	r = tagprune(t, cmd{args: []string{"apply", "-f", allowlistManifest, "--auto-approve", "--max-changes", "4",
		"--report", reports[0], "--report", reports[1], "--report", reports[2]}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
	after := srv.Handler().Files()
	requireState(t, files, after, want)
	requireCallsForbiddenBy(t, newOracle(t, []string{allowlistManifest}), files, emulatorRequests(t, srv))

	rep := readReport(t, reports[0])
	byRule := map[string][]string{}
	for _, f := range rep.Files {
		require.Equal(t, reconcile.StatusChanged, f.Status)
		for _, name := range f.Rules {
			byRule[name] = append(byRule[name], f.FileID)
		}
	}
	assert.ElementsMatch(t, []string{"s1", "s2", "s4"}, byRule["shop-vocabulary"], "the report says which rule removed what")
	assert.ElementsMatch(t, []string{"b1"}, byRule["retire-blog-drafts"])
	md, err := os.ReadFile(reports[1])
	require.NoError(t, err)
	assert.Contains(t, string(md), "| /shop/shoes/1.jpg | Color-Blue, sale | shop-vocabulary |")
	raw, err := os.ReadFile(reports[2])
	require.NoError(t, err)
	var suites reconcile.JUnitSuites
	require.NoError(t, xml.Unmarshal(raw, &suites))
	require.Len(t, suites.Suites, 1)
	var names []string
	for _, c := range suites.Suites[0].Cases {
		names = append(names, c.Name)
		if c.Name == "shop-vocabulary" {
			assert.Equal(t, "3 files changed, 0 missing, 0 not converged", c.SystemOut)
		}
	}
	assert.Equal(t, []string{"shop-vocabulary", "retire-blog-drafts"}, names)

	r = tagprune(t, cmd{args: []string{"plan", "-f", allowlistManifest, "--detailed-exitcode"}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
	assert.Equal(t, reconcile.NoChangesText+"\n", r.stdout)
}

// TestRuleWithATypo checks that a --rule NAME that selects no rule is exit
// 1 with the closest names, and that nothing at all is sent.
func TestRuleWithATypo(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"plan", "-f", targetingManifest, "--rule", "retire-2023-campaigns", "--rule", "relase-legal-hold"},
		{"plan", "-f", targetingManifest, "--rule", "relase-legal-hold", "--out", "plan.json"},
		{"apply", "-f", targetingManifest, "--rule", "relase-legal-hold", "--auto-approve", "--report", "r.json"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			files := exampleLibrary(t)
			srv := emulator(t, files)
			dir := t.TempDir()
			r := tagprune(t, cmd{args: args, env: apiEnv(srv), dir: dir})
			require.Equal(t, exitError, r.code, r.stdout+r.stderr)
			assert.Contains(t, r.stderr, `--rule "relase-legal-hold" matches no rule (did you mean "release-legal-hold"?)`)
			assert.Contains(t, r.stderr, "nothing was read or changed")
			assert.Equal(t, imagekittest.Stats{}, emulatorStats(t, srv), "not one request")
			assert.Empty(t, emulatorRequests(t, srv))
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			if args[0] == "plan" {
				assert.Empty(t, r.stdout)
				assert.Empty(t, entries, "no plan is written")
				return
			}
			// Every apply writes its report, this one too: it says why
			// nothing was done, and lists no file.
			assert.Contains(t, r.stdout, "Apply failed before any change: nothing was changed")
			require.Len(t, entries, 1)
			rep := readReport(t, filepath.Join(dir, "r.json"))
			assert.Contains(t, rep.Error, `--rule "relase-legal-hold" matches no rule`)
			assert.Empty(t, rep.Files)
		})
	}
	t.Run("nothing close lists the rules", func(t *testing.T) {
		t.Parallel()
		srv := emulator(t, exampleLibrary(t))
		r := tagprune(t, cmd{args: []string{"plan", "-f", targetingManifest, "--rule", "deploy-*"}, env: apiEnv(srv)})
		require.Equal(t, exitError, r.code, r.stdout+r.stderr)
		assert.Contains(t, r.stderr, `--rule "deploy-*" matches no rule; the 3 rules are "retire-2022-campaigns", "retire-2023-campaigns", "release-legal-hold"`)
		assert.Equal(t, imagekittest.Stats{}, emulatorStats(t, srv))
	})
}

// TestRuleGlobSelectsTwoOfThree plans and applies with a glob that selects
// two of the three rules: only what those two forbid is removed.
func TestRuleGlobSelectsTwoOfThree(t *testing.T) {
	t.Parallel()
	files := exampleLibrary(t)
	srv := emulator(t, files)
	all := newOracle(t, []string{targetingManifest})
	selected := all.only(t, "retire-*")
	require.Len(t, selected, 2)
	want := selected.desired(files)
	require.NotEqual(t, want, all.desired(files), "the rule left out must have something to remove")

	r := tagprune(t, cmd{args: []string{"plan", "-f", targetingManifest, "--rule", "retire-*"}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "\nRule filter --rule \"retire-*\": 2 of 3 rules evaluated, 1 left out: release-legal-hold.\nPlan: ")
	assert.NotContains(t, r.stdout, "Rule release-legal-hold")
	assert.NotContains(t, r.stdout, "legal-hold\n")

	r = tagprune(t, cmd{args: []string{"plan", "-f", targetingManifest, "--rule", "retire-*", "--format", "markdown"}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "\n> **Rule filter --rule \"retire-\\*\":** 2 of 3 rules evaluated, 1 left out: release-legal-hold.\n")

	r = tagprune(t, cmd{args: []string{"plan", "-f", targetingManifest, "--rule", "retire-*", "--format", "json"}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stderr)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc))
	assert.Equal(t, []any{"retire-*"}, doc["ruleFilter"], "the plan records the NAMEs as given")
	assert.Equal(t, []any{"release-legal-hold"}, doc["rulesLeftOut"])
	var plan reconcile.Plan
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &plan))
	var names []string
	for _, rule := range plan.Rules {
		names = append(names, rule.Name)
	}
	assert.Equal(t, []string{"retire-2022-campaigns", "retire-2023-campaigns"}, names, "the plan holds the rules it evaluated")
	assert.Equal(t, reconcile.RulesDigest(plan.Rules), plan.RulesDigest)
	assert.ElementsMatch(t, changedIDsOf(files, want), planIDs(&plan))
	require.Zero(t, emulatorStats(t, srv).Requests.RemoveTags)

	report := filepath.Join(t.TempDir(), "r.json")
	r = tagprune(t, cmd{args: []string{"apply", "-f", targetingManifest, "--rule", "retire-*", "--auto-approve", "--report", report}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "Rule filter --rule \"retire-*\": 2 of 3 rules evaluated, 1 left out: release-legal-hold.")
	requireState(t, files, srv.Handler().Files(), want)
	requireCallsForbiddenBy(t, selected, files, emulatorRequests(t, srv))
	rep := readReport(t, report)
	assert.Equal(t, []string{"retire-*"}, rep.RuleFilter)
	assert.Equal(t, []string{"release-legal-hold"}, rep.RulesLeftOut)

	// Without the filter, what is left is exactly what the rule left out forbids.
	r = tagprune(t, cmd{args: []string{"plan", "-f", targetingManifest, "--detailed-exitcode", "--format", "json"}, env: apiEnv(srv)})
	require.Equal(t, exitChanges, r.code, r.stderr)
	var rest reconcile.Plan
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rest))
	for _, c := range rest.Changes {
		assert.Equal(t, []string{"release-legal-hold"}, c.Rules, "file %s", c.FilePath)
	}
	assert.ElementsMatch(t, changedIDsOf(srv.Handler().Files(), all.desired(srv.Handler().Files())), planIDs(&rest))
}

// TestSavedPlanWithARule saves a plan made with --rule and applies it:
// apply PLANFILE applies what the plan holds, refuses --rule, and checks
// freshness against the plan's own rules only.
func TestSavedPlanWithARule(t *testing.T) {
	t.Parallel()
	files := exampleLibrary(t)
	srv := emulator(t, files)
	all := newOracle(t, []string{targetingManifest})
	planFile := filepath.Join(t.TempDir(), "plan.json")
	r := tagprune(t, cmd{args: []string{"plan", "-f", targetingManifest, "--rule", "retire-2023-campaigns", "--out", planFile}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "tagprune apply "+planFile)
	plan, err := reconcile.ReadPlan(planFile)
	require.NoError(t, err)
	assert.Equal(t, []string{"retire-2023-campaigns"}, plan.RuleFilter)
	require.NotEmpty(t, plan.Changes)

	r = tagprune(t, cmd{args: []string{"apply", planFile, "--rule", "release-legal-hold"}, env: apiEnv(srv)})
	require.Equal(t, exitError, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stderr, "--rule does not apply to a saved plan")
	require.Zero(t, emulatorStats(t, srv).Requests.RemoveTags)

	// A tag that only a rule left out forbids, added to a planned file, is
	// no part of this plan: the plan is still current, and the tag stays.
	target := plan.Changes[0]
	require.True(t, strings.HasPrefix(target.FilePath, "/marketing/"), target.FilePath)
	callAPI(t, srv, http.MethodPost, "/v1/files/addTags", map[string]any{"fileIds": []string{target.FileID}, "tags": []string{"campaign-2022-late"}}, http.StatusOK)
	edited := srv.Handler().Files()

	report := filepath.Join(t.TempDir(), "r.json")
	r = tagprune(t, cmd{args: []string{"apply", planFile, "--report", report}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stdout+r.stderr)
	requireState(t, edited, srv.Handler().Files(), all.only(t, "retire-2023-campaigns").desired(edited))
	requireCallsForbiddenBy(t, all.only(t, "retire-2023-campaigns"), edited, emulatorRequests(t, srv))
	rep := readReport(t, report)
	assert.Equal(t, []string{"retire-2023-campaigns"}, rep.RuleFilter)
	assert.Equal(t, []string{"retire-2022-campaigns", "release-legal-hold"}, rep.RulesLeftOut)
	assert.Len(t, rep.Files, len(plan.Changes))
	for _, f := range srv.Handler().Files() {
		if f.FileID == target.FileID {
			assert.Contains(t, f.Tags, "campaign-2022-late", "a rule left out removes nothing")
		}
	}

	// The same edit makes a plan of every rule stale.
	full := filepath.Join(t.TempDir(), "full.json")
	r = tagprune(t, cmd{args: []string{"plan", "-f", targetingManifest, "--out", full}, env: apiEnv(srv)})
	require.Equal(t, exitOK, r.code, r.stderr)
	fullPlan, err := reconcile.ReadPlan(full)
	require.NoError(t, err)
	var victim string
	for _, c := range fullPlan.Changes {
		if strings.HasPrefix(c.FilePath, "/marketing/") {
			victim = c.FileID
			break
		}
	}
	require.NotEmpty(t, victim)
	callAPI(t, srv, http.MethodPost, "/v1/files/addTags", map[string]any{"fileIds": []string{victim}, "tags": []string{"campaign-2023-late"}}, http.StatusOK)
	before := emulatorStats(t, srv).Requests.RemoveTags
	r = tagprune(t, cmd{args: []string{"apply", full, "--report", filepath.Join(t.TempDir(), "r2.json")}, env: apiEnv(srv)})
	require.Equal(t, exitStale, r.code, r.stdout+r.stderr)
	assert.Equal(t, before, emulatorStats(t, srv).Requests.RemoveTags)
}

// requireCallsForbiddenBy checks every removeTags call srv received against
// the oracle o (the rules the run was meant to evaluate): each tag is
// forbidden by o for each file of the call, as the file was before the run.
func requireCallsForbiddenBy(t *testing.T, o oracle, before []imagekittest.File, reqs []imagekittest.Request) {
	t.Helper()
	byID := make(map[string]*imagekittest.File, len(before))
	for i := range before {
		byID[before[i].FileID] = &before[i]
	}
	for i, b := range removeTagsBodies(t, reqs) {
		for _, id := range b.FileIDs {
			f := byID[id]
			require.NotNil(t, f, "call %d names file %s", i, id)
			for _, tag := range b.Tags {
				require.True(t, o.forbidden(f, tag), "call %d removes %q from %s, which the selected rules do not forbid", i, tag, f.FilePath)
			}
		}
	}
}

// changedIDsOf returns the ids of the files whose tags differ from want.
func changedIDsOf(files []imagekittest.File, want map[string][]string) []string {
	var ids []string
	for _, f := range files {
		if len(f.Tags) != len(want[f.FileID]) {
			ids = append(ids, f.FileID)
		}
	}
	return ids
}

// planIDs returns the ids of the files a plan changes.
func planIDs(p *reconcile.Plan) []string {
	var ids []string
	for _, c := range p.Changes {
		ids = append(ids, c.FileID)
	}
	return ids
}
