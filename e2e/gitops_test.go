package e2e

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/tagprune/tagprune/api/imagekittest"
	"github.com/tagprune/tagprune/reconcile"
)

// The end-to-end tests of the GitOps workflow: plan on a pull request, save
// the plan, apply exactly that plan on merge, and the CI outputs around it.

// TestSavedPlanConverges checks that plan --out then apply PLANFILE ends in
// the desired state, with a report that matches the emulator's record.
func TestSavedPlanConverges(t *testing.T) {
	t.Parallel()
	files := exampleLibrary(t)
	srv := emulator(t, files)
	planFile, plan := savePlan(t, srv, exampleManifest)
	planned := emulatorStats(t, srv)
	report := filepath.Join(t.TempDir(), "report.json")

	r := tagprune(t, cmd{args: []string{"apply", planFile, "--report", report}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	after := srv.Handler().Files()
	requireDesired(t, []string{exampleManifest}, files, after)

	stats := emulatorStats(t, srv)
	stats.Requests.List -= planned.Requests.List
	stats.Requests.Details -= planned.Requests.Details
	rep := readReport(t, report)
	requireReportMatchesEmulator(t, rep, stats, emulatorRequests(t, srv), files, after)
	assert.Len(t, rep.Files, len(plan.Changes))
	assert.Equal(t, len(plan.Batches), rep.Summary.APICalls.RemoveTags+rep.Summary.APICalls.AddTags+rep.Summary.APICalls.RemoveAITags,
		"a saved plan sends its own batches")

	r = tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest, "--detailed-exitcode"}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Equal(t, reconcile.NoChangesText+"\n", r.stdout)
}

// TestSavedPlanOverMaxChangesIsRefused checks that --max-changes caps a
// saved plan too: over the cap, apply PLANFILE refuses before any request,
// changes nothing and writes a report that says why; at the cap it applies.
func TestSavedPlanOverMaxChangesIsRefused(t *testing.T) {
	t.Parallel()
	files := exampleLibrary(t)
	srv := emulator(t, files)
	planFile, plan := savePlan(t, srv, exampleManifest)
	planned := emulatorStats(t, srv)
	report := filepath.Join(t.TempDir(), "report.json")
	under := strconv.Itoa(len(plan.Changes) - 1)

	r := tagprune(t, cmd{args: []string{"apply", planFile, "--max-changes", under, "--report", report}, env: apiEnv(srv)})
	require.Equal(t, exitError, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stderr, "more than --max-changes "+under)
	assert.Equal(t, planned, emulatorStats(t, srv), "not one request after the plan")
	requireState(t, files, srv.Handler().Files(), tagsByID(files))
	rep := readReport(t, report)
	assert.Contains(t, rep.Error, "more than --max-changes "+under)
	assert.Zero(t, rep.Summary.FilesChanged)

	r = tagprune(t, cmd{args: []string{"apply", planFile, "--max-changes", strconv.Itoa(len(plan.Changes)), "--report", report}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	requireDesired(t, []string{exampleManifest}, files, srv.Handler().Files())
}

// TestSavedPlanAfterLibraryChanges changes the library between plan and
// apply, through the API as a user would, and checks what apply PLANFILE
// does: refuse a stale plan (exit 4, nothing changed), report deleted files
// as missing, and leave alone files that entered the manifest's scope.
func TestSavedPlanAfterLibraryChanges(t *testing.T) {
	t.Parallel()
	t.Run("forbidden tag added to a planned file is stale", func(t *testing.T) {
		t.Parallel()
		files := exampleLibrary(t)
		srv := emulator(t, files)
		planFile, plan := savePlan(t, srv, exampleManifest)
		target := changeWithout(t, plan, "retire-spring-sale-2022", "sale")
		callAPI(t, srv, http.MethodPost, "/v1/files/addTags", map[string]any{"fileIds": []string{target.FileID}, "tags": []string{"sale"}}, http.StatusOK)
		edited := srv.Handler().Files()

		r := tagprune(t, cmd{args: []string{"apply", planFile, "--report", filepath.Join(t.TempDir(), "r.json")}, env: apiEnv(srv)})
		require.Equal(t, exitStale, r.code, r.stdout+r.stderr)
		assert.Contains(t, r.stderr, target.FileID)
		assert.Contains(t, r.stderr, "stale plan")
		assert.Zero(t, emulatorStats(t, srv).Requests.RemoveTags)
		assert.Equal(t, edited, srv.Handler().Files(), "a stale plan changes nothing")
	})

	t.Run("deleted planned file is missing", func(t *testing.T) {
		t.Parallel()
		files := exampleLibrary(t)
		srv := emulator(t, files)
		planFile, plan := savePlan(t, srv, exampleManifest)
		gone := plan.Changes[len(plan.Changes)/2].FileID
		callAPI(t, srv, http.MethodDelete, "/v1/files/"+gone, nil, http.StatusNoContent)
		report := filepath.Join(t.TempDir(), "report.json")

		r := tagprune(t, cmd{args: []string{"apply", planFile, "--report", report}, env: apiEnv(srv)})
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		var remaining []imagekittest.File
		for _, f := range files {
			if f.FileID != gone {
				remaining = append(remaining, f)
			}
		}
		requireDesired(t, []string{exampleManifest}, remaining, srv.Handler().Files())
		rep := readReport(t, report)
		assert.Equal(t, []string{gone}, reportIDs(rep, reconcile.StatusMissing))
		assert.Equal(t, 1, rep.Summary.FilesMissing)
		assert.Equal(t, len(plan.Changes)-1, rep.Summary.FilesChanged)
		assert.Contains(t, r.stdout, "1 missing")
	})

	t.Run("file that entered the scope after the plan is not touched", func(t *testing.T) {
		t.Parallel()
		files := exampleLibrary(t)
		srv := emulator(t, files)
		planFile, plan := savePlan(t, srv, exampleManifest)
		planned := map[string]bool{}
		for _, c := range plan.Changes {
			planned[c.FileID] = true
		}
		var newcomer string
		for _, f := range files {
			if strings.HasPrefix(f.FilePath, "/products/") && !planned[f.FileID] {
				newcomer = f.FileID
				break
			}
		}
		require.NotEmpty(t, newcomer)
		callAPI(t, srv, http.MethodPost, "/v1/files/addTags", map[string]any{"fileIds": []string{newcomer}, "tags": []string{"sale"}}, http.StatusOK)

		r := tagprune(t, cmd{args: []string{"apply", planFile, "--report", filepath.Join(t.TempDir(), "r.json")}, env: apiEnv(srv)})
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		assert.Contains(t, tagsByID(srv.Handler().Files())[newcomer], "sale", "a saved plan applies what was previewed, nothing more")

		r = tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest, "--detailed-exitcode"}, env: apiEnv(srv)})
		assert.Equal(t, exitChanges, r.code, "the next plan picks the newcomer up")
		assert.Contains(t, r.stdout, "Plan: 1 file to change, 1 tag to remove, 1 removeTags call.")
	})
}

