package e2e

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	urfave "github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/tagprune/tagprune/internal/cli"
)

// The CI examples are documentation that users copy: these tests keep every
// tagprune command line in them in step with the CLI's real commands and
// flags, read from cli.NewApp itself, so renaming a flag fails here.

var (
	githubExample = filepath.Join(repoRoot, "examples", "ci", "github-actions.yml")
	gitlabExample = filepath.Join(repoRoot, "examples", "ci", "gitlab-ci.yml")
	actionFile    = filepath.Join(repoRoot, "action.yml")
)

// actionUses is how a workflow names tagprune's own action.
const actionUses = "tagprune/tagprune@"

// shellKeys are the keys whose values are shell scripts: GitHub Actions'
// run, GitLab CI's script, before_script and after_script.
var shellKeys = map[string]bool{"run": true, "script": true, "before_script": true, "after_script": true}

// TestCIExamplesUseRealCommandsAndFlags checks every tagprune command line
// of each pipeline, and of action.yml's run scripts where a pipeline runs
// tagprune through the action: each must name a real command and only its
// real flags, and together they must validate, plan and apply.
func TestCIExamplesUseRealCommandsAndFlags(t *testing.T) {
	t.Parallel()
	app := cli.NewApp(cli.Streams{Out: io.Discard, Err: io.Discard}, "test")
	tests := []struct {
		path    string
		install string // how the pipeline gets tagprune
		action  bool   // it runs tagprune through action.yml
	}{
		{path: githubExample, install: "uses: " + actionUses, action: true},
		{path: gitlabExample, install: "go install github.com/tagprune/tagprune@latest"},
		{path: actionFile},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			t.Parallel()
			calls := callsIn(t, tt.path)
			if !tt.action {
				require.NotEmpty(t, calls, "no tagprune command found in %s", tt.path)
			} else {
				require.NotEmpty(t, actionSteps(t, tt.path), "%s never uses %s", tt.path, actionUses)
				action := callsIn(t, actionFile)
				require.NotEmpty(t, action, "no tagprune command found in %s", actionFile)
				calls = append(calls, action...)
			}
			used := map[string]bool{}
			for _, args := range calls {
				assert.NoError(t, checkCall(app, args), "tagprune %s", strings.Join(args, " "))
				if len(args) > 0 {
					used[args[0]] = true
				}
			}
			for _, command := range []string{"validate", "plan", "apply"} {
				assert.True(t, used[command], "%s never runs tagprune %s", tt.path, command)
			}
			text, err := os.ReadFile(tt.path)
			require.NoError(t, err)
			assert.Contains(t, string(text), tt.install)
			assert.Contains(t, string(text), "IMAGEKIT_PRIVATE_KEY")
		})
	}
}

// callsIn returns the arguments of every tagprune command in a CI file's
// shell scripts.
func callsIn(t *testing.T, path string) [][]string {
	t.Helper()
	var calls [][]string
	for _, script := range shellScripts(readYAML(t, path)) {
		calls = append(calls, tagpruneCalls(script)...)
	}
	return calls
}

// TestCIExamplesCapUnreviewedApplies checks that every apply -f in the CI
// examples (an apply whose plan no one reviewed) passes --max-changes: an
// allowlist with a typo removes every tag it does not name, and the cap is
// what stops it. apply PLANFILE applies a reviewed plan and takes no cap.
func TestCIExamplesCapUnreviewedApplies(t *testing.T) {
	t.Parallel()
	capped := map[string]int{}
	for _, path := range []string{githubExample, gitlabExample} {
		for _, script := range shellScripts(readYAML(t, path)) {
			for _, args := range tagpruneCalls(script) {
				if len(args) == 0 || args[0] != "apply" || !slices.ContainsFunc(args, isManifestFlag) {
					continue
				}
				assert.True(t, slices.ContainsFunc(args, func(a string) bool { return flagKey(a) == "max-changes" }),
					"%s: tagprune %s applies a plan no one reviewed without --max-changes", filepath.Base(path), strings.Join(args, " "))
				capped[path]++
			}
		}
	}
	assert.Positive(t, capped[gitlabExample], "the GitLab example applies without a reviewed plan when none is found, with --max-changes")
}

// isManifestFlag reports whether a word is -f or --file, with or without
// its value.
func isManifestFlag(a string) bool {
	return strings.HasPrefix(a, "-") && (flagKey(a) == "f" || flagKey(a) == "file")
}

