package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	urfave "github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/tagprune/tagprune/internal/cli"
	"github.com/tagprune/tagprune/reconcile"
)

// The GitHub Action (action.yml) is checked three ways: each input against
// the CLI's real flags, the example workflow's uses of it against its
// inputs, and its scripts by running them as GitHub's runner does, against
// the built binary and a fake gh.

// actionDoc is the part of action.yml these tests read.
type actionDoc struct {
	Inputs map[string]struct {
		Description string `yaml:"description"`
		Required    bool   `yaml:"required"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string   `yaml:"using"`
		Steps []ciStep `yaml:"steps"`
	} `yaml:"runs"`
}

func readAction(t *testing.T) *actionDoc {
	t.Helper()
	var a actionDoc
	decodeYAML(t, actionFile, &a)
	require.Equal(t, "composite", a.Runs.Using)
	return &a
}

// step returns the action's step with the given id.
func (a *actionDoc) step(t *testing.T, id string) ciStep {
	t.Helper()
	for _, s := range a.Runs.Steps {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("action.yml has no step with id %q", id)
	return ciStep{}
}

// actionScript returns every run script of action.yml, joined.
func actionScript(t *testing.T) string {
	t.Helper()
	return allRuns(readAction(t).Runs.Steps)
}

// actionComments reports whether action.yml has a step that comments on
// the pull request, finding its earlier comment by a marker.
func actionComments(t *testing.T) bool {
	t.Helper()
	for _, s := range readAction(t).Runs.Steps {
		if strings.Contains(s.Run, "issues/$PR_NUMBER/comments") && strings.Contains(s.Run, "<!-- tagprune-plan") {
			return true
		}
	}
	return false
}

// actionInputs says, independently of action.yml, what each of its inputs
// is for: the tagprune flag it sets and on which commands, or why tagprune
// never sees it. A new input fails the tests until it is added here.
var actionInputs = map[string]struct {
	flag     string
	commands []string
	why      string
}{
	"command":      {why: "chooses the tagprune command"},
	"manifests":    {flag: "file", commands: []string{"validate", "plan", "apply"}},
	"plan-file":    {flag: "out", commands: []string{"plan"}}, // and apply's PLANFILE, checked below
	"report":       {flag: "report", commands: []string{"plan", "apply"}},
	"api-url":      {flag: "api-url", commands: []string{"plan", "apply"}},
	"library":      {flag: "library", commands: []string{"plan", "apply"}},
	"max-changes":  {flag: "max-changes", commands: []string{"apply"}},
	"auto-approve": {flag: "auto-approve", commands: []string{"apply"}},
	"rule":         {flag: "rule", commands: []string{"plan", "apply"}},
	"comment":      {why: "the pull-request comment is the action's"},
	"comment-key":  {why: "the pull-request comment is the action's"},
	"github-token": {why: "the pull-request comment is the action's"},
}

// TestActionInputsMapToRealFlags checks that every input of action.yml is
// known above, that the flag it stands for exists on each command it is
// passed to, and that the run script passes the input's variable to that
// very flag.
func TestActionInputsMapToRealFlags(t *testing.T) {
	t.Parallel()
	a := readAction(t)
	app := cli.NewApp(cli.Streams{Out: io.Discard, Err: io.Discard}, "test")
	assert.ElementsMatch(t, slices.Collect(maps.Keys(actionInputs)), slices.Collect(maps.Keys(a.Inputs)),
		"every input of action.yml is in actionInputs, and only those")

	run := a.step(t, "run")
	passed := flagsOfVariables(run.Run)
	for name, in := range actionInputs {
		t.Run(name, func(t *testing.T) {
			if in.flag == "" {
				assert.NotEmpty(t, in.why)
				return
			}
			for _, command := range in.commands {
				cmd := app.Command(command)
				require.NotNil(t, cmd, "tagprune has no command %s", command)
				assert.True(t, hasFlag(cmd, in.flag), "tagprune %s has no flag --%s, which the input %s sets", command, in.flag, name)
			}
			variable := inputVariable(t, run, name)
			assert.Equal(t, []string{in.flag}, passed[variable],
				"the run step passes $%s (the input %s) to these flags", variable, name)
		})
	}

	t.Run("plan-file is apply's PLANFILE", func(t *testing.T) {
		assert.Contains(t, app.Command("apply").ArgsUsage, "PLANFILE")
		assert.Contains(t, run.Run, `tagprune apply "$`+inputVariable(t, run, "plan-file")+`"`)
	})
	t.Run("the build stamps the variables a release stamps", func(t *testing.T) {
		build := a.Runs.Steps[slices.IndexFunc(a.Runs.Steps, func(s ciStep) bool { return strings.Contains(s.Run, "go build") })]
		assert.Equal(t, []string{"main.commit", "main.version"}, stampedVariables(build.Run))
	})
}

func hasFlag(cmd *urfave.Command, name string) bool {
	for _, f := range cmd.Flags {
		if slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}

// inputVariable returns the environment variable a step binds to an input
// with ${{ inputs.NAME }}; the scripts never expand an input themselves.
func inputVariable(t *testing.T, s ciStep, input string) string {
	t.Helper()
	for k, v := range s.Env {
		if strings.TrimSpace(v) == "${{ inputs."+input+" }}" {
			return k
		}
	}
	t.Fatalf("the step %q binds no variable to the input %s", s.ID, input)
	return ""
}

var (
	// --flag "$VAR" or --flag "${VAR}"
	flagWithVariable = regexp.MustCompile(`(--[a-z][a-z-]*)[ =]"\$\{?(\w+)`)
	// ${VAR:+--flag}
	flagIfVariable = regexp.MustCompile(`\$\{(\w+):\+(--[a-z][a-z-]*)\}`)
	// a loop over the lines of "$VAR": while IFS= read -r path; do ...; done < <(lines "$VAR")
	loopOverLines = regexp.MustCompile(`(?s)while IFS= read -r (\w+); do(.*?)done < <\(lines "\$(\w+)"\)`)
)

// flagsOfVariables returns, for each variable of a script, the flags it is
// passed to: directly, as the condition of ${VAR:+--flag}, or through a
// loop over its lines.
func flagsOfVariables(script string) map[string][]string {
	out := map[string][]string{}
	add := func(variable, flag string) {
		flag = strings.TrimPrefix(flag, "--")
		if !slices.Contains(out[variable], flag) {
			out[variable] = append(out[variable], flag)
		}
	}
	for _, m := range flagWithVariable.FindAllStringSubmatch(script, -1) {
		add(m[2], m[1])
	}
	for _, m := range flagIfVariable.FindAllStringSubmatch(script, -1) {
		add(m[1], m[2])
	}
	for _, m := range loopOverLines.FindAllStringSubmatch(script, -1) {
		for _, f := range flagWithVariable.FindAllStringSubmatch(m[2], -1) {
			if f[2] == m[1] {
				add(m[3], f[1])
			}
		}
	}
	return out
}

// TestExampleWorkflowPassesOnlyActionInputs checks each use of the action
// in the example workflow: only inputs that exist, a command it has, the
// key from a secret and never as an input.
func TestExampleWorkflowPassesOnlyActionInputs(t *testing.T) {
	t.Parallel()
	a := readAction(t)
	steps := actionSteps(t, githubExample)
	require.NotEmpty(t, steps)
	for _, s := range steps {
		for k, v := range s.With {
			_, ok := a.Inputs[k]
			assert.True(t, ok, "the example passes %q, which action.yml does not define", k)
			assert.NotContains(t, strings.ToLower(k+" "+stringOf(v)), "private", "the key is never an input")
		}
		assert.Contains(t, []any{"plan", "apply"}, s.With["command"])
		if s.With["command"] == "plan" {
			assert.Equal(t, "${{ secrets.IMAGEKIT_PRIVATE_KEY }}", s.Env["IMAGEKIT_PRIVATE_KEY"], "the key comes from a secret, on the step")
		}
	}
	for name, in := range a.Inputs {
		assert.False(t, in.Required, "input %s has a default: every use above may leave it out", name)
		assert.NotEmpty(t, in.Description, name)
	}
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

// readmeWorkflows returns the README's yaml blocks that use the action.
func readmeWorkflows(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(readFile(t, readmeFile), -1) {
		if strings.Contains(m[1], "uses: "+actionUses) {
			out = append(out, m[1])
		}
	}
	return out
}

// TestReadmeWorkflowPassesOnlyActionInputs checks the README's workflow
// snippets as the example workflow is checked.
func TestReadmeWorkflowPassesOnlyActionInputs(t *testing.T) {
	t.Parallel()
	a := readAction(t)
	snippets := readmeWorkflows(t)
	require.NotEmpty(t, snippets, "the README shows how to use the action")
	for _, snippet := range snippets {
		var wf struct {
			Jobs map[string]struct {
				Steps []ciStep `yaml:"steps"`
			} `yaml:"jobs"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(snippet), &wf))
		var uses int
		for _, j := range wf.Jobs {
			for _, s := range actionStepsOf(j.Steps) {
				uses++
				for k := range s.With {
					assert.Contains(t, a.Inputs, k, "the README passes an input action.yml does not define")
				}
				assert.Equal(t, "${{ secrets.IMAGEKIT_PRIVATE_KEY }}", s.Env["IMAGEKIT_PRIVATE_KEY"])
			}
		}
		assert.NotZero(t, uses)
	}
}

// actionRun is one run of action.yml's steps by runStep.
type actionRun struct {
	code            int
	stdout, stderr  string
	outputs         map[string]string
	summary, ghPath string
	dir             string
}

// runStep runs the script of the action step with the given id as GitHub's
// runner runs a bash step (bash --noprofile --norc -eo pipefail), in dir,
// with the step's env: each ${{ expression }} in it is replaced from ctx,
// where inputs.NAME falls back to the input's default. extraEnv is the
// environment of the step that uses the action, such as the key.
func runStep(t *testing.T, a *actionDoc, id, dir string, ctx map[string]string, extraEnv ...string) actionRun {
	t.Helper()
	s := a.step(t, id)
	require.NotContains(t, s.Run, "${{", "a script never expands an expression: inputs reach it through env")
	tmp := t.TempDir()
	files := map[string]string{}
	for _, name := range []string{"GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_PATH"} {
		files[name] = filepath.Join(tmp, strings.ToLower(name))
		require.NoError(t, os.WriteFile(files[name], nil, 0o644))
	}
	script := filepath.Join(tmp, "step.sh")
	require.NoError(t, os.WriteFile(script, []byte(s.Run), 0o644))
	env := append(cleanEnv(),
		"GITHUB_OUTPUT="+files["GITHUB_OUTPUT"],
		"GITHUB_STEP_SUMMARY="+files["GITHUB_STEP_SUMMARY"],
		"GITHUB_PATH="+files["GITHUB_PATH"],
		"GITHUB_REPOSITORY=acme/media",
		"GITHUB_SERVER_URL=https://github.example",
		"GITHUB_RUN_ID=4242",
		"GITHUB_RUN_ATTEMPT=1",
		"GITHUB_SHA=0000000000000000000000000000000000000001",
		"RUNNER_TEMP="+tmp,
	)
	env = append(env, extraEnv...)
	for k, v := range s.Env {
		env = append(env, k+"="+expand(t, a, v, ctx))
	}
	x := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	x.Dir = dir
	x.Env = env
	var stdout, stderr strings.Builder
	x.Stdout, x.Stderr = &stdout, &stderr
	err := x.Run()
	r := actionRun{stdout: stdout.String(), stderr: stderr.String(), dir: dir, outputs: map[string]string{}}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	out, err := os.ReadFile(files["GITHUB_OUTPUT"])
	require.NoError(t, err)
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		require.True(t, ok, "GITHUB_OUTPUT line %q", sc.Text())
		r.outputs[k] = v
	}
	summary, err := os.ReadFile(files["GITHUB_STEP_SUMMARY"])
	require.NoError(t, err)
	r.summary = string(summary)
	ghPath, err := os.ReadFile(files["GITHUB_PATH"])
	require.NoError(t, err)
	r.ghPath = string(ghPath)
	return r
}

var expression = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)

// expand replaces each ${{ expression }} of an env value from ctx.
func expand(t *testing.T, a *actionDoc, value string, ctx map[string]string) string {
	t.Helper()
	return expression.ReplaceAllStringFunc(value, func(m string) string {
		key := expression.FindStringSubmatch(m)[1]
		if v, ok := ctx[key]; ok {
			return v
		}
		if name, ok := strings.CutPrefix(key, "inputs."); ok {
			in, ok := a.Inputs[name]
			require.True(t, ok, "no input %s", name)
			return expand(t, a, in.Default, ctx)
		}
		t.Fatalf("the test gives no value for ${{ %s }}", key)
		return ""
	})
}

// actionWorkdir is a checkout with the example manifest and a copy of the
// example library.
func actionWorkdir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "tagprune"), 0o755))
	copyFile(t, exampleManifest, filepath.Join(dir, "tagprune", "manifest.yaml"))
	copyFile(t, exampleLibraryDoc, filepath.Join(dir, "library.json"))
	return dir
}

// runContext is what the run step's env needs besides the inputs.
func runContext(inputs map[string]string) map[string]string {
	ctx := map[string]string{"steps.install.outputs.dir": filepath.Dir(binary), "github.token": "token-of-the-job"}
	for k, v := range inputs {
		ctx["inputs."+k] = v
	}
	return ctx
}

func TestActionPlan(t *testing.T) {
	t.Parallel()
	a := readAction(t)

	t.Run("ChangesAreNotAFailure", func(t *testing.T) {
		t.Parallel()
		dir := actionWorkdir(t)
		r := runStep(t, a, "run", dir, runContext(map[string]string{"library": "library.json", "report": "plan.xml"}))
		require.Equal(t, 0, r.code, "exit 2 of plan --detailed-exitcode is not a failure\n%s%s", r.stdout, r.stderr)
		assert.Equal(t, map[string]string{
			"changes": "true", "exit-code": "2", "plan": "tagprune-plan.json",
			"plan-markdown": "tagprune-plan.md", "report": "plan.xml",
		}, r.outputs)
		var plan struct {
			FormatVersion int   `json:"formatVersion"`
			Changes       []any `json:"changes"`
		}
		readJSON(t, filepath.Join(dir, "tagprune-plan.json"), &plan)
		assert.Equal(t, 1, plan.FormatVersion)
		assert.NotEmpty(t, plan.Changes)
		md, err := os.ReadFile(filepath.Join(dir, "tagprune-plan.md"))
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(md), "## tagprune plan"), "%s", md)
		assert.FileExists(t, filepath.Join(dir, "plan.xml"))
		assert.Equal(t, 1, strings.Count(r.summary, "## tagprune plan"), "the job summary has the plan once")
		assert.Equal(t, filepath.Dir(binary)+"\n", r.ghPath, "later steps can run tagprune")
	})

	t.Run("NoChanges", func(t *testing.T) {
		t.Parallel()
		dir := actionWorkdir(t)
		res := tagprune(t, cmd{args: []string{"apply", "-f", "tagprune", "--library", "library.json", "--auto-approve", "--report", filepath.Join(t.TempDir(), "r.json")}, dir: dir})
		require.Equal(t, exitOK, res.code, res.stderr)
		r := runStep(t, a, "run", dir, runContext(map[string]string{"library": "library.json", "plan-file": "out/p.json"}))
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		assert.Equal(t, "false", r.outputs["changes"])
		assert.Equal(t, "0", r.outputs["exit-code"])
		assert.Equal(t, "out/p.json", r.outputs["plan"])
		assert.Equal(t, "out/p.md", r.outputs["plan-markdown"])
	})

	t.Run("SeveralManifestsOneALine", func(t *testing.T) {
		t.Parallel()
		dir := actionWorkdir(t)
		for _, f := range []string{"products.yaml", "marketing.yml"} {
			copyFile(t, filepath.Join(splitManifests, f), filepath.Join(dir, f))
		}
		r := runStep(t, a, "run", dir, runContext(map[string]string{"library": "library.json", "manifests": "  products.yaml\n\nmarketing.yml  \n"}))
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		var plan struct {
			Rules []struct {
				Name string `json:"name"`
			} `json:"rules"`
		}
		readJSON(t, filepath.Join(dir, "tagprune-plan.json"), &plan)
		assert.Len(t, plan.Rules, 4, "the rules of both manifests")
	})

	t.Run("RulesNarrowThePlan", func(t *testing.T) {
		t.Parallel()
		dir := actionWorkdir(t)
		r := runStep(t, a, "run", dir, runContext(map[string]string{"library": "library.json", "rule": "release-legal-hold\n retire-*\n"}))
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		plan, err := reconcile.ReadPlan(filepath.Join(dir, "tagprune-plan.json"))
		require.NoError(t, err)
		assert.Equal(t, []string{"release-legal-hold", "retire-*"}, plan.RuleFilter)
		var names []string
		for _, rule := range plan.Rules {
			names = append(names, rule.Name)
		}
		assert.ElementsMatch(t, []string{"release-legal-hold", "retire-spring-sale-2022", "retire-2023-campaigns"}, names)
	})

	t.Run("InvalidManifestIsAnnotated", func(t *testing.T) {
		t.Parallel()
		dir := actionWorkdir(t)
		copyFile(t, invalidManifest, filepath.Join(dir, "tagprune", "manifest.yaml"))
		r := runStep(t, a, "run", dir, runContext(map[string]string{"library": "library.json"}))
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stdout, "::error file=")
		assert.Contains(t, r.stdout, "::error title=tagprune action::the manifests are not valid")
		assert.NoFileExists(t, filepath.Join(dir, "tagprune-plan.json"))
	})

	t.Run("APIWithTheKeyFromTheEnvironment", func(t *testing.T) {
		t.Parallel()
		dir := actionWorkdir(t)
		srv := emulator(t, exampleLibrary(t))
		r := runStep(t, a, "run", dir, runContext(map[string]string{"api-url": srv.URL}), "IMAGEKIT_PRIVATE_KEY="+testKey)
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		assert.Equal(t, "true", r.outputs["changes"])
		for name, text := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "summary": r.summary, "outputs": strings.Join(slices.Collect(maps.Values(r.outputs)), " ")} {
			assert.NotContains(t, text, testKey, "the key is not in the %s", name)
		}
		for _, f := range []string{"tagprune-plan.json", "tagprune-plan.md"} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			require.NoError(t, err)
			assert.NotContains(t, string(b), testKey, f)
		}
	})

	t.Run("BadInputs", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name   string
			inputs map[string]string
			want   string
		}{
			{"UnknownCommand", map[string]string{"command": "destroy"}, `command is plan or apply, not "destroy"`},
			{"NoManifests", map[string]string{"manifests": " \n"}, "plan needs manifests"},
			{"MaxChangesOnPlan", map[string]string{"max-changes": "10"}, "max-changes and auto-approve are inputs of command: apply"},
			{"AutoApproveNotABoolean", map[string]string{"command": "apply", "auto-approve": "yes"}, `auto-approve is "true" or "false", not "yes"`},
			{"ApplyWithNothing", map[string]string{"command": "apply", "manifests": ""}, "apply needs a plan-file, or manifests and auto-approve"},
			{"RuleWithASavedPlan", map[string]string{"command": "apply", "plan-file": "plan.json", "rule": "release-legal-hold"}, "rule is not an input of apply with a plan-file"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				dir := actionWorkdir(t)
				tt.inputs["library"] = "library.json"
				r := runStep(t, a, "run", dir, runContext(tt.inputs))
				assert.Equal(t, 1, r.code)
				assert.Contains(t, r.stdout, "::error title=tagprune action::"+tt.want)
				assert.Equal(t, libraryTags(t, exampleLibraryDoc), libraryTags(t, filepath.Join(dir, "library.json")), "nothing changed")
			})
		}
	})
}

func TestActionApply(t *testing.T) {
	t.Parallel()
	a := readAction(t)

	t.Run("TheReviewedPlan", func(t *testing.T) {
		t.Parallel()
		dir := actionWorkdir(t)
		plan := runStep(t, a, "run", dir, runContext(map[string]string{"library": "library.json", "plan-file": "plan.json"}))
		require.Equal(t, 0, plan.code, plan.stdout+plan.stderr)
		r := runStep(t, a, "run", dir, runContext(map[string]string{
			"command": "apply", "plan-file": "plan.json", "library": "library.json", "report": "r.md\nr.json\nr.xml",
		}))
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		assert.Equal(t, map[string]string{"changes": "true", "exit-code": "0", "plan": "plan.json", "report": "r.md"}, r.outputs)
		for _, f := range []string{"r.md", "r.json", "r.xml"} {
			assert.FileExists(t, filepath.Join(dir, f))
		}
		assert.NotEqual(t, libraryTags(t, exampleLibraryDoc), libraryTags(t, filepath.Join(dir, "library.json")), "the library changed")
		assert.Contains(t, r.summary, "tagprune")
	})

	t.Run("AStalePlanFailsAndChangesNothing", func(t *testing.T) {
		t.Parallel()
		dir := actionWorkdir(t)
		plan := runStep(t, a, "run", dir, runContext(map[string]string{"library": "library.json", "plan-file": "plan.json"}))
		require.Equal(t, 0, plan.code, plan.stdout+plan.stderr)
		p, err := reconcile.ReadPlan(filepath.Join(dir, "plan.json"))
		require.NoError(t, err)
		target := changeWithout(t, p, "retire-spring-sale-2022", "sale")
		addTag(t, filepath.Join(dir, "library.json"), target.FileID, "sale")
		before := libraryTags(t, filepath.Join(dir, "library.json"))
		r := runStep(t, a, "run", dir, runContext(map[string]string{"command": "apply", "plan-file": "plan.json", "library": "library.json", "report": "r.xml"}))
		assert.Equal(t, 1, r.code)
		assert.Equal(t, "4", r.outputs["exit-code"])
		assert.Equal(t, "false", r.outputs["changes"])
		assert.Contains(t, r.stdout, "refused a stale plan (exit 4), changing nothing")
		assert.Equal(t, before, libraryTags(t, filepath.Join(dir, "library.json")), "a stale plan changes nothing")
	})

	t.Run("ManifestsNeedAutoApprove", func(t *testing.T) {
		t.Parallel()
		dir := actionWorkdir(t)
		r := runStep(t, a, "run", dir, runContext(map[string]string{"command": "apply", "library": "library.json"}))
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "--auto-approve")
		assert.Equal(t, libraryTags(t, exampleLibraryDoc), libraryTags(t, filepath.Join(dir, "library.json")))
	})

	t.Run("MaxChangesRefuses", func(t *testing.T) {
		t.Parallel()
		dir := actionWorkdir(t)
		r := runStep(t, a, "run", dir, runContext(map[string]string{"command": "apply", "library": "library.json", "auto-approve": "true", "max-changes": "3"}))
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "more than --max-changes 3")
		assert.Equal(t, "false", r.outputs["changes"])
		assert.Equal(t, libraryTags(t, exampleLibraryDoc), libraryTags(t, filepath.Join(dir, "library.json")))
	})

	t.Run("MaxChangesCapsTheReviewedPlan", func(t *testing.T) {
		t.Parallel()
		dir := actionWorkdir(t)
		plan := runStep(t, a, "run", dir, runContext(map[string]string{"library": "library.json", "plan-file": "plan.json"}))
		require.Equal(t, 0, plan.code, plan.stdout+plan.stderr)
		r := runStep(t, a, "run", dir, runContext(map[string]string{"command": "apply", "plan-file": "plan.json", "library": "library.json", "max-changes": "3"}))
		assert.Equal(t, 1, r.code)
		assert.Contains(t, r.stderr, "more than --max-changes 3")
		assert.Equal(t, libraryTags(t, exampleLibraryDoc), libraryTags(t, filepath.Join(dir, "library.json")))
	})

	t.Run("ManifestsWithAutoApprove", func(t *testing.T) {
		t.Parallel()
		dir := actionWorkdir(t)
		r := runStep(t, a, "run", dir, runContext(map[string]string{"command": "apply", "library": "library.json", "auto-approve": "true", "max-changes": "1000", "report": "r.xml"}))
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		assert.Equal(t, "true", r.outputs["changes"], "read from the JSON report the action keeps beside r.xml")
		assert.Equal(t, "r.xml", r.outputs["report"])

		again := runStep(t, a, "run", dir, runContext(map[string]string{"command": "apply", "library": "library.json", "auto-approve": "true"}))
		require.Equal(t, 0, again.code, again.stdout+again.stderr)
		assert.Equal(t, "false", again.outputs["changes"], "a second apply finds nothing to change")
		assert.Equal(t, "tagprune-report.json", again.outputs["report"], "apply's default report")
		assert.FileExists(t, filepath.Join(dir, "tagprune-report.json"))
	})
}

// fakeGH is a stand-in for the gh command: it answers the comment listing
// from a JSON file with the real jq (gh's --jq uses the same language) and
// records each write with its body.
const fakeGH = `#!/usr/bin/env bash
set -eu
echo "$*" >> "$FAKE_GH_LOG"
if [ "$1 $2" = "api --paginate" ]; then
  jq -r "$5" < "$FAKE_GH_COMMENTS"
  exit 0
fi
for arg in "$@"; do
  case "$arg" in body=@*) cp "${arg#body=@}" "$FAKE_GH_BODY" ;; esac
done
exit "${FAKE_GH_EXIT:-0}"
`

func TestActionCommentsOnce(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("jq is not installed: the fake gh needs it to answer --jq")
	}
	a := readAction(t)
	dir := actionWorkdir(t)
	plan := runStep(t, a, "run", dir, runContext(map[string]string{"library": "library.json"}))
	require.Equal(t, 0, plan.code, plan.stdout+plan.stderr)

	bin := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bin, "gh"), []byte(fakeGH), 0o755))
	comment := func(key string, existing []map[string]any, exit string) (log, body string, r actionRun) {
		t.Helper()
		tmp := t.TempDir()
		comments, err := json.Marshal(existing)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(tmp, "comments.json"), comments, 0o644))
		ctx := map[string]string{
			"inputs.github-token":                "token-of-the-job",
			"inputs.comment-key":                 key,
			"github.event.pull_request.number":   "17",
			"github.event.pull_request.head.sha": "abc123",
			"steps.run.outputs.plan-markdown":    plan.outputs["plan-markdown"],
		}
		r = runStep(t, a, "comment", dir, ctx,
			"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"FAKE_GH_LOG="+filepath.Join(tmp, "log"),
			"FAKE_GH_COMMENTS="+filepath.Join(tmp, "comments.json"),
			"FAKE_GH_BODY="+filepath.Join(tmp, "body"),
			"FAKE_GH_EXIT="+exit,
		)
		logb, _ := os.ReadFile(filepath.Join(tmp, "log"))
		bodyb, _ := os.ReadFile(filepath.Join(tmp, "body"))
		return string(logb), string(bodyb), r
	}

	t.Run("CreatesTheFirst", func(t *testing.T) {
		log, body, r := comment("", []map[string]any{{"id": 5, "body": "LGTM"}}, "0")
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		assert.Contains(t, log, "api --method POST repos/acme/media/issues/17/comments -F body=@")
		assert.NotContains(t, log, "PATCH")
		assert.True(t, strings.HasPrefix(body, "<!-- tagprune-plan -->\n## tagprune plan"), body)
		assert.Contains(t, body, "Planned for abc123 by [this run](https://github.example/acme/media/actions/runs/4242)")
	})

	t.Run("UpdatesItsOwnAndNoOther", func(t *testing.T) {
		log, body, r := comment("", []map[string]any{
			{"id": 5, "body": "a reviewer quoting\n<!-- tagprune-plan -->"},
			{"id": 9, "body": "<!-- tagprune-plan -->\r\n## tagprune plan\nthe plan of an earlier push"},
			{"id": 11, "body": "<!-- tagprune-plan staging -->\n## tagprune plan\nother"},
		}, "0")
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		assert.Contains(t, log, "api --method PATCH repos/acme/media/issues/comments/9 -F body=@")
		assert.NotContains(t, log, "POST")
		assert.NotContains(t, body, "the plan of an earlier push")
	})

	t.Run("AKeyKeepsPlansApart", func(t *testing.T) {
		log, body, r := comment("staging", []map[string]any{
			{"id": 9, "body": "<!-- tagprune-plan -->\n## tagprune plan"},
			{"id": 11, "body": "<!-- tagprune-plan staging -->\n## tagprune plan"},
		}, "0")
		require.Equal(t, 0, r.code, r.stdout+r.stderr)
		assert.Contains(t, log, "issues/comments/11 ")
		assert.True(t, strings.HasPrefix(body, "<!-- tagprune-plan staging -->\n"), body)
	})

	t.Run("AFailedCommentIsAWarningNotAFailure", func(t *testing.T) {
		_, _, r := comment("", nil, "1")
		assert.Equal(t, 0, r.code, "the plan is in the job summary anyway")
		assert.Contains(t, r.stdout, "::warning title=tagprune action::could not comment on pull request #17")
	})
}

// TestActionScriptsPassShellcheck runs shellcheck, when it is installed, on
// every script of action.yml (actionlint does it for workflows, not for
// actions).
func TestActionScriptsPassShellcheck(t *testing.T) {
	// Not parallel: it runs before the tests that wait on timeouts, so
	// that its CPU does not slow them.
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck is not installed (.ci/run installs it)")
	}
	for _, s := range readAction(t).Runs.Steps {
		if s.Run == "" {
			continue
		}
		x := exec.Command("shellcheck", "--shell=bash", "-")
		x.Stdin = strings.NewReader(s.Run)
		out, err := x.CombinedOutput()
		assert.NoError(t, err, "step %q:\n%s", s.ID, out)
	}
}

// TestWorkflowsPassActionlint runs actionlint, when .ci/run has built it
// (ACTIONLINT names it) or it is on PATH, on the example workflow with the
// action taken from this checkout, so that actionlint also checks action.yml
// and the inputs each step passes to it. .ci/run lints the examples as
// they are written too.
func TestWorkflowsPassActionlint(t *testing.T) {
	// Not parallel: it runs before the tests that wait on timeouts, so
	// that its CPU does not slow them.
	actionlint := os.Getenv("ACTIONLINT")
	if actionlint == "" {
		var err error
		if actionlint, err = exec.LookPath("actionlint"); err != nil {
			t.Skip("actionlint is not installed; .ci/run builds it and sets ACTIONLINT")
		}
	}
	repo := t.TempDir()
	workflows := filepath.Join(repo, ".github", "workflows")
	require.NoError(t, os.MkdirAll(workflows, 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(repo, ".git"), 0o755), "actionlint finds the repository by its .git")
	copyFile(t, actionFile, filepath.Join(repo, "action.yml"))
	texts := map[string]string{"example.yml": readFile(t, githubExample)}
	for i, snippet := range readmeWorkflows(t) {
		texts["readme-"+strconv.Itoa(i)+".yml"] = snippet
	}
	for name, text := range texts {
		local := regexp.MustCompile(regexp.QuoteMeta(actionUses)+`\S+`).ReplaceAllString(text, "./")
		require.NotEqual(t, text, local, "%s uses the action", name)
		require.NoError(t, os.WriteFile(filepath.Join(workflows, name), []byte(local), 0o644))
	}
	x := exec.Command(actionlint, "-oneline")
	x.Dir = repo
	out, err := x.CombinedOutput()
	assert.NoError(t, err, "%s", out)
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(readFile(t, path)), v), path)
}

// addTag adds a tag to one file of a library snapshot, as someone editing
// the library between plan and apply would.
func addTag(t *testing.T, library, fileID, tag string) {
	t.Helper()
	var files []map[string]any
	readJSON(t, library, &files)
	found := false
	for _, f := range files {
		if f["fileId"] == fileID {
			f["tags"] = append(f["tags"].([]any), tag)
			found = true
		}
	}
	require.True(t, found, "no file %s in %s", fileID, library)
	b, err := json.Marshal(files)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(library, b, 0o644))
}

// libraryTags returns the tags of each file of a library snapshot.
func libraryTags(t *testing.T, library string) map[string][]any {
	t.Helper()
	var files []map[string]any
	readJSON(t, library, &files)
	out := map[string][]any{}
	for _, f := range files {
		tags, _ := f["tags"].([]any)
		out[f["fileId"].(string)] = tags
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