// TestTamperedPlanRefused checks that apply PLANFILE refuses a plan file
// that was edited by hand, cut short or written by a future version, with
// exit 1, a message that says what is wrong, and no request at all.
func TestTamperedPlanRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(t *testing.T, plan map[string]any, raw []byte) []byte
		message string
	}{
		{
			name: "tag no rule forbids added to a change and its batch",
			edit: func(t *testing.T, plan map[string]any, _ []byte) []byte {
				change := plan["changes"].([]any)[0].(map[string]any)
				id := change["fileId"].(string)
				kept := keptTag(t, change)
				change["removeTags"] = append(change["removeTags"].([]any), kept)
				for _, b := range plan["batches"].([]any) {
					batch := b.(map[string]any)
					if containsAny(batch["fileIds"].([]any), id) {
						batch["tags"] = append(batch["tags"].([]any), kept)
					}
				}
				return mustJSON(t, plan)
			},
			message: "which none of its rules",
		},
		{
			name: "rule widened without its digest",
			edit: func(t *testing.T, plan map[string]any, _ []byte) []byte {
				rule := plan["rules"].([]any)[0].(map[string]any)
				rule["forbiddenTags"] = append(rule["forbiddenTags"].([]any), "*")
				return mustJSON(t, plan)
			},
			message: "rulesDigest",
		},
		{
			name:    "truncated",
			edit:    func(_ *testing.T, _ map[string]any, raw []byte) []byte { return raw[:len(raw)/2] },
			message: "truncated",
		},
		{
			name: "formatVersion 99",
			edit: func(t *testing.T, plan map[string]any, _ []byte) []byte {
				plan["formatVersion"] = 99
				return mustJSON(t, plan)
			},
			message: "formatVersion 99",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := exampleLibrary(t)
			planSrv := emulator(t, files)
			planFile, _ := savePlan(t, planSrv, exampleManifest)
			raw, err := os.ReadFile(planFile)
			require.NoError(t, err)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(raw, &doc))
			require.NoError(t, os.WriteFile(planFile, tt.edit(t, doc, raw), 0o644))

			srv := emulator(t, files)
			r := tagprune(t, cmd{args: []string{"apply", planFile, "--report", filepath.Join(t.TempDir(), "r.json")}, env: apiEnv(srv)})
			require.Equal(t, exitError, r.code, r.stdout+r.stderr)
			assert.Contains(t, r.stderr, planFile)
			assert.Contains(t, r.stderr, tt.message)
			assert.Contains(t, r.stderr, "again", "the message says how to recover: plan again")
			assert.Equal(t, imagekittest.Stats{}, emulatorStats(t, srv), "a refused plan file costs no request")
			requireState(t, files, srv.Handler().Files(), tagsByID(files))
		})
	}
}