// TestCIExampleCheckerCatchesMistakes proves that the checker above would
// fail on the mistakes it is there to catch, and accepts the shell forms
// the examples use.
func TestCIExampleCheckerCatchesMistakes(t *testing.T) {
	t.Parallel()
	app := cli.NewApp(cli.Streams{Out: io.Discard, Err: io.Discard}, "test")
	tests := []struct {
		name    string
		script  string
		calls   int
		wantErr string // empty: every call is valid
	}{
		{name: "plain call", script: "tagprune plan -f tagprune/ --out plan.json", calls: 1},
		{name: "line continuations and variables", script: "tagprune plan -f \"$MANIFESTS\" \\\n  --format markdown \\\n  --report plan.xml > plan.md", calls: 1},
		{name: "flag with equals", script: "tagprune plan --format=json -f=m.yaml", calls: 1},
		{name: "global flag before the command", script: "tagprune --no-color plan -f m.yaml", calls: 1},
		{name: "alias of a flag", script: "tagprune validate -f m.yaml -q", calls: 1},
		{name: "apply with a plan file", script: "tagprune apply plan.json --report r.json --report r.xml", calls: 1},
		{name: "environment assignment and exit code capture", script: "code=0\nNO_COLOR=1 tagprune plan -f m.yaml --detailed-exitcode || code=$?", calls: 1},
		{name: "inside an if", script: "if [ -n \"$x\" ]; then\n  tagprune plan -f m.yaml --out plan.json\nfi", calls: 1},
		{name: "several on one line", script: "tagprune validate -f m.yaml && tagprune plan -f m.yaml | tee plan.txt", calls: 2},
		{name: "variable standing for flags is not checked", script: "tagprune plan -f m.yaml $EXTRA_FLAGS", calls: 1},
		{name: "quoted and commented text is not a call", script: "echo 'tagprune plan --bogus' # tagprune nope\ngo install github.com/tagprune/tagprune@latest", calls: 0},
		{name: "unknown flag", script: "tagprune plan -f m.yaml --dry-run", calls: 1, wantErr: `flag --dry-run`},
		{name: "renamed flag after a continuation", script: "tagprune apply plan.json \\\n  --reports r.json", calls: 1, wantErr: `flag --reports`},
		{name: "flag of another command", script: "tagprune validate -f m.yaml --out plan.json", calls: 1, wantErr: `flag --out`},
		{name: "unknown global flag", script: "tagprune --verbose plan -f m.yaml", calls: 1, wantErr: `flag --verbose`},
		{name: "unknown command", script: "tagprune deploy -f m.yaml", calls: 1, wantErr: `no command "deploy"`},
		{name: "argument to a command that takes none", script: "tagprune plan m.yaml", calls: 1, wantErr: `takes no argument`},
		{name: "no command", script: "tagprune", calls: 1, wantErr: `no command`},
		{name: "optional flag with its value", script: "tagprune plan -f m.yaml ${URL:+--api-url \"$URL\"} --out p.json", calls: 1},
		{name: "optional boolean flag", script: "tagprune apply \"${files[@]}\" ${YES:+--auto-approve} --report r.json", calls: 1},
		{name: "optional unknown flag", script: "tagprune plan -f m.yaml ${URL:+--api-uri \"$URL\"}", calls: 1, wantErr: `flag --api-uri`},
		{name: "optional flag of another command", script: "tagprune plan -f m.yaml ${N:+--max-changes \"$N\"}", calls: 1, wantErr: `flag --max-changes`},
		{name: "optional flag without its value", script: "tagprune apply -f m.yaml ${N:+--max-changes}", calls: 1, wantErr: `--max-changes takes a value`},
		{name: "optional boolean flag given a value", script: "tagprune apply -f m.yaml ${YES:+--auto-approve \"$YES\"}", calls: 1, wantErr: `--auto-approve takes no value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls := tagpruneCalls(tt.script)
			require.Len(t, calls, tt.calls, "calls found: %q", calls)
			var errs []string
			for _, args := range calls {
				if err := checkCall(app, args); err != nil {
					errs = append(errs, err.Error())
				}
			}
			if tt.wantErr == "" {
				assert.Empty(t, errs)
				return
			}
			require.Len(t, errs, 1)
			assert.Contains(t, errs[0], tt.wantErr)
		})
	}
}

// TestCIExamplesShape checks that each pipeline has the parts its comments
// promise: review on a change request, apply on the default branch, drift on
// a schedule, with the plan kept as an artifact.
func TestCIExamplesShape(t *testing.T) {
	t.Parallel()
	t.Run("github", func(t *testing.T) {
		t.Parallel()
		var wf struct {
			On   map[string]any `yaml:"on"`
			Jobs map[string]struct {
				If    string   `yaml:"if"`
				Steps []ciStep `yaml:"steps"`
			} `yaml:"jobs"`
		}
		decodeYAML(t, githubExample, &wf)
		for _, event := range []string{"pull_request", "push", "schedule"} {
			assert.Contains(t, wf.On, event)
		}
		require.Contains(t, wf.Jobs, "plan")
		require.Contains(t, wf.Jobs, "apply")
		require.Contains(t, wf.Jobs, "drift")
		assert.Contains(t, wf.Jobs["plan"].If, "pull_request")
		assert.Contains(t, wf.Jobs["apply"].If, "push")
		assert.Contains(t, wf.Jobs["drift"].If, "schedule")

		// The pull request's plan goes through the action, which comments
		// it (comment defaults to true), and is kept as an artifact.
		plan := actionStepsOf(wf.Jobs["plan"].Steps)
		require.Len(t, plan, 1, "the plan job runs the action once")
		assert.Equal(t, "plan", plan[0].With["command"])
		assert.Equal(t, "plan.json", plan[0].With["plan-file"])
		assert.NotEqual(t, "false", plan[0].With["comment"], "the plan job comments the plan")
		assert.True(t, actionComments(t), "action.yml comments the plan on the pull request")
		var uploadsPlan bool
		for _, s := range wf.Jobs["plan"].Steps {
			if strings.HasPrefix(s.Uses, "actions/upload-artifact@") && strings.Contains(fmt.Sprint(s.With["path"]), "steps.plan.outputs.plan") {
				uploadsPlan = true
			}
		}
		assert.True(t, uploadsPlan, "the plan job uploads the plan file")

		// On merge, the plan of the pull request is downloaded and applied
		// as it is; without one, the manifests are applied with a cap.
		assert.Contains(t, allRuns(wf.Jobs["apply"].Steps), "gh run download")
		applies := actionStepsOf(wf.Jobs["apply"].Steps)
		require.Len(t, applies, 2)
		assert.Equal(t, map[string]any{"command": "apply", "plan-file": "plan.json", "report": "tagprune-report.json\ntagprune-report.md\ntagprune-report.xml\n"}, applies[0].With)
		assert.Equal(t, "apply", applies[1].With["command"])
		assert.Equal(t, "true", applies[1].With["auto-approve"])
		assert.NotEmpty(t, applies[1].With["max-changes"], "an apply without a reviewed plan is capped")

		// Drift: a plan (the action adds --detailed-exitcode) whose changes
		// fail the job.
		drift := actionStepsOf(wf.Jobs["drift"].Steps)
		require.Len(t, drift, 1)
		assert.Equal(t, "plan", drift[0].With["command"])
		assert.Equal(t, "false", drift[0].With["comment"], "a scheduled run has no pull request")
		var failsOnDrift bool
		for _, s := range wf.Jobs["drift"].Steps {
			failsOnDrift = failsOnDrift || strings.Contains(s.If, "steps.drift.outputs.changes == 'true'") && strings.Contains(s.Run, "exit 1")
		}
		assert.True(t, failsOnDrift, "drift fails the job")
		assert.Contains(t, actionScript(t), "--detailed-exitcode")
	})

	t.Run("gitlab", func(t *testing.T) {
		t.Parallel()
		var top map[string]yaml.Node
		decodeYAML(t, gitlabExample, &top)
		type job struct {
			Rules []struct {
				If string `yaml:"if"`
			} `yaml:"rules"`
			Extends   string   `yaml:"extends"`
			Script    []string `yaml:"script"`
			Artifacts struct {
				Paths []string `yaml:"paths"`
			} `yaml:"artifacts"`
		}
		jobOf := func(name string) job {
			t.Helper()
			n, ok := top[name]
			require.True(t, ok, "no job %s", name)
			var j job
			require.NoError(t, n.Decode(&j), name)
			return j
		}
		rulesOf := func(name string) string {
			j := jobOf(name)
			if j.Extends != "" {
				j = jobOf(j.Extends)
			}
			var ifs []string
			for _, r := range j.Rules {
				ifs = append(ifs, r.If)
			}
			return strings.Join(ifs, " ")
		}
		assert.Contains(t, rulesOf("validate"), "merge_request_event")
		assert.Contains(t, rulesOf("plan"), "merge_request_event")
		assert.Contains(t, jobOf("plan").Artifacts.Paths, "plan.json")
		assert.Contains(t, rulesOf("apply"), "$CI_DEFAULT_BRANCH")
		apply := strings.Join(jobOf("apply").Script, "\n")
		assert.Contains(t, apply, "job=plan", "apply fetches the plan job's artifact")
		assert.Contains(t, apply, "tagprune apply plan.json")
		assert.Contains(t, rulesOf("drift"), "schedule")
		assert.Contains(t, strings.Join(jobOf("drift").Script, "\n"), "--detailed-exitcode")
	})
}

// ciStep is a GitHub Actions step.
type ciStep struct {
	ID   string            `yaml:"id"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]any    `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

// actionStepsOf returns the steps that use tagprune's action.
func actionStepsOf(steps []ciStep) []ciStep {
	var out []ciStep
	for _, s := range steps {
		if strings.HasPrefix(s.Uses, actionUses) {
			out = append(out, s)
		}
	}
	return out
}

// actionSteps returns the steps of every job of a workflow that use
// tagprune's action.
func actionSteps(t *testing.T, workflow string) []ciStep {
	t.Helper()
	var wf struct {
		Jobs map[string]struct {
			Steps []ciStep `yaml:"steps"`
		} `yaml:"jobs"`
	}
	decodeYAML(t, workflow, &wf)
	var out []ciStep
	for _, j := range wf.Jobs {
		out = append(out, actionStepsOf(j.Steps)...)
	}
	return out
}

// allRuns joins the run scripts of steps.
func allRuns(steps []ciStep) string {
	var b strings.Builder
	for _, s := range steps {
		b.WriteString(s.Run)
		b.WriteString("\n")
	}
	return b.String()
}

func readYAML(t *testing.T, path string) *yaml.Node {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &doc), "%s must be valid YAML", path)
	return &doc
}

func decodeYAML(t *testing.T, path string, v any) {
	t.Helper()
	require.NoError(t, readYAML(t, path).Decode(v), path)
}

// shellScripts returns every shell script in a CI file: the string values,
// or string list items, of the shellKeys at any depth.
func shellScripts(n *yaml.Node) []string {
	var out []string
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			out = append(out, shellScripts(c)...)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			if !shellKeys[key.Value] {
				out = append(out, shellScripts(val)...)
				continue
			}
			switch val.Kind {
			case yaml.ScalarNode:
				out = append(out, val.Value)
			case yaml.SequenceNode:
				for _, item := range val.Content {
					if item.Kind == yaml.ScalarNode {
						out = append(out, item.Value)
					}
				}
			}
		}
	}
	return out
}

// tagpruneCalls returns the arguments of every tagprune command in a shell
// script. It joins continued lines, drops comments, splits on ; && || |
// and newlines, skips leading VAR=value assignments and shell keywords,
// removes quotes and leaves $VARS as they are.
func tagpruneCalls(script string) [][]string {
	script = strings.ReplaceAll(script, "\\\r\n", " ")
	script = strings.ReplaceAll(script, "\\\n", " ")
	var calls [][]string
	for _, words := range shellCommands(script) {
		for len(words) > 0 && (isAssignment(words[0]) || shellKeywords[words[0]]) {
			words = words[1:]
		}
		if len(words) > 0 && (words[0] == "tagprune" || strings.HasSuffix(words[0], "/tagprune")) {
			calls = append(calls, words[1:])
		}
	}
	return calls
}

var shellKeywords = map[string]bool{"if": true, "then": true, "else": true, "elif": true, "do": true, "!": true, "time": true, "exec": true, "{": true}

func isAssignment(w string) bool {
	i := strings.IndexByte(w, '=')
	return i > 0 && !strings.HasPrefix(w, "-") && !strings.ContainsAny(w[:i], "$\"' ")
}

// shellCommands splits a script into simple commands of unquoted words.
// Redirections and their targets are dropped. It is a small subset of the
// shell, enough for CI scripts.
func shellCommands(script string) [][]string {
	var (
		cmds    [][]string
		words   []string
		word    strings.Builder
		inWord  bool
		quote   rune
		skipArg bool // the next word is a redirection target
	)
	endWord := func() {
		if !inWord {
			return
		}
		w := word.String()
		word.Reset()
		inWord = false
		if skipArg {
			skipArg = false
			return
		}
		words = append(words, w)
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	rs := []rune(script)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				word.WriteRune(r)
			}
		case quote == '"':
			switch {
			case r == '"':
				quote = 0
			case r == '\\' && i+1 < len(rs):
				i++
				word.WriteRune(rs[i])
			default:
				word.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '\\' && i+1 < len(rs):
			i++
			word.WriteRune(rs[i])
			inWord = true
		case r == '#' && !inWord:
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
			endCmd()
		case r == '\n' || r == ';' || r == '|' || r == '&' || r == '(' || r == ')' || r == '`':
			endCmd()
		case r == '>' || r == '<':
			// "2>" and ">>" are one redirection; a target glued to it ends
			// up in the next word, which is skipped.
			if inWord && isDigits(word.String()) {
				word.Reset()
				inWord = false
			} else {
				endWord()
			}
			for i+1 < len(rs) && (rs[i+1] == '>' || rs[i+1] == '&') {
				i++
			}
			skipArg = true
		case r == ' ' || r == '\t' || r == '\r':
			endWord()
		case r == '$' && i+1 < len(rs) && rs[i+1] == '(':
			// $( starts a command of its own.
			endCmd()
			i++
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	endCmd()
	return cmds
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// checkCall checks tagprune's arguments against the CLI definition: global
// flags, then a command that exists, then only that command's flags, and
// positional arguments only for a command that takes some. Words that
// start with $ may stand for anything and are not checked.
func checkCall(app *urfave.App, args []string) error {
	i, err := checkFlags(app.Flags, args, true)
	if err != nil {
		return fmt.Errorf("before the command: %w", err)
	}
	if i >= len(args) {
		return fmt.Errorf("no command given")
	}
	cmd := app.Command(args[i])
	if cmd == nil {
		var names []string
		for _, c := range app.Commands {
			names = append(names, c.Name)
		}
		return fmt.Errorf("no command %q: the commands are %s", args[i], strings.Join(names, ", "))
	}
	rest := args[i+1:]
	var positional []string
	for len(rest) > 0 {
		n, err := checkFlags(cmd.Flags, rest, false)
		if err != nil {
			return fmt.Errorf("%s: %w", cmd.Name, err)
		}
		rest = rest[n:]
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			positional = append(positional, rest[1:]...)
			break
		}
		positional = append(positional, rest[0])
		rest = rest[1:]
	}
	if len(positional) > 0 && cmd.ArgsUsage == "" {
		return fmt.Errorf("%s takes no argument, got %q", cmd.Name, positional)
	}
	return nil
}

// optionalFlag matches the first word of ${VAR:+--flag "$VAR"} (the value
// is the next word) or the whole of ${VAR:+--flag}.
var optionalFlag = regexp.MustCompile(`^\$\{\w+:\+(--?[A-Za-z][\w-]*)(\})?$`)

// checkFlags consumes the flags (and their values) at the start of args and
// returns how many words it consumed. With stopAtWord it stops at the first
// word that is not a flag; otherwise too.
func checkFlags(flags []urfave.Flag, args []string, stopAtWord bool) (int, error) {
	takesValue := map[string]bool{"help": false, "h": false}
	for _, f := range flags {
		_, isBool := f.(*urfave.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	if stopAtWord {
		takesValue["version"], takesValue["v"] = false, false
	}
	i := 0
	for i < len(args) {
		a := args[i]
		if m := optionalFlag.FindStringSubmatch(a); m != nil {
			// ${VAR:+--flag "$VAR"} or ${VAR:+--flag}: the flag is given
			// only when VAR is set, with VAR as its value or alone.
			alone := m[2] == "}"
			needsValue, ok := takesValue[flagKey(m[1])]
			switch {
			case !ok:
				return i, fmt.Errorf("no flag %s (flags: %s)", m[1], strings.Join(sortedKeys(takesValue), ", "))
			case needsValue && alone:
				return i, fmt.Errorf("flag %s takes a value, as ${VAR:+%s \"$VAR\"}", m[1], m[1])
			case !needsValue && !alone:
				return i, fmt.Errorf("flag %s takes no value, as ${VAR:+%s}", m[1], m[1])
			}
			i++
			if !alone {
				i++ // the value, "$VAR}"
			}
			continue
		}
		if strings.HasPrefix(a, "$") {
			i++ // a variable may hold flags or values: nothing to check
			continue
		}
		if a == "--" || a == "-" || !strings.HasPrefix(a, "-") {
			return i, nil
		}
		key := flagKey(a)
		needsValue, ok := takesValue[key]
		if !ok {
			return i, fmt.Errorf("no flag %s (flags: %s)", a, strings.Join(sortedKeys(takesValue), ", "))
		}
		i++
		if needsValue && !strings.Contains(a, "=") {
			if i >= len(args) {
				return i, fmt.Errorf("flag %s needs a value", a)
			}
			i++
		}
	}
	return i, nil
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// flagKey turns "--name=value" or "-n" into "name" or "n".
func flagKey(arg string) string {
	k := strings.TrimLeft(arg, "-")
	if i := strings.IndexByte(k, '='); i >= 0 {
		k = k[:i]
	}
	return k
}