// TestPlanDetailedExitcode checks exit 2 while there is drift and 0 once
// applied, whatever the output format.
func TestPlanDetailedExitcode(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "json", "markdown"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			srv := emulator(t, exampleLibrary(t))
			args := []string{"plan", "-f", exampleManifest, "--detailed-exitcode", "--format", format}
			r := tagprune(t, cmd{args: args, env: apiEnv(srv)})
			require.Equal(t, exitChanges, r.code, r.stderr)
			assert.NotEmpty(t, r.stdout)

			r = tagprune(t, cmd{args: []string{"apply", "-f", exampleManifest, "--auto-approve", "--report", filepath.Join(t.TempDir(), "r.json")}, env: apiEnv(srv)})
			require.Equal(t, 0, r.code, r.stderr)

			r = tagprune(t, cmd{args: args, env: apiEnv(srv)})
			require.Equal(t, 0, r.code, r.stderr)
			r = tagprune(t, cmd{args: args[:3], env: apiEnv(srv)})
			assert.Equal(t, 0, r.code, "without --detailed-exitcode a plan with no changes exits 0 too")
		})
	}
}

// TestPlanFormatJSON checks that --format json prints the plan document,
// the same one plan --out saves, and that apply accepts it.
func TestPlanFormatJSON(t *testing.T) {
	t.Parallel()
	files := exampleLibrary(t)
	srv := emulator(t, files)
	r := tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest, "--format", "json"}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stderr)

	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc), "stdout must be one JSON document")
	for _, key := range []string{"formatVersion", "tool", "createdAt", "rulesDigest", "rules", "changes", "batches", "summary"} {
		assert.Contains(t, doc, key)
	}
	assert.EqualValues(t, 1, doc["formatVersion"])
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, doc["rulesDigest"])

	var plan reconcile.Plan
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &plan))
	require.NoError(t, reconcile.CheckConsistency(&plan))
	assert.Len(t, plan.Changes, 94)
	assert.Equal(t, 94, plan.Summary.FilesToChange)
	assert.Equal(t, 79, plan.Summary.TagsToRemove)
	assert.Equal(t, 10, plan.Summary.TagsToAdd)
	assert.Equal(t, 37, plan.Summary.AITagsToRemove)
	assert.Len(t, plan.Batches, plan.Summary.RemoveTagsCalls+plan.Summary.AddTagsCalls+plan.Summary.RemoveAITagsCalls)
	assert.Equal(t, reconcile.RulesDigest(plan.Rules), plan.RulesDigest)

	// What plan prints can be saved and applied, as in a pipeline that keeps stdout.
	planFile := filepath.Join(t.TempDir(), "plan.json")
	require.NoError(t, os.WriteFile(planFile, []byte(r.stdout), 0o644))
	r = tagprune(t, cmd{args: []string{"apply", planFile, "--report", filepath.Join(t.TempDir(), "r.json")}, env: apiEnv(srv)})
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	requireDesired(t, []string{exampleManifest}, files, srv.Handler().Files())
}

// TestPlanFormatMarkdown checks the pull-request summary, and that a large
// plan still fits in one comment.
func TestPlanFormatMarkdown(t *testing.T) {
	t.Parallel()
	t.Run("example library", func(t *testing.T) {
		t.Parallel()
		srv := emulator(t, exampleLibrary(t))
		r := tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest, "--format", "markdown"}, env: apiEnv(srv)})
		require.Equal(t, 0, r.code, r.stderr)
		md := r.stdout
		assert.True(t, strings.HasPrefix(md, "## tagprune plan\n"), md)
		assert.Contains(t, md, "**"+exampleSummary+"**")
		assert.Contains(t, md, "| Rule | Description | Files | Tags to remove | Renames | AITags to remove |")
		for _, rule := range []string{"retire-spring-sale-2022", "retire-2023-campaigns", "release-legal-hold", "expire-old-blog-drafts",
			"brand-vocabulary", "drop-sale-aitags", "spell-out-ugc"} {
			assert.Contains(t, md, "\n### "+rule+"\n")
		}
		assert.Contains(t, md, "| /press/press-001.jpg | legal-hold |")
		assert.Contains(t, md, "\nThe spring 2022 sale is over; its tags confuse the storefront search. Would remove 33 tags from 25 files.\n")
		assert.NotRegexp(t, removedWord, md)
	})

	t.Run("large plan fits a comment", func(t *testing.T) {
		t.Parallel()
		files := imagekittest.GenerateLibrary(20000, 11)
		srv := emulator(t, files)
		r := tagprune(t, cmd{args: []string{"plan", "-f", generatedManifest, "--format", "markdown"}, env: apiEnv(srv)})
		require.Equal(t, 0, r.code, r.stderr)
		assert.Less(t, len([]rune(r.stdout)), reconcile.MarkdownLimit)
		assert.Contains(t, r.stdout, "<details>")
		assert.Contains(t, r.stdout, "## tagprune plan")
	})

	t.Run("no changes", func(t *testing.T) {
		t.Parallel()
		srv := emulator(t, nil)
		r := tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest, "--format", "markdown"}, env: apiEnv(srv)})
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, reconcile.NoChangesText)
	})
}

// TestGitHubStepSummary checks that plan and apply append their markdown to
// the file GITHUB_STEP_SUMMARY names, after what earlier steps wrote.
func TestGitHubStepSummary(t *testing.T) {
	t.Parallel()
	files := exampleLibrary(t)
	srv := emulator(t, files)
	summary := filepath.Join(t.TempDir(), "step_summary.md")
	require.NoError(t, os.WriteFile(summary, []byte("# An earlier step\n"), 0o644))
	env := append(apiEnv(srv), "GITHUB_STEP_SUMMARY="+summary)

	r := tagprune(t, cmd{args: []string{"plan", "-f", exampleManifest}, env: env})
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, "## tagprune", "stdout keeps the text diff")
	got, err := os.ReadFile(summary)
	require.NoError(t, err)
	afterPlan := string(got)
	assert.True(t, strings.HasPrefix(afterPlan, "# An earlier step\n## tagprune plan\n"), afterPlan)
	assert.Contains(t, afterPlan, "Plan: 94 files to change")

	r = tagprune(t, cmd{args: []string{"apply", "-f", exampleManifest, "--auto-approve", "--report", filepath.Join(t.TempDir(), "r.json")}, env: env})
	require.Equal(t, 0, r.code, r.stderr)
	got, err = os.ReadFile(summary)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(got), afterPlan), "apply appends, it does not rewrite")
	applied := strings.TrimPrefix(string(got), afterPlan)
	assert.Contains(t, applied, "## tagprune apply report")
	assert.Contains(t, applied, "All 94 planned files converged.")
}

// TestSeveralReports checks that one run writes every --report it is given,
// each in the format its extension names.
func TestSeveralReports(t *testing.T) {
	t.Parallel()
	tests := []struct {
		command string
		args    []string
	}{
		{command: "plan", args: []string{"plan", "-f", exampleManifest}},
		{command: "apply", args: []string{"apply", "-f", exampleManifest, "--auto-approve"}},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			t.Parallel()
			srv := emulator(t, exampleLibrary(t))
			dir := t.TempDir()
			jsonPath, mdPath, xmlPath := filepath.Join(dir, "x.json"), filepath.Join(dir, "x.md"), filepath.Join(dir, "x.xml")
			args := append(tt.args, "--report", jsonPath, "--report", mdPath, "--report", xmlPath)
			r := tagprune(t, cmd{args: args, env: apiEnv(srv)})
			require.Equal(t, 0, r.code, r.stdout+r.stderr)

			rep := readReport(t, jsonPath)
			assert.Equal(t, tt.command, rep.Command)
			assert.Len(t, rep.Files, 94)

			md, err := os.ReadFile(mdPath)
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(string(md), "## tagprune "+tt.command+" report\n"), string(md))

			raw, err := os.ReadFile(xmlPath)
			require.NoError(t, err)
			var suites reconcile.JUnitSuites
			require.NoError(t, xml.Unmarshal(raw, &suites), "the .xml report must be XML")
			require.Len(t, suites.Suites, 1)
			suite := suites.Suites[0]
			assert.Equal(t, reconcile.JUnitSuiteName, suite.Name)
			assert.Equal(t, 7, suite.Tests, "one test case per rule")
			assert.Zero(t, suite.Failures)
			var names []string
			for _, c := range suite.Cases {
				names = append(names, c.Name)
			}
			assert.Equal(t, []string{"retire-spring-sale-2022", "retire-2023-campaigns", "release-legal-hold", "expire-old-blog-drafts",
				"brand-vocabulary", "drop-sale-aitags", "spell-out-ugc"}, names)
			if tt.command == "plan" {
				assert.Equal(t, 7, suite.Skipped, "a plan neither passes nor fails the rules it would change")
			} else {
				assert.Zero(t, suite.Skipped)
			}
		})
	}
}

// githubAnnotationLine is one `validate --format github` line.
var githubAnnotationLine = regexp.MustCompile(`^::error file=([^,:]+)(?:,line=(\d+))?(?:,col=(\d+))?::(\S.*)$`)

// TestValidateGitHubFormat checks that every invalid fixture gives ::error
// workflow commands on stdout, each naming the file and, where the text
// format has a position, the same line and column.
func TestValidateGitHubFormat(t *testing.T) {
	t.Parallel()
	fixtures, err := filepath.Glob(filepath.Join(invalidDir, "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, fixtures)
	withPosition := 0
	for _, path := range fixtures {
		t.Run(filepath.Base(path), func(t *testing.T) {
			text := tagprune(t, cmd{args: []string{"validate", "-f", path}})
			require.Equal(t, exitError, text.code)
			r := tagprune(t, cmd{args: []string{"validate", "-f", path, "--format", "github"}})
			require.Equal(t, exitError, r.code)

			lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			require.NotEmpty(t, r.stdout, "every invalid manifest gives an annotation")
			textErrors := strings.Split(strings.TrimSpace(text.stderr), "\n")
			textErrors = textErrors[:len(textErrors)-1] // the closing count line
			require.Len(t, lines, len(textErrors), "one annotation per error")
			for i, line := range lines {
				m := githubAnnotationLine.FindStringSubmatch(line)
				require.NotNil(t, m, "not a GitHub annotation: %q", line)
				assert.Equal(t, path, m[1])
				if m[2] != "" && m[3] != "" {
					withPosition++
					assert.True(t, strings.HasPrefix(textErrors[i], path+":"+m[2]+":"+m[3]+": "),
						"annotation %q and text error %q disagree on the position", line, textErrors[i])
				}
			}
		})
	}
	assert.Greater(t, withPosition, len(fixtures)/2, "most fixtures have a line and column")

	t.Run("several-problems has one annotation per problem", func(t *testing.T) {
		r := tagprune(t, cmd{args: []string{"validate", "-f", invalidManifest, "--format", "github"}})
		require.Equal(t, exitError, r.code)
		assert.Contains(t, r.stdout, "::error file="+invalidManifest+",line=8,col=5::rule \"retire-sale-2020\": unknown field \"fils\"")
		assert.Equal(t, 5, strings.Count(r.stdout, "::error "))
	})
}

// TestSchemaValidatesManifests checks that `tagprune schema` prints a JSON
// Schema that accepts the example and valid manifests and rejects a
// misspelled key.
func TestSchemaValidatesManifests(t *testing.T) {
	t.Parallel()
	r := tagprune(t, cmd{args: []string{"schema"}})
	require.Equal(t, 0, r.code, r.stderr)
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(r.stdout))
	require.NoError(t, err, "schema must print JSON")
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("tagprune.schema.json", doc))
	schema, err := c.Compile("tagprune.schema.json")
	require.NoError(t, err)

	valid, err := filepath.Glob(filepath.Join(validDir, "*"))
	require.NoError(t, err)
	valid = append(valid, exampleManifest, generatedManifest,
		filepath.Join(splitManifests, "products.yaml"), filepath.Join(splitManifests, "marketing.yml"))
	for _, path := range valid {
		t.Run("accepts "+filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			assert.NoError(t, schema.Validate(yamlAsJSON(t, path)))
		})
	}
	for _, name := range []string{"misspelled-key.yaml", "wrong-version.yaml", "empty-forbidden-tags.yaml"} {
		t.Run("rejects "+name, func(t *testing.T) {
			t.Parallel()
			assert.Error(t, schema.Validate(yamlAsJSON(t, filepath.Join(invalidDir, name))))
		})
	}
}

// yamlAsJSON reads a YAML file as the JSON value a schema validates.
func yamlAsJSON(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var v any
	require.NoError(t, yaml.Unmarshal(data, &v), path)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(mustJSON(t, v)))
	require.NoError(t, err)
	return inst
}

// callAPI sends one request to the emulator's API with the test key, as a
// user or another tool would, and checks its status.
func callAPI(t *testing.T, srv *imagekittest.Server, method, path string, body any, want int) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		rd = bytes.NewReader(mustJSON(t, body))
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	require.NoError(t, err)
	req.SetBasicAuth(testKey, "")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, want, resp.StatusCode, "%s %s", method, path)
}

// changeWithout returns a change of the plan, by the named rule, whose file
// does not carry tag.
func changeWithout(t *testing.T, plan *reconcile.Plan, rule, tag string) reconcile.Change {
	t.Helper()
	for _, c := range plan.Changes {
		if slices.Contains(c.Rules, rule) && !slices.Contains(c.TagsBefore, tag) {
			return c
		}
	}
	t.Fatalf("no change of rule %s without tag %s", rule, tag)
	return reconcile.Change{}
}

// keptTag returns a tag of a planned change that the plan keeps.
func keptTag(t *testing.T, change map[string]any) string {
	t.Helper()
	removed := change["removeTags"].([]any)
	for _, tag := range change["tagsBefore"].([]any) {
		if !containsAny(removed, tag.(string)) {
			return tag.(string)
		}
	}
	t.Fatalf("change %v keeps no tag", change["fileId"])
	return ""
}

func containsAny(list []any, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
